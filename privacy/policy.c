/* The policy engine: ordered rules over the intent name, the transcript's
 * words and the cloud's sensitive flag decide drop, redact or allow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define ENTRY_MAX 64      /* bytes of one glob or one phrase */
#define PHRASE_WORDS 8    /* words of one phrase */
#define LIST_ENTRIES 64   /* entries of one list */

struct word {
    char text[ENTRY_MAX];
    bool prefix; /* written "word*" */
};

struct phrase {
    struct word words[PHRASE_WORDS];
    size_t n;
};

struct glob_list {
    char globs[LIST_ENTRIES][ENTRY_MAX];
    size_t n;
};

struct phrase_list {
    struct phrase phrases[LIST_ENTRIES];
    size_t n;
};

struct policy {
    struct glob_list drop_intents, redact_intents, allow_intents;
    struct phrase_list drop_words, redact_words;
    enum policy_action default_action;
};

/* A span of the input: lists and transcripts are read in place. */
struct span {
    const char *p;
    size_t len;
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_word_char(char c)
{
    c = lower(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'';
}

static bool is_glob_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == '*';
}

/* The next comma-separated entry, trimmed; false at the end of the list. A
 * comma at the end gives one more, empty, entry. */
static bool next_entry(const char **s, struct span *ret)
{
    const char *p = *s, *end;

    if (!p) {
        return false;
    }
    end = p + strcspn(p, ",");
    /* NULL after the last entry; "" after a final comma. */
    *s = *end == ',' ? end + 1 : NULL;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    *ret = (struct span){p, (size_t)(end - p)};
    return true;
}

static const char *parse_globs(const char *list, struct glob_list *ret)
{
    const char *s = list[0] ? list : NULL;
    struct span e;

    ret->n = 0;
    while (next_entry(&s, &e)) {
        if (e.len == 0) {
            return "has an empty entry (two commas, or one at the end?)";
        }
        if (e.len >= ENTRY_MAX) {
            return "has an entry that is too long (at most 63 characters)";
        }
        for (size_t i = 0; i < e.len; i++) {
            if (!is_glob_char(e.p[i])) {
                return "may hold only intent names of a-z, 0-9, '.', '_', '-' and '*' globs";
            }
        }
        if (ret->n == LIST_ENTRIES) {
            return "has too many entries (at most 64)";
        }
        memcpy(ret->globs[ret->n], e.p, e.len);
        ret->globs[ret->n][e.len] = '\0';
        ret->n++;
    }
    return NULL;
}

static const char *parse_phrases(const char *list, struct phrase_list *ret)
{
    const char *s = list[0] ? list : NULL;
    struct span e;

    ret->n = 0;
    while (next_entry(&s, &e)) {
        struct phrase ph = {.n = 0};
        size_t i = 0;

        if (e.len == 0) {
            return "has an empty entry (two commas, or one at the end?)";
        }
        while (i < e.len) {
            size_t start, len;

            while (i < e.len && e.p[i] == ' ') {
                i++;
            }
            start = i;
            while (i < e.len && e.p[i] != ' ') {
                i++;
            }
            len = i - start;
            if (len == 0) {
                continue;
            }
            if (ph.n == PHRASE_WORDS) {
                return "has a phrase of more than 8 words";
            }
            if (len >= ENTRY_MAX) {
                return "has a word that is too long (at most 63 characters)";
            }
            for (size_t k = 0; k < len; k++) {
                char c = e.p[start + k];
                bool star_at_end = c == '*' && k == len - 1 && len > 1;

                if (!star_at_end && !is_word_char(c)) {
                    return "may hold only words of letters, digits and apostrophes, each "
                           "optionally ending in '*'";
                }
            }
            ph.words[ph.n].prefix = e.p[start + len - 1] == '*';
            if (ph.words[ph.n].prefix) {
                len--;
            }
            for (size_t k = 0; k < len; k++) {
                ph.words[ph.n].text[k] = lower(e.p[start + k]);
            }
            ph.words[ph.n].text[len] = '\0';
            ph.n++;
        }
        if (ret->n == LIST_ENTRIES) {
            return "has too many entries (at most 64)";
        }
        ret->phrases[ret->n++] = ph;
    }
    return NULL;
}

const char *policy_check_intents(const char *list)
{
    struct glob_list *g = malloc(sizeof(*g));
    const char *why;

    if (!g) {
        return "cannot be checked (out of memory)";
    }
    why = parse_globs(list, g);
    free(g);
    return why;
}

const char *policy_check_words(const char *list)
{
    struct phrase_list *p = malloc(sizeof(*p));
    const char *why;

    if (!p) {
        return "cannot be checked (out of memory)";
    }
    why = parse_phrases(list, p);
    free(p);
    return why;
}

const char *policy_action_name(enum policy_action action)
{
    switch (action) {
    case POLICY_ALLOW:
        return "allow";
    case POLICY_REDACT:
        return "redact";
    case POLICY_DROP:
        return "drop";
    }
    return "?";
}

int policy_action_parse(const char *name, enum policy_action *ret)
{
    static const enum policy_action all[] = {POLICY_ALLOW, POLICY_REDACT, POLICY_DROP};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, policy_action_name(all[i])) == 0) {
            *ret = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

int policy_new(const struct policy_rules *rules, char *err, size_t errsz, struct policy **ret)
{
    struct policy *p = calloc(1, sizeof(*p));
    const char *why, *what = NULL;

    if (!p) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    if ((why = parse_globs(rules->drop_intents, &p->drop_intents))) {
        what = "drop_intents";
    } else if ((why = parse_globs(rules->redact_intents, &p->redact_intents))) {
        what = "redact_intents";
    } else if ((why = parse_globs(rules->allow_intents, &p->allow_intents))) {
        what = "allow_intents";
    } else if ((why = parse_phrases(rules->drop_words, &p->drop_words))) {
        what = "drop_words";
    } else if ((why = parse_phrases(rules->redact_words, &p->redact_words))) {
        what = "redact_words";
    }
    if (what) {
        snprintf(err, errsz, "%s %s", what, why);
        free(p);
        return -EINVAL;
    }
    p->default_action = rules->default_action;
    *ret = p;
    return 0;
}

void policy_free(struct policy *policy)
{
    free(policy);
}

/* '*' matches any run of characters, dots included: "banking.*" matches
 * "banking.balance", "*" matches everything. A trailing ".*" also matches the
 * name without it ("banking.*" matches "banking"): the family and its head.
 * Iterative, with one backtrack point, so that no pattern can make it slow. */
static bool glob_match(const char *pat, const char *name)
{
    const char *star = NULL, *resume = NULL;

    while (*name) {
        if (*pat == '*') {
            star = pat++;
            resume = name;
        } else if (*pat && *pat == lower(*name)) {
            pat++;
            name++;
        } else if (star) {
            pat = star + 1;
            name = ++resume;
        } else {
            return false;
        }
    }
    if (strcmp(pat, ".*") == 0) {
        return true;
    }
    while (*pat == '*') {
        pat++;
    }
    return *pat == '\0';
}

/* The first glob of the list that matches the intent, or NULL. With
 * explicit, a bare "*" does not count. */
static const char *match_intent(const struct glob_list *list, const char *intent, bool explicit)
{
    if (!intent) {
        return NULL;
    }
    for (size_t i = 0; i < list->n; i++) {
        if (explicit && strcmp(list->globs[i], "*") == 0) {
            continue;
        }
        if (glob_match(list->globs[i], intent)) {
            return list->globs[i];
        }
    }
    return NULL;
}

/* The transcript's next word (a run of letters, digits and apostrophes). */
static bool next_word(const char **s, struct span *ret)
{
    const char *p = *s;

    while (*p && !is_word_char(*p)) {
        p++;
    }
    if (*p == '\0') {
        *s = p;
        return false;
    }
    ret->p = p;
    while (*p && is_word_char(*p)) {
        p++;
    }
    ret->len = (size_t)(p - ret->p);
    *s = p;
    return true;
}

static bool word_match(const struct word *w, struct span t)
{
    size_t n = strlen(w->text);

    if (t.len < n || (!w->prefix && t.len != n)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(t.p[i]) != w->text[i]) {
            return false;
        }
    }
    return true;
}

