/* The cloud protocol, version 1 (doc/protocol.md): a strict parser for the
 * JSON text messages a peer sends, driven by a table of each type's fields,
 * and builders for ours. The binary frames are in protocol-frame.c. */
#include "protocol.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>

#include "base-err.h"
#include "protocol-internal.h"

/* The audio format a start announces; version 1 knows no other. */
#define START_CODEC "opus"
#define START_RATE 16000
#define START_CHANNELS 1
#define START_FRAME_MS 20

/* Wake scores are confidences from 0 to 1: four decimals say all there is
 * to say, where a double printed in full reads 0.87340000000000002. */
#define SCORE_SCALE 1e4

/* ---- The fields of each type (doc/protocol.md) ------------------------ */

/* What a field holds, and so how it is checked and where it goes. */
enum field_kind {
    FIELD_ID,      /* a request id, 0 to 2^32 - 1: id and has_id */
    FIELD_U32,     /* a whole number from 0 to 2^32 - 1: sequence numbers, counts */
    FIELD_VERSION, /* the protocol version, 0 to INT_MAX (the server judges it) */
    FIELD_STRING,  /* a string of at most PROTO_STRING_MAX bytes, copied */
    FIELD_NUMBER,  /* a finite number */
    FIELD_BOOL,
    FIELD_FIXED,   /* a whole number version 1 fixes (start's audio format) */
    FIELD_CODEC,   /* the codec, which version 1 fixes */
    FIELD_SLOTS,   /* an object of at most PROTO_SLOTS_MAX strings */
    FIELD_BUNDLE,  /* canonical base64 of an update bundle */
};

struct field {
    const char *name;
    enum field_kind kind;
    bool optional;  /* absent or null: left zero */
    size_t offset;  /* of its member of struct proto_msg (not for FIXED, CODEC) */
    uint32_t fixed; /* FIXED: the value */
};

#define AT(member) offsetof(struct proto_msg, member)

/* The protocol version is not checked here: refusing a wrong one (close
 * 4001) is the server's decision and needs the number. */
static const struct field hello_fields[] = {
    {.name = "protocol", .kind = FIELD_VERSION, .offset = AT(protocol)},
    {.name = "client", .kind = FIELD_STRING, .offset = AT(client)},
};
static const struct field ready_fields[] = {
    {.name = "protocol", .kind = FIELD_VERSION, .offset = AT(protocol)},
    {.name = "server", .kind = FIELD_STRING, .offset = AT(server)},
};
static const struct field start_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "phrase", .kind = FIELD_STRING, .offset = AT(phrase)},
    {.name = "score", .kind = FIELD_NUMBER, .offset = AT(score)},
    {.name = "preroll_ms", .kind = FIELD_U32, .offset = AT(preroll_ms)},
    {.name = "codec", .kind = FIELD_CODEC},
    {.name = "rate", .kind = FIELD_FIXED, .fixed = START_RATE},
    {.name = "channels", .kind = FIELD_FIXED, .fixed = START_CHANNELS},
    {.name = "frame_ms", .kind = FIELD_FIXED, .fixed = START_FRAME_MS},
};
static const struct field end_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "reason", .kind = FIELD_STRING, .offset = AT(reason)},
    {.name = "frames", .kind = FIELD_U32, .offset = AT(frames)},
};
static const struct field cancel_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "reason", .kind = FIELD_STRING, .offset = AT(reason)},
};
static const struct field seq_fields[] = {
    {.name = "seq", .kind = FIELD_U32, .offset = AT(seq)},
};
static const struct field transcript_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "text", .kind = FIELD_STRING, .offset = AT(text)},
};
static const struct field intent_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "name", .kind = FIELD_STRING, .offset = AT(name)},
    {.name = "slots", .kind = FIELD_SLOTS, .optional = true},
    {.name = "sensitive", .kind = FIELD_BOOL, .offset = AT(sensitive)},
};
static const struct field response_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "text", .kind = FIELD_STRING, .offset = AT(text)},
    {.name = "audio", .kind = FIELD_BOOL, .optional = true, .offset = AT(audio)},
};
static const struct field response_end_fields[] = {
    {.name = "id", .kind = FIELD_ID},
    {.name = "frames", .kind = FIELD_U32, .offset = AT(frames)},
};
/* Only the code is required: an error that finishes a request must not be
 * lost for want of a human-readable message. */
