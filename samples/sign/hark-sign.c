/* hark-sign: the release side of signed updates (doc/updates.md). Makes the
 * release key pair, signs bundles of server pins and privacy rules, and shows
 * what a bundle holds. It runs where releases are made, never on a device:
 * the secret key must not reach one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "base-file.h"
#include "update.h"

/* The secret key file: this tag, a space, the base64 of libsodium's 64-byte
 * secret key, a newline. The tag keeps it from being taken for a public key
 * (hark provision --release-key refuses it). */
#define SECRET_TAG "hark-release-secret-v1"
#define SECRET_B64 sodium_base64_ENCODED_LEN(UPDATE_SECRET_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define SECRET_LINE (sizeof(SECRET_TAG) + SECRET_B64 + 1)
#define FILE_MAX 4096

static void usage(FILE *out)
{
    fputs("usage: hark-sign keygen SECRET_FILE PUBLIC_FILE\n"
          "       hark-sign sign --key SECRET_FILE --version N --pin PIN [--pin PIN...]\n"
          "                      [--policy FILE] [--device FINGERPRINT] [--created SECONDS]\n"
          "                      --out BUNDLE\n"
          "       hark-sign show [--key PUBLIC_FILE] BUNDLE\n"
          "\n"
          "keygen   make a release key pair: SECRET_FILE (0600; keep it offline) and\n"
          "         PUBLIC_FILE (one line, for `hark provision --release-key`)\n"
          "sign     write a signed update bundle: VERSION (above every earlier one),\n"
          "         1 to 8 server pins (sha256/<base64>, `hark pin CERT`), optionally\n"
          "         [privacy] rules from an INI file (drop_intents, drop_words,\n"
          "         redact_intents, redact_words, allow_intents, default_action) and the\n"
          "         one device it is for\n"
          "show     print what a bundle holds; with --key, check its signature too\n"
          "See doc/updates.md.\n",
          out);
}

/* Never over an existing file: a key overwritten is a key lost. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int r = file_write_new(path, data, len, mode);

    if (r == -EEXIST) {
        fprintf(stderr, "hark-sign: %s: %s\n", path, strerror(-r));
    } else if (r < 0) {
        fprintf(stderr, "hark-sign: %s: cannot write: %s\n", path, strerror(-r));
    }
    return r;
}

/* A whole small file; private: it must be this user's and nobody else's. */
static int read_file(const char *path, bool private, uint8_t *buf, size_t max, size_t *ret_len)
{
    struct stat st;
    int r, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        fprintf(stderr, "hark-sign: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "hark-sign: %s: not a regular file\n", path);
        close(fd);
        return -EINVAL;
    }
    if (private && (st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)))) {
        fprintf(stderr, "hark-sign: %s: others may read or write it (mode %03o): chmod 600 %s\n",
                path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return -EPERM;
    }
    r = file_read_fd(fd, buf, max, ret_len);
    close(fd);
    if (r == -EFBIG) {
        fprintf(stderr, "hark-sign: %s: larger than %zu bytes\n", path, max);
    } else if (r < 0) {
        fprintf(stderr, "hark-sign: %s: cannot read: %s\n", path, strerror(-r));
    }
    return r;
}

