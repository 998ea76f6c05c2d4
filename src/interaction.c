/* A request's words, held until the policy decides, then shown and
 * remembered as it allows; see interaction.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "audio-source.h"
#include "events.h"
#include "interaction.h"
#include "log.h"
#include "redact.h"

#define ERRSZ 512

struct interaction {
    const struct policy *policy;
    struct history *history;
    bool record_audio;

    uint32_t id; /* 0: no request */
    bool decided;
    struct policy_decision decision;
    /* Held as the cloud sent them, until decided and finished. */
    char *transcript;
    char *response;
    char *intent;
    bool sensitive;
    char *slots[2 * PROTO_SLOTS_MAX]; /* name, value, ... */
    size_t n_slots;
    bool transcript_shown, response_shown;
    /* The uplink's Opus packets, each with a u16 length, after a header. */
    uint8_t *audio;
    size_t audio_len, audio_cap;
    uint32_t audio_frames;
    bool audio_full;
};

int64_t interaction_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Words never linger in freed memory. */
static void wipe_string(char **s)
{
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

static void wipe(struct interaction *in)
{
    wipe_string(&in->transcript);
    wipe_string(&in->response);
    wipe_string(&in->intent);
    for (size_t i = 0; i < 2 * in->n_slots; i++) {
        wipe_string(&in->slots[i]);
    }
    in->n_slots = 0;
    if (in->audio) {
        explicit_bzero(in->audio, in->audio_len);
    }
    in->audio_len = 0;
    in->audio_frames = 0;
    in->audio_full = false;
    in->decided = false;
    in->sensitive = false;
    in->transcript_shown = false;
    in->response_shown = false;
    in->id = 0;
}

int interaction_new(const struct policy *policy, struct history *history, bool record_audio,
                    struct interaction **ret)
{
    struct interaction *in = calloc(1, sizeof(*in));

    if (!in) {
        return -ENOMEM;
    }
    in->policy = policy;
    in->history = history;
    in->record_audio = record_audio && history;
    *ret = in;
    return 0;
}

void interaction_free(struct interaction *in)
{
    if (!in) {
        return;
    }
    wipe(in);
    if (in->audio) {
        explicit_bzero(in->audio, in->audio_cap);
        free(in->audio);
    }
    free(in);
}

void interaction_set_policy(struct interaction *in, const struct policy *policy)
{
    in->policy = policy;
}

void interaction_begin(struct interaction *in, uint32_t id)
{
    wipe(in);
    in->id = id;
}

/* The text as the decision lets it be shown or kept: NULL for drop, a
 * redacted copy for redact, a copy for allow. */
static char *as_decided(const struct interaction *in, const char *text)
{
    switch (in->decision.action) {
    case POLICY_DROP:
        return NULL;
    case POLICY_REDACT:
        return redact_text(text, NULL);
    case POLICY_ALLOW:
        return strdup(text);
    }
    return NULL;
}

/* Shows what is held and may be shown, once. */
static void show_held(struct interaction *in)
{
    char *s;

    if (!in->decided || in->decision.action == POLICY_DROP) {
        return;
    }
    if (in->transcript && !in->transcript_shown) {
        if ((s = as_decided(in, in->transcript))) {
            events_transcript(in->id, s);
            wipe_string(&s);
        }
        in->transcript_shown = true;
    }
    if (in->response && !in->response_shown) {
        if ((s = as_decided(in, in->response))) {
            events_response(in->id, s);
            wipe_string(&s);
        }
        in->response_shown = true;
    }
}

static void decide(struct interaction *in)
{
    policy_decide(in->policy, in->intent, in->transcript, in->sensitive, &in->decision);
    in->decided = true;
    log_info("request %u: policy %s (%s)", in->id, policy_action_name(in->decision.action),
             in->decision.rule);
    events_policy(in->id, policy_action_name(in->decision.action), in->decision.rule);
}

static void replace(char **field, const char *text)
{
    wipe_string(field);
    *field = text ? strdup(text) : NULL;
}

void interaction_transcript(struct interaction *in, const char *text)
{
    replace(&in->transcript, text);
    in->transcript_shown = false;
    show_held(in);
}

void interaction_intent(struct interaction *in, const struct proto_msg *msg)
{
    const char *shown[2 * PROTO_SLOTS_MAX];
    char *values[PROTO_SLOTS_MAX] = {NULL};

    replace(&in->intent, msg->name);
    in->sensitive = msg->sensitive;
    for (size_t i = 0; i < 2 * in->n_slots; i++) {
        wipe_string(&in->slots[i]);
    }
    in->n_slots = 0;
    for (size_t i = 0; i < msg->n_slots; i++) {
        in->slots[2 * i] = strdup(msg->slots[i].name);
        in->slots[2 * i + 1] = strdup(msg->slots[i].value);
        in->n_slots++;
        if (!in->slots[2 * i] || !in->slots[2 * i + 1]) {
            break;
        }
    }
    /* The first intent decides; a second one cannot undo a drop. */
    if (!in->decided) {
        decide(in);
    }
    if (in->decision.action != POLICY_DROP) {
        for (size_t i = 0; i < in->n_slots; i++) {
            values[i] = in->slots[2 * i + 1] ? as_decided(in, in->slots[2 * i + 1]) : NULL;
            shown[2 * i] = in->slots[2 * i] ? in->slots[2 * i] : "";
            shown[2 * i + 1] = values[i] ? values[i] : "";
        }
        events_intent(in->id, msg->name, msg->sensitive, shown, in->n_slots);
        for (size_t i = 0; i < in->n_slots; i++) {
            wipe_string(&values[i]);
        }
    }
    show_held(in);
}

void interaction_response(struct interaction *in, const char *text)
{
    replace(&in->response, text);
    in->response_shown = false;
    show_held(in);
}

void interaction_audio(struct interaction *in, const uint8_t *opus, size_t len)
{
    size_t need;

    if (!in->record_audio || in->id == 0 || in->audio_full) {
        return;
    }
    if (in->audio_len == 0) {
        in->audio_len = INTERACTION_AUDIO_HEADER;
    }
    need = in->audio_len + 2 + len;
    if (len > UINT16_MAX || need > HISTORY_PAYLOAD_MAX) {
        /* Bounded like everything: the recording keeps its start. */
        in->audio_full = true;
        return;
    }
    if (need > in->audio_cap) {
        size_t cap = in->audio_cap ? in->audio_cap * 2 : 64 * 1024;
        uint8_t *p;

        while (cap < need) {
            cap *= 2;
        }
        if (cap > HISTORY_PAYLOAD_MAX) {
            cap = HISTORY_PAYLOAD_MAX;
        }
        /* Not realloc: the old buffer is wiped before it is given back. */
        p = malloc(cap);
        if (!p) {
            in->audio_full = true;
            return;
        }
        if (in->audio) {
            memcpy(p, in->audio, in->audio_len);
            explicit_bzero(in->audio, in->audio_cap);
            free(in->audio);
        }
        in->audio = p;
        in->audio_cap = cap;
    }
    in->audio[in->audio_len] = (uint8_t)(len & 0xff);
    in->audio[in->audio_len + 1] = (uint8_t)(len >> 8);
    memcpy(in->audio + in->audio_len + 2, opus, len);
    in->audio_len += 2 + len;
    in->audio_frames++;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* cJSON frees without wiping: its strings (the slots object's too) are
 * wiped first. */
static void wipe_json(cJSON *o)
{
    for (cJSON *c = o->child; c; c = c->next) {
        if (cJSON_IsString(c)) {
            explicit_bzero(c->valuestring, strlen(c->valuestring));
        } else if (cJSON_IsObject(c)) {
            wipe_json(c);
        }
    }
}

/* The record: JSON with what the decision lets be kept (doc/privacy.md). */
static char *build_record(struct interaction *in)
{
    cJSON *o = cJSON_CreateObject(), *slots;
    char *s = NULL, *t;
    char *json = NULL;

    if (!o) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "v", 1);
    cJSON_AddStringToObject(o, "policy", policy_action_name(in->decision.action));
    cJSON_AddStringToObject(o, "rule", in->decision.rule);
    cJSON_AddStringToObject(o, "intent", in->intent ? in->intent : "");
    cJSON_AddBoolToObject(o, "sensitive", in->sensitive);
    slots = cJSON_AddObjectToObject(o, "slots");
    for (size_t i = 0; slots && i < in->n_slots; i++) {
        if (in->slots[2 * i] && in->slots[2 * i + 1] &&
            (t = as_decided(in, in->slots[2 * i + 1]))) {
            cJSON_AddStringToObject(slots, in->slots[2 * i], t);
            wipe_string(&t);
        }
    }
    if (in->transcript && (s = as_decided(in, in->transcript))) {
        cJSON_AddStringToObject(o, "transcript", s);
        wipe_string(&s);
    }
    if (in->response && (s = as_decided(in, in->response))) {
        cJSON_AddStringToObject(o, "response", s);
        wipe_string(&s);
    }
    cJSON_AddBoolToObject(o, "audio", in->record_audio && in->audio_frames > 0);
    json = cJSON_PrintUnformatted(o);
    wipe_json(o);
    cJSON_Delete(o);
    return json;
}

static void remember(struct interaction *in)
{
    char err[ERRSZ];
    uint64_t record = 0, audio_record = 0;
    char *json;
    int r;

    json = build_record(in);
    if (!json) {
        log_error("request %u: out of memory: not remembered", in->id);
        return;
    }
    r = history_append(in->history, HISTORY_INTERACTION, interaction_now_ms(), json, strlen(json),
                       err, sizeof(err), &record);
    explicit_bzero(json, strlen(json));
    free(json);
    if (r < 0) {
        log_error("request %u: not remembered: %s", in->id, err);
        return;
    }
    if (in->record_audio && in->audio_frames > 0) {
        memcpy(in->audio, INTERACTION_AUDIO_MAGIC, 8);
        put_le(in->audio + 8, record, 8);
        put_le(in->audio + 16, AUDIO_RATE, 4);
        put_le(in->audio + 20, in->audio_frames, 4);
        r = history_append(in->history, HISTORY_AUDIO, interaction_now_ms(), in->audio,
                           in->audio_len, err, sizeof(err), &audio_record);
        if (r < 0) {
            log_error("request %u: its recording was not kept: %s", in->id, err);
        }
    }
    events_remembered(in->id, record, audio_record != 0);
}

void interaction_finish(struct interaction *in)
{
    if (in->id == 0) {
        return;
    }
    if (!in->decided) {
        decide(in);
    }
    show_held(in);
    /* A request the cloud said nothing about leaves nothing to remember. */
    if (in->history && in->decision.action != POLICY_DROP &&
        (in->transcript || in->intent || in->response)) {
        remember(in);
    }
    wipe(in);
}

void interaction_abort(struct interaction *in)
{
    wipe(in);
}

void interaction_log_report(const struct history_report *rep)
{
    if (rep->torn_bytes > 0) {
        log_warning("history: an incomplete last record (%llu bytes, from a crash during a "
                    "write) was removed",
                    (unsigned long long)rep->torn_bytes);
    }
    if (rep->bad + rep->misplaced + rep->no_key > 0) {
        log_warning("history: %zu record(s) fail verification (%s); the others are readable: "
                    "see `hark history verify`",
                    rep->bad + rep->misplaced + rep->no_key, rep->problem);
    } else if (rep->problem[0]) {
        log_warning("history: %s", rep->problem);
    }
    if (rep->expired > 0 || rep->keys_destroyed > 0) {
        log_info("history: %zu record(s) expired, %zu epoch key(s) destroyed", rep->expired,
                 rep->keys_destroyed);
    }
}

void interaction_purge(struct interaction *in)
{
    struct history_report rep;
    char err[ERRSZ];

    if (!in->history) {
        return;
    }
    if (history_purge(in->history, interaction_now_ms(), err, sizeof(err), &rep) < 0) {
        log_warning("history: %s", err);
        return;
    }
    interaction_log_report(&rep);
}
