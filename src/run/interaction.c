/* A request's words, held until the policy decides, then shown and
 * remembered as it allows; see interaction.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "audio-source.h"
#include "base-clock.h"
#include "base-err.h"
#include "base-le.h"
#include "events.h"
#include "interaction.h"
#include "log.h"
#include "redact.h"


/* At most this many transcripts, intents, responses or slot values per
 * request: a cloud that sends more is not trusted with the request, which is
 * then dropped. */
#define HELD_MAX 64

/* Texts the cloud sent, in order of arrival; all are weighed, the last is
 * kept. */
struct held {
    char *text[HELD_MAX];
    size_t n;
};

struct interaction {
    struct policy *policy;
    struct policy *next_policy; /* from the next request on */
    struct history *history;
    bool record_audio;

    uint32_t id; /* 0: no request */
    bool decided;
    struct policy_decision decision;
    /* Held as the cloud sent them, until the request has ended. */
    struct held transcripts, responses, intents;
    struct held slot_values; /* of every intent, to be weighed */
    char *error; /* the cloud's error message, if it sent one */
    bool sensitive; /* any intent was flagged */
    bool too_many;  /* more messages than HELD_MAX of one kind */
    char *slots[2 * PROTO_SLOTS_MAX]; /* the last intent's: name, value, ... */
    size_t n_slots;
    /* What the decision lets be shown and kept, made once when it is taken:
     * the event and the record show the same text, and each field is
     * redacted once. NULL: left out. */
    char *kept_transcript, *kept_response;
    char *kept_values[PROTO_SLOTS_MAX]; /* of slots[2 * i + 1] */
    /* The uplink's Opus packets, each with a u16 length, after a header. */
    uint8_t *audio;
    size_t audio_len, audio_cap;
    uint32_t audio_frames;
    bool audio_full;
};

