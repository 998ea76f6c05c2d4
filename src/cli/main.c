/* hark: the command line. Each subcommand parses its own options, loads the
 * config once and logs errors once, here at the edge. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "audio-source.h"
#include "base-err.h"
#include "base-file.h"
#include "cli.h"
#include "capture.h"
#include "config.h"
#include "control.h"
#include "ear.h"
#include "events.h"
#include "hark-build.h"
#include "history-cmd.h"
#include "tune.h"
#include "identity.h"
#include "log.h"
#include "nn-model.h"
#include "protocol.h"
#include "pin.h"
#include "run.h"
#include "signals.h"
#include "update-store.h"

/* A release key file is one line; anything much longer is the wrong file. */
#define KEY_FILE_MAX 256

/* One row per line of the usage: a command may have several (check-config).
 * Each command's --help prints its own rows; `hark --help` all of them. */
struct command_help {
    const char *name;
    const char *synopsis; /* after "hark " */
    const char *summary;  /* lines separated by '\n' */
};

static const struct command_help command_help[] = {
    {"listen", "listen [--config F] [--input SRC] [--realtime]",
     "run the local pipeline (wake word, end of speech);\n"
     "prints JSON Lines events; never opens a network socket"},
    {"run", "run [--config F] [--input SRC] [--realtime] [--output WAV]",
     "the whole pipeline: stream each request to the cloud\n"
     "and show or play the answer; prints JSON Lines events"},
    {"provision", "provision [--config F] [--force] [--release-key FILE]",
     "make this device's key and certificate; prints the\n"
     "fingerprint to register with the cloud; with\n"
     "--release-key, fix the key updates must be signed by"},
    {"provision", "provision [--config F] --show",
     "print the fingerprint of this device's key again"},
    {"verify-update", "verify-update [--config F] [--apply] FILE",
     "check a signed update bundle as hark would (signature,\n"
     "newer version, this device); --apply also stores it"},
    {"history", "history [--config F] list|show|delete|purge|export|verify|audio|wipe ...",
     "what hark remembers, and forgetting it\n"
     "(`hark history --help`)"},
    {"ctl", "ctl [--config F] mute|unmute|status",
     "mute (the microphone is closed), unmute, or ask a\n"
     "running `hark run` what it is doing"},
    {"tune", "tune --positives PATH --negatives PATH [--write F] ...",
     "measure the wake word on recordings and set the\n"
     "threshold that meets a false-alarm target\n"
     "(`hark tune --help`)"},
    {"pin", "pin CERT.pem", "print a certificate's public-key pin (for [cloud] pins)"},
    {"check-config", "check-config [FILE] [--dump]",
     "validate a config file (default: the default path)"},
    {"check-config", "check-config --reference",
     "print the reference of every config key (doc/config.md)"},
    {"devices", "devices", "list audio input and output devices"},
    {"version", "version", "print the version"},
};

#define HELP_COLUMN 25

static const char source_help[] =
    "SRC is a file (WAV, FLAC, Ogg, ... any rate and channels), '-' for raw s16le\n"
    "16 kHz mono on stdin, 'mic' or 'mic:NAME' for a capture device ('@RATE' after\n"
    "either: capture at RATE Hz and resample in hark).\n";

/* The summary's lines, each indented to column indent; the first at the
 * cursor's column first_at (a newline first when that is past indent). */
static void print_summary(FILE *out, const char *summary, int first_at, int indent)
{
    const char *line = summary;

    if (first_at >= indent) {
        fputc('\n', out);
        first_at = 0;
    }
    fprintf(out, "%*s", indent - first_at, "");
    for (const char *p = summary; *p; p++) {
        if (*p == '\n') {
            fprintf(out, "%.*s\n%*s", (int)(p - line), line, indent, "");
            line = p + 1;
        }
    }
    fprintf(out, "%s\n", line);
}

/* Whether a lost stdout was already reported (by the command, which knew
 * more to say about it). */
static bool stdout_reported;

/* Flushes stdout and says once, on stderr, when what it carried was lost: a
 * full disk or a closed pipe must not pass for success. note: what the user
 * should know besides, or NULL. Returns 0 or a negative errno. */
