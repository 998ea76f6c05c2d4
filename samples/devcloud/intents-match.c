/* A transcript matched against the intent rules (see intents.h): the
 * request's words after the wake phrase, the intent whose words it holds
 * most, its slots (from lists, or numbers said in words) and its response
 * template filled in. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "intents-internal.h"

/* Whether ph matches the words at t->w[at...]. */
static bool phrase_at(const struct phrase *ph, const struct tokens *t, size_t at)
{
    if (at + ph->n > t->n) {
        return false;
    }
    for (size_t k = 0; k < ph->n; k++) {
        bool last = k + 1 == ph->n;

        if (last && ph->prefix) {
            if (strncmp(t->w[at + k], ph->w[k], strlen(ph->w[k])) != 0) {
                return false;
            }
        } else if (strcmp(t->w[at + k], ph->w[k]) != 0) {
            return false;
        }
    }
    return true;
}

/* The first position of ph at or after from, or -1. */
static ssize_t phrase_find(const struct phrase *ph, const struct tokens *t, size_t from)
{
    for (size_t i = from; i < t->n; i++) {
        if (phrase_at(ph, t, i)) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* Where the request starts: after a wake phrase near the start. */
static size_t request_start(const struct intents *in, const struct tokens *t)
{
    size_t start = 0;

    for (size_t i = 0; i < in->strip.n; i++) {
        const struct phrase *ph = &in->strip.items[i];

        for (size_t at = 0; at < STRIP_WINDOW; at++) {
            if (phrase_at(ph, t, at)) {
                if (at + ph->n > start) {
                    start = at + ph->n;
                }
                break;
            }
        }
    }
    return start;
}

static const char *const small_numbers[] = {
    "zero",     "one",     "two",     "three",     "four",     "five",     "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",   "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
};
static const char *const tens_numbers[] = {
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
};

static int word_value(const char *w, bool *ret_tens)
{
    *ret_tens = false;
    for (size_t i = 0; i < sizeof(small_numbers) / sizeof(small_numbers[0]); i++) {
        if (strcmp(w, small_numbers[i]) == 0) {
            return (int)i;
        }
    }
    for (size_t i = 0; i < sizeof(tens_numbers) / sizeof(tens_numbers[0]); i++) {
        if (strcmp(w, tens_numbers[i]) == 0) {
            *ret_tens = true;
            return 20 + 10 * (int)i;
        }
    }
    return -1;
}

/* A number in words ("twenty five", "one hundred and ten") or digits at
 * t->w[at]; returns how many words it took (0: none). */
static size_t parse_number(const struct tokens *t, size_t at, long *ret_value)
{
    long total = 0, current = 0;
    size_t i = at;
    bool any = false;

    if (at < t->n && isdigit((unsigned char)t->w[at][0])) {
        char *end;
        long v = strtol(t->w[at], &end, 10);

        if (*end == '\0' && v >= 0 && v <= NUMBER_MAX) {
            *ret_value = v;
            return 1;
        }
        return 0;
    }
    while (i < t->n) {
        const char *w = t->w[i];
        bool tens;
        int v = word_value(w, &tens);

        if (v >= 0) {
            current += v;
            any = true;
            i++;
            if (tens && i < t->n) {
                int u = word_value(t->w[i], &tens);
                if (u > 0 && u < 10) {
                    current += u;
                    i++;
                }
            }
        } else if (any && strcmp(w, "hundred") == 0) {
            current = (current ? current : 1) * 100;
            i++;
        } else if (any && strcmp(w, "thousand") == 0) {
            total += (current ? current : 1) * 1000;
            current = 0;
            i++;
        } else if (any && strcmp(w, "and") == 0 && i + 1 < t->n &&
                   word_value(t->w[i + 1], &tens) >= 0) {
            i++;
        } else {
            break;
        }
        if (total + current > NUMBER_MAX) {
            return 0;
        }
    }
    if (!any) {
        return 0;
    }
    *ret_value = total + current;
    return i - at;
}

static const struct phrase *unit_at(const struct slot_def *def, const struct tokens *t, size_t at)
{
    for (size_t u = 0; u < def->units.n; u++) {
        if (phrase_at(&def->units.items[u], t, at)) {
            return &def->units.items[u];
        }
    }
    return NULL;
}

/* A number slot: the first number followed by a unit ("a minute" too), else
 * the first number. */
static bool extract_number(const struct slot_def *def, const struct tokens *t, size_t from,
                           char value[INTENT_VALUE_MAX])
{
    bool have_plain = false;

    for (size_t i = from; i < t->n; i++) {
        const struct phrase *unit;
        long v;
        size_t used = parse_number(t, i, &v);

        if (used == 0 && (strcmp(t->w[i], "a") == 0 || strcmp(t->w[i], "an") == 0) &&
            unit_at(def, t, i + 1)) {
            v = 1;
            used = 1;
        }
        if (used == 0) {
            continue;
        }
        unit = unit_at(def, t, i + used);
        if (unit) {
            snprintf(value, INTENT_VALUE_MAX, "%ld %s", v, unit->text);
            return true;
        }
        if (!have_plain) {
            snprintf(value, INTENT_VALUE_MAX, "%ld", v);
            have_plain = true;
        }
        i += used - 1;
    }
    return have_plain;
}

/* A list slot: the value that appears first (the longest at one place). */
static bool extract_list(const struct slot_def *def, const struct tokens *t, size_t from,
                         char value[INTENT_VALUE_MAX])
{
    for (size_t i = from; i < t->n; i++) {
        const struct phrase *best = NULL;

        for (size_t v = 0; v < def->values.n; v++) {
            const struct phrase *ph = &def->values.items[v];
            if (phrase_at(ph, t, i) && (!best || ph->n > best->n)) {
                best = ph;
            }
        }
        if (best) {
            snprintf(value, INTENT_VALUE_MAX, "%s", best->text);
            return true;
        }
    }
    return false;
}

static void append(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
    if (*len >= outsz - 1) {
        return;
    }
    if (n > outsz - 1 - *len) {
        n = outsz - 1 - *len;
    }
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

static void expand_template(const struct intent_def *def, const struct intent_result *res,
                            char *out, size_t outsz)
{
    const char *s = def->response;
    size_t len = 0;

    out[0] = '\0';
    while (*s) {
        const char *open = strchr(s, '{');
        const char *close, *bar;
        size_t name_len;
        bool done = false;

        if (!open) {
            append(out, outsz, &len, s, strlen(s));
            break;
        }
        append(out, outsz, &len, s, (size_t)(open - s));
        close = strchr(open, '}'); /* checked at load */
        bar = memchr(open, '|', (size_t)(close - open));
        name_len = (size_t)((bar ? bar : close) - open - 1);
        if (name_len == 4 && strncmp(open + 1, "time", 4) == 0) {
            char now[16];
            time_t t = time(NULL);
            struct tm tm;

            if (localtime_r(&t, &tm) && strftime(now, sizeof(now), "%H:%M", &tm) > 0) {
                append(out, outsz, &len, now, strlen(now));
                done = true;
            }
        }
        for (size_t i = 0; i < res->n_slots && !done; i++) {
            if (strlen(res->slots[i].name) == name_len &&
                strncmp(res->slots[i].name, open + 1, name_len) == 0) {
                append(out, outsz, &len, res->slots[i].value, strlen(res->slots[i].value));
                done = true;
            }
        }
        if (!done && bar) {
            append(out, outsz, &len, bar + 1, (size_t)(close - bar - 1));
        }
        s = close + 1;
    }
}

void intents_match(const struct intents *in, const char *transcript,
                   struct intent_result *ret_result)
{
    struct tokens *t;
    struct intent_result res = {0};
    const struct intent_def *best = NULL;
    size_t best_score = 0, start, len = 0;

    t = malloc(sizeof(*t));
    if (t) {
        intents_tokenize(transcript ? transcript : "", t);
    }
    start = t ? request_start(in, t) : 0;
    for (size_t i = start; t && i < t->n; i++) {
        append(res.request, sizeof(res.request), &len, " ", i > start ? 1 : 0);
        append(res.request, sizeof(res.request), &len, t->w[i], strlen(t->w[i]));
    }
    for (size_t i = 0; t && i < in->n_intents; i++) {
        const struct intent_def *def = &in->intents[i];
        size_t score = 0;

        for (size_t w = 0; w < def->words.n; w++) {
            if (phrase_find(&def->words.items[w], t, start) >= 0) {
                score += def->words.items[w].n;
            }
        }
        /* On a tie a sensitive intent wins: better to treat a request too
         * carefully than not carefully enough. */
        if (score > best_score ||
            (score > 0 && score == best_score && def->sensitive && !best->sensitive)) {
            best = def;
            best_score = score;
        }
    }
    if (!best) {
        best = &in->fallback;
    }
    res.name = best->name;
    res.sensitive = best->sensitive;
    for (size_t s = 0; t && s < best->n_slots; s++) {
        const struct slot_def *slot = &in->slots[best->slots[s]];
        struct intent_slot *out = &res.slots[res.n_slots];
        bool found;

        found = slot->kind == SLOT_LIST ? extract_list(slot, t, start, out->value)
                                        : extract_number(slot, t, start, out->value);
        if (found) {
            out->name = slot->name;
            res.n_slots++;
        }
    }
    expand_template(best, &res, res.response, sizeof(res.response));
    free(t);
    *ret_result = res;
}

