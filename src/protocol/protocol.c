/* The cloud protocol, version 1 (doc/protocol.md): a strict parser for the
 * JSON text messages a peer sends, builders for ours, and the binary frames. */
#include "protocol.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>

#include "base-err.h"

/* The audio format a start announces; version 1 knows no other. */
#define START_CODEC "opus"
#define START_RATE 16000
#define START_CHANNELS 1
#define START_FRAME_MS 20

/* Wake scores are confidences from 0 to 1: four decimals say all there is
 * to say, where a double printed in full reads 0.87340000000000002. */
#define SCORE_SCALE 1e4

static const char *const type_names[] = {
    [PROTO_UNKNOWN] = "unknown",
    [PROTO_HELLO] = "hello",
    [PROTO_START] = "start",
    [PROTO_END] = "end",
    [PROTO_CANCEL] = "cancel",
    [PROTO_PING] = "ping",
    [PROTO_READY] = "ready",
    [PROTO_TRANSCRIPT] = "transcript",
    [PROTO_INTENT] = "intent",
    [PROTO_RESPONSE] = "response",
    [PROTO_RESPONSE_END] = "response_end",
    [PROTO_ERROR] = "error",
    [PROTO_PONG] = "pong",
    [PROTO_UPDATE] = "update",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *proto_type_name(enum proto_type type)
{
    if ((size_t)type >= N_TYPES) {
        return type_names[PROTO_UNKNOWN];
    }
    return type_names[type];
}

/* ---- The text, before cJSON sees it ---------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        if (s[0] == 0xE0) {
            lo = 0xA0;
        } else if (s[0] == 0xED) {
            hi = 0x9F;
        }
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        if (s[0] == 0xF0) {
            lo = 0x90;
        } else if (s[0] == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (left < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_number_char(unsigned char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Length of the RFC 8259 number at s, or 0 when the run of number
 * characters there is not exactly one. */
static size_t number_length(const unsigned char *s, size_t left)
{
    size_t i = 0;

    if (i < left && s[i] == '-') {
        i++;
    }
    if (i < left && s[i] == '0') {
        i++;
    } else if (i < left && is_digit(s[i])) {
        while (i < left && is_digit(s[i])) {
            i++;
        }
    } else {
        return 0;
    }
    if (i < left && s[i] == '.') {
        i++;
        if (i >= left || !is_digit(s[i])) {
            return 0;
        }
        while (i < left && is_digit(s[i])) {
            i++;
        }
    }
    if (i < left && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < left && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i >= left || !is_digit(s[i])) {
            return 0;
        }
        while (i < left && is_digit(s[i])) {
            i++;
        }
    }
    if (i < left && is_number_char(s[i])) {
        return 0;
    }
    return i;
}

/* cJSON is lenient where a peer must not be: it takes raw control characters
 * inside strings, cuts a string at \u0000 without saying so (so "a\u0000b"
 * would silently arrive as "a"), reads 01 and 1. as numbers and never looks
 * at UTF-8. One pass holds the text to RFC 8259 on those points; the grammar
 * itself is left to cJSON. */
static int check_text(const unsigned char *s, size_t len, char *err, size_t errsz)
{
    bool in_string = false;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;

        if (c == '\0') {
            err_set(err, errsz, "a NUL byte at offset %zu", i);
            return -EBADMSG;
        }
        if (c >= 0x80) {
            n = utf8_sequence(s + i, len - i);
            if (n == 0) {
                err_set(err, errsz, "invalid UTF-8 at offset %zu", i);
                return -EBADMSG;
            }
            i += n;
            continue;
        }
        if (in_string) {
            if (c == '"') {
                in_string = false;
            } else if (c < 0x20) {
                err_set(err, errsz, "an unescaped control character in a string at offset %zu",
                          i);
                return -EBADMSG;
            } else if (c == '\\') {
                if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0) {
                    err_set(err, errsz, "a NUL (\\u0000) in a string at offset %zu", i);
                    return -EBADMSG;
                }
                /* Skips the escaped character, which may be a quote. */
                i++;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_string = true;
            i++;
            continue;
        }
        if (c == '-' || is_digit(c)) {
            n = number_length(s + i, len - i);
            if (n == 0) {
                err_set(err, errsz, "a malformed number at offset %zu", i);
                return -EBADMSG;
            }
            i += n;
            continue;
        }
        i++;
    }
    return 0;
}