int64_t interaction_now_ms(void)
{
    return now_real_ms();
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

static void held_wipe(struct held *h)
{
    for (size_t i = 0; i < h->n; i++) {
        wipe_string(&h->text[i]);
    }
    h->n = 0;
}

/* The last text held, or NULL. */
static const char *held_last(const struct held *h)
{
    return h->n > 0 ? h->text[h->n - 1] : NULL;
}

static void held_add(struct interaction *in, struct held *h, const char *text)
{
    char *copy;

    if (h->n == HELD_MAX) {
        in->too_many = true;
        return;
    }
    copy = strdup(text ? text : "");
    if (!copy) {
        /* A word that cannot be weighed makes the request unsafe to keep. */
        in->too_many = true;
        return;
    }
    h->text[h->n++] = copy;
}

static void wipe_slots(struct interaction *in)
{
    for (size_t i = 0; i < 2 * in->n_slots; i++) {
        wipe_string(&in->slots[i]);
    }
    in->n_slots = 0;
}

static void wipe_kept(struct interaction *in)
{
    wipe_string(&in->kept_transcript);
    wipe_string(&in->kept_response);
    for (size_t i = 0; i < PROTO_SLOTS_MAX; i++) {
        wipe_string(&in->kept_values[i]);
    }
}

static void wipe(struct interaction *in)
{
    held_wipe(&in->transcripts);
    held_wipe(&in->responses);
    held_wipe(&in->intents);
    held_wipe(&in->slot_values);
    wipe_string(&in->error);
    wipe_slots(in);
    wipe_kept(in);
    if (in->audio) {
        explicit_bzero(in->audio, in->audio_len);
    }
    in->audio_len = 0;
    in->audio_frames = 0;
    in->audio_full = false;
    in->decided = false;
    in->sensitive = false;
    in->too_many = false;
    in->id = 0;
}

int interaction_new(struct policy *policy, struct history *history, bool record_audio,
                    struct interaction **ret)
{
    struct interaction *in = calloc(1, sizeof(*in));

    if (!in) {
        policy_free(policy);
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
    policy_free(in->policy);
    policy_free(in->next_policy);
    free(in);
}

void interaction_set_policy(struct interaction *in, struct policy *policy)
{
    policy_free(in->next_policy);
    in->next_policy = policy;
}

void interaction_begin(struct interaction *in, uint32_t id)
{
    wipe(in);
    if (in->next_policy) {
        /* Between requests: the last one was decided by the old rules. */
        policy_free(in->policy);
        in->policy = in->next_policy;
        in->next_policy = NULL;
        log_info("the rules of the last update apply from this request on");
    }
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

/* A slot's value as the decision lets it be shown or kept; NULL: left out. */
static char *slot_as_decided(const struct interaction *in, const char *name, const char *value)
{
    char *s = NULL;

    /* Under redact a slot is redacted with its name as the cue, and a slot
     * whose name says it is a secret (code, pin, card, ...) is left out. */
    if (in->decision.action == POLICY_REDACT) {
        return redact_slot(name, value, &s, NULL) < 0 ? NULL : s;
    }
    return as_decided(in, value);
}

/* Makes what the decision lets be shown and kept, once; the event and the
 * record both take it from here. */
static void keep_as_decided(struct interaction *in)
{
    wipe_kept(in);
    if (in->decision.action == POLICY_DROP) {
        return;
    }
    if (held_last(&in->intents)) {
        for (size_t i = 0; i < in->n_slots; i++) {
            in->kept_values[i] = slot_as_decided(in, in->slots[2 * i], in->slots[2 * i + 1]);
        }
    }
    if (held_last(&in->transcripts)) {
        in->kept_transcript = as_decided(in, held_last(&in->transcripts));
    }
    if (held_last(&in->responses)) {
        in->kept_response = as_decided(in, held_last(&in->responses));
    }
}

/* Keeps the stricter of the decision so far and d (the first on a tie). */
static void keep_strictest(struct interaction *in, const struct policy_decision *d)
{
    if (!in->decided || d->action > in->decision.action) {
        in->decision = *d;
        in->decided = true;
    }
}

/* Weighs one intent (NULL: none) against every text the cloud sent. */
static void weigh(struct interaction *in, const char *intent)
{
    const struct held *texts[] = {&in->transcripts, &in->responses, &in->slot_values};
    struct policy_decision d;
    bool any = false;

    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        for (size_t i = 0; i < texts[k]->n; i++) {
            policy_decide(in->policy, intent, texts[k]->text[i], in->sensitive, &d);
            keep_strictest(in, &d);
            any = true;
        }
    }
    if (in->error || !any) {
        policy_decide(in->policy, intent, in->error, in->sensitive, &d);
        keep_strictest(in, &d);
    }
}

/* The decision on everything the cloud said: each intent with each text,
 * any sensitive flag; the strictest wins, whatever the order. */
static void decide(struct interaction *in)
{
    in->decided = false;
    if (in->too_many) {
        in->decision.action = POLICY_DROP;
        snprintf(in->decision.rule, sizeof(in->decision.rule), "too_many_messages");
        in->decided = true;
        return;
    }
    for (size_t i = 0; i < in->intents.n; i++) {
        weigh(in, in->intents.text[i]);
    }
    if (in->intents.n == 0) {
        weigh(in, NULL);
    }
}

static void show_policy(struct interaction *in)
{
    log_info("request %u: policy %s (%s)", in->id, policy_action_name(in->decision.action),
             in->decision.rule);
    events_policy(in->id, policy_action_name(in->decision.action), in->decision.rule);
}

/* Shows what the decision lets be shown: the last intent with its slots,
 * the last transcript, the last response. */
static void show_held(struct interaction *in)
{
    const char *shown[2 * PROTO_SLOTS_MAX] = {NULL};
    size_t n = 0;

    if (in->decision.action == POLICY_DROP) {
        return;
    }
    if (held_last(&in->intents)) {
        for (size_t i = 0; i < in->n_slots; i++) {
            if (in->kept_values[i]) {
                shown[2 * n] = in->slots[2 * i];
                shown[2 * n + 1] = in->kept_values[i];
                n++;
            }
        }
        events_intent(in->id, held_last(&in->intents), in->sensitive, shown, n);
    }
    if (in->kept_transcript) {
        events_transcript(in->id, in->kept_transcript);
    }
    if (in->kept_response) {
        events_response(in->id, in->kept_response);
    }
}

void interaction_transcript(struct interaction *in, const char *text)
{
    if (in->id == 0 || in->decided) {
        return;
    }
    held_add(in, &in->transcripts, text);
}

void interaction_intent(struct interaction *in, const struct proto_msg *msg)
{
    if (in->id == 0 || in->decided) {
        return;
    }
    held_add(in, &in->intents, msg->name);
    in->sensitive = in->sensitive || msg->sensitive;
    /* The slots of the last intent are kept; every slot is weighed as a
     * text, so a slot cannot carry what a transcript could not. */
    wipe_slots(in);
    for (size_t i = 0; i < msg->n_slots && i < PROTO_SLOTS_MAX; i++) {
        in->slots[2 * i] = strdup(msg->slots[i].name);
        in->slots[2 * i + 1] = strdup(msg->slots[i].value);
        in->n_slots++;
        if (!in->slots[2 * i] || !in->slots[2 * i + 1]) {
            in->too_many = true;
            break;
        }
        held_add(in, &in->slot_values, msg->slots[i].value);
    }
}

void interaction_response(struct interaction *in, const char *text)
{
    if (in->id == 0 || in->decided) {
        return;
    }
    held_add(in, &in->responses, text);
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
    const char *intent = held_last(&in->intents);
    char *json = NULL;

    if (!o) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "v", 1);
    cJSON_AddStringToObject(o, "policy", policy_action_name(in->decision.action));
    cJSON_AddStringToObject(o, "rule", in->decision.rule);
    cJSON_AddStringToObject(o, "intent", intent ? intent : "");
    cJSON_AddBoolToObject(o, "sensitive", in->sensitive);
    slots = cJSON_AddObjectToObject(o, "slots");
    for (size_t i = 0; slots && i < in->n_slots; i++) {
        if (in->kept_values[i]) {
            cJSON_AddStringToObject(slots, in->slots[2 * i], in->kept_values[i]);
        }
    }
    if (in->kept_transcript) {
        cJSON_AddStringToObject(o, "transcript", in->kept_transcript);
    }
    if (in->kept_response) {
        cJSON_AddStringToObject(o, "response", in->kept_response);
    }
    cJSON_AddBoolToObject(o, "audio", in->record_audio && in->audio_frames > 0);
    json = cJSON_PrintUnformatted(o);
    wipe_json(o);
    cJSON_Delete(o);
    return json;
}

/* Returns 0, or a negative errno with the reason in err. */
static int remember(struct interaction *in, char *err, size_t errsz)
{
    uint64_t record = 0, audio_record = 0;
    char *json;
    int r;

    json = build_record(in);
    if (!json) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    r = history_append(in->history, HISTORY_INTERACTION, interaction_now_ms(), json, strlen(json),
                       err, errsz, &record);
    explicit_bzero(json, strlen(json));
    free(json);
    if (r < 0) {
        return r;
    }
    if (in->record_audio && in->audio_frames > 0) {
        memcpy(in->audio, INTERACTION_AUDIO_MAGIC, 8);
        le_put(in->audio + 8, record, 8);
        le_put(in->audio + 16, AUDIO_RATE, 4);
        le_put(in->audio + 20, in->audio_frames, 4);
        r = history_append(in->history, HISTORY_AUDIO, interaction_now_ms(), in->audio,
                           in->audio_len, err, errsz, &audio_record);
        if (r < 0) {
            log_error("request %u: its recording was not kept: %s", in->id, err);
        }
    }
    events_remembered(in->id, record, audio_record != 0);
    return 0;
}

enum policy_action interaction_decide(struct interaction *in)
{
    if (in->id == 0) {
        return POLICY_DROP;
    }
    if (!in->decided) {
        decide(in);
        keep_as_decided(in);
        show_policy(in);
        show_held(in);
    }
    return in->decision.action;
}

int interaction_finish(struct interaction *in)
{
    char err[ERRSZ];
    int r = 0;

    if (in->id == 0) {
        return 0;
    }
    interaction_decide(in);
    /* A request the cloud said nothing about leaves nothing to remember. */
    if (in->history && in->decision.action != POLICY_DROP &&
        (in->transcripts.n > 0 || in->intents.n > 0 || in->responses.n > 0)) {
        r = remember(in, err, sizeof(err));
        if (r < 0) {
            log_error("request %u: not remembered: %s", in->id, err);
            events_not_remembered(in->id, err);
        }
    }
    wipe(in);
    return r;
}

char *interaction_fail(struct interaction *in, const char *message)
{
    char *shown = NULL;

    if (in->id == 0) {
        return NULL;
    }
    if (message && !in->decided) {
        wipe_string(&in->error);
        in->error = strdup(message);
        if (!in->error) {
            in->too_many = true;
        }
        decide(in);
    } else if (!in->decided) {
        decide(in);
    }
    if (message) {
        shown = as_decided(in, message);
    }
    wipe(in);
    return shown;
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
