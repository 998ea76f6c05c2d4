/* hark: the command line. The table of subcommands (name, function, usage,
 * and the commands of `hark history`) dispatches them and makes `hark
 * --help` and their own --help; each subcommand parses its own options,
 * loads the config once and logs errors once, here at the edge. */
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
#include "config.h"
#include "control.h"
#include "ear.h"
#include "events.h"
#include "hark-build.h"
#include "device-cmd.h"
#include "history-cmd.h"
#include "listen-loop.h"
#include "tune.h"
#include "log.h"
#include "nn-model.h"
#include "protocol.h"
#include "pin.h"
#include "run.h"
#include "signals.h"


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
int cli_check_stdout(const char *note)
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
            cli_command_usage(stdout, cmd);
            return 0;
        default:
            cli_command_usage(stderr, cmd);
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

static void on_capture_lost(void *userdata, const char *why)
{
    (void)userdata;
    events_capture_lost(why);
    log_warning("%s; reopening it", why);
}

static void on_capture_retry(void *userdata, unsigned attempt, const char *why)
{
    (void)userdata;
    log_debug("reopen attempt %u: %s", attempt, why);
}

static void on_capture_restored(void *userdata, const char *device, unsigned attempts)
{
    (void)userdata;
    log_info("capture restored after %u attempt%s: %s", attempts, attempts == 1 ? "" : "s",
             device);
    events_capture_restored(device);
}

static int cmd_listen(int argc, char **argv)
{
    static const struct listen_loop_callbacks loop_callbacks = {
        .on_capture_lost = on_capture_lost,
        .on_capture_retry = on_capture_retry,
        .on_capture_restored = on_capture_restored,
    };
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

    r = listen_loop_run(source, ear, &loop_callbacks, NULL, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        goto finish;
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
            cli_command_usage(stdout, "ctl");
            return 0;
        default:
            cli_command_usage(stderr, "ctl");
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
            cli_command_usage(stdout, "pin");
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
            cli_command_usage(stdout, "check-config");
            return 0;
        default:
            cli_command_usage(stderr, "check-config");
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
            cli_command_usage(stdout, "devices");
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
            cli_command_usage(stdout, "version");
            return 0;
        }
        log_error("version: unexpected argument '%s'", argv[1]);
        return 2;
    }
    printf("hark %s\n", HARK_VERSION);
    return 0;
}

/* Lists the table below. */
static void usage(FILE *out);

/* `hark help`: the usage, as `hark --help` prints it. */
static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return 0;
}

/* A line of the usage: a command may have two forms (check-config). Each
 * command's --help prints its own lines; `hark --help` all of them. */
#define USAGES_MAX 2
struct command_usage {
    const char *synopsis; /* after "hark " */
    const char *summary;  /* lines separated by '\n' */
};

/* The subcommands, in the order `hark --help` lists them. */
struct command {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[0] is the name; returns the exit code */
    struct command_usage usage[USAGES_MAX]; /* none: not listed (help) */
    /* A command with commands of its own (history): `hark CMD --help` lists
     * them; `hark --help` names them in place of COMMAND in the synopsis
     * and points to `hark CMD --help`. */
    const struct command_usage *commands;
    size_t n_commands;
};

static const struct command_usage history_commands[] = {
    {"list [--json]", "what is remembered, oldest first"},
    {"show ID", "one request in full"},
    {"delete ID", "forget one request (and its recording)"},
    {"delete --last", "forget the latest request"},
    {"purge", "apply the retention now"},
    {"export --json", "everything remembered, as one JSON document"},
    {"verify", "check every record; exit 1 if any is damaged"},
    {"audio ID FILE.wav", "write a request's debug recording as a WAV file"},
    {"wipe --yes", "destroy the history and its keys (cannot be undone)"},
};

