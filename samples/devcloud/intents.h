/* hark-devcloud's intent rules: a small line-based file (intents.conf) that
 * maps the words of a transcript to an intent, its slots and a response. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define INTENT_SLOTS_MAX 8
#define INTENT_VALUE_MAX 64
#define INTENT_RESPONSE_MAX 1024
#define INTENT_REQUEST_MAX 1024

struct intents;

struct intent_slot {
    const char *name; /* owned by the rules */
    char value[INTENT_VALUE_MAX];
};

struct intent_result {
    const char *name; /* owned by the rules */
    bool sensitive;
    struct intent_slot slots[INTENT_SLOTS_MAX];
    size_t n_slots;
    /* The words matched: the transcript, normalised, without the wake phrase. */
    char request[INTENT_REQUEST_MAX];
    char response[INTENT_RESPONSE_MAX];
};

/* Reads a rules file. A mistake is reported as "FILE:LINE: what" in err and
 * the whole file is refused (-EINVAL); an unreadable file gives -errno. */
int intents_load(const char *path, char *err, size_t errsz, struct intents **ret_intents);
void intents_free(struct intents *intents);

/* Matches a transcript (the full text the ASR heard, wake phrase included).
 * Always gives an intent: the fallback when no rule matches. */
void intents_match(const struct intents *intents, const char *transcript,
                   struct intent_result *ret_result);

/* How many intents the rules define (the fallback included). */
size_t intents_count(const struct intents *intents);
