/* hark's configuration: one table of keys drives parsing, validation,
 * `hark check-config` and doc/config.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_PHRASES 8
#define CONFIG_PHRASE_MAX 64
#define CONFIG_STRING_MAX 256
/* The [privacy] rule lists: room for the policy's 64 entries of a few words. */
#define CONFIG_LIST_MAX 4096
#define CONFIG_MAX_PINS 4
/* Keys in the table (the table checks that they fit). */
#define CONFIG_KEYS_MAX 64
#define CONFIG_FILE_NAME_MAX 4096
/* Neural wake-word models in [wakeword] model. */
#define CONFIG_MAX_MODELS 8

#include "pin.h"
#include "policy.h"

struct config_phrase {
    char text[CONFIG_PHRASE_MAX]; /* lower case words separated by single spaces */
    double threshold;             /* PocketSphinx -kws_threshold for this phrase */
    double verify_threshold;      /* the second pass's cut-off for this phrase */
    bool has_verify_threshold;    /* named in the phrase list (else the default) */
};

struct hark_config {
    struct {
        char input[CONFIG_STRING_MAX]; /* source spec, see audio_source_open() */
        char output[CONFIG_STRING_MAX]; /* device spec, see audio_sink_open_device() */
        unsigned ring_ms;              /* capture ring */
        unsigned preroll_ms;           /* audio kept before the wake phrase */
        bool wake_chime;               /* a chime on the speaker at each wake */
        bool error_chime;              /* ... and when a request fails */
        unsigned chime_tail_ms;        /* the microphone is ignored this long after a chime */
    } audio;
    struct {
        struct config_phrase phrases[CONFIG_MAX_PHRASES];
        size_t n_phrases;
        double threshold; /* for phrases that name none */
        double phone_loop; /* PocketSphinx -kws_plp */
        bool verify;      /* second-pass verification of detections */
        double verify_threshold; /* its cut-off, for phrases that name none */
        char model_dir[CONFIG_STRING_MAX];
        char dict[CONFIG_STRING_MAX];
        /* Neural model files (.hwm), a relative one resolved against the
         * config file's folder (see config_load()). */
        char models[CONFIG_MAX_MODELS][CONFIG_STRING_MAX];
        size_t n_models;
        double neural_threshold; /* the neural detector's, 0: each model's own */
        char combine[CONFIG_STRING_MAX]; /* see config_combine() */
    } wakeword;
    struct {
        unsigned silence_ms;    /* utterance ends after this much silence */
        unsigned max_length_ms; /* ... or at this length */
        unsigned no_speech_ms;  /* ... or when no speech follows the wake */
        unsigned min_speech_ms; /* speech shorter than this is not a start */
        double vad_threshold_db; /* speech is this far above the noise floor */
    } endpoint;
    struct {
        char url[CONFIG_STRING_MAX];     /* wss://...; empty: not configured */
        char pins[CONFIG_STRING_MAX];    /* comma-separated, see config_cloud_pins() */
        char ca_file[CONFIG_STRING_MAX]; /* optional */
        unsigned bitrate;                /* Opus, bit/s */
        unsigned complexity;             /* Opus, 0-10 */
    } cloud;
    struct {
        char dir[CONFIG_STRING_MAX]; /* empty: see config_storage_dir() */
    } storage;
    struct {
        char socket[CONFIG_STRING_MAX]; /* empty: see config_control_socket() */
        bool persist_mute;              /* a mute outlives a restart */
    } control;
    struct {
        char on_idle[CONFIG_STRING_MAX]; /* commands, empty: none */
        char on_listening[CONFIG_STRING_MAX];
        char on_thinking[CONFIG_STRING_MAX];
        char on_speaking[CONFIG_STRING_MAX];
        char on_muted[CONFIG_STRING_MAX];
        char on_error[CONFIG_STRING_MAX];
        char on_disconnected[CONFIG_STRING_MAX];
        unsigned timeout_ms;
    } hooks;
    struct {
        bool history;                   /* keep a history at all */
        uint64_t retention_s;           /* records expire after this */
        unsigned max_entries;           /* ... and beyond this count (0: no limit) */
        char passphrase_file[CONFIG_STRING_MAX]; /* empty: a key file */
        bool debug_recording;           /* keep requests' audio in the history */
        char drop_intents[CONFIG_LIST_MAX]; /* see struct policy_rules */
        char drop_words[CONFIG_LIST_MAX];
        char redact_intents[CONFIG_LIST_MAX];
        char redact_words[CONFIG_LIST_MAX];
        char allow_intents[CONFIG_LIST_MAX];
        char default_action[CONFIG_STRING_MAX]; /* allow, redact or drop */
        bool policy_updates; /* a signed update's rules replace these */
    } privacy;
    /* Where the values came from, so that config_check() can name the line
     * of a value it finds unusable. Last: the values end before it. */
    struct {
        char file[CONFIG_FILE_NAME_MAX]; /* "": the built-in defaults */
        unsigned lines[CONFIG_KEYS_MAX]; /* by key; 0: the default */
    } origin;
};