static int check_stdout(const char *note)
{
    int r = 0;

    if (fflush(stdout) != 0) {
        r = -errno;
    } else if (events_write_error() < 0) {
        r = events_write_error();
    } else if (ferror(stdout)) {
        r = -EIO; /* an earlier write failed, and its errno is gone */
    }
    if (r < 0 && !stdout_reported) {
        log_error("writing to standard output: %s%s%s", strerror(-r), note ? "; " : "",
                  note ? note : "");
        stdout_reported = true;
    }
    return r;
}

static void usage(FILE *out)
{
    fputs("usage: hark [-v] COMMAND [OPTIONS]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++) {
        int n = fprintf(out, "  %s", command_help[i].synopsis);
        print_summary(out, command_help[i].summary, n, HELP_COLUMN);
    }
    fprintf(out, "\n%s-v raises the log level (repeat for debug). See doc/cli.md.\n", source_help);
}

/* `hark CMD --help`: the command's own lines. */
static void command_usage(FILE *out, const char *name)
{
    bool first = true;

    for (size_t i = 0; i < sizeof(command_help) / sizeof(command_help[0]); i++) {
        if (strcmp(command_help[i].name, name) != 0) {
            continue;
        }
        fprintf(out, "%s hark %s\n", first ? "usage:" : "      ", command_help[i].synopsis);
        print_summary(out, command_help[i].summary, 0, 11);
        first = false;
    }
    if (strcmp(name, "listen") == 0 || strcmp(name, "run") == 0) {
        fprintf(out, "\n%s", source_help);
    }
    fputs("See doc/cli.md.\n", out);
}

/* The options `hark listen` and `hark run` share; --output is run's only. */
struct pipeline_args {
    const char *config_path;
    struct run_options run;
};

/* Returns -1 to go on, or the exit code to return at once (--help, a usage
 * error). */
static int parse_pipeline_args(const char *cmd, bool with_output, int argc, char **argv,
                               struct pipeline_args *ret)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'}, {"realtime", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {0},
    };
    int c;

    *ret = (struct pipeline_args){0};
    while ((c = getopt_long(argc, argv, with_output ? "c:i:o:rh" : "c:i:rh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            ret->config_path = optarg;
            break;
        case 'i':
            ret->run.input = optarg;
            break;
        case 'o':
            if (!with_output) {
                log_error("%s: --output is for hark run", cmd);
                return 2;
            }
            ret->run.output = optarg;
            break;
        case 'r':
            ret->run.realtime = true;
            break;
        case 'h':
            command_usage(stdout, cmd);
            return 0;
        default:
            command_usage(stderr, cmd);
            return 2;
        }
    }
    if (optind < argc) {
        log_error("%s: unexpected argument '%s'", cmd, argv[optind]);
        return 2;
    }
    return -1;
}

/* What `hark listen` knows of the request's audio: only how much there was.
 * Nothing is kept or sent; the cloud link will be the consumer. */
struct listen_state {
    uint64_t request_samples;
    uint64_t wakes;
};

static void on_wake(void *userdata, const struct ear_wake *wake)
{
    struct listen_state *ls = userdata;

    ls->request_samples = 0;
    ls->wakes++;
    log_info("wake: '%s' (%s) at %.2f s (phrase from %.2f s, %.2f s of pre-roll)", wake->phrase,
             wake->detector, wake->t, wake->phrase_start, wake->preroll_s);
    events_wake(wake->t, wake->phrase, wake->detector, wake->score, wake->verify);
}

static void on_audio(void *userdata, const int16_t *samples, size_t n)
{
    struct listen_state *ls = userdata;

    (void)samples;
    ls->request_samples += n;
}

static void on_end(void *userdata, const struct ear_end *end)
{
    struct listen_state *ls = userdata;

    log_info("request ended (%s) at %.2f s: %.2f s of audio from the pre-roll on", end->reason,
             end->t, (double)ls->request_samples / AUDIO_RATE);
    events_utterance_end(end->t, end->reason, end->duration_s);
}

