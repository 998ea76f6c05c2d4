/* `hark provision` and `hark verify-update`: the device's identity, the
 * key its updates must be signed by, and a signed update checked (and
 * stored) as `hark run` would. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base-err.h"
#include "base-file.h"
#include "cli.h"
#include "device-cmd.h"
#include "identity.h"
#include "log.h"
#include "update-store.h"

/* A release key file is one line; anything much longer is the wrong file. */
#define KEY_FILE_MAX 256

static int read_release_key(const char *path, uint8_t ret[UPDATE_KEY_BYTES])
{
    uint8_t buf[KEY_FILE_MAX];
    size_t len = 0;

    int r = file_read(path, buf, sizeof(buf), &len);

    if (r < 0 && r != -EFBIG) {
        log_error("%s: %s", path, strerror(-r));
        return -EINVAL;
    }
    if (r == -EFBIG || update_key_parse((const char *)buf, len, ret) < 0) {
        log_error("%s: not an Ed25519 public key (one line: 44 characters of base64 or 64 of "
                  "hex, as `hark-sign keygen` writes it)",
                  path);
        return -EINVAL;
    }
    return 0;
}

struct provision_args {
    const char *config_path;
    const char *key_file; /* --release-key */
    bool force, show;
};

/* Returns -1 to go on, or the exit code to return at once (--help, a usage
 * error). */
