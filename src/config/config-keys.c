/* The key table: every section and key of the configuration file with its
 * type, range, default and help, and the checks a value must pass. The
 * parser, the checks, the dump and doc/config.md all read it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio-source.h"
#include "config-internal.h"
#include "hark-build.h"
#include "link.h"
#include "pin.h"

/* The defaults of [wakeword]: what `hark tune` found for "hey computer" on
 * the test corpus (doc/wakeword.md). */
#define VERIFY_DEFAULT "on"
#define VERIFY_THRESHOLD_DEFAULT "-0.474"
#define THRESHOLD_DEFAULT "1e-40"
#define PHONE_LOOP_DEFAULT "1e-3"

/* Build-time defaults go into fixed-size fields. */
_Static_assert(sizeof(HARK_MODEL_DIR) <= CONFIG_STRING_MAX, "HARK_MODEL_DIR is too long");
_Static_assert(sizeof(HARK_DICT) <= CONFIG_STRING_MAX, "HARK_DICT is too long");

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

static const char *check_action(const char *value, char *buf, size_t size)
{
    enum policy_action a;

    return policy_action_parse(value, &a) < 0 ? "is not drop, redact or allow" : NULL;
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

#define OFF(field) offsetof(struct hark_config, field)

/* Every section, in the order of the file, for doc/config.md and the dump. */
const struct section config_sections[] = {
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
const struct key config_keys[] = {
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
        .offset = OFF(wakeword.models), .def = "builtin",
        .optional = true,
        .help = "Comma-separated neural wake-word model files (`.hwm`, made by "
                "`wakeword/train/hark-train`; the installed ones are in "
                "`DATADIR/hark/wakeword/`), or `builtin:hey-computer`, the \"hey computer\" model "
                "built into hark. Each model's phrase must be one of `phrases`, and no two models "
                "may have the same phrase; such a phrase is then heard by the neural detector as "
                "`combine` says, the other phrases by PocketSphinx alone. `builtin` (the default) "
                "is the built-in model of the first phrase that has one, and nothing if no phrase "
                "has one (\"hey computer\" is the only one). Empty: PocketSphinx for every phrase.",
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

const size_t config_n_sections = sizeof(config_sections) / sizeof(config_sections[0]);
const size_t config_n_keys = sizeof(config_keys) / sizeof(config_keys[0]);
_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= CONFIG_KEYS_MAX,
               "struct hark_config's origin has a line for every key");

const struct key *config_key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < config_n_keys; i++) {
        const struct key *k = &config_keys[i];

        if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

bool config_section_known(const char *name)
{
    for (size_t i = 0; i < config_n_sections; i++) {
        if (strcmp(config_sections[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}