static const struct field error_fields[] = {
    {.name = "id", .kind = FIELD_ID, .optional = true},
    {.name = "code", .kind = FIELD_STRING, .offset = AT(code)},
    {.name = "message", .kind = FIELD_STRING, .optional = true, .offset = AT(message)},
};
static const struct field update_fields[] = {
    {.name = "bundle", .kind = FIELD_BUNDLE},
};

#define TYPE(type, name_, fields_)                                                             \
    [type] = {.name = name_, .fields = fields_, .n_fields = sizeof(fields_) / sizeof(fields_[0])}

static const struct message_type {
    const char *name;
    const struct field *fields;
    size_t n_fields;
} types[] = {
    [PROTO_UNKNOWN] = {.name = "unknown"},
    TYPE(PROTO_HELLO, "hello", hello_fields),
    TYPE(PROTO_START, "start", start_fields),
    TYPE(PROTO_END, "end", end_fields),
    TYPE(PROTO_CANCEL, "cancel", cancel_fields),
    TYPE(PROTO_PING, "ping", seq_fields),
    TYPE(PROTO_READY, "ready", ready_fields),
    TYPE(PROTO_TRANSCRIPT, "transcript", transcript_fields),
    TYPE(PROTO_INTENT, "intent", intent_fields),
    TYPE(PROTO_RESPONSE, "response", response_fields),
    TYPE(PROTO_RESPONSE_END, "response_end", response_end_fields),
    TYPE(PROTO_ERROR, "error", error_fields),
    TYPE(PROTO_PONG, "pong", seq_fields),
    TYPE(PROTO_UPDATE, "update", update_fields),
};
#undef TYPE

#define N_TYPES (sizeof(types) / sizeof(types[0]))

const char *proto_type_name(enum proto_type type)
{
    if ((size_t)type >= N_TYPES) {
        return types[PROTO_UNKNOWN].name;
    }
    return types[type].name;
}

const char *proto_field_name(enum proto_type type, size_t i, bool *ret_required)
{
    if ((size_t)type >= N_TYPES || i >= types[type].n_fields) {
        return NULL;
    }
    if (ret_required) {
        *ret_required = !types[type].fields[i].optional;
    }
    return types[type].fields[i].name;
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

/* The codec a start announces: version 1 knows only START_CODEC. */
static int expect_codec(const struct fields *f, const char *name)
{
    char *codec = NULL;
    int r = get_string(f, name, REQUIRED, &codec);

    if (r >= 0 && strcmp(codec, START_CODEC) != 0) {
        err_set(f->err, f->errsz, "%s: \"%s\" is \"%.32s\", not \"%s\"", f->type, name, codec,
                START_CODEC);
        r = -EBADMSG;
    }
    free(codec);
    return r;
}

/* One field of the table into msg. */
static int parse_field(const struct fields *f, const struct field *field, struct proto_msg *msg)
{
    enum presence presence = field->optional ? OPTIONAL : REQUIRED;
    void *at = (char *)msg + field->offset;
    uint32_t u = 0;
    int r;

    switch (field->kind) {
    case FIELD_ID:
        return get_uint(f, field->name, presence, (double)UINT32_MAX, &msg->id, &msg->has_id);
    case FIELD_U32:
        return get_uint(f, field->name, presence, (double)UINT32_MAX, at, NULL);
    case FIELD_VERSION:
        r = get_uint(f, field->name, presence, INT_MAX, &u, NULL);
        *(int *)at = (int)u;
        return r;
    case FIELD_STRING:
        return get_string(f, field->name, presence, at);
    case FIELD_NUMBER:
        return get_number(f, field->name, at);
    case FIELD_BOOL:
        return get_bool(f, field->name, presence, at);
    case FIELD_FIXED:
        return expect_uint(f, field->name, field->fixed);
    case FIELD_CODEC:
        return expect_codec(f, field->name);
    case FIELD_SLOTS:
        return parse_slots(f, msg);
    case FIELD_BUNDLE:
        return parse_bundle(f, msg);
    }
    return -EBADMSG;
}

/* The fields of the message's type, in the table's order; the first
 * failure wins. */
static int parse_fields(const struct fields *f, struct proto_msg *msg)
{
    const struct message_type *type = &types[msg->type];
    int r = 0;

    for (size_t i = 0; r >= 0 && i < type->n_fields; i++) {
        r = parse_field(f, &type->fields[i], msg);
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
    r = proto_check_text((const unsigned char *)text, len, err, errsz);
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
        if (strcmp(msg.type_name, types[i].name) == 0) {
            msg.type = (enum proto_type)i;
            break;
        }
    }
    f.type = types[msg.type].name;
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

    if (obj && !cJSON_AddStringToObject(obj, "type", types[type].name)) {
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