static int cmd_listen(int argc, char **argv)
{
    const struct ear_callbacks callbacks = {
        .on_wake = on_wake,
        .on_audio = on_audio,
        .on_end = on_end,
    };
    struct listen_state ls = {0};
    struct pipeline_args args;
    struct audio_source_options sopts = {0};
    const char *input;
    struct hark_config cfg;
    struct audio_source *source = NULL;
    struct ear *ear = NULL;
    int16_t buf[2048];
    char err[ERRSZ];
    int r;

    r = parse_pipeline_args("listen", false, argc, argv, &args);
    if (r >= 0) {
        return r;
    }
    if (cli_load_config(args.config_path, &cfg) < 0) {
        return 1;
    }
    sopts.realtime = args.run.realtime;
    sopts.ring_ms = cfg.audio.ring_ms;
    input = args.run.input ? args.run.input : cfg.audio.input;

    r = ear_new(&cfg, &callbacks, &ls, err, sizeof(err), &ear);
    if (r < 0) {
        log_error("%s", err);
        goto finish;
    }
    r = audio_source_open(input, &sopts, err, sizeof(err), &source);
    if (r < 0) {
        log_error("%s", err);
        goto finish;
    }
    log_info("listening to %s", audio_source_describe(source));
    signals_install();

    while (!signals_stop_requested()) {
        ssize_t n = audio_source_read(source, buf, sizeof(buf) / sizeof(buf[0]), err, sizeof(err));
        if (n == -EINTR) {
            continue;
        }
        if (n == -ENODEV) {
            events_capture_lost(err);
            r = capture_reopen(source, err, sizeof(err));
            if (r == -EINTR) {
                break;
            }
            if (r < 0) {
                log_error("%s", err);
                goto finish;
            }
            events_capture_restored(audio_source_describe(source));
            continue;
        }
        if (n < 0) {
            r = (int)n;
            log_error("%s", err);
            goto finish;
        }
        if (n == 0) {
            break;
        }
        r = ear_feed(ear, buf, (size_t)n, err, sizeof(err));
        if (r < 0) {
            log_error("%s", err);
            goto finish;
        }
    }
    r = ear_finish(ear, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
    }
    /* Counters only: a turned-down candidate leaves no other trace. */
    log_info("%llu wakes; %llu candidates turned down by the second pass",
             (unsigned long long)ls.wakes, (unsigned long long)ear_rejected(ear));
    if (audio_source_overruns(source) > 0) {
        log_warning("%llu samples lost to capture overruns",
                    (unsigned long long)audio_source_overruns(source));
    }

finish:
    audio_source_free(source);
    ear_free(ear);
    explicit_bzero(buf, sizeof(buf));
    return r < 0 ? 1 : 0;
}

static int cmd_run(int argc, char **argv)
{
    struct pipeline_args args;
    struct hark_config cfg;
    int r;

    r = parse_pipeline_args("run", true, argc, argv, &args);
    if (r >= 0) {
        return r;
    }
    if (cli_load_config(args.config_path, &cfg) < 0) {
        return 1;
    }
    return run_main(&cfg, &args.run);
}

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

