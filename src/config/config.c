/* hark's configuration file: one table of keys drives parsing, validation,
 * the defaults, `hark check-config --dump` and doc/config.md. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audio-source.h"
#include "hark-build.h"
#include "kws.h"
#include "link.h"
#include "nn-builtin.h"
#include "nn-model.h"
#include "pin.h"

/* A configuration file is a few hundred bytes; anything near this is a mistake
 * (the wrong file), and the limit bounds what we read into memory. */
#define CONFIG_FILE_MAX (64 * 1024)

/* Bytes of one line, without its line ending: a rule list at its longest
 * with its key, and far more than any other key needs. */
#define CONFIG_LINE_MAX 8192
_Static_assert(CONFIG_LIST_MAX + 64 < CONFIG_LINE_MAX, "a rule list at its longest fits a line");

#define PHRASE_MAX_WORDS 4
/* The second pass's cut-off (nats per frame), and its defaults: what
 * `hark tune` found for "hey computer" on the test corpus (doc/wakeword.md). */
#define VERIFY_MIN (-20.0)
#define VERIFY_MAX 20.0
#define VERIFY_DEFAULT "on"
#define VERIFY_THRESHOLD_DEFAULT "-0.474"
#define THRESHOLD_DEFAULT "1e-40"
#define PHONE_LOOP_DEFAULT "1e-3"
#define MSG_MAX 512

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* Build-time defaults go into fixed-size fields. */
_Static_assert(sizeof(HARK_MODEL_DIR) <= CONFIG_STRING_MAX, "HARK_MODEL_DIR is too long");
_Static_assert(sizeof(HARK_DICT) <= CONFIG_STRING_MAX, "HARK_DICT is too long");

enum key_type {
    KEY_STRING,   /* char[CONFIG_STRING_MAX] */
    KEY_LIST,     /* char[CONFIG_LIST_MAX], a [privacy] rule list */
    KEY_DURATION, /* unsigned milliseconds, written with a unit */
    KEY_DOUBLE,   /* double */
    KEY_PHRASES,  /* the wake phrase list (wakeword.phrases and n_phrases) */
    KEY_UINT,     /* unsigned, a whole number */
    KEY_BOOL,     /* bool, written on or off */
    KEY_PERIOD,   /* uint64_t seconds, written with a unit from s to y */
    KEY_MODELS,   /* the neural model files (wakeword.models and n_models) */
};

/* One entry of the key table, written with designated initialisers: a
 * field left out is 0, NULL or false. */
struct key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset; /* into struct hark_config */
    /* Durations: milliseconds. Periods: seconds. Doubles: the value. Phrases:
     * each threshold. */
    double min, max;
    const char *def;     /* the default, as a user would write it */
    const char *doc_def; /* the default as doc/config.md shows it, when set at build time */
    const char *help;
    /* Strings and numbers: what is wrong with a value (static text, or
     * written into buf), or NULL; for a number, after the range check. */
    const char *(*check)(const char *value, char *buf, size_t size);
    /* Strings: may be empty (the default then is empty: not set). */
    bool optional;
};

struct section {
    const char *name;
    const char *help;
};

static const char *check_input(const char *value, char *buf, size_t size);
static const char *check_output(const char *value, char *buf, size_t size);
static const char *check_url(const char *value, char *buf, size_t size);
static const char *check_pins(const char *value, char *buf, size_t size);
static const char *check_action(const char *value, char *buf, size_t size);
static const char *check_command(const char *value, char *buf, size_t size);
static const char *check_intents(const char *value, char *buf, size_t size);
static const char *check_words(const char *value, char *buf, size_t size);
static const char *check_combine(const char *value, char *buf, size_t size);
static const char *check_neural_threshold(const char *value, char *buf, size_t size);

#define OFF(field) offsetof(struct hark_config, field)

/* Every section, in the order of the file, for doc/config.md and the dump. */
static const struct section sections[] = {
    {"audio", "Where sound comes from and how much of it is kept in memory."},
    {"wakeword", "The phrases that wake hark, heard on the device only: by PocketSphinx, and "
                 "by the neural detector for a phrase that has a model (`model`, `combine`; "
                 "doc/wakeword.md). A relative path in `model` is taken from the folder of the "
                 "configuration file it is written in (and shown absolute by `hark check-config "
                 "--dump`); other paths are taken as they are written, from the folder hark is "
                 "started in."},
    {"endpoint", "When a request that follows the wake phrase has ended."},
    {"cloud", "The assistant cloud: where requests go and how its server is recognised."},
    {"control", "The control socket of `hark run`: `hark ctl mute`, `unmute`, `status`. A Unix "
                "socket only (mode 0660, in a directory of mode 0700 that hark makes if it is "
                "missing); hark opens no TCP or UDP port."},
    {"hooks", "Commands run on each state change of `hark run`, for LEDs and scripts: split at "
              "blanks (\"double quotes\" keep blanks), run without a shell, with the state in "
              "`$HARK_STATE`, stdin from /dev/null and stdout to hark's stderr, and killed after "
              "`timeout`. States: `idle`, `listening` (a request is streaming), `thinking` "
              "(waiting for the answer), `speaking` (the answer plays), `muted`, `error` (a "
              "request failed; `idle` follows), `disconnected` (the cloud link is down)."},
    {"storage", "Where hark keeps what must survive a restart: the device identity and the "
                "history."},
    {"privacy", "What hark may remember of a request, and for how long. Every finished request "
                "is decided by the rules, in this order: `drop_intents`, `drop_words`; then a "
                "request the cloud flags as sensitive is dropped unless `allow_intents` or "
                "`redact_intents` names its intent (a bare `*` does not count); then "
                "`redact_intents`, `redact_words`, `allow_intents`, and `default_action`. "
                "`drop`: nothing of it is stored, and its transcript and answer reach no log "
                "and no event. `redact`: stored and shown with card numbers, IBANs, phone "
                "numbers, e-mail addresses, id numbers and secrets replaced by markers such as "
                "`[card]`. `allow`: stored as it is. Intent globs: `*` matches anything, and a "
                "trailing `.*` also matches the name without it (`banking.*` matches `banking` "
                "and `banking.balance`). Word lists hold words or phrases of up to 8 words, "
                "matched as whole words in a row; a word ending in `*` matches any word it "
                "starts."},
};