/* How the two detectors share a phrase that has a neural model. */
enum config_combine {
    CONFIG_COMBINE_NEURAL, /* the neural detector alone */
    CONFIG_COMBINE_VERIFY, /* the neural detector proposes, PocketSphinx's second pass decides */
    CONFIG_COMBINE_EITHER, /* the neural detector, or PocketSphinx's spotter and second pass */
};

/* Sets every key to its default. */
void config_init_defaults(struct hark_config *cfg);

/* Parses an INI file over the defaults. On error returns a negative errno and
 * writes "FILE:LINE: message" (or "FILE: message") into err; *cfg is then
 * left with the defaults and nothing of the file. A relative path in
 * [wakeword] model is taken from the folder of path and made absolute. The file must be a regular
 * file owned by this user or root that neither group nor others may write
 * (it names the server and the commands hark runs): -EPERM otherwise. A FIFO
 * or a device is refused (-EINVAL) without reading from it. */
int config_load(struct hark_config *cfg, const char *path, char *err, size_t errsz);

/* The same for text in memory; name stands in for the file name in errors
 * and in resolving a relative model path. */
int config_load_string(struct hark_config *cfg, const char *name, const char *text, char *err,
                       size_t errsz);

/* Checks what reading the file cannot, as `hark run` would need it: that
 * every neural model loads and has a phrase of its own among the phrases
 * (config_load_models()), that model_dir is a directory, that dict can be
 * read and holds every word of the phrases PocketSphinx hears, that ca_file is a PEM file of certificates, that
 * passphrase_file (when the history is on) is a file of this user's that
 * only this user can read, and that the control socket's path fits a socket
 * address. Creates nothing. On error returns a negative errno and writes
 * "FILE:LINE: message" naming the line that set the value ("FILE: message"
 * for a default). */
int config_check(const struct hark_config *cfg, char *err, size_t errsz);

/* The configuration file used when none is given: $XDG_CONFIG_HOME/hark/hark.conf
 * (or ~/.config/hark/hark.conf) when it exists, else SYSCONFDIR/hark/hark.conf
 * when it exists, else NULL (built-in defaults). Returned string is static. */
const char *config_default_path(void);

/* Writes the effective configuration as an INI file (every key, with its
 * value), as `hark check-config --dump` prints it. */
void config_dump(const struct hark_config *cfg, FILE *out);

/* Writes the Markdown reference of every key (doc/config.md). */
void config_write_reference(FILE *out);

/* [wakeword] combine. */
enum config_combine config_combine(const struct hark_config *cfg);
const char *config_combine_to_string(enum config_combine c);

struct nn_model;
/* Loads every model of [wakeword] model into ret_models (as many as
 * cfg->wakeword.n_models; free each with nn_model_free()) and writes for
 * each phrase the index of its model, or -1, into ret_phrase_model. A model
 * that does not load, whose phrase is not one of [wakeword] phrases, or
 * that has the phrase of another: a negative errno and "FILE: message" in
 * err, nothing loaded. */
int config_load_models(const struct hark_config *cfg, struct nn_model **ret_models,
                       int *ret_phrase_model, char *err, size_t errsz);

/* The configured pins, split; returns how many (at most max). */
size_t config_cloud_pins(const struct hark_config *cfg, char ret_pins[][PIN_STRING_MAX], size_t max);

/* The [privacy] rules for policy_new(); valid as long as cfg is. */
void config_policy_rules(const struct hark_config *cfg, struct policy_rules *ret);

/* A hook command split into arguments at blanks ("double quotes" keep
 * blanks) into buf; ret_argv gets up to max - 1 of them and a NULL. Returns
 * how many, -ENOENT for none, -E2BIG, or -EINVAL for an open quote. */
#define CONFIG_COMMAND_ARGS 16
int config_split_command(const char *command, char *buf, size_t size, char **ret_argv,
                         size_t max);

/* The control socket: [control] socket, else $RUNTIME_DIRECTORY/control
 * (systemd), else $XDG_RUNTIME_DIR/hark/control, else /tmp/hark-UID/control. */
int config_control_socket(const struct hark_config *cfg, char *ret_path, size_t size);

/* The storage directory: [storage] dir, else $STATE_DIRECTORY (systemd), else
 * $XDG_STATE_HOME/hark, else ~/.local/state/hark. */
int config_storage_dir(const struct hark_config *cfg, char *ret_dir, size_t size);

/* One key to change in a configuration file, its value as the file would
 * say it. */
struct config_change {
    const char *section; /* "wakeword" */
    const char *name;    /* "phrases" */
    const char *value;
};

/* Changes keys of the file at path as a person would edit it: in each
 * section that has changes, they are written (after "# comment" when
 * comment is not NULL) right after its first header and its old lines of
 * those keys are dropped; a section the file lacks is added at its end,
 * and a missing file is made (mode 0644). Every other line stays as it
 * was, and the file keeps its mode. The file is replaced atomically
 * (written beside it, fsynced, renamed over it, the directory fsynced).
 * A key that is not in the table, named twice, or a value that would not
 * read back: -EINVAL, and nothing is written. On error returns a negative
 * errno and writes "FILE: message" into err. */
int config_write_changes(const char *path, const struct config_change *changes, size_t n,
                         const char *comment, char *err, size_t errsz);