static int cmd_provision(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
        {"release-key", required_argument, NULL, 'k'},
        {"show", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char dir[CONFIG_STRING_MAX + 32], fingerprint[PIN_STRING_MAX], err[ERRSZ];
    char key_text[UPDATE_KEY_TEXT], note[CONFIG_STRING_MAX + 128];
    const char *config_path = NULL, *key_file = NULL, *cert_path, *key_path;
    uint8_t release_key[UPDATE_KEY_BYTES];
    struct hark_config cfg;
    bool force = false, kept = false, show = false;
    int c, r;

    while ((c = getopt_long(argc, argv, "c:fk:sh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'f':
            force = true;
            break;
        case 'k':
            key_file = optarg;
            break;
        case 's':
            show = true;
            break;
        case 'h':
            command_usage(stdout, "provision");
            return 0;
        default:
            command_usage(stderr, "provision");
            return 2;
        }
    }
    if (optind < argc) {
        log_error("provision: unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (show && (force || key_file)) {
        log_error("provision: --show changes nothing, so it takes neither --force nor "
                  "--release-key");
        return 2;
    }
    /* The key file before anything is written: a wrong one changes nothing. */
    if (key_file && read_release_key(key_file, release_key) < 0) {
        return 1;
    }
    if (cli_load_config(config_path, &cfg) < 0) {
        return 1;
    }
    if (config_storage_dir(&cfg, dir, sizeof(dir)) < 0) {
        log_error("no storage directory: set [storage] dir");
        return 1;
    }
    if (show) {
        if (identity_fingerprint(dir, fingerprint, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return 1;
        }
        printf("%s\n", fingerprint);
        return 0;
    }
    r = identity_provision(dir, force, fingerprint, err, sizeof(err));
    if (r == -EEXIST && key_file) {
        /* A device provisioned before it had a release key keeps its
         * registered identity and gains the key. */
        r = identity_load(dir, fingerprint, &cert_path, &key_path, err, sizeof(err));
        kept = true;
    }
    if (r < 0) {
        log_error("%s", err);
        return 1;
    }
    if (key_file) {
        r = update_store_set_key(dir, release_key, force, err, sizeof(err));
        if (r < 0) {
            log_error("%s", err);
            return 1;
        }
        update_key_format(release_key, key_text);
        fprintf(stderr, "release key %s %s %s/%s\n", key_text,
                r == 1 ? "was already in" : "written to", dir, UPDATE_KEY_FILE);
    }
    printf("%s\n", fingerprint);
    /* The key is made: a fingerprint lost on the way must not look like a
     * failed provision, which the user would repeat with --force. */
    snprintf(note, sizeof(note),
             "the device identity in %s was %s all the same: `hark provision --show` prints its "
             "fingerprint",
             dir, kept ? "kept" : "made");
    if (check_stdout(note) < 0) {
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

/* hark verify-update: the checks `hark run` makes of a pushed update, for
 * the device's updater; --apply stores it as hark run would. */
static int cmd_verify_update(int argc, char **argv)
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
            command_usage(stdout, "verify-update");
            return 0;
        default:
            command_usage(stderr, "verify-update");
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

static int cmd_ctl(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char path[CONFIG_STRING_MAX + 32], reply[CONTROL_REPLY_MAX], err[ERRSZ];
    const char *config_path = NULL;
    struct hark_config cfg;
    int c;

    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            command_usage(stdout, "ctl");
            return 0;
        default:
            command_usage(stderr, "ctl");
            return 2;
        }
    }
    if (optind + 1 != argc || (strcmp(argv[optind], "mute") != 0 &&
                               strcmp(argv[optind], "unmute") != 0 &&
                               strcmp(argv[optind], "status") != 0)) {
        log_error("usage: hark ctl [--config F] mute|unmute|status");
        return 2;
    }
    if (cli_load_config(config_path, &cfg) < 0) {
        return 1;
    }
    if (config_control_socket(&cfg, path, sizeof(path)) < 0) {
        log_error("the control socket's path is too long");
        return 1;
    }
    if (control_request(path, argv[optind], reply, sizeof(reply), err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    printf("%s\n", reply);
    return strstr(reply, "\"error\"") ? 1 : 0;
}

static int cmd_pin(int argc, char **argv)
{
    char pin[PIN_STRING_MAX], err[ERRSZ];

    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            command_usage(stdout, "pin");
            return 0;
        }
        log_error("usage: hark pin CERT.pem");
        return 2;
    }
    if (pin_from_file(argv[1], pin, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    printf("%s\n", pin);
    return 0;
}

/* PocketSphinx's part in a phrase: its spotter's threshold and the second
 * pass's cut-off (or none). */
static void print_pocketsphinx(const struct hark_config *cfg, const struct config_phrase *ph)
{
    printf("pocketsphinx (threshold %g, ", ph->threshold);
    if (cfg->wakeword.verify) {
        printf("second pass at %g)", ph->verify_threshold);
    } else {
        printf("no second pass)");
    }
}

/* For the dump: which detector hears each phrase, as comments (the dump
 * still reads back). The models loaded when the config was checked. */
static int dump_detectors(const struct hark_config *cfg)
{
    struct nn_model *models[CONFIG_MAX_MODELS];
    int phrase_model[CONFIG_MAX_PHRASES];
    enum config_combine combine = config_combine(cfg);
    char err[ERRSZ];
    int r;

    r = config_load_models(cfg, models, phrase_model, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    printf("\n; The detectors of each phrase ([wakeword] model, combine = %s):\n",
           config_combine_to_string(combine));
    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        const struct config_phrase *ph = &cfg->wakeword.phrases[i];
        const struct nn_model *m = phrase_model[i] >= 0 ? models[phrase_model[i]] : NULL;

        printf("; %s: ", ph->text);
        if (!m) {
            print_pocketsphinx(cfg, ph);
            printf("\n");
            continue;
        }
        printf("neural (%s, threshold %g%s)", cfg->wakeword.models[phrase_model[i]],
               cfg->wakeword.neural_threshold > 0 ? cfg->wakeword.neural_threshold
                                                  : (double)m->threshold,
               cfg->wakeword.neural_threshold > 0 ? "" : ", the model's own");
        if (combine == CONFIG_COMBINE_VERIFY) {
            printf(", accepted by pocketsphinx's second pass at %g", ph->verify_threshold);
        } else if (combine == CONFIG_COMBINE_EITHER) {
            printf(" or ");
            print_pocketsphinx(cfg, ph);
        }
        printf("\n");
    }
    for (size_t m = 0; m < cfg->wakeword.n_models; m++) {
        nn_model_free(models[m]);
    }
    return 0;
}

static int cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dump", no_argument, NULL, 'd'},
        {"reference", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct hark_config cfg;
    const char *path;
    bool dump = false;
    char err[ERRSZ];
    int c, r;

    while ((c = getopt_long(argc, argv, "dRh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dump = true;
            break;
        case 'R':
            config_write_reference(stdout);
            return 0;
        case 'h':
            command_usage(stdout, "check-config");
            return 0;
        default:
            command_usage(stderr, "check-config");
            return 2;
        }
    }
    if (argc - optind > 1) {
        log_error("check-config: one file at most");
        return 2;
    }
    path = optind < argc ? argv[optind] : config_default_path();
    config_init_defaults(&cfg);
    if (path) {
        r = config_load(&cfg, path, err, sizeof(err));
        if (r < 0) {
            log_error("%s", err);
            return 1;
        }
    }
    /* Whatever would stop `hark run` (a neural model that does not load, a
     * missing PocketSphinx model, a wake word its dictionary lacks, a
     * ca_file that is no PEM file): say so now. */
    r = config_check(&cfg, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return 1;
    }
    if (dump) {
        config_dump(&cfg, stdout);
        if (dump_detectors(&cfg) < 0) {
            return 1;
        }
    }
    fprintf(stderr, "%s: OK\n", path ? path : "(built-in defaults)");
    return 0;
}

/* The listing in two parts, capture devices then playback devices, each a
 * line per device in the order PortAudio gives them. */
struct device_list {
    FILE *inputs, *outputs;
    unsigned n_inputs, n_outputs;
};

static void list_device(const struct audio_device_info *info, void *userdata)
{
    struct device_list *l = userdata;

    if (info->max_input_channels > 0) {
        l->n_inputs++;
        fprintf(l->inputs, "%3d  %-40s  %-6s  %d ch  %6.0f Hz%s%s\n", info->index, info->name,
                info->host_api, info->max_input_channels, info->default_rate,
                info->input_16k ? "  16 kHz ok" : "  resampled",
                info->is_default_input ? "  (default)" : "");
    }
    if (info->max_output_channels > 0) {
        l->n_outputs++;
        fprintf(l->outputs, "%3d  %-40s  %-6s  %d ch  %6.0f Hz%s%s\n", info->index, info->name,
                info->host_api, info->max_output_channels, info->default_rate,
                info->output_16k ? "  16 kHz ok" : "  no 16 kHz",
                info->is_default_output ? "  (default)" : "");
    }
}

static int cmd_devices(int argc, char **argv)
{
    struct device_list l = {0};
    char *inputs = NULL, *outputs = NULL;
    size_t inputs_len = 0, outputs_len = 0;
    char err[ERRSZ];
    int r;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            command_usage(stdout, "devices");
            return 0;
        }
        log_error("devices: unexpected argument '%s'", argv[1]);
        return 2;
    }
    l.inputs = open_memstream(&inputs, &inputs_len);
    l.outputs = open_memstream(&outputs, &outputs_len);
    if (!l.inputs || !l.outputs) {
        log_error("devices: out of memory");
        r = -ENOMEM;
        goto finish;
    }
    r = audio_devices_enumerate(list_device, &l, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        goto finish;
    }
    fclose(l.inputs);
    fclose(l.outputs);
    l.inputs = l.outputs = NULL;
    printf("input devices ([audio] input = mic:NAME or mic:INDEX):\n%s",
           l.n_inputs ? inputs : "  none\n");
    printf("output devices ([audio] output = speaker:NAME or speaker:INDEX):\n%s",
           l.n_outputs ? outputs : "  none\n");
finish:
    if (l.inputs) {
        fclose(l.inputs);
    }
    if (l.outputs) {
        fclose(l.outputs);
    }
    free(inputs);
    free(outputs);
    return r < 0 ? 1 : 0;
}

/* Keys, transcripts and speech live in this process's memory: no core file
 * may hold them, and no other process of the same user may read them
 * through ptrace or /proc/PID/mem. setrlimit may be refused by a system-call
 * filter (the service sets LimitCORE=0 itself); the rest still holds. */
static void protect_memory(void)
{
    const struct rlimit none = {0, 0};

    (void)setrlimit(RLIMIT_CORE, &none);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    proto_wipe_json_memory();
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            command_usage(stdout, "version");
            return 0;
        }
        log_error("version: unexpected argument '%s'", argv[1]);
        return 2;
    }
    printf("hark %s\n", HARK_VERSION);
    return 0;
}

static int hark_main(int argc, char **argv)
{
    int level = LOG_LEVEL_WARNING;
    int i = 1;

    protect_memory();

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            level = level < LOG_LEVEL_INFO ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
        } else if (strcmp(argv[i], "-vv") == 0) {
            level = LOG_LEVEL_DEBUG;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("hark %s\n", HARK_VERSION);
            return 0;
        } else {
            log_error("unknown option '%s'", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    log_set_level((enum log_level)level);
    audio_set_backend_messages(level >= LOG_LEVEL_DEBUG);
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    argc -= i;
    argv += i;
    if (strcmp(argv[0], "listen") == 0) {
        return cmd_listen(argc, argv);
    }
    if (strcmp(argv[0], "run") == 0) {
        return cmd_run(argc, argv);
    }
    if (strcmp(argv[0], "provision") == 0) {
        return cmd_provision(argc, argv);
    }
    if (strcmp(argv[0], "history") == 0) {
        return history_cmd_main(argc, argv);
    }
    if (strcmp(argv[0], "ctl") == 0) {
        return cmd_ctl(argc, argv);
    }
    if (strcmp(argv[0], "tune") == 0) {
        return tune_main(argc, argv);
    }
    if (strcmp(argv[0], "verify-update") == 0) {
        return cmd_verify_update(argc, argv);
    }
    if (strcmp(argv[0], "pin") == 0) {
        return cmd_pin(argc, argv);
    }
    if (strcmp(argv[0], "check-config") == 0) {
        return cmd_check_config(argc, argv);
    }
    if (strcmp(argv[0], "devices") == 0) {
        return cmd_devices(argc, argv);
    }
    if (strcmp(argv[0], "version") == 0) {
        return cmd_version(argc, argv);
    }
    if (strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return 0;
    }
    log_error("unknown command '%s'", argv[0]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int status = hark_main(argc, argv);

    /* Whatever the command printed, its usage and version included, is only
     * out once stdout is flushed and closed without an error. */
    if (check_stdout(NULL) < 0) {
        fclose(stdout);
        return status == 0 ? 1 : status;
    }
    if (fclose(stdout) != 0) {
        log_error("writing to standard output: %s", strerror(errno));
        return status == 0 ? 1 : status;
    }
    return status;
}