/* Every key. */
static const struct key keys[] = {
    {
        .section = "audio", .name = "input", .type = KEY_STRING,
        .offset = OFF(audio.input), .def = "mic",
        .check = check_input,
        .help = "Where audio comes from: `mic` (the default input device), `mic:NAME` (the input "
                "device whose name contains NAME, or whose index is NAME), either with `@RATE` to "
                "capture at RATE Hz and resample in hark (`mic@48000`), `-` (raw signed 16-bit "
                "little-endian 16 kHz mono on standard input) or the path of a sound file.",
    },
    {
        .section = "audio", .name = "output", .type = KEY_STRING,
        .offset = OFF(audio.output), .def = "speaker",
        .check = check_output,
        .help = "Where `hark run` plays the answers: `speaker` (the default output device) or "
                "`speaker:NAME` (the output device whose name contains NAME, or whose index is "
                "NAME; `hark devices` lists them). The default device missing is a warning (the "
                "answers are still shown); a device named here missing is an error. `hark run "
                "--output FILE` writes them to a WAV file instead.",
    },
    {
        .section = "audio", .name = "ring", .type = KEY_DURATION,
        .offset = OFF(audio.ring_ms), .min = 100, .max = 10000, .def = "2s",
        .help = "Capture buffer between the sound card and hark. Sound that arrives while it is "
                "full is dropped and counted as an overrun.",
    },
    {
        .section = "audio", .name = "preroll", .type = KEY_DURATION,
        .offset = OFF(audio.preroll_ms), .min = 0, .max = 2000, .def = "500ms",
        .help = "Sound kept from before the wake phrase was recognised, in memory only, so that a "
                "request spoken without a pause is not cut off.",
    },
    {
        .section = "audio", .name = "wake_chime", .type = KEY_BOOL,
        .offset = OFF(audio.wake_chime), .def = "off",
        .help = "A short rising chime on the speaker when the wake phrase is heard (`hark run`, "
                "not into an `--output` file). Off by default: the request hears silence while it "
                "plays (see `chime_tail`), which cuts the first words of a request spoken without "
                "a pause.",
    },
    {
        .section = "audio", .name = "error_chime", .type = KEY_BOOL,
        .offset = OFF(audio.error_chime), .def = "on",
        .help = "A falling chime on the speaker when a request cannot be served (the cloud is not "
                "connected, or the request failed).",
    },
    {
        .section = "audio", .name = "chime_tail", .type = KEY_DURATION,
        .offset = OFF(audio.chime_tail_ms), .min = 0, .max = 2000, .def = "250ms",
        .help = "While the wake chime plays and this long after it (the speaker's delay), the "
                "request hears silence instead of the microphone, so the chime is neither sent "
                "nor taken for speech.",
    },
    {
        .section = "wakeword", .name = "phrases", .type = KEY_PHRASES,
        .offset = OFF(wakeword.phrases), .min = 1e-50, .max = 1e50, .def = "hey computer",
        .help = "Comma-separated wake phrases, each `PHRASE`, `PHRASE/THRESHOLD` or "
                "`PHRASE/THRESHOLD/CUTOFF`, for example `hey computer/1e-20, ok "
                "speaker/1e-10/-0.5` (`hark tune` writes them). A phrase is 1 to 4 words of "
                "letters and apostrophes (upper case is folded to lower case), and its words must "
                "be in `dict`. A phrase without a threshold uses `threshold`, one without a "
                "cut-off `verify_threshold`.",
    },
    {
        .section = "wakeword", .name = "threshold", .type = KEY_DOUBLE,
        .offset = OFF(wakeword.threshold), .min = 1e-50, .max = 1e50, .def = THRESHOLD_DEFAULT,
        .help = "PocketSphinx keyword-spotting threshold (`-kws_threshold`) for phrases that name "
                "none: how readily the spotter proposes a candidate. With `verify` on, the second "
                "pass decides; keep this low and tune `verify_threshold`. `hark tune` measures "
                "both.",
    },
    {
        .section = "wakeword", .name = "phone_loop", .type = KEY_DOUBLE,
        .offset = OFF(wakeword.phone_loop), .min = 1e-10, .max = 1, .def = PHONE_LOOP_DEFAULT,
        .help = "PocketSphinx's phone-loop probability (`-kws_plp`): the spotter weighs the "
                "phrase against a loop of phones that pays this at every phone. Lower proposes "
                "more candidates, so the phrase is found more often in noise and the second pass "
                "has more to turn down (PocketSphinx's own default is 0.1; see doc/wakeword.md).",
    },
    {
        .section = "wakeword", .name = "verify", .type = KEY_BOOL,
        .offset = OFF(wakeword.verify), .def = VERIFY_DEFAULT,
        .help = "Check every candidate a second time before waking: the phrase is aligned to its "
                "own context-dependent phones and compared with a free loop of phones over the "
                "same audio. A candidate that fails opens nothing and leaves no trace but a "
                "counter (`hark ctl status`). See doc/wakeword.md.",
    },
    {
        .section = "wakeword", .name = "verify_threshold", .type = KEY_DOUBLE,
        .offset = OFF(wakeword.verify_threshold), .min = VERIFY_MIN, .max = VERIFY_MAX,
        .def = VERIFY_THRESHOLD_DEFAULT,
        .help = "The second pass's cut-off, for phrases that name none "
                "(`PHRASE/THRESHOLD/CUTOFF`): how much better, in nats per 10 ms frame, the "
                "phrase's own phones must explain its audio than the phone loop does (0: as well; "
                "a true wake in noise often scores below 0). Raise it if hark wakes when nobody "
                "said the phrase; lower it if it misses the phrase. `hark tune` measures it.",
    },
    {
        .section = "wakeword", .name = "model_dir", .type = KEY_STRING,
        .offset = OFF(wakeword.model_dir), .def = HARK_MODEL_DIR,
        .doc_def = "set at build time (meson option `model_dir`)",
        .help = "Directory of the PocketSphinx acoustic model.",
    },
    {
        .section = "wakeword", .name = "dict", .type = KEY_STRING,
        .offset = OFF(wakeword.dict), .def = HARK_DICT,
        .doc_def = "set at build time (meson option `dict`)",
        .help = "Pronunciation dictionary that the words of the wake phrases are looked up in.",
    },
    {
        .section = "wakeword", .name = "model", .type = KEY_MODELS,
        .offset = OFF(wakeword.models), .def = "",
        .optional = true,
        .help = "Comma-separated neural wake-word model files (`.hwm`, made by "
                "`wakeword/train/hark-train`; the installed ones are in "
                "`DATADIR/hark/wakeword/`), or `builtin:hey-computer`, the \"hey computer\" model "
                "built into hark. Each model's phrase must be one of `phrases`, and no two models "
                "may have the same phrase; such a phrase is then heard by the neural detector as "
                "`combine` says, the other phrases by PocketSphinx alone. Empty (the default for "
                "now, doc/wakeword.md): PocketSphinx for every phrase.",
    },
    {
        .section = "wakeword", .name = "neural_threshold", .type = KEY_DOUBLE,
        .offset = OFF(wakeword.neural_threshold), .min = 0, .max = 1, .def = "0",
        .check = check_neural_threshold,
        .help = "The neural detector's score (0 to 1) at or above which a phrase with a model is "
                "heard, for every model; below 1. 0: each model's own threshold, from its file. "
                "`hark tune` measures it.",
    },
    {
        .section = "wakeword", .name = "combine", .type = KEY_STRING,
        .offset = OFF(wakeword.combine), .def = "neural",
        .check = check_combine,
        .help = "How a phrase that has a model is heard. `neural`: the neural detector alone "
                "decides, and PocketSphinx is not even loaded when no phrase needs it. `verify`: "
                "the neural detector proposes, and PocketSphinx's second pass (as `verify`, at "
                "the phrase's cut-off) must accept the phrase in the last seconds of audio. "
                "`either`: the neural detector, or PocketSphinx's spotter and second pass as for "
                "a phrase without a model, wakes hark. The phrase's words must be in `dict` for "
                "`verify` and `either`.",
    },
    {
        .section = "endpoint", .name = "silence", .type = KEY_DURATION,
        .offset = OFF(endpoint.silence_ms), .min = 200, .max = 5000, .def = "700ms",
        .help = "A request ends after this much silence following speech.",
    },
    {
        .section = "endpoint", .name = "max_length", .type = KEY_DURATION,
        .offset = OFF(endpoint.max_length_ms), .min = 1000, .max = 60000, .def = "10s",
        .help = "A request ends at this length even if the speaker goes on.",
    },
    {
        .section = "endpoint", .name = "no_speech", .type = KEY_DURATION,
        .offset = OFF(endpoint.no_speech_ms), .min = 500, .max = 30000, .def = "5s",
        .help = "A request is abandoned when no speech starts within this time after the wake "
                "phrase.",
    },
    {
        .section = "endpoint", .name = "min_speech", .type = KEY_DURATION,
        .offset = OFF(endpoint.min_speech_ms), .min = 30, .max = 1000, .def = "150ms",
        .help = "Sound shorter than this does not count as the start of speech (a click, a cough).",
    },
    {
        .section = "endpoint", .name = "vad_threshold_db", .type = KEY_DOUBLE,
        .offset = OFF(endpoint.vad_threshold_db), .min = 3, .max = 30, .def = "9",
        .help = "Sound this many decibels above the measured noise floor counts as speech. Raise "
                "it if background noise is taken for speech; lower it if quiet speech is missed.",
    },
    {
        .section = "cloud", .name = "url", .type = KEY_STRING,
        .offset = OFF(cloud.url), .def = "",
        .check = check_url,
        .optional = true,
        .help = "The assistant cloud's websocket address, `wss://HOST:PORT/PATH` (the path "
                "defaults to `/v1/assist`). Only `wss://` is accepted: the link is always TLS. "
                "Empty: no cloud, and `hark run` refuses to start.",
    },
    {
        .section = "cloud", .name = "pins", .type = KEY_STRING,
        .offset = OFF(cloud.pins), .def = "",
        .check = check_pins,
        .optional = true,
        .help = "Comma-separated SHA-256 pins of the server's public key, `sha256/<base64>` as "
                "`hark pin CERT.pem` prints them. The server must present one of them or it "
                "receives nothing but the TLS handshake. Give two in production: the current key "
                "and a backup. Required by `hark run` until a signed update (`doc/updates.md`) is "
                "applied; from then on the update's pins are used instead.",
    },
    {
        .section = "cloud", .name = "ca_file", .type = KEY_STRING,
        .offset = OFF(cloud.ca_file), .def = "",
        .optional = true,
        .help = "Optional PEM file of certificate authorities: the server's chain and host name "
                "are then checked as well. It never replaces the pins.",
    },
    {
        .section = "cloud", .name = "bitrate", .type = KEY_UINT,
        .offset = OFF(cloud.bitrate), .min = 6000, .max = 64000, .def = "24000",
        .help = "Opus bitrate of the request audio, in bit/s.",
    },
    {
        .section = "cloud", .name = "complexity", .type = KEY_UINT,
        .offset = OFF(cloud.complexity), .min = 0, .max = 10, .def = "5",
        .help = "Opus encoder complexity: 0 is cheapest, 10 sounds best for the bits.",
    },
    {
        .section = "storage", .name = "dir", .type = KEY_STRING,
        .offset = OFF(storage.dir), .def = "",
        .optional = true,
        .help = "Directory of the device identity (`hark provision`), created 0700. Empty: "
                "`$STATE_DIRECTORY` under systemd, else `$XDG_STATE_HOME/hark`, else "
                "`~/.local/state/hark`.",
    },
    {
        .section = "control", .name = "socket", .type = KEY_STRING,
        .offset = OFF(control.socket), .def = "",
        .optional = true,
        .help = "Path of the socket. Empty: `$RUNTIME_DIRECTORY/control` under systemd, else "
                "`$XDG_RUNTIME_DIR/hark/control`, else `/tmp/hark-UID/control`.",
    },
    {
        .section = "control", .name = "persist_mute", .type = KEY_BOOL,
        .offset = OFF(control.persist_mute), .def = "off",
        .help = "Keep a mute across restarts (a file `muted` in the storage directory): hark then "
                "starts muted, with the microphone closed.",
    },
    {
        .section = "hooks", .name = "on_idle", .type = KEY_STRING,
        .offset = OFF(hooks.on_idle), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run when hark is ready and waiting for the wake phrase.",
    },
    {
        .section = "hooks", .name = "on_listening", .type = KEY_STRING,
        .offset = OFF(hooks.on_listening), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run at a wake, while the request streams to the cloud.",
    },
    {
        .section = "hooks", .name = "on_thinking", .type = KEY_STRING,
        .offset = OFF(hooks.on_thinking), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run at the end of speech, while the cloud works on the answer.",
    },
    {
        .section = "hooks", .name = "on_speaking", .type = KEY_STRING,
        .offset = OFF(hooks.on_speaking), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run when the answer starts.",
    },
    {
        .section = "hooks", .name = "on_muted", .type = KEY_STRING,
        .offset = OFF(hooks.on_muted), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run at a mute.",
    },
    {
        .section = "hooks", .name = "on_error", .type = KEY_STRING,
        .offset = OFF(hooks.on_error), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run when a request fails.",
    },
    {
        .section = "hooks", .name = "on_disconnected", .type = KEY_STRING,
        .offset = OFF(hooks.on_disconnected), .def = "",
        .check = check_command,
        .optional = true,
        .help = "Run when the cloud link goes down.",
    },
    {
        .section = "hooks", .name = "timeout", .type = KEY_DURATION,
        .offset = OFF(hooks.timeout_ms), .min = 100, .max = 60000, .def = "5s",
        .help = "A hook still running after this is killed.",
    },
    {
        .section = "privacy", .name = "history", .type = KEY_BOOL,
        .offset = OFF(privacy.history), .def = "on",
        .help = "Keep a history of requests on the device (encrypted; see `hark history`). `off`: "
                "nothing new is written; a history left from before still expires by `retention` "
                "while hark runs (`hark history wipe --yes` destroys it).",
    },
    {
        .section = "privacy", .name = "retention", .type = KEY_PERIOD,
        .offset = OFF(privacy.retention_s), .min = 1, .max = 10.0 * 365 * 86400, .def = "7d",
        .help = "How long a request stays in the history: `30s`, `24h`, `7d`, `6mo` (units s, "
                "min, h, d, w, mo = 30 d, y = 365 d). Older records are removed at start, on "
                "every append and every minute, and the keys of their epochs destroyed.",
    },
    {
        .section = "privacy", .name = "max_entries", .type = KEY_UINT,
        .offset = OFF(privacy.max_entries), .min = 0, .max = 1000000, .def = "1000",
        .help = "At most this many records; the oldest go first. 0: no limit but the retention.",
    },
    {
        .section = "privacy", .name = "passphrase_file", .type = KEY_STRING,
        .offset = OFF(privacy.passphrase_file), .def = "",
        .optional = true,
        .help = "A file (mode 0600) whose first line is the passphrase the history key is derived "
                "from (Argon2id). Not set: a random key in `history.key` in the storage directory.",
    },
    {
        .section = "privacy", .name = "debug_recording", .type = KEY_BOOL,
        .offset = OFF(privacy.debug_recording), .def = "off",
        .help = "Also keep the audio of each request that the rules let into the history "
                "(encrypted, expires with it). For debugging only.",
    },
    {
        .section = "privacy", .name = "drop_intents", .type = KEY_LIST,
        .offset = OFF(privacy.drop_intents),
        .def = "banking.*, payment.*, health.*, password.*, pin.*",
        .check = check_intents,
        .optional = true,
        .help = "Intents never remembered, as globs.",
    },
    {
        .section = "privacy", .name = "drop_words", .type = KEY_LIST,
        .offset = OFF(privacy.drop_words),
        .def = "password*, passcode*, pin, pins, pin number, pin code, security code, cvv, social "
               "security",
        .check = check_words,
        .optional = true,
        .help = "Words that make a request never remembered.",
    },
    {
        .section = "privacy", .name = "redact_intents", .type = KEY_LIST,
        .offset = OFF(privacy.redact_intents), .def = "",
        .check = check_intents,
        .optional = true,
        .help = "Intents remembered redacted, as globs.",
    },
    {
        .section = "privacy", .name = "redact_words", .type = KEY_LIST,
        .offset = OFF(privacy.redact_words), .def = "",
        .check = check_words,
        .optional = true,
        .help = "Words that make a request remembered redacted.",
    },
    {
        .section = "privacy", .name = "allow_intents", .type = KEY_LIST,
        .offset = OFF(privacy.allow_intents), .def = "",
        .check = check_intents,
        .optional = true,
        .help = "Intents remembered as they are, as globs.",
    },
    {
        .section = "privacy", .name = "default_action", .type = KEY_STRING,
        .offset = OFF(privacy.default_action), .def = "redact",
        .check = check_action,
        .help = "What happens to a request no rule names: `drop`, `redact` or `allow`.",
    },
    {
        .section = "privacy", .name = "policy_updates", .type = KEY_BOOL,
        .offset = OFF(privacy.policy_updates), .def = "on",
        .help = "Let a signed update (`doc/updates.md`) replace the rules above that it carries. "
                "`off`: the rules of this file hold whatever an update brings; its server pins "
                "still apply.",
    },
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= CONFIG_KEYS_MAX, "struct hark_config's origin has a line for every key");