/* Whether the phrase's words follow one another somewhere in the text. */
static bool phrase_in(const struct phrase *ph, const char *text)
{
    const char *s = text;
    struct span first;

    while (next_word(&s, &first)) {
        const char *t = s;
        struct span w = first;
        size_t k = 0;

        while (word_match(&ph->words[k], w)) {
            if (++k == ph->n) {
                return true;
            }
            if (!next_word(&t, &w)) {
                break;
            }
        }
    }
    return false;
}

static bool match_words(const struct phrase_list *list, const char *transcript)
{
    if (!transcript) {
        return false;
    }
    for (size_t i = 0; i < list->n; i++) {
        if (phrase_in(&list->phrases[i], transcript)) {
            return true;
        }
    }
    return false;
}

static void decide(struct policy_decision *ret, enum policy_action action, const char *rule,
                   const char *glob)
{
    ret->action = action;
    snprintf(ret->rule, sizeof(ret->rule), "%s%s%s", rule, glob ? " " : "", glob ? glob : "");
}

void policy_decide(const struct policy *p, const char *intent, const char *transcript,
                   bool sensitive, struct policy_decision *ret)
{
    const char *g;

    /* The word rules name no word: which word matched would tell what was
     * said. */
    if ((g = match_intent(&p->drop_intents, intent, false))) {
        decide(ret, POLICY_DROP, "drop_intents", g);
    } else if (match_words(&p->drop_words, transcript)) {
        decide(ret, POLICY_DROP, "drop_words", NULL);
    } else if (sensitive) {
        if ((g = match_intent(&p->allow_intents, intent, true))) {
            decide(ret, POLICY_ALLOW, "allow_intents", g);
        } else if ((g = match_intent(&p->redact_intents, intent, true))) {
            decide(ret, POLICY_REDACT, "redact_intents", g);
        } else {
            decide(ret, POLICY_DROP, "sensitive", NULL);
        }
    } else if ((g = match_intent(&p->redact_intents, intent, false))) {
        decide(ret, POLICY_REDACT, "redact_intents", g);
    } else if (match_words(&p->redact_words, transcript)) {
        decide(ret, POLICY_REDACT, "redact_words", NULL);
    } else if ((g = match_intent(&p->allow_intents, intent, false))) {
        decide(ret, POLICY_ALLOW, "allow_intents", g);
    } else {
        decide(ret, p->default_action, "default", NULL);
    }
}