/* ---- Fields ------------------------------------------------------------ */

struct fields {
    const cJSON *obj;
    const char *type; /* for messages: "intent: ..." */
    char *err;
    size_t errsz;
};

enum presence {
    OPTIONAL,
    REQUIRED,
};

/* The member called name, or NULL. A name given twice is refused: parsers
 * disagree on which of the two counts (cJSON takes the first, most take the
 * last), and "sensitive":false,"sensitive":true must not mean one thing to
 * the server and another to us. An optional member that is null is absent. */
static int find(const struct fields *f, const char *name, enum presence presence,
                const cJSON **ret_item)
{
    const cJSON *found = NULL;

    for (const cJSON *it = f->obj->child; it; it = it->next) {
        if (it->string && strcmp(it->string, name) == 0) {
            if (found) {
                err_set(f->err, f->errsz, "%s: \"%s\" is given twice", f->type, name);
                return -EBADMSG;
            }
            found = it;
        }
    }
    if (found && presence == OPTIONAL && cJSON_IsNull(found)) {
        found = NULL;
    }
    if (!found && presence == REQUIRED) {
        err_set(f->err, f->errsz, "%s: \"%s\" is missing", f->type, name);
        return -EBADMSG;
    }
    *ret_item = found;
    return 0;
}

/* A string a field may hold: not too long, and (check_text saw to it) valid
 * UTF-8 without NUL. what names it in the message. */
static int check_string(const struct fields *f, const cJSON *item, const char *what)
{
    if (!cJSON_IsString(item) || !item->valuestring) {
        err_set(f->err, f->errsz, "%s: %s is not a string", f->type, what);
        return -EBADMSG;
    }
    if (strlen(item->valuestring) > PROTO_STRING_MAX) {
        err_set(f->err, f->errsz, "%s: %s is longer than %d bytes", f->type, what,
                  PROTO_STRING_MAX);
        return -EBADMSG;
    }
    return 0;
}

static int copy_string(const struct fields *f, const cJSON *item, const char *what, char **ret)
{
    char *s;
    int r = check_string(f, item, what);

    if (r < 0) {
        return r;
    }
    s = strdup(item->valuestring);
    if (!s) {
        err_set(f->err, f->errsz, "%s: out of memory", f->type);
        return -ENOMEM;
    }
    *ret = s;
    return 0;
}

/* Leaves *ret alone when an optional string is absent. */
static int get_string(const struct fields *f, const char *name, enum presence presence, char **ret)
{
    const cJSON *item = NULL;
    char what[48];
    int r = find(f, name, presence, &item);

    if (r < 0 || !item) {
        return r;
    }
    snprintf(what, sizeof(what), "\"%s\"", name);
    return copy_string(f, item, what, ret);
}

/* A whole number from 0 to max: ids, sequence numbers, frame counts. JSON
 * has only doubles, so 1.5, -1, 1e300 and 2^32 are all numbers to cJSON. */
static int get_uint(const struct fields *f, const char *name, enum presence presence, double max,
                    uint32_t *ret, bool *ret_present)
{
    const cJSON *item = NULL;
    double d;
    int r = find(f, name, presence, &item);

    if (r < 0) {
        return r;
    }
    if (!item) {
        if (ret_present) {
            *ret_present = false;
        }
        return 0;
    }
    d = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(d >= 0 && d <= max) || d != floor(d)) {
        err_set(f->err, f->errsz, "%s: \"%s\" is not a whole number from 0 to %.0f", f->type,
                  name, max);
        return -EBADMSG;
    }
    *ret = (uint32_t)d;
    if (ret_present) {
        *ret_present = true;
    }
    return 0;
}

static int get_u32(const struct fields *f, const char *name, uint32_t *ret)
{
    return get_uint(f, name, REQUIRED, (double)UINT32_MAX, ret, NULL);
}