/* One parse of one text. */
struct parser {
    struct hark_config cfg; /* the file over the defaults; the caller's only on success */
    const char *section;    /* the latest [section] header's name, in the text; NULL: none */
    unsigned line;          /* the line being parsed */
    size_t section_len;
    bool seen[N_KEYS];
    char msg[MSG_MAX];
};

/* strtod() and printf("%g") follow LC_NUMERIC, which the program may have set
 * from the environment; the file format always writes numbers with '.'. */
static locale_t c_locale_enter(locale_t *old)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

    *old = c ? uselocale(c) : (locale_t)0;
    return c;
}

static void c_locale_leave(locale_t c, locale_t old)
{
    if (c) {
        uselocale(old);
        freelocale(c);
    }
}

/* The file format is ASCII; the <ctype.h> functions would follow the locale. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void *key_field(struct hark_config *cfg, const struct key *k)
{
    return (char *)cfg + k->offset;
}

static const void *key_cfield(const struct hark_config *cfg, const struct key *k)
{
    return (const char *)cfg + k->offset;
}

static const struct key *key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static bool section_known(const char *name)
{
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (strcmp(sections[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Whole seconds as "5s", anything else as "700ms": the shortest exact form. */
static void format_duration(unsigned ms, char *buf, size_t size)
{
    if (ms != 0 && ms % 1000 == 0) {
        snprintf(buf, size, "%us", ms / 1000);
    } else {
        snprintf(buf, size, "%ums", ms);
    }
}

/* The shortest form that reads back as the same double, so the dump
 * round-trips without printing 1e-20 as 9.9999999999999995e-21 (and 30 as
 * "30", not "3e+01"). */
static void format_double(double x, char *buf, size_t size)
{
    char best[32] = "", try[32];

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(try, sizeof(try), "%.*g", prec, x);
        if (strtod(try, NULL) == x && (best[0] == '\0' || strlen(try) < strlen(best))) {
            memcpy(best, try, sizeof(best));
        }
    }
    snprintf(buf, size, "%s", best);
}

/* The units of a period, largest first: a month is 30 days, a year 365. */
static const struct {
    const char *name;
    uint64_t s;
} period_units[] = {
    {"y", 365 * 86400}, {"mo", 30 * 86400}, {"w", 7 * 86400}, {"d", 86400},
    {"h", 3600},        {"min", 60},        {"s", 1},
};

/* In the largest unit that divides it: "6mo", "36h", "90s"; days rather
 * than weeks ("7d", "14d"), as people write a retention. */