static int cmd_keygen(int argc, char **argv)
{
    uint8_t pk[UPDATE_KEY_BYTES];
    uint8_t *sk = sodium_malloc(UPDATE_SECRET_BYTES);
    char *line = sodium_malloc(SECRET_LINE);
    char pub[UPDATE_KEY_TEXT + 1];
    int r = 1;

    if (argc != 3) {
        usage(stderr);
        r = 2;
        goto finish;
    }
    if (!sk || !line) {
        fprintf(stderr, "hark-sign: out of memory\n");
        goto finish;
    }
    crypto_sign_keypair(pk, sk);
    memcpy(line, SECRET_TAG " ", sizeof(SECRET_TAG));
    sodium_bin2base64(line + sizeof(SECRET_TAG), SECRET_B64, sk, UPDATE_SECRET_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    strcat(line, "\n");
    update_key_format(pk, pub);
    strcat(pub, "\n");
    if (write_new_file(argv[1], line, strlen(line), 0600) < 0) {
        goto finish;
    }
    if (write_new_file(argv[2], pub, strlen(pub), 0644) < 0) {
        unlink(argv[1]); /* half a pair is no use */
        goto finish;
    }
    fprintf(stderr, "release key pair written: %s (secret, keep it offline) and %s (public)\n",
            argv[1], argv[2]);
    printf("%s", pub);
    r = 0;

finish:
    sodium_free(sk);
    sodium_free(line);
    return r;
}

/* Into sk (sodium_malloc'd by the caller). */
static int load_secret(const char *path, uint8_t *sk)
{
    uint8_t *buf = sodium_malloc(FILE_MAX);
    uint8_t pk[UPDATE_KEY_BYTES];
    size_t len = 0, n = 0;
    const char *b64;
    int r = -EINVAL;

    if (!buf) {
        fprintf(stderr, "hark-sign: out of memory\n");
        return -ENOMEM;
    }
    if (read_file(path, true, buf, FILE_MAX - 1, &len) < 0) {
        goto finish;
    }
    buf[len] = '\0';
    b64 = (const char *)buf + sizeof(SECRET_TAG);
    if (len != SECRET_LINE - 1 || memcmp(buf, SECRET_TAG " ", sizeof(SECRET_TAG)) != 0 ||
        buf[len - 1] != '\n' ||
        sodium_base642bin(sk, UPDATE_SECRET_BYTES, b64, SECRET_B64 - 1, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != UPDATE_SECRET_BYTES) {
        fprintf(stderr, "hark-sign: %s: not a release secret key (hark-sign keygen)\n", path);
        goto finish;
    }
    /* The public half is in the secret key: check that the two agree. */
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    if (memcmp(pk, sk + 32, sizeof(pk)) != 0) {
        fprintf(stderr, "hark-sign: %s: a damaged secret key\n", path);
        goto finish;
    }
    r = 0;

finish:
    sodium_free(buf);
    return r;
}

static int parse_u64(const char *s, const char *what, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ') {
        fprintf(stderr, "hark-sign: %s: '%s' is not a whole number\n", what, s);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

struct policy_file {
    const char *path;
    struct update_bundle *b;
    char why[256];
};

static int on_policy_key(void *user, const char *section, const char *name, const char *value)
{
    struct policy_file *pf = user;
    const char *why;
    int k;

    if (section[0] && strcmp(section, "privacy") != 0) {
        snprintf(pf->why, sizeof(pf->why), "section [%s]: only [privacy] rules go in a bundle",
                 section);
        return 0;
    }
    k = update_rule_find(name);
    if (k < 0) {
        snprintf(pf->why, sizeof(pf->why),
                 "unknown key '%s' (drop_intents, drop_words, redact_intents, redact_words, "
                 "allow_intents, default_action)",
                 name);
        return 0;
    }
    if (pf->b->has_rule[k]) {
        snprintf(pf->why, sizeof(pf->why), "%s is given twice", name);
        return 0;
    }
    if (strlen(value) > UPDATE_RULE_MAX) {
        snprintf(pf->why, sizeof(pf->why), "%s: longer than %d bytes", name, UPDATE_RULE_MAX);
        return 0;
    }
    why = update_rule_check((enum update_rule)k, value);
    if (why) {
        snprintf(pf->why, sizeof(pf->why), "%s %s", name, why);
        return 0;
    }
    snprintf(pf->b->rules[k], sizeof(pf->b->rules[k]), "%s", value);
    pf->b->has_rule[k] = true;
    return 1;
}

static int load_policy(const char *path, struct update_bundle *b)
{
    struct policy_file pf = {.path = path, .b = b};
    int line = ini_parse(path, on_policy_key, &pf);

    if (line < 0) {
        fprintf(stderr, "hark-sign: %s: cannot read\n", path);
        return -EIO;
    }
    if (line > 0) {
        fprintf(stderr, "hark-sign: %s:%d: %s\n", path, line,
                pf.why[0] ? pf.why : "not a key = value line");
        return -EINVAL;
    }
    if (!update_has_policy(b)) {
        fprintf(stderr, "hark-sign: %s: no rules in it\n", path);
        return -EINVAL;
    }
    return 0;
}

static int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"version", required_argument, NULL, 'V'},
        {"pin", required_argument, NULL, 'p'},
        {"policy", required_argument, NULL, 'P'},
        {"device", required_argument, NULL, 'd'},
        {"created", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct update_bundle b = {.created = (uint64_t)time(NULL)};
    const char *key_path = NULL, *out_path = NULL;
    uint8_t bundle[UPDATE_BUNDLE_MAX];
    uint8_t *sk = NULL;
    char err[512], what[UPDATE_DESCRIBE_MAX];
    size_t len = 0;
    int c, r = 2;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'V':
            if (parse_u64(optarg, "--version", &b.version) < 0) {
                return 2;
            }
            break;
        case 'p':
            if (b.n_pins == UPDATE_PINS_MAX) {
                fprintf(stderr, "hark-sign: more than %d pins\n", UPDATE_PINS_MAX);
                return 2;
            }
            if (!pin_is_valid(optarg)) {
                fprintf(stderr, "hark-sign: --pin '%s' is not sha256/<base64 of 32 bytes>\n",
                        optarg);
                return 2;
            }
            snprintf(b.pins[b.n_pins++], PIN_STRING_MAX, "%s", optarg);
            break;
        case 'P':
            if (load_policy(optarg, &b) < 0) {
                return 1;
            }
            break;
        case 'd':
            if (!pin_is_valid(optarg)) {
                fprintf(stderr, "hark-sign: --device '%s' is not a device fingerprint\n", optarg);
                return 2;
            }
            snprintf(b.scope, sizeof(b.scope), "%s", optarg);
            break;
        case 'c':
            if (parse_u64(optarg, "--created", &b.created) < 0) {
                return 2;
            }
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !key_path || !out_path || b.version == 0 || b.n_pins == 0) {
        fprintf(stderr, "hark-sign sign: --key, --version (1 or more), at least one --pin and "
                        "--out are needed\n");
        return 2;
    }
    sk = sodium_malloc(UPDATE_SECRET_BYTES);
    if (!sk) {
        fprintf(stderr, "hark-sign: out of memory\n");
        return 1;
    }
    r = 1;
    if (load_secret(key_path, sk) < 0) {
        goto finish;
    }
    if (update_sign(&b, sk, bundle, sizeof(bundle), &len, err, sizeof(err)) < 0) {
        fprintf(stderr, "hark-sign: cannot sign: %s\n", err);
        goto finish;
    }
    if (write_new_file(out_path, bundle, len, 0644) < 0) {
        goto finish;
    }
    update_describe(&b, what, sizeof(what));
    printf("%s: %s, %zu bytes\n", out_path, what, len);
    r = 0;

finish:
    sodium_free(sk);
    return r;
}

static int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    uint8_t bundle[UPDATE_BUNDLE_MAX], key[UPDATE_KEY_BYTES];
    char text[FILE_MAX], err[512], what[UPDATE_DESCRIBE_MAX];
    const char *key_path = NULL;
    struct update_bundle b;
    size_t len = 0;
    int c, r;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    if (key_path) {
        if (read_file(key_path, false, (uint8_t *)text, sizeof(text) - 1, &len) < 0) {
            return 1;
        }
        if (update_key_parse(text, len, key) < 0) {
            fprintf(stderr, "hark-sign: %s: not a release public key\n", key_path);
            return 1;
        }
    }
    if (read_file(argv[optind], false, bundle, sizeof(bundle), &len) < 0) {
        return 1;
    }
    r = key_path ? update_verify(bundle, len, key, &b, err, sizeof(err))
                 : update_parse(bundle, len, &b, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "hark-sign: %s: %s\n", argv[optind], err);
        return 1;
    }
    update_describe(&b, what, sizeof(what));
    printf("%s: %s%s\n", argv[optind], what, key_path ? ", signature good" : "");
    for (size_t i = 0; i < b.n_pins; i++) {
        printf("pin %s\n", b.pins[i]);
    }
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (b.has_rule[k]) {
            printf("%s = %s\n", update_rule_name((enum update_rule)k), b.rules[k]);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "hark-sign: libsodium cannot start\n");
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "keygen") == 0) {
        return cmd_keygen(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "sign") == 0) {
        return cmd_sign(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "show") == 0) {
        return cmd_show(argc - 1, argv + 1);
    }
    fprintf(stderr, "hark-sign: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