static const struct command commands[] = {
    {.name = "listen", .main = cmd_listen,
     .usage = {{"listen [--config F] [--input SRC] [--realtime]",
                "run the local pipeline (wake word, end of speech);\n"
                "prints JSON Lines events; never opens a network socket"}}},
    {.name = "run", .main = cmd_run,
     .usage = {{"run [--config F] [--input SRC] [--realtime] [--output WAV]",
                "the whole pipeline: stream each request to the cloud\n"
                "and show or play the answer; prints JSON Lines events"}}},
    {.name = "provision", .main = device_cmd_provision,
     .usage = {{"provision [--config F] [--force] [--release-key FILE]",
                "make this device's key and certificate; prints the\n"
                "fingerprint to register with the cloud; with\n"
                "--release-key, fix the key updates must be signed by"},
               {"provision [--config F] --show",
                "print the fingerprint of this device's key again"}}},
    {.name = "verify-update", .main = device_cmd_verify_update,
     .usage = {{"verify-update [--config F] [--apply] FILE",
                "check a signed update bundle as hark would (signature,\n"
                "newer version, this device); --apply also stores it"}}},
    {.name = "history", .main = history_cmd_main,
     .usage = {{"history [--config F] COMMAND", "what hark remembers, and forgetting it"}},
     .commands = history_commands,
     .n_commands = sizeof(history_commands) / sizeof(history_commands[0])},
    {.name = "ctl", .main = cmd_ctl,
     .usage = {{"ctl [--config F] mute|unmute|status",
                "mute (the microphone is closed), unmute, or ask a\n"
                "running `hark run` what it is doing"}}},
    {.name = "tune", .main = tune_main,
     .usage = {{"tune --positives PATH --negatives PATH [--write F] ...",
                "measure the wake word on recordings and set the\n"
                "threshold that meets a false-alarm target\n"
                "(`hark tune --help`)"}}},
    {.name = "pin", .main = cmd_pin,
     .usage = {{"pin CERT.pem", "print a certificate's public-key pin (for [cloud] pins)"}}},
    {.name = "check-config", .main = cmd_check_config,
     .usage = {{"check-config [FILE] [--dump]",
                "validate a config file (default: the default path)"},
               {"check-config --reference",
                "print the reference of every config key (doc/config.md)"}}},
    {.name = "devices", .main = cmd_devices,
     .usage = {{"devices", "list audio input and output devices"}}},
    {.name = "version", .main = cmd_version, .usage = {{"version", "print the version"}}},
    {.name = "help", .main = cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/* A synopsis in `hark --help`: COMMAND stands for the names of the
 * command's own commands, when it has them. Returns the columns printed. */
static int print_synopsis(FILE *out, const struct command *cmd, const char *synopsis)
{
    const char *at = cmd->commands ? strstr(synopsis, "COMMAND") : NULL;
    int n;

    if (!at) {
        return fprintf(out, "  %s", synopsis);
    }
    n = fprintf(out, "  %.*s", (int)(at - synopsis), synopsis);
    for (size_t k = 0; k < cmd->n_commands; k++) {
        const char *name = cmd->commands[k].synopsis;
        int len = (int)strcspn(name, " ");

        /* A command with two forms (delete ID, delete --last) is named once. */
        if (k > 0 && strncmp(cmd->commands[k - 1].synopsis, name, (size_t)len + 1) == 0) {
            continue;
        }
        n += fprintf(out, "%s%.*s", k > 0 ? "|" : "", len, name);
    }
    return n + fprintf(out, " ...%s", at + strlen("COMMAND"));
}

static void usage(FILE *out)
{
    fputs("usage: hark [-v] COMMAND [OPTIONS]\n\ncommands:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *cmd = &commands[i];

        for (size_t u = 0; u < USAGES_MAX && cmd->usage[u].synopsis; u++) {
            int n = print_synopsis(out, cmd, cmd->usage[u].synopsis);
            print_summary(out, cmd->usage[u].summary, n, HELP_COLUMN);
        }
        if (cmd->commands) {
            fprintf(out, "%*s(`hark %s --help`)\n", HELP_COLUMN, "", cmd->name);
        }
    }
    fprintf(out, "\n%s-v raises the log level (repeat for debug). See doc/cli.md.\n", source_help);
}

/* `hark CMD --help`: the command's own lines. */
void cli_command_usage(FILE *out, const char *name)
{
    const struct command *cmd = command_find(name);

    for (size_t u = 0; cmd && u < USAGES_MAX && cmd->usage[u].synopsis; u++) {
        fprintf(out, "%s hark %s\n", u == 0 ? "usage:" : "      ", cmd->usage[u].synopsis);
        print_summary(out, cmd->usage[u].summary, 0, 11);
    }
    if (cmd && cmd->commands) {
        int width = 0;

        for (size_t k = 0; k < cmd->n_commands; k++) {
            int len = (int)strlen(cmd->commands[k].synopsis);
            width = len > width ? len : width;
        }
        fputc('\n', out);
        for (size_t k = 0; k < cmd->n_commands; k++) {
            fprintf(out, "  %-*s  %s\n", width, cmd->commands[k].synopsis,
                    cmd->commands[k].summary);
        }
        fputc('\n', out);
    }
    if (strcmp(name, "listen") == 0 || strcmp(name, "run") == 0) {
        fprintf(out, "\n%s", source_help);
    }
    fputs("See doc/cli.md.\n", out);
}

static int hark_main(int argc, char **argv)
{
    const struct command *cmd;
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
    cmd = command_find(argv[0]);
    if (cmd) {
        return cmd->main(argc, argv);
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
    if (cli_check_stdout(NULL) < 0) {
        fclose(stdout);
        return status == 0 ? 1 : status;
    }
    if (fclose(stdout) != 0) {
        log_error("writing to standard output: %s", strerror(errno));
        return status == 0 ? 1 : status;
    }
    return status;
}