static int get_number(const struct fields *f, const char *name, double *ret)
{
    const cJSON *item = NULL;
    int r = find(f, name, REQUIRED, &item);

    if (r < 0) {
        return r;
    }
    /* 1e999 is a valid JSON number that cJSON reads as infinity. */
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
        err_set(f->err, f->errsz, "%s: \"%s\" is not a finite number", f->type, name);
        return -EBADMSG;
    }
    *ret = item->valuedouble;
    return 0;
}

/* Leaves *ret alone when an optional boolean is absent. */
static int get_bool(const struct fields *f, const char *name, enum presence presence, bool *ret)
{
    const cJSON *item = NULL;
    int r = find(f, name, presence, &item);

    if (r < 0 || !item) {
        return r;
    }
    if (!cJSON_IsBool(item)) {
        err_set(f->err, f->errsz, "%s: \"%s\" is not a boolean", f->type, name);
        return -EBADMSG;
    }
    *ret = cJSON_IsTrue(item);
    return 0;
}

/* A field whose value version 1 fixes (start's audio format): a client that
 * announces anything else sends audio nobody can decode. */
static int expect_uint(const struct fields *f, const char *name, uint32_t want)
{
    uint32_t v = 0;
    int r = get_u32(f, name, &v);

    if (r < 0) {
        return r;
    }
    if (v != want) {
        err_set(f->err, f->errsz, "%s: \"%s\" is %u, not %u", f->type, name, v, want);
        return -EBADMSG;
    }
    return 0;
}

static int parse_slots(const struct fields *f, struct proto_msg *msg)
{
    const cJSON *slots = NULL;
    int r = find(f, "slots", OPTIONAL, &slots);

    if (r < 0 || !slots) {
        return r;
    }
    if (!cJSON_IsObject(slots)) {
        err_set(f->err, f->errsz, "%s: \"slots\" is not an object", f->type);
        return -EBADMSG;
    }
    for (const cJSON *it = slots->child; it; it = it->next) {
        struct proto_slot *slot;
        char what[80];

        if (msg->n_slots == PROTO_SLOTS_MAX) {
            err_set(f->err, f->errsz, "%s: more than %d slots", f->type, PROTO_SLOTS_MAX);
            return -EBADMSG;
        }
        if (!it->string || strlen(it->string) > PROTO_STRING_MAX) {
            err_set(f->err, f->errsz, "%s: a slot name is longer than %d bytes", f->type,
                      PROTO_STRING_MAX);
            return -EBADMSG;
        }
        /* As with fields: a slot given twice would mean two things. */
        for (size_t i = 0; i < msg->n_slots; i++) {
            if (strcmp(msg->slots[i].name, it->string) == 0) {
                err_set(f->err, f->errsz, "%s: slot \"%.32s\" is given twice", f->type,
                          it->string);
                return -EBADMSG;
            }
        }
        snprintf(what, sizeof(what), "slot \"%.32s\"", it->string);
        r = check_string(f, it, what);
        if (r < 0) {
            return r;
        }
        slot = &msg->slots[msg->n_slots];
        slot->name = strdup(it->string);
        slot->value = strdup(it->valuestring);
        /* Counted before the check so that finish frees half a slot too. */
        msg->n_slots++;
        if (!slot->name || !slot->value) {
            err_set(f->err, f->errsz, "%s: out of memory", f->type);
            return -ENOMEM;
        }
    }
    return 0;
}

/* The bundle of an update: canonical base64 of 1 to PROTO_UPDATE_MAX bytes
 * (one spelling only, as for pins; what it holds is update.c's to judge). */