static int parse_provision_args(int argc, char **argv, struct provision_args *ret)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
        {"release-key", required_argument, NULL, 'k'},
        {"show", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    *ret = (struct provision_args){0};
    while ((c = getopt_long(argc, argv, "c:fk:sh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ret->config_path = optarg;
            break;
        case 'f':
            ret->force = true;
            break;
        case 'k':
            ret->key_file = optarg;
            break;
        case 's':
            ret->show = true;
            break;
        case 'h':
            cli_command_usage(stdout, "provision");
            return 0;
        default:
            cli_command_usage(stderr, "provision");
            return 2;
        }
    }
    if (optind < argc) {
        log_error("provision: unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (ret->show && (ret->force || ret->key_file)) {
        log_error("provision: --show changes nothing, so it takes neither --force nor "
                  "--release-key");
        return 2;
    }
    return -1;
}

/* The fingerprint printed, then what became of the identity on stderr. */
static int provision_report(const char *dir, const char *fingerprint, bool kept)
{
    char note[CONFIG_STRING_MAX + 128];

    printf("%s\n", fingerprint);
    /* The key is made: a fingerprint lost on the way must not look like a
     * failed provision, which the user would repeat with --force. */
    snprintf(note, sizeof(note),
             "the device identity in %s was %s all the same: `hark provision --show` prints its "
             "fingerprint",
             dir, kept ? "kept" : "made");
    if (cli_check_stdout(note) < 0) {
        return 1;
    }
    if (kept) {
        fprintf(stderr, "device identity in %s kept\n", dir);
    } else {
        fprintf(stderr, "device identity written to %s; register this fingerprint with the cloud\n",
                dir);
    }
    return 0;
}

int device_cmd_provision(int argc, char **argv)
{
    char dir[CONFIG_STRING_MAX + 32], fingerprint[PIN_STRING_MAX], err[ERRSZ];
    char key_text[UPDATE_KEY_TEXT];
    const char *cert_path, *key_path;
    uint8_t release_key[UPDATE_KEY_BYTES];
    struct provision_args args;
    struct hark_config cfg;
    bool kept = false;
    int r;

    r = parse_provision_args(argc, argv, &args);
    if (r >= 0) {
        return r;
    }
    /* The key file before anything is written: a wrong one changes nothing. */
    if (args.key_file && read_release_key(args.key_file, release_key) < 0) {
        return 1;
    }
    if (cli_load_config(args.config_path, &cfg) < 0) {
        return 1;
    }
    if (config_storage_dir(&cfg, dir, sizeof(dir)) < 0) {
        log_error("no storage directory: set [storage] dir");
        return 1;
    }
    if (args.show) {
        if (identity_fingerprint(dir, fingerprint, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return 1;
        }
        printf("%s\n", fingerprint);
        return 0;
    }
    r = identity_provision(dir, args.force, fingerprint, err, sizeof(err));
    if (r == -EEXIST && args.key_file) {
        /* A device provisioned before it had a release key keeps its
         * registered identity and gains the key. */
        r = identity_load(dir, fingerprint, &cert_path, &key_path, err, sizeof(err));
        kept = true;
    }
    if (r < 0) {
        log_error("%s", err);
        return 1;
    }
    if (args.key_file) {
        r = update_store_set_key(dir, release_key, args.force, err, sizeof(err));
        if (r < 0) {
            log_error("%s", err);
            return 1;
        }
        update_key_format(release_key, key_text);
        fprintf(stderr, "release key %s %s %s/%s\n", key_text,
                r == 1 ? "was already in" : "written to", dir, UPDATE_KEY_FILE);
    }
    return provision_report(dir, fingerprint, kept);
}

/* hark verify-update: the checks `hark run` makes of a pushed update, for
 * the device's updater; --apply stores it as hark run would. */
int device_cmd_verify_update(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"apply", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char dir[CONFIG_STRING_MAX + 32], fingerprint[PIN_STRING_MAX], err[ERRSZ];
    char what[UPDATE_DESCRIBE_MAX];
    const char *config_path = NULL, *path, *cert_path, *key_path, *device = NULL;
    uint8_t data[UPDATE_BUNDLE_MAX];
    struct update_bundle applied, b;
    struct update_state st;
    struct hark_config cfg;
    uint64_t before;
    bool apply = false;
    size_t len = 0;
    int c, r;

    while ((c = getopt_long(argc, argv, "c:ah", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'a':
            apply = true;
            break;
        case 'h':
            cli_command_usage(stdout, "verify-update");
            return 0;
        default:
            cli_command_usage(stderr, "verify-update");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        log_error("usage: hark verify-update [--config F] [--apply] FILE");
        return 2;
    }
    path = argv[optind];
    r = file_read(path, data, sizeof(data), &len);
    if (r == -EFBIG) {
        log_error("%s: refused: more than %d bytes, not an update bundle", path, UPDATE_BUNDLE_MAX);
        return 1;
    }
    if (r < 0) {
        log_error("%s: %s", path, strerror(-r));
        return 1;
    }
    if (cli_load_config(config_path, &cfg) < 0) {
        return 1;
    }
    if (config_storage_dir(&cfg, dir, sizeof(dir)) < 0) {
        log_error("no storage directory: set [storage] dir");
        return 1;
    }
    /* Without an identity only a bundle for any device can pass. */
    if (identity_load(dir, fingerprint, &cert_path, &key_path, err, sizeof(err)) == 0) {
        device = fingerprint;
    } else {
        log_info("%s", err);
    }
    if (update_store_load(dir, &st, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    /* The stored version decides; a stored bundle that fails its checks is
     * what a newer one is there to replace. */
    r = update_store_load_applied(dir, &st, device, &applied, err, sizeof(err));
    if (r < 0) {
        log_warning("%s", err);
    }
    before = st.version;
    if (apply) {
        r = update_store_apply(dir, &st, data, len, device, &b, err, sizeof(err));
    } else {
        r = update_store_check(&st, data, len, device, &b, err, sizeof(err));
    }
    if (r < 0) {
        log_error("%s: refused: %s", path, err);
        return 1;
    }
    update_describe(&b, what, sizeof(what));
    printf("%s: %s: %s; the applied version %s %" PRIu64 "\n", path,
           apply ? "applied" : "would be accepted", what, apply ? "was" : "is", before);
    if (apply) {
        fprintf(stderr, "a running `hark run` uses it from its next start\n");
    }
    return 0;
}
