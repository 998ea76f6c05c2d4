/* The policy engine: decides what of a finished interaction may be
 * remembered. drop: nothing of it is stored or shown; redact: stored and shown
 * with personal data replaced; allow: as it is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum policy_action {
    POLICY_ALLOW,
    POLICY_REDACT,
    POLICY_DROP,
};

/* The rules, as comma-separated lists (the [privacy] keys). Intent lists hold
 * globs ("banking.*", "*" for any); word lists hold words or phrases of
 * words, each word optionally ending in '*' for any word it starts. */
struct policy_rules {
    const char *drop_intents;
    const char *drop_words;
    const char *redact_intents;
    const char *redact_words;
    const char *allow_intents;
    enum policy_action default_action;
};

#define POLICY_RULE_MAX 96

struct policy_decision {
    enum policy_action action;
    /* Which rule decided, e.g. "drop_intents banking.*", "drop_words",
     * "sensitive", "default". Never any of the transcript's words. */
    char rule[POLICY_RULE_MAX];
};

struct policy;

/* Checks and compiles the rules. On error names the list and the entry. */
int policy_new(const struct policy_rules *rules, char *err, size_t errsz, struct policy **ret);
void policy_free(struct policy *policy);

/* Decides. intent and transcript may be NULL (not known); sensitive is the
 * cloud's flag. In order: drop_intents, drop_words; then a sensitive
 * interaction is dropped unless an entry of allow_intents or redact_intents
 * names its intent explicitly (a bare "*" does not); then redact_intents,
 * redact_words, allow_intents, and the default. */
void policy_decide(const struct policy *policy, const char *intent, const char *transcript,
                   bool sensitive, struct policy_decision *ret);

/* "allow", "redact", "drop"; and back (-EINVAL for anything else). */
const char *policy_action_name(enum policy_action action);
int policy_action_parse(const char *name, enum policy_action *ret);

/* Checks one list without compiling it: NULL if good, else what is wrong
 * (static text). */
const char *policy_check_intents(const char *list);
const char *policy_check_words(const char *list);