static int parse_bundle(const struct fields *f, struct proto_msg *msg)
{
    const cJSON *item = NULL;
    unsigned char *again = NULL;
    size_t n = 0, len;
    int r = find(f, "bundle", REQUIRED, &item);

    if (r < 0) {
        return r;
    }
    r = check_string(f, item, "\"bundle\"");
    if (r < 0) {
        return r;
    }
    len = strlen(item->valuestring);
    if (len == 0) {
        err_set(f->err, f->errsz, "%s: \"bundle\" is empty", f->type);
        return -EBADMSG;
    }
    msg->bundle = malloc(PROTO_UPDATE_MAX);
    again = malloc(len + 1);
    if (!msg->bundle || !again) {
        free(again);
        err_set(f->err, f->errsz, "%s: out of memory", f->type);
        return -ENOMEM;
    }
    r = mbedtls_base64_decode(msg->bundle, PROTO_UPDATE_MAX, &n,
                              (const unsigned char *)item->valuestring, len);
    if (r == 0 && n > 0 &&
        mbedtls_base64_encode(again, len + 1, &msg->bundle_len, msg->bundle, n) == 0 &&
        msg->bundle_len == len && memcmp(again, item->valuestring, len) == 0) {
        msg->bundle_len = n;
        r = 0;
    } else {
        msg->bundle_len = 0;
        err_set(f->err, f->errsz, "%s: \"bundle\" is not the base64 of 1 to %d bytes", f->type,
                  PROTO_UPDATE_MAX);
        r = -EBADMSG;
    }
    free(again);
    return r;
}

/* The fields of each type (doc/protocol.md); the first failure wins. */
static int parse_fields(const struct fields *f, struct proto_msg *msg)
{
    uint32_t u = 0;
    int r = 0;

    switch (msg->type) {
    case PROTO_HELLO:
    case PROTO_READY:
        /* The version is not checked here: refusing a wrong one (close 4001)
         * is the server's decision and needs the number. */
        r = get_uint(f, "protocol", REQUIRED, INT_MAX, &u, NULL);
        msg->protocol = (int)u;
        if (r >= 0) {
            r = msg->type == PROTO_HELLO ? get_string(f, "client", REQUIRED, &msg->client)
                                         : get_string(f, "server", REQUIRED, &msg->server);
        }
        break;
    case PROTO_START:
        r = get_u32(f, "id", &msg->id);
        msg->has_id = r >= 0;
        if (r >= 0) {
            r = get_string(f, "phrase", REQUIRED, &msg->phrase);
        }
        if (r >= 0) {
            r = get_number(f, "score", &msg->score);
        }
        if (r >= 0) {
            r = get_u32(f, "preroll_ms", &u);
            msg->preroll_ms = u;
        }
        if (r >= 0) {
            char *codec = NULL;

            r = get_string(f, "codec", REQUIRED, &codec);
            if (r >= 0 && strcmp(codec, START_CODEC) != 0) {
                err_set(f->err, f->errsz, "start: \"codec\" is \"%.32s\", not \"%s\"", codec,
                          START_CODEC);
                r = -EBADMSG;
            }
            free(codec);
        }
        if (r >= 0) {
            r = expect_uint(f, "rate", START_RATE);
        }
        if (r >= 0) {
            r = expect_uint(f, "channels", START_CHANNELS);
        }
        if (r >= 0) {
            r = expect_uint(f, "frame_ms", START_FRAME_MS);
        }
        break;
    case PROTO_END:
    case PROTO_CANCEL:
        r = get_u32(f, "id", &msg->id);
        msg->has_id = r >= 0;
        if (r >= 0) {
            r = get_string(f, "reason", REQUIRED, &msg->reason);
        }
        if (r >= 0 && msg->type == PROTO_END) {
            r = get_u32(f, "frames", &msg->frames);
        }
        break;
    case PROTO_PING:
    case PROTO_PONG:
        r = get_u32(f, "seq", &msg->seq);
        break;
    case PROTO_TRANSCRIPT:
    case PROTO_RESPONSE:
        r = get_u32(f, "id", &msg->id);
        msg->has_id = r >= 0;
        if (r >= 0) {
            r = get_string(f, "text", REQUIRED, &msg->text);
        }
        if (r >= 0 && msg->type == PROTO_RESPONSE) {
            r = get_bool(f, "audio", OPTIONAL, &msg->audio);
        }
        break;
    case PROTO_INTENT:
        r = get_u32(f, "id", &msg->id);
        msg->has_id = r >= 0;
        if (r >= 0) {
            r = get_string(f, "name", REQUIRED, &msg->name);
        }
        if (r >= 0) {
            r = parse_slots(f, msg);
        }
        if (r >= 0) {
            r = get_bool(f, "sensitive", REQUIRED, &msg->sensitive);
        }
        break;
    case PROTO_RESPONSE_END:
        r = get_u32(f, "id", &msg->id);
        msg->has_id = r >= 0;
        if (r >= 0) {
            r = get_u32(f, "frames", &msg->frames);
        }
        break;
    case PROTO_ERROR:
        /* Only the code is required: an error that finishes a request must
         * not be lost for want of a human-readable message. */
        r = get_uint(f, "id", OPTIONAL, (double)UINT32_MAX, &msg->id, &msg->has_id);
        if (r >= 0) {
            r = get_string(f, "code", REQUIRED, &msg->code);
        }
        if (r >= 0) {
            r = get_string(f, "message", OPTIONAL, &msg->message);
        }
        break;
    case PROTO_UPDATE:
        r = parse_bundle(f, msg);
        break;
    case PROTO_UNKNOWN:
        break;
    }
    return r;
}