static void format_period(uint64_t s, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof(period_units) / sizeof(period_units[0]); i++) {
        if (strcmp(period_units[i].name, "w") == 0) {
            continue;
        }
        if (s != 0 && s % period_units[i].s == 0) {
            snprintf(buf, size, "%" PRIu64 "%s", s / period_units[i].s, period_units[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRIu64 "s", s);
}

static void format_range(const struct key *k, char *buf, size_t size)
{
    char lo[32], hi[32];

    switch (k->type) {
    case KEY_DURATION:
        format_duration((unsigned)k->min, lo, sizeof(lo));
        format_duration((unsigned)k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_DOUBLE:
        format_double(k->min, lo, sizeof(lo));
        format_double(k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_PHRASES:
        format_double(k->min, lo, sizeof(lo));
        format_double(k->max, hi, sizeof(hi));
        snprintf(buf, size, "1 to %d phrases, thresholds %s to %s", CONFIG_MAX_PHRASES, lo, hi);
        break;
    case KEY_STRING:
        snprintf(buf, size, "at most %d bytes", CONFIG_STRING_MAX - 1);
        break;
    case KEY_LIST:
        snprintf(buf, size, "at most %d bytes", CONFIG_LIST_MAX - 1);
        break;
    case KEY_UINT:
        snprintf(buf, size, "%.0f to %.0f", k->min, k->max);
        break;
    case KEY_BOOL:
        snprintf(buf, size, "on or off");
        break;
    case KEY_PERIOD:
        format_period((uint64_t)k->min, lo, sizeof(lo));
        format_period((uint64_t)k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_MODELS:
        snprintf(buf, size, "0 to %d files, each at most %d bytes", CONFIG_MAX_MODELS,
                 CONFIG_STRING_MAX - 1);
        break;
    }
}

static const char *type_name(enum key_type type)
{
    switch (type) {
    case KEY_STRING:
        return "string";
    case KEY_LIST:
        return "list";
    case KEY_DURATION:
        return "duration";
    case KEY_DOUBLE:
        return "number";
    case KEY_PHRASES:
        return "phrase list";
    case KEY_UINT:
        return "integer";
    case KEY_BOOL:
        return "on/off";
    case KEY_PERIOD:
        return "period";
    case KEY_MODELS:
        return "file list";
    }
    return "?";
}

/* What the link will make of it, so that a port of 0 or 99999 is found
 * here and not by `hark run`. */
static const char *check_url(const char *value, char *buf, size_t size)
{
    char host[LINK_HOST_MAX], why[MSG_MAX];
    const char *path;
    int port;

    if (strncmp(value, "ws://", 5) == 0) {
        return "is not allowed: the link must be wss:// (TLS)";
    }
    if (strncmp(value, "wss://", 6) != 0 || value[6] == '\0' || value[6] == '/') {
        return "is not a wss://HOST[:PORT][/PATH] address";
    }
    if (link_parse_url(value, host, &port, &path, why, sizeof(why)) < 0) {
        snprintf(buf, size, "is not usable: %s", why);
        return buf;
    }
    return NULL;
}

static const char *check_pins(const char *value, char *buf, size_t size)
{
    char pin[PIN_STRING_MAX];
    size_t n = 0;

    while (*value) {
        size_t len;

        value += strspn(value, " ");
        len = strcspn(value, ",");
        while (len > 0 && value[len - 1] == ' ') {
            len--;
        }
        if (len == 0 || len >= sizeof(pin)) {
            return "is not a list of sha256/<base64> pins";
        }
        memcpy(pin, value, len);
        pin[len] = '\0';
        if (!pin_is_valid(pin)) {
            return "holds something that is not a sha256/<base64> pin of 32 bytes";
        }
        if (++n > CONFIG_MAX_PINS) {
            return "lists too many pins";
        }
        value += strcspn(value, ",");
        if (*value == ',') {
            value++;
            if (*(value + strspn(value, " ")) == '\0') {
                return "ends with a comma";
            }
        }
    }
    return NULL;
}

size_t config_cloud_pins(const struct hark_config *cfg, char ret_pins[][PIN_STRING_MAX], size_t max)
{
    const char *s = cfg->cloud.pins;
    size_t n = 0;

    while (*s && n < max) {
        size_t len;

        s += strspn(s, " ,");
        len = strcspn(s, ", ");
        if (len == 0 || len >= PIN_STRING_MAX) {
            break;
        }
        memcpy(ret_pins[n], s, len);
        ret_pins[n][len] = '\0';
        n++;
        s += len;
    }
    return n;
}

int config_storage_dir(const struct hark_config *cfg, char *ret_dir, size_t size)
{
    const char *env;
    int n;

    if (cfg->storage.dir[0]) {
        n = snprintf(ret_dir, size, "%s", cfg->storage.dir);
    } else if ((env = getenv("STATE_DIRECTORY")) && env[0] == '/') {
        /* systemd may give several, separated by ':'; the first is ours. */
        n = snprintf(ret_dir, size, "%.*s", (int)strcspn(env, ":"), env);
    } else if ((env = getenv("XDG_STATE_HOME")) && env[0] == '/') {
        n = snprintf(ret_dir, size, "%s/hark", env);
    } else if ((env = getenv("HOME")) && env[0] == '/') {
        n = snprintf(ret_dir, size, "%s/.local/state/hark", env);
    } else {
        return -ENOENT;
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *check_command(const char *value, char *buf, size_t size)
{
    char *argv[CONFIG_COMMAND_ARGS + 1];
    char split[CONFIG_STRING_MAX];

    switch (config_split_command(value, split, sizeof(split), argv, CONFIG_COMMAND_ARGS + 1)) {
    case -E2BIG:
        return "has too many arguments";
    case -EINVAL:
        return "has a '\"' that is not closed";
    default:
        break;
    }
    return argv[0][0] == '/' ? NULL : "must start with an absolute path (no shell searches PATH)";
}

int config_split_command(const char *command, char *buf, size_t size, char **ret_argv,
                         size_t max)
{
    size_t n = 0, o = 0;
    const char *p = command;

    while (*p) {
        bool quoted = false;

        while (is_blank(*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        if (n + 1 >= max) {
            return -E2BIG;
        }
        ret_argv[n++] = buf + o;
        for (; *p && (quoted || !is_blank(*p)); p++) {
            if (*p == '"') {
                quoted = !quoted;
                continue;
            }
            if (o + 1 >= size) {
                return -E2BIG;
            }
            buf[o++] = *p;
        }
        if (quoted) {
            return -EINVAL;
        }
        if (o + 1 >= size) {
            return -E2BIG;
        }
        buf[o++] = '\0';
    }
    if (n == 0) {
        return -ENOENT;
    }
    ret_argv[n] = NULL;
    return (int)n;
}

int config_control_socket(const struct hark_config *cfg, char *ret_path, size_t size)
{
    const char *env;
    int n;

    if (cfg->control.socket[0]) {
        n = snprintf(ret_path, size, "%s", cfg->control.socket);
    } else if ((env = getenv("RUNTIME_DIRECTORY")) && env[0] == '/') {
        n = snprintf(ret_path, size, "%.*s/control", (int)strcspn(env, ":"), env);
    } else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0] == '/') {
        n = snprintf(ret_path, size, "%s/hark/control", env);
    } else {
        n = snprintf(ret_path, size, "/tmp/hark-%u/control", (unsigned)getuid());
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *check_action(const char *value, char *buf, size_t size)
{
    enum policy_action a;

    return policy_action_parse(value, &a) < 0 ? "is not drop, redact or allow" : NULL;
}

void config_policy_rules(const struct hark_config *cfg, struct policy_rules *ret)
{
    *ret = (struct policy_rules){
        .drop_intents = cfg->privacy.drop_intents,
        .drop_words = cfg->privacy.drop_words,
        .redact_intents = cfg->privacy.redact_intents,
        .redact_words = cfg->privacy.redact_words,
        .allow_intents = cfg->privacy.allow_intents,
    };
    /* Checked when the file was read; drop is the safe side regardless. */
    if (policy_action_parse(cfg->privacy.default_action, &ret->default_action) < 0) {
        ret->default_action = POLICY_DROP;
    }
}

static const char *check_input(const char *value, char *buf, size_t size)
{
    char why[MSG_MAX];

    if (strcmp(value, "mic:") == 0) {
        return "names no device (write mic, or mic:NAME)";
    }
    if (audio_source_check_spec(value, why, sizeof(why)) < 0) {
        snprintf(buf, size, "is not usable: %s", why);
        return buf;
    }
    return NULL;
}

static const char *check_intents(const char *value, char *buf, size_t size)
{
    return policy_check_intents(value);
}

static const char *check_words(const char *value, char *buf, size_t size)
{
    return policy_check_words(value);
}

static const char *check_combine(const char *value, char *buf, size_t size)
{
    return strcmp(value, "neural") == 0 || strcmp(value, "verify") == 0 ||
                   strcmp(value, "either") == 0
               ? NULL
               : "is not neural, verify or either";
}

enum config_combine config_combine(const struct hark_config *cfg)
{
    /* Checked when the file was read. */
    return strcmp(cfg->wakeword.combine, "verify") == 0   ? CONFIG_COMBINE_VERIFY
           : strcmp(cfg->wakeword.combine, "either") == 0 ? CONFIG_COMBINE_EITHER
                                                          : CONFIG_COMBINE_NEURAL;
}

const char *config_combine_to_string(enum config_combine c)
{
    switch (c) {
    case CONFIG_COMBINE_VERIFY:
        return "verify";
    case CONFIG_COMBINE_EITHER:
        return "either";
    case CONFIG_COMBINE_NEURAL:
        break;
    }
    return "neural";
}

/* In range already (0 to 1); a score is never above 1, so a threshold of 1
 * would never wake. */
static const char *check_neural_threshold(const char *value, char *buf, size_t size)
{
    return strtod(value, NULL) >= 1.0 ? "must be below 1 (0: each model's own threshold)" : NULL;
}

static const char *check_output(const char *value, char *buf, size_t size)
{
    if (strcmp(value, "speaker") != 0 && (strncmp(value, "speaker:", 8) != 0 || !value[8])) {
        return "is not an output device (write speaker, or speaker:NAME)";
    }
    return NULL;
}

enum number_status {
    NUMBER_OK,
    NUMBER_INVALID,
    NUMBER_NOT_FINITE,
    NUMBER_OUT_OF_RANGE,
};

static enum number_status parse_number(const char *s, double min, double max, double *ret)
{
    char *end;
    double x;

    errno = 0;
    x = strtod(s, &end);
    if (end == s || *end != '\0') {
        return NUMBER_INVALID;
    }
    if (errno == ERANGE) {
        return NUMBER_OUT_OF_RANGE;
    }
    if (!isfinite(x)) {
        return NUMBER_NOT_FINITE;
    }
    if (x < min || x > max) {
        return NUMBER_OUT_OF_RANGE;
    }
    *ret = x;
    return 0;
}

/* Describes a bad number: what is e.g. "value '1e99' for threshold". */
static void number_error(enum number_status st, const char *what, const struct key *k, char *msg,
                         size_t msgsz)
{
    char range[80];

    switch (st) {
    case NUMBER_INVALID:
        snprintf(msg, msgsz, "%s is not a number", what);
        break;
    case NUMBER_NOT_FINITE:
        snprintf(msg, msgsz, "%s is not a finite number", what);
        break;
    case NUMBER_OUT_OF_RANGE:
    case NUMBER_OK:
        if (k->type == KEY_PHRASES) {
            char lo[32], hi[32];
            format_double(k->min, lo, sizeof(lo));
            format_double(k->max, hi, sizeof(hi));
            snprintf(range, sizeof(range), "%s to %s", lo, hi);
        } else {
            format_range(k, range, sizeof(range));
        }
        snprintf(msg, msgsz, "%s out of range (%s)", what, range);
        break;
    }
}

static int parse_double(const struct key *k, const char *value, double *ret, char *msg,
                        size_t msgsz)
{
    double x = 0;
    enum number_status st = parse_number(value, k->min, k->max, &x);
    char what[CONFIG_LINE_MAX + 64], whybuf[MSG_MAX];
    const char *why;

    if (st == NUMBER_OK) {
        why = k->check ? k->check(value, whybuf, sizeof(whybuf)) : NULL;
        if (why) {
            snprintf(msg, msgsz, "value '%s' for %s %s", value, k->name, why);
            return -EINVAL;
        }
        *ret = x;
        return 0;
    }
    snprintf(what, sizeof(what), "value '%s' for %s", value, k->name);
    number_error(st, what, k, msg, msgsz);
    return -EINVAL;
}

/* A number of milliseconds or seconds, with its unit and no exponent, so that
 * "700" (which unit?) and "7s0" are errors rather than guesses. */
static int parse_duration(const struct key *k, const char *value, unsigned *ret, char *msg,
                          size_t msgsz)
{
    size_t n = strspn(value, "0123456789.");
    const char *unit = value + n;
    char num[CONFIG_LINE_MAX + 1];
    char range[64];
    double x, scale = 1;
    unsigned ms;
    char *end;

    if (value[0] == '-') {
        snprintf(msg, msgsz, "value '%s' for %s is negative", value, k->name);
        return -EINVAL;
    }
    if (n > 0 && *unit == '\0') {
        snprintf(msg, msgsz, "value '%s' for %s: missing unit (ms or s)", value, k->name);
        return -EINVAL;
    }
    if (strcmp(unit, "ms") == 0) {
        scale = 1;
    } else if (strcmp(unit, "s") == 0) {
        scale = 1000;
    } else {
        n = 0;
    }
    if (n == 0 || n >= sizeof(num)) {
        snprintf(msg, msgsz, "value '%s' for %s is not a duration (write e.g. 700ms or 0.7s)",
                 value, k->name);
        return -EINVAL;
    }
    memcpy(num, value, n);
    num[n] = '\0';
    errno = 0;
    x = strtod(num, &end);
    if (end != num + n || errno != 0) {
        snprintf(msg, msgsz, "value '%s' for %s is not a duration (write e.g. 700ms or 0.7s)",
                 value, k->name);
        return -EINVAL;
    }
    x *= scale;
    format_range(k, range, sizeof(range));
    if (x > k->max + 0.5) {
        snprintf(msg, msgsz, "value '%s' for %s out of range (%s)", value, k->name, range);
        return -EINVAL;
    }
    /* Round first: 0.03s is 29.999999999999996ms in binary. */
    ms = (unsigned)(x + 0.5);
    if (x - ms > 1e-6 || ms - x > 1e-6) {
        snprintf(msg, msgsz, "value '%s' for %s is not a whole number of milliseconds", value,
                 k->name);
        return -EINVAL;
    }
    if (ms < k->min || ms > k->max) {
        snprintf(msg, msgsz, "value '%s' for %s out of range (%s)", value, k->name, range);
        return -EINVAL;
    }
    *ret = ms;
    return 0;
}

/* Only the two words the documentation and the dump use: one spelling, so
 * that a file reads the same to a person and to a grep. */
static int parse_bool(const struct key *k, const char *value, bool *ret, char *msg, size_t msgsz)
{
    if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
        *ret = strcmp(value, "on") == 0;
        return 0;
    }
    snprintf(msg, msgsz, "value '%s' for %s is not on or off", value, k->name);
    return -EINVAL;
}

/* A whole number with a unit: "30s", "24h", "7d", "6mo". */
static int parse_period(const struct key *k, const char *value, uint64_t *ret, char *msg,
                        size_t msgsz)
{
    size_t n = strspn(value, "0123456789");
    const char *unit = value + n;
    char range[64];
    uint64_t x = 0;

    if (n == 0 || n > 12) {
        snprintf(msg, msgsz,
                 "value '%s' for %s is not a period (write a whole number and a unit: 30s, "
                 "24h, 7d, 6mo)",
                 value, k->name);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        x = x * 10 + (uint64_t)(value[i] - '0');
    }
    for (size_t i = 0; i < sizeof(period_units) / sizeof(period_units[0]); i++) {
        if (strcmp(unit, period_units[i].name) == 0) {
            format_range(k, range, sizeof(range));
            /* At most 12 digits times a year fits in 64 bits. */
            x *= period_units[i].s;
            if (x < (uint64_t)k->min || x > (uint64_t)k->max) {
                snprintf(msg, msgsz, "value '%s' for %s out of range (%s)", value, k->name,
                         range);
                return -EINVAL;
            }
            *ret = x;
            return 0;
        }
    }
    snprintf(msg, msgsz, "value '%s' for %s: %s unit (s, min, h, d, w, mo or y)", value, k->name,
             *unit ? "unknown" : "missing");
    return -EINVAL;
}

/* Lower-cases a phrase and collapses its blanks into single spaces. */
static int normalise_phrase(const char *in, char *out, size_t outsz, char *msg, size_t msgsz)
{
    size_t o = 0;
    unsigned words = 0;
    bool in_word = false, word_has_letter = false;

    for (const char *p = in;; p++) {
        if (*p == '\0' || is_blank(*p)) {
            if (in_word && !word_has_letter) {
                snprintf(msg, msgsz, "phrase '%s' has a word without letters", in);
                return -EINVAL;
            }
            in_word = false;
            if (*p == '\0') {
                break;
            }
            continue;
        }
        if (!is_letter(*p) && *p != '\'') {
            snprintf(msg, msgsz, "phrase '%s' may contain only letters, apostrophes and spaces",
                     in);
            return -EINVAL;
        }
        if (!in_word) {
            in_word = true;
            word_has_letter = false;
            if (++words > PHRASE_MAX_WORDS) {
                snprintf(msg, msgsz, "phrase '%s' has more than %d words", in, PHRASE_MAX_WORDS);
                return -EINVAL;
            }
            if (o > 0) {
                if (o + 1 >= outsz) {
                    goto too_long;
                }
                out[o++] = ' ';
            }
        }
        if (o + 1 >= outsz) {
            goto too_long;
        }
        word_has_letter = word_has_letter || is_letter(*p);
        out[o++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    }
    out[o] = '\0';
    return 0;

too_long:
    snprintf(msg, msgsz, "phrase '%s' is too long (at most %zu characters)", in, outsz - 1);
    return -EINVAL;
}

static char *strip(char *s)
{
    char *end = s + strlen(s);

    while (is_blank(*s)) {
        s++;
    }
    while (end > s && is_blank(end[-1])) {
        *--end = '\0';
    }
    return s;
}

/* "PHRASE[/THRESHOLD], ...". A phrase without a threshold gets 0, which
 * resolve_thresholds() replaces with [wakeword] threshold once the whole file
 * is read: that key may come after this one. */
static int parse_phrases(const struct key *k, const char *value, struct hark_config *cfg, char *msg,
                         size_t msgsz)
{
    /* Zeroed: it is copied whole, and stack garbage after a phrase's NUL
     * would otherwise end up in the caller's struct. */
    struct config_phrase list[CONFIG_MAX_PHRASES] = {0};
    size_t n = 0;

    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[CONFIG_LINE_MAX + 1];
        char *text, *slash;

        if (len >= sizeof(item)) {
            snprintf(msg, msgsz, "phrase list for %s is too long", k->name);
            return -EINVAL;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        text = strip(item);
        if (*text == '\0') {
            snprintf(msg, msgsz, "empty phrase in the list (two commas, or one at the end?)");
            return -EINVAL;
        }
        if (n == CONFIG_MAX_PHRASES) {
            snprintf(msg, msgsz, "too many phrases (at most %d)", CONFIG_MAX_PHRASES);
            return -EINVAL;
        }
        list[n].threshold = 0;
        slash = strchr(text, '/');
        if (slash) {
            char *thr = strip(slash + 1);
            enum number_status st;

            *slash = '\0';
            text = strip(text);
            if (*text == '\0') {
                snprintf(msg, msgsz, "threshold '%s' without a phrase", thr);
                return -EINVAL;
            }
            if (*thr == '\0') {
                snprintf(msg, msgsz, "phrase '%s': missing threshold after '/'", text);
                return -EINVAL;
            }
            /* PHRASE/THRESHOLD/VERIFY: the second pass's cut-off too. */
            slash = strchr(thr, '/');
            if (slash) {
                char *cut = strip(slash + 1);

                *slash = '\0';
                thr = strip(thr);
                st = parse_number(cut, VERIFY_MIN, VERIFY_MAX, &list[n].verify_threshold);
                if (st != NUMBER_OK) {
                    char what[2 * CONFIG_LINE_MAX];
                    snprintf(what, sizeof(what), "verification cut-off '%s' for phrase '%s'", cut,
                             text);
                    number_error(st, what, key_find("wakeword", "verify_threshold"), msg, msgsz);
                    return -EINVAL;
                }
                list[n].has_verify_threshold = true;
            }
            st = parse_number(thr, k->min, k->max, &list[n].threshold);
            if (st != NUMBER_OK) {
                char what[2 * CONFIG_LINE_MAX];
                snprintf(what, sizeof(what), "threshold '%s' for phrase '%s'", thr, text);
                number_error(st, what, k, msg, msgsz);
                return -EINVAL;
            }
        }
        if (normalise_phrase(text, list[n].text, sizeof(list[n].text), msg, msgsz) < 0) {
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].text, list[n].text) == 0) {
                snprintf(msg, msgsz, "duplicate phrase '%.*s'", (int)sizeof(list[n].text),
                         list[n].text);
                return -EINVAL;
            }
        }
        n++;
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    memcpy(key_field(cfg, k), list, n * sizeof(list[0]));
    cfg->wakeword.n_phrases = n;
    return 0;
}

/* "FILE, FILE, ...": the files as written; resolve_models() takes a
 * relative one from the config file's folder once the whole file is read. */
static int parse_models(const struct key *k, const char *value, struct hark_config *cfg,
                        char *msg, size_t msgsz)
{
    char list[CONFIG_MAX_MODELS][CONFIG_STRING_MAX] = {{0}};
    size_t n = 0;

    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[CONFIG_LINE_MAX + 1];
        char *file;

        memcpy(item, p, len);
        item[len] = '\0';
        file = strip(item);
        if (*file == '\0') {
            snprintf(msg, msgsz, "empty file name in the list for %s (two commas, or one at the "
                                 "end?)",
                     k->name);
            return -EINVAL;
        }
        if (n == CONFIG_MAX_MODELS) {
            snprintf(msg, msgsz, "too many files for %s (at most %d)", k->name, CONFIG_MAX_MODELS);
            return -EINVAL;
        }
        if (strlen(file) >= CONFIG_STRING_MAX) {
            snprintf(msg, msgsz, "file name for %s is too long (%zu bytes, at most %d)", k->name,
                     strlen(file), CONFIG_STRING_MAX - 1);
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i], file) == 0) {
                snprintf(msg, msgsz, "duplicate file '%s' for %s", file, k->name);
                return -EINVAL;
            }
        }
        memcpy(list[n++], file, strlen(file) + 1);
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    memcpy(key_field(cfg, k), list, sizeof(list));
    cfg->wakeword.n_models = n;
    return 0;
}

static int parse_string(const struct key *k, const char *value, char *field, char *msg,
                        size_t msgsz)
{
    size_t len = strlen(value);
    size_t size = k->type == KEY_LIST ? CONFIG_LIST_MAX : CONFIG_STRING_MAX;
    char whybuf[MSG_MAX];
    const char *why;

    if (len >= size) {
        snprintf(msg, msgsz, "value for %s is too long (%zu bytes, at most %zu)", k->name, len,
                 size - 1);
        return -EINVAL;
    }
    why = k->check ? k->check(value, whybuf, sizeof(whybuf)) : NULL;
    if (why) {
        snprintf(msg, msgsz, "value '%s' for %s %s", value, k->name, why);
        return -EINVAL;
    }
    memcpy(field, value, len + 1);
    return 0;
}

static int parse_uint(const struct key *k, const char *value, unsigned *ret, char *msg,
                      size_t msgsz)
{
    char range[80];
    char *end;
    unsigned long x;

    errno = 0;
    x = strtoul(value, &end, 10);
    if (end == value || *end != '\0' || value[0] == '-' || value[0] == '+' || value[0] == ' ') {
        snprintf(msg, msgsz, "value '%s' for %s is not a whole number", value, k->name);
        return -EINVAL;
    }
    if (errno == ERANGE || x < k->min || x > k->max) {
        format_range(k, range, sizeof(range));
        snprintf(msg, msgsz, "value '%s' for %s out of range (%s)", value, k->name, range);
        return -EINVAL;
    }
    *ret = (unsigned)x;
    return 0;
}

/* The one place a value is read, for the file and for the defaults alike. */
static int parse_value(const struct key *k, const char *value, struct hark_config *cfg, char *msg,
                       size_t msgsz)
{
    if (*value == '\0') {
        if ((k->type == KEY_STRING || k->type == KEY_LIST) && k->optional) {
            *(char *)key_field(cfg, k) = '\0';
            return 0;
        }
        if (k->type == KEY_MODELS) {
            memset(key_field(cfg, k), 0, sizeof(cfg->wakeword.models));
            cfg->wakeword.n_models = 0;
            return 0;
        }
        snprintf(msg, msgsz, "empty value for %s", k->name);
        return -EINVAL;
    }
    /* "key =;x" gives ";x", which "key = ;x" (as the dump writes it) would
     * read as a comment. */
    if (*value == ';') {
        snprintf(msg, msgsz, "value '%s' for %s starts with ';', which reads as a comment", value,
                 k->name);
        return -EINVAL;
    }
    /* "mic # default" is not a comment: a string would silently become a
     * file name, so say what happened instead. */
    for (const char *p = value; (p = strchr(p, '#')); p++) {
        if (p > value && is_blank(p[-1])) {
            snprintf(msg, msgsz,
                     "value '%s' for %s: '#' starts a comment only at the start of a line "
                     "(use ';' after a value)",
                     value, k->name);
            return -EINVAL;
        }
    }
    switch (k->type) {
    case KEY_STRING:
    case KEY_LIST:
        return parse_string(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_DURATION:
        return parse_duration(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_DOUBLE:
        return parse_double(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_PHRASES:
        return parse_phrases(k, value, cfg, msg, msgsz);
    case KEY_UINT:
        return parse_uint(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_BOOL:
        return parse_bool(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_PERIOD:
        return parse_period(k, value, key_field(cfg, k), msg, msgsz);
    case KEY_MODELS:
        return parse_models(k, value, cfg, msg, msgsz);
    }
    return -EINVAL;
}

/* A relative model path is taken from the folder of the file that names
 * it, made absolute, so that a sample config can name the model beside it
 * and the dump reads the same from anywhere. */
static int resolve_models(struct hark_config *cfg, const char *name, char *msg, size_t msgsz)
{
    const char *slash = strrchr(name, '/');
    char dir[PATH_MAX], *real = NULL;
    const char *base;

    if (slash == name) {
        snprintf(dir, sizeof(dir), "/");
    } else if (slash) {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    for (size_t i = 0; i < cfg->wakeword.n_models; i++) {
        char *m = cfg->wakeword.models[i];
        char full[2 * PATH_MAX];

        if (m[0] == '/' || nn_builtin_named(m)) {
            continue;
        }
        if (!real) {
            real = realpath(dir, NULL);
        }
        base = real ? real : dir;
        snprintf(full, sizeof(full), "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", m);
        if (strlen(full) >= CONFIG_STRING_MAX) {
            snprintf(msg, msgsz, "model '%s' is too long once taken from the folder %.128s%s "
                                 "(at most %d bytes)",
                     m, base, strlen(base) > 128 ? "..." : "", CONFIG_STRING_MAX - 1);
            free(real);
            return -EINVAL;
        }
        memcpy(m, full, strlen(full) + 1);
    }
    free(real);
    return 0;
}

static void resolve_thresholds(struct hark_config *cfg)
{
    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        if (cfg->wakeword.phrases[i].threshold == 0) {
            cfg->wakeword.phrases[i].threshold = cfg->wakeword.threshold;
        }
        if (!cfg->wakeword.phrases[i].has_verify_threshold) {
            cfg->wakeword.phrases[i].verify_threshold = cfg->wakeword.verify_threshold;
        }
    }
}

/* Every key's default, read from the table as a file would be. The phrases'
 * thresholds stay unresolved: a file may set [wakeword] threshold and the
 * default phrase must follow it. */
static void parse_defaults(struct hark_config *cfg)
{
    char msg[MSG_MAX];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_KEYS; i++) {
        /* Cannot fail: test-config checks every default. */
        (void)parse_value(&keys[i], keys[i].def, cfg, msg, sizeof(msg));
    }
}

static void init_defaults(struct hark_config *cfg)
{
    parse_defaults(cfg);
    resolve_thresholds(cfg);
}

void config_init_defaults(struct hark_config *cfg)
{
    locale_t old, c = c_locale_enter(&old);

    init_defaults(cfg);
    c_locale_leave(c, old);
}

/* One "key = value" line; the value without its comment and outer blanks. */
static int handle_key(struct parser *p, const char *name, const char *value)
{
    const struct key *k;
    char section[64];

    if (!p->section) {
        snprintf(p->msg, sizeof(p->msg), "key outside any section: '%s'", name);
        return -EINVAL;
    }
    snprintf(section, sizeof(section), "%.*s", (int)p->section_len, p->section);
    if (*name == '\0') {
        snprintf(p->msg, sizeof(p->msg), "missing key before '=' in [%s]", section);
        return -EINVAL;
    }
    k = key_find(section, name);
    if (!k) {
        snprintf(p->msg, sizeof(p->msg), "unknown key '%s' in [%s]", name, section);
        return -EINVAL;
    }
    if (p->seen[k - keys]) {
        snprintf(p->msg, sizeof(p->msg), "duplicate key '%s' in [%s]", name, section);
        return -EINVAL;
    }
    p->seen[k - keys] = true;
    p->cfg.origin.lines[k - keys] = p->line;
    return parse_value(k, value, &p->cfg, p->msg, sizeof(p->msg));
}

/* "[name]", then nothing but blanks and a comment. */
static int handle_section(struct parser *p, char *s)
{
    char *end = strchr(s, ']');
    char *rest;
    size_t n;

    if (!end) {
        snprintf(p->msg, sizeof(p->msg), "section header without closing ']'");
        return -EINVAL;
    }
    rest = end + 1;
    n = strspn(rest, " \t");
    if (rest[n] != '\0' && !(n > 0 && rest[n] == ';')) {
        snprintf(p->msg, sizeof(p->msg),
                 "text after ']' in a section header: '%s' (a key goes on a line of its own)",
                 rest + n);
        return -EINVAL;
    }
    *end = '\0';
    if (!section_known(s + 1)) {
        snprintf(p->msg, sizeof(p->msg), "unknown section [%s]", s + 1);
        return -EINVAL;
    }
    p->section = s + 1;
    p->section_len = (size_t)(end - (s + 1));
    return 0;
}

/* One line, without its line ending, NUL-terminated in a buffer of its own
 * (the section name stays pointing into it until the next header). */
static int parse_line(struct parser *p, char *s, unsigned line)
{
    char *eq, *value, *name_end;

    if (line == 1 && strncmp(s, utf8_bom, 3) == 0) {
        s += 3;
    }
    if (is_blank(*s)) {
        s += strspn(s, " \t");
        if (*s == '\0' || *s == ';' || *s == '#') {
            return 0;
        }
        snprintf(p->msg, sizeof(p->msg),
                 "indented line (keys and [section] headers start in the first column; "
                 "values do not continue on the next line)");
        return -EINVAL;
    }
    if (*s == '\0' || *s == ';' || *s == '#') {
        return 0;
    }
    if (*s == '[') {
        return handle_section(p, s);
    }
    eq = strchr(s, '=');
    if (!eq) {
        snprintf(p->msg, sizeof(p->msg),
                 "expected 'key = value', a [section] header or a comment");
        return -EINVAL;
    }
    name_end = eq;
    while (name_end > s && is_blank(name_end[-1])) {
        name_end--;
    }
    *name_end = '\0';
    /* A comment is a ';' after a blank; the blank may be the one after '='. */
    value = eq + 1;
    for (char *c = value; *c; c++) {
        if (*c == ';' && c > value && is_blank(c[-1])) {
            *c = '\0';
            break;
        }
    }
    return handle_key(p, s, strip(value));
}

static int parse_text(struct hark_config *cfg, const char *name, const char *text, size_t len,
                      char *err, size_t errsz)
{
    struct parser *p = NULL;
    char *buf = NULL;
    unsigned line = 0;
    int r = 0;

    if (len > CONFIG_FILE_MAX) {
        snprintf(err, errsz, "%s: file too large (more than %d KiB)", name, CONFIG_FILE_MAX / 1024);
        r = -EFBIG;
        goto out;
    }
    p = calloc(1, sizeof(*p));
    /* A copy of the whole text: the lines are cut in place, and a section
     * name lives until the next header. */
    buf = malloc(len + 1);
    if (!p || !buf) {
        snprintf(err, errsz, "%s: out of memory", name);
        r = -ENOMEM;
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    parse_defaults(&p->cfg);
    for (size_t pos = 0; pos < len && r == 0;) {
        char *s = buf + pos;
        char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;

        line++;
        pos += n + 1;
        /* CRLF is a line ending; a CR anywhere else (a file with old Mac
         * line endings is one line) would hide everything after it. */
        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        if (memchr(s, '\0', n)) {
            snprintf(p->msg, sizeof(p->msg), "NUL byte (not a text file?)");
            r = -EINVAL;
        } else if (n > CONFIG_LINE_MAX) {
            snprintf(p->msg, sizeof(p->msg), "line too long (%zu bytes, at most %d)", n,
                     CONFIG_LINE_MAX);
            r = -EINVAL;
        } else if (memchr(s, '\r', n)) {
            snprintf(p->msg, sizeof(p->msg),
                     "carriage return inside a line (line endings must be LF or CRLF)");
            r = -EINVAL;
        } else {
            s[n] = '\0';
            p->line = line;
            r = parse_line(p, s, line);
        }
    }
    if (r == 0) {
        r = resolve_models(&p->cfg, name, p->msg, sizeof(p->msg));
        if (r < 0) {
            line = p->cfg.origin.lines[key_find("wakeword", "model") - keys];
        }
    }
    if (r < 0) {
        snprintf(err, errsz, "%s:%u: %s", name, line, p->msg);
    } else {
        resolve_thresholds(&p->cfg);
        snprintf(p->cfg.origin.file, sizeof(p->cfg.origin.file), "%s", name);
        *cfg = p->cfg;
    }
out:
    free(buf);
    free(p);
    if (r < 0) {
        init_defaults(cfg);
    }
    return r;
}

int config_load_string(struct hark_config *cfg, const char *name, const char *text, char *err,
                       size_t errsz)
{
    locale_t old, c = c_locale_enter(&old);
    int r = parse_text(cfg, name, text, strnlen(text, CONFIG_FILE_MAX + 1), err, errsz);

    c_locale_leave(c, old);
    return r;
}

/* Whoever may write the file chooses the server hark talks to and the
 * commands it runs: like update.bundle, it must not be writable by group or
 * others; its owner is this user or root (/etc/hark/hark.conf for the hark
 * user of the systemd unit). O_NONBLOCK: a FIFO opens without a writer, and
 * is then refused as what it is instead of hanging. */
static int open_checked(const char *path, char *err, size_t errsz, int *ret_fd)
{
    struct stat st;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot stat: %s", path, strerror(-r));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file (a %s)", path,
                 S_ISDIR(st.st_mode)    ? "directory"
                 : S_ISFIFO(st.st_mode) ? "FIFO"
                 : S_ISSOCK(st.st_mode) ? "socket"
                                        : "device");
        r = -EINVAL;
        goto fail;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errsz, "%s: owned by uid %u, not by this user (uid %u) or root", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        r = -EPERM;
        goto fail;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errsz, "%s: writable by others (mode %03o): chmod go-w %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        r = -EPERM;
        goto fail;
    }
    *ret_fd = fd;
    return 0;
fail:
    close(fd);
    return r;
}

int config_load(struct hark_config *cfg, const char *path, char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;
    int r;

    r = open_checked(path, err, errsz, &fd);
    if (r < 0) {
        goto out;
    }
    /* One byte more than allowed, to tell "too large" from "just fits". */
    buf = malloc(CONFIG_FILE_MAX + 1);
    if (!buf) {
        r = -ENOMEM;
        snprintf(err, errsz, "%s: out of memory", path);
        goto out;
    }
    while (len < CONFIG_FILE_MAX + 1) {
        ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = -errno;
            snprintf(err, errsz, "%s: cannot read: %s", path, strerror(-r));
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    {
        locale_t old, c = c_locale_enter(&old);
        r = parse_text(cfg, path, buf, len, err, errsz);
        c_locale_leave(c, old);
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    if (r < 0) {
        config_init_defaults(cfg);
    }
    return r;
}

/* ---- What `hark run` needs beyond the syntax -------------------------- */

/* "FILE:LINE: [section] name" for a value from the file, "FILE: [section]
 * name (the default)" for one that is not, then the message. */
__attribute__((format(printf, 6, 7))) static int check_fail(const struct hark_config *cfg,
                                                            const char *name, int r, char *err,
                                                            size_t errsz, const char *fmt, ...)
{
    const char *section = strchr(name, '.');
    const struct key *k;
    char sect[16], msg[MSG_MAX];
    const char *file = cfg->origin.file[0] ? cfg->origin.file : "(built-in defaults)";
    unsigned line;
    va_list ap;

    snprintf(sect, sizeof(sect), "%.*s", (int)(section - name), name);
    k = key_find(sect, section + 1);
    line = k ? cfg->origin.lines[k - keys] : 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line) {
        snprintf(err, errsz, "%s:%u: [%s] %s %s", file, line, sect, section + 1, msg);
    } else {
        snprintf(err, errsz, "%s: [%s] %s (the default) %s", file, sect, section + 1, msg);
    }
    return r;
}

static int check_model_dir(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *dir = cfg->wakeword.model_dir;
    struct stat st;

    if (stat(dir, &st) < 0) {
        int r = -errno;
        return check_fail(cfg, "wakeword.model_dir", r, err, errsz, "'%s': %s", dir,
                          strerror(-r));
    }
    if (!S_ISDIR(st.st_mode)) {
        return check_fail(cfg, "wakeword.model_dir", -ENOTDIR, err, errsz,
                          "'%s' is not a directory", dir);
    }
    return 0;
}

int config_load_models(const struct hark_config *cfg, struct nn_model **ret_models,
                       int *ret_phrase_model, char *err, size_t errsz)
{
    struct nn_model *models[CONFIG_MAX_MODELS] = {0};
    int phrase_model[CONFIG_MAX_PHRASES];
    size_t n = cfg->wakeword.n_models;
    int r = 0;

    for (size_t i = 0; i < CONFIG_MAX_PHRASES; i++) {
        phrase_model[i] = -1;
    }
    for (size_t m = 0; m < n && r == 0; m++) {
        const char *file = cfg->wakeword.models[m];
        size_t i = 0;

        r = nn_builtin_named(file) ? nn_builtin_load(file, err, errsz, &models[m])
                                   : nn_model_load(file, err, errsz, &models[m]);
        if (r < 0) {
            break;
        }
        while (i < cfg->wakeword.n_phrases &&
               strcmp(cfg->wakeword.phrases[i].text, models[m]->phrase) != 0) {
            i++;
        }
        if (i == cfg->wakeword.n_phrases) {
            snprintf(err, errsz, "%s: the model's phrase \"%s\" is not one of [wakeword] phrases",
                     file, models[m]->phrase);
            r = -EINVAL;
        } else if (phrase_model[i] >= 0) {
            snprintf(err, errsz, "%s: the model's phrase \"%s\" has a model already (%s)", file,
                     models[m]->phrase, cfg->wakeword.models[phrase_model[i]]);
            r = -EINVAL;
        } else {
            phrase_model[i] = (int)m;
        }
    }
    if (r < 0) {
        for (size_t m = 0; m < n; m++) {
            nn_model_free(models[m]);
        }
        return r;
    }
    memcpy(ret_models, models, n * sizeof(models[0]));
    memcpy(ret_phrase_model, phrase_model, cfg->wakeword.n_phrases * sizeof(phrase_model[0]));
    return 0;
}

/* Every model loads and has a phrase of its own. */
static int check_models(const struct hark_config *cfg, int *ret_phrase_model, char *err,
                        size_t errsz)
{
    struct nn_model *models[CONFIG_MAX_MODELS];
    char why[MSG_MAX];
    int r;

    r = config_load_models(cfg, models, ret_phrase_model, why, sizeof(why));
    if (r < 0) {
        return check_fail(cfg, "wakeword.model", r, err, errsz, "%s", why);
    }
    for (size_t m = 0; m < cfg->wakeword.n_models; m++) {
        nn_model_free(models[m]);
    }
    return 0;
}

/* The dictionary first, on its own line, so that a word missing from it is
 * then the phrases' fault. Only the phrases PocketSphinx hears: a phrase
 * that the neural detector alone hears need not be in it. */
static int check_phrases(const struct hark_config *cfg, const int *phrase_model, char *err,
                         size_t errsz)
{
    struct kws_phrase phrases[CONFIG_MAX_PHRASES];
    bool neural_only = config_combine(cfg) == CONFIG_COMBINE_NEURAL;
    const char *dict = cfg->wakeword.dict;
    size_t n = 0;
    char why[MSG_MAX];
    int fd, r;

    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        if (phrase_model[i] < 0 || !neural_only) {
            phrases[n++] = (struct kws_phrase){.text = cfg->wakeword.phrases[i].text,
                                               .threshold = cfg->wakeword.phrases[i].threshold};
        }
    }
    /* PocketSphinx is not loaded then: neither its model nor its dictionary
     * is needed. */
    if (n == 0) {
        return 0;
    }
    r = check_model_dir(cfg, err, errsz);
    if (r < 0) {
        return r;
    }

    fd = open(dict, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "wakeword.dict", r, err, errsz, "'%s': %s", dict, strerror(-r));
    }
    close(fd);
    r = kws_check_phrases(dict, phrases, n, why, sizeof(why));
    if (r < 0) {
        return check_fail(cfg, "wakeword.phrases", r, err, errsz, "cannot be spotted: %s", why);
    }
    return 0;
}

/* What OpenSSL will load as the trust anchors: at least one PEM
 * certificate. A missing or wrong file would otherwise show up as every
 * server certificate being rejected, retried for ever. */
static int check_ca_file(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *path = cfg->cloud.ca_file;
    unsigned n = 0;
    X509 *x;
    BIO *bio;
    int fd, r;

    if (!path[0]) {
        return 0;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "cloud.ca_file", r, err, errsz, "'%s': %s", path, strerror(-r));
    }
    bio = BIO_new_fd(fd, BIO_CLOSE);
    if (!bio) {
        close(fd);
        return check_fail(cfg, "cloud.ca_file", -ENOMEM, err, errsz, "'%s': out of memory",
                          path);
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (n == 0) {
        return check_fail(cfg, "cloud.ca_file", -EINVAL, err, errsz,
                          "'%s' holds no PEM certificate", path);
    }
    return 0;
}

/* The history reads it only after it has taken its lock file; the same
 * rules as the history's (privacy/history.c), checked before anything is
 * created. */
static int check_passphrase_file(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *path = cfg->privacy.passphrase_file;
    struct stat st;
    int fd, r = 0;

    if (!path[0] || !cfg->privacy.history) {
        return 0;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "privacy.passphrase_file", r, err, errsz, "'%s': %s", path,
                          strerror(-r));
    }
    if (fstat(fd, &st) < 0) {
        r = check_fail(cfg, "privacy.passphrase_file", -errno, err, errsz, "'%s': %s", path,
                       strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' is not a regular file", path);
    } else if (st.st_uid != geteuid()) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' is owned by uid %u, not by this user (uid %u)", path,
                       (unsigned)st.st_uid, (unsigned)geteuid());
    } else if (st.st_mode & 0077) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' may be used by others (mode %03o): chmod 600 %s", path,
                       (unsigned)(st.st_mode & 0777), path);
    }
    close(fd);
    return r;
}

static int check_socket(const struct hark_config *cfg, char *err, size_t errsz)
{
    char path[PATH_MAX];
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    if (config_control_socket(cfg, path, sizeof(path)) < 0 || strlen(path) > max) {
        return check_fail(cfg, "control.socket", -ENAMETOOLONG, err, errsz,
                          "'%s' is too long for a socket (at most %zu bytes)", path, max);
    }
    return 0;
}

int config_check(const struct hark_config *cfg, char *err, size_t errsz)
{
    int phrase_model[CONFIG_MAX_PHRASES];
    int r;

    r = check_models(cfg, phrase_model, err, errsz);
    if (r >= 0) {
        r = check_phrases(cfg, phrase_model, err, errsz);
    }
    if (r >= 0) {
        r = check_ca_file(cfg, err, errsz);
    }
    if (r >= 0) {
        r = check_passphrase_file(cfg, err, errsz);
    }
    if (r >= 0) {
        r = check_socket(cfg, err, errsz);
    }
    return r < 0 ? r : 0;
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

const char *config_default_path(void)
{
    static char path[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n = -1;

    /* The XDG base directory spec says to ignore a relative XDG_CONFIG_HOME. */
    if (xdg && xdg[0] == '/') {
        n = snprintf(path, sizeof(path), "%s/hark/hark.conf", xdg);
    } else if (home && home[0] != '\0') {
        n = snprintf(path, sizeof(path), "%s/.config/hark/hark.conf", home);
    }
    if (n > 0 && (size_t)n < sizeof(path) && file_exists(path)) {
        return path;
    }
    snprintf(path, sizeof(path), "%s", HARK_SYSCONFDIR "/hark/hark.conf");
    if (file_exists(path)) {
        return path;
    }
    return NULL;
}

/* The value as the file would say it; phrases that use the default threshold
 * leave it out, so the defaults dump as they are written in the table. */
static void format_value(const struct hark_config *cfg, const struct key *k, const char *sep,
                         char *buf, size_t size)
{
    const void *field = key_cfield(cfg, k);

    buf[0] = '\0';
    switch (k->type) {
    case KEY_STRING:
    case KEY_LIST:
        snprintf(buf, size, "%s", (const char *)field);
        break;
    case KEY_DURATION:
        format_duration(*(const unsigned *)field, buf, size);
        break;
    case KEY_DOUBLE:
        format_double(*(const double *)field, buf, size);
        break;
    case KEY_UINT:
        snprintf(buf, size, "%u", *(const unsigned *)field);
        break;
    case KEY_BOOL:
        snprintf(buf, size, "%s", *(const bool *)field ? "on" : "off");
        break;
    case KEY_PERIOD:
        format_period(*(const uint64_t *)field, buf, size);
        break;
    case KEY_MODELS:
        for (size_t i = 0, o = 0; i < cfg->wakeword.n_models && o < size; i++) {
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i > 0 ? sep : "",
                                  cfg->wakeword.models[i]);
        }
        break;
    case KEY_PHRASES:
        for (size_t i = 0, o = 0; i < cfg->wakeword.n_phrases && o < size; i++) {
            const struct config_phrase *ph = &cfg->wakeword.phrases[i];
            char thr[64] = "";

            /* A phrase's own cut-off needs its threshold before it. */
            if (ph->threshold != cfg->wakeword.threshold ||
                ph->verify_threshold != cfg->wakeword.verify_threshold) {
                thr[0] = '/';
                format_double(ph->threshold, thr + 1, sizeof(thr) - 1);
            }
            if (ph->verify_threshold != cfg->wakeword.verify_threshold) {
                size_t len = strlen(thr);

                thr[len++] = '/';
                format_double(ph->verify_threshold, thr + len, sizeof(thr) - len);
            }
            o += (size_t)snprintf(buf + o, size - o, "%s%s%s", i > 0 ? sep : "", ph->text, thr);
        }
        break;
    }
}

void config_dump(const struct hark_config *cfg, FILE *out)
{
    locale_t old, c = c_locale_enter(&old);
    const char *section = NULL;
    /* Every value fits a line, so the dump reads back. */
    char value[CONFIG_LINE_MAX];

    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];

        if (!section || strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", section ? "\n" : "", k->section);
            section = k->section;
        }
        format_value(cfg, k, ", ", value, sizeof(value));
        fprintf(out, "%s = %s\n", k->name, value);
    }
    c_locale_leave(c, old);
}

/* Markdown table cells: a '|' would end the cell. */
static void write_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') {
            fputc('\\', out);
        }
        fputc(*s, out);
    }
}