int proto_parse(const char *text, size_t len, struct proto_msg *ret_msg, char *err, size_t errsz)
{
    struct proto_msg msg = {0};
    struct fields f = {.err = err, .errsz = errsz, .type = "message"};
    const cJSON *type = NULL;
    const char *end = NULL;
    cJSON *root = NULL;
    char *copy = NULL;
    int r;

    if ((!text && len > 0) || !ret_msg) {
        err_set(err, errsz, "no message");
        return -EINVAL;
    }
    if (len > PROTO_TEXT_MAX) {
        err_set(err, errsz, "%zu bytes, more than %d", len, PROTO_TEXT_MAX);
        return -EMSGSIZE;
    }
    if (len == 0) {
        err_set(err, errsz, "an empty message");
        return -EBADMSG;
    }
    r = check_text((const unsigned char *)text, len, err, errsz);
    if (r < 0) {
        goto cleanup;
    }

    /* cJSON reads to a NUL: a websocket payload has none, so it gets a copy
     * that does. The length includes that NUL because "require null
     * terminated" looks for it within the length, which is how text after
     * the object (trailing garbage) is refused. */
    copy = malloc(len + 1);
    if (!copy) {
        err_set(err, errsz, "out of memory");
        r = -ENOMEM;
        goto cleanup;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, true);
    if (!root) {
        err_set(err, errsz, "not JSON (at offset %td)", end && end >= copy ? end - copy : 0);
        r = -EBADMSG;
        goto cleanup;
    }
    if (!cJSON_IsObject(root)) {
        err_set(err, errsz, "not a JSON object");
        r = -EBADMSG;
        goto cleanup;
    }
    f.obj = root;

    r = find(&f, "type", REQUIRED, &type);
    if (r < 0) {
        goto cleanup;
    }
    r = copy_string(&f, type, "\"type\"", &msg.type_name);
    if (r < 0) {
        goto cleanup;
    }
    msg.type = PROTO_UNKNOWN;
    for (size_t i = PROTO_UNKNOWN + 1; i < N_TYPES; i++) {
        if (strcmp(msg.type_name, type_names[i]) == 0) {
            msg.type = (enum proto_type)i;
            break;
        }
    }
    f.type = type_names[msg.type];
    r = parse_fields(&f, &msg);
    if (r < 0) {
        goto cleanup;
    }

    *ret_msg = msg;
    memset(&msg, 0, sizeof(msg));
    r = 0;
cleanup:
    proto_msg_finish(&msg);
    cJSON_Delete(root);
    if (copy) {
        explicit_bzero(copy, len + 1);
        free(copy);
    }
    return r;
}

/* A message's strings may be a request's words: wiped before they go. */
static void wipe_string(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void proto_msg_finish(struct proto_msg *msg)
{
    if (!msg) {
        return;
    }
    for (size_t i = 0; i < msg->n_slots && i < PROTO_SLOTS_MAX; i++) {
        wipe_string(msg->slots[i].name);
        wipe_string(msg->slots[i].value);
    }
    wipe_string(msg->type_name);
    wipe_string(msg->client);
    wipe_string(msg->server);
    wipe_string(msg->phrase);
    wipe_string(msg->reason);
    wipe_string(msg->text);
    wipe_string(msg->name);
    wipe_string(msg->code);
    wipe_string(msg->message);
    if (msg->bundle) {
        explicit_bzero(msg->bundle, msg->bundle_len);
        free(msg->bundle);
    }
    /* Finishing twice, or a message parsed into again, is then harmless. */
    memset(msg, 0, sizeof(*msg));
}

/* cJSON frees what it parsed and printed without wiping it, and grows its
 * print buffers by realloc, which can leave copies behind. With these hooks
 * (malloc and a free that wipes the whole block) neither happens: cJSON
 * uses malloc, copy and free instead of realloc when hooks are set. */
static void wiping_free(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

void proto_wipe_json_memory(void)
{
    cJSON_Hooks hooks = {.malloc_fn = malloc, .free_fn = wiping_free};

    cJSON_InitHooks(&hooks);
}

/* ---- Builders ---------------------------------------------------------- */

/* cJSON escapes strings and prints numbers; every builder starts with the
 * type (a log line then says what it is at once) and ends in finish(). */
static cJSON *new_message(enum proto_type type)
{
    cJSON *obj = cJSON_CreateObject();

    if (obj && !cJSON_AddStringToObject(obj, "type", type_names[type])) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static bool add_string(cJSON *obj, const char *name, const char *value)
{
    return obj && value && cJSON_AddStringToObject(obj, name, value);
}

/* Whole numbers up to 2^32 - 1 are exact in a double and print as digits. */
static bool add_uint(cJSON *obj, const char *name, uint32_t value)
{
    return obj && cJSON_AddNumberToObject(obj, name, (double)value);
}

static bool add_bool(cJSON *obj, const char *name, bool value)
{
    return obj && cJSON_AddBoolToObject(obj, name, value);
}

/* Prints obj (unformatted: one line, no spaces) and frees it; NULL if any
 * step before failed. The text is malloc'd (cJSON's default hooks). */
static char *finish(cJSON *obj, bool ok)
{
    char *text = ok && obj ? cJSON_PrintUnformatted(obj) : NULL;

    cJSON_Delete(obj);
    return text;
}

char *proto_build_hello(const char *client)
{
    cJSON *o = new_message(PROTO_HELLO);

    return finish(o, add_uint(o, "protocol", PROTO_VERSION) && add_string(o, "client", client));
}

char *proto_build_start(uint32_t id, const char *phrase, double score, unsigned preroll_ms)
{
    cJSON *o;

    /* cJSON would print NaN and infinity as null, which the peer refuses. */
    if (!isfinite(score)) {
        return NULL;
    }
    if (fabs(score) < 1e12) {
        score = round(score * SCORE_SCALE) / SCORE_SCALE;
    }
    o = new_message(PROTO_START);
    return finish(o, add_uint(o, "id", id) && add_string(o, "phrase", phrase) &&
                         cJSON_AddNumberToObject(o, "score", score) &&
                         add_uint(o, "preroll_ms", preroll_ms) &&
                         add_string(o, "codec", START_CODEC) && add_uint(o, "rate", START_RATE) &&
                         add_uint(o, "channels", START_CHANNELS) &&
                         add_uint(o, "frame_ms", START_FRAME_MS));
}

char *proto_build_end(uint32_t id, const char *reason, uint32_t frames)
{
    cJSON *o = new_message(PROTO_END);

    return finish(o, add_uint(o, "id", id) && add_string(o, "reason", reason) &&
                         add_uint(o, "frames", frames));
}

char *proto_build_cancel(uint32_t id, const char *reason)
{
    cJSON *o = new_message(PROTO_CANCEL);

    return finish(o, add_uint(o, "id", id) && add_string(o, "reason", reason));
}

char *proto_build_ping(uint32_t seq)
{
    cJSON *o = new_message(PROTO_PING);

    return finish(o, add_uint(o, "seq", seq));
}

char *proto_build_ready(const char *server)
{
    cJSON *o = new_message(PROTO_READY);

    return finish(o, add_uint(o, "protocol", PROTO_VERSION) && add_string(o, "server", server));
}

char *proto_build_transcript(uint32_t id, const char *text)
{
    cJSON *o = new_message(PROTO_TRANSCRIPT);

    return finish(o, add_uint(o, "id", id) && add_string(o, "text", text));
}

char *proto_build_intent(uint32_t id, const char *name, const struct proto_slot *slots,
                         size_t n_slots, bool sensitive)
{
    cJSON *o = new_message(PROTO_INTENT);
    cJSON *s = NULL;
    bool ok = add_uint(o, "id", id) && add_string(o, "name", name);

    if (ok) {
        s = cJSON_AddObjectToObject(o, "slots");
        ok = s && (n_slots == 0 || slots);
    }
    for (size_t i = 0; ok && i < n_slots; i++) {
        ok = slots[i].name && add_string(s, slots[i].name, slots[i].value);
    }
    return finish(o, ok && add_bool(o, "sensitive", sensitive));
}

char *proto_build_response(uint32_t id, const char *text, bool audio)
{
    cJSON *o = new_message(PROTO_RESPONSE);

    return finish(o, add_uint(o, "id", id) && add_string(o, "text", text) &&
                         add_bool(o, "audio", audio));
}

char *proto_build_response_end(uint32_t id, uint32_t frames)
{
    cJSON *o = new_message(PROTO_RESPONSE_END);

    return finish(o, add_uint(o, "id", id) && add_uint(o, "frames", frames));
}

char *proto_build_error(int64_t id, const char *code, const char *message)
{
    cJSON *o;
    bool ok;

    if (id > (int64_t)UINT32_MAX) {
        return NULL;
    }
    o = new_message(PROTO_ERROR);
    ok = o != NULL;
    if (ok && id >= 0) {
        ok = add_uint(o, "id", (uint32_t)id);
    }
    ok = ok && add_string(o, "code", code);
    /* message is optional on the wire; NULL leaves it out. */
    if (ok && message) {
        ok = add_string(o, "message", message);
    }
    return finish(o, ok);
}

char *proto_build_pong(uint32_t seq)
{
    cJSON *o = new_message(PROTO_PONG);

    return finish(o, add_uint(o, "seq", seq));
}

char *proto_build_update(const uint8_t *bundle, size_t len)
{
    unsigned char b64[(PROTO_UPDATE_MAX + 2) / 3 * 4 + 1];
    size_t n = 0;
    cJSON *o;

    if (!bundle || len == 0 || len > PROTO_UPDATE_MAX ||
        mbedtls_base64_encode(b64, sizeof(b64), &n, bundle, len) != 0) {
        return NULL;
    }
    o = new_message(PROTO_UPDATE);
    return finish(o, add_string(o, "bundle", (const char *)b64));
}

/* ---- Binary frames ----------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool valid_kind(int kind)
{
    return kind == PROTO_FRAME_UPLINK || kind == PROTO_FRAME_DOWNLINK;
}

int proto_frame_pack(enum proto_frame_kind kind, uint32_t id, uint32_t seq, const uint8_t *opus,
                     size_t len, uint8_t *out, size_t outsz)
{
    if (!valid_kind((int)kind) || !opus || len == 0 || len > PROTO_OPUS_MAX || !out ||
        outsz < PROTO_FRAME_HEADER + len) {
        return -EINVAL;
    }
    out[0] = (uint8_t)kind;
    put_be32(out + 1, id);
    put_be32(out + 5, seq);
    memmove(out + PROTO_FRAME_HEADER, opus, len);
    return (int)(PROTO_FRAME_HEADER + len);
}

int proto_frame_parse(const uint8_t *data, size_t len, struct proto_frame *ret_frame)
{
    if (!ret_frame) {
        return -EINVAL;
    }
    /* An empty packet is refused: Opus has no zero-length packet, and a
     * frame that carries nothing is a peer's bug, not silence. */
    if (!data || len <= PROTO_FRAME_HEADER || len > PROTO_BINARY_MAX || !valid_kind(data[0])) {
        return -EBADMSG;
    }
    *ret_frame = (struct proto_frame){
        .kind = (enum proto_frame_kind)data[0],
        .id = get_be32(data + 1),
        .seq = get_be32(data + 5),
        .opus = data + PROTO_FRAME_HEADER,
        .opus_len = len - PROTO_FRAME_HEADER,
    };
    return 0;
}