void config_write_reference(FILE *out)
{
    locale_t old, c = c_locale_enter(&old);
    char range[128];

    fputs("<!-- Generated from the key table in src/config.c by config_write_reference();\n"
          "     do not edit. To regenerate after changing the table, run\n"
          "     HARK_WRITE_REFERENCE=1 meson test -C BUILDDIR config -->\n"
          "\n"
          "# Configuration\n"
          "\n"
          "hark reads one INI file. When none is named, it uses the first of these that "
          "exists:\n"
          "`$XDG_CONFIG_HOME/hark/hark.conf` (or `~/.config/hark/hark.conf`), then\n"
          "`SYSCONFDIR/hark/hark.conf` (SYSCONFDIR is set at build time: `/etc` in\n"
          "distribution packages, `/usr/local/etc` when built with meson's defaults).\n"
          "Without a file every key has its default. `samples/hark.conf` lists every key.\n"
          "\n"
          "## Syntax\n"
          "\n"
          "```ini\n"
          "; a comment\n"
          "[endpoint]\n"
          "silence = 700ms   ; a comment after a value\n"
          "```\n"
          "\n"
          "* `[section]` headers and `key = value` lines; every key belongs to a section, and\n"
          "  each key may appear once. Unknown sections and keys are errors, so that a typing\n"
          "  mistake does not go unnoticed. A header stands alone on its line: anything after\n"
          "  its `]` but a comment is an error.\n"
          "* A line starting with `;` or `#` is a comment. After a value or a header, ` ;`\n"
          "  (with a blank before it) starts a comment; ` #` there is an error.\n"
          "* Keys and headers start in the first column: an indented line is an error, and a\n"
          "  value cannot continue on the next line.\n"
          "* Durations need a unit: `700ms`, `0.7s`, `5s` (whole milliseconds). Periods are\n"
          "  whole numbers with a unit: `30s`, `24h`, `7d`, `6mo`. Switches are `on` or `off`.\n"
          "* Lines end in LF or CRLF (a CR alone is an error) and are at most ",
          out);
    fprintf(out,
            "%d bytes;\n"
            "  the file is at most %d KiB. A string holds at most %d bytes, a list (the rules\n"
            "  of `[privacy]`) %d.\n",
            CONFIG_LINE_MAX, CONFIG_FILE_MAX / 1024, CONFIG_STRING_MAX - 1, CONFIG_LIST_MAX - 1);
    fputs("\n"
          "hark reports the first error as `FILE:LINE: message`, for example\n"
          "`hark.conf:7: unknown key 'silense' in [endpoint]`, and then uses nothing from the\n"
          "file.\n",
          out);

    for (size_t s = 0; s < N_SECTIONS; s++) {
        fprintf(out, "\n## [%s]\n\n%s\n\n", sections[s].name, sections[s].help);
        fputs("| Key | Type | Default | Range | Description |\n"
              "|-----|------|---------|-------|-------------|\n",
              out);
        for (size_t i = 0; i < N_KEYS; i++) {
            const struct key *k = &keys[i];

            if (strcmp(k->section, sections[s].name) != 0) {
                continue;
            }
            format_range(k, range, sizeof(range));
            fprintf(out, "| `%s` | %s | ", k->name, type_name(k->type));
            if (k->doc_def) {
                write_cell(out, k->doc_def);
            } else if (k->def[0] == '\0') {
                fputs("not set", out);
            } else {
                fputc('`', out);
                write_cell(out, k->def);
                fputc('`', out);
            }
            fputs(" | ", out);
            write_cell(out, range);
            fputs(" | ", out);
            write_cell(out, k->help);
            fputs(" |\n", out);
        }
    }
    c_locale_leave(c, old);
}
