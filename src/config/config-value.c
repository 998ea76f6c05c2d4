/* The values of the configuration file: each type read into its field with
 * its range checked and a message that names the key, and written back in
 * the shortest form that reads the same. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

#define PHRASE_MAX_WORDS 4

locale_t config_locale_enter(locale_t *old)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

    *old = c ? uselocale(c) : (locale_t)0;
    return c;
}

void config_locale_leave(locale_t c, locale_t old)
{
    if (c) {
        uselocale(old);
        freelocale(c);
    }
}

/* Whole seconds as "5s", anything else as "700ms": the shortest exact form. */
void config_format_duration(unsigned ms, char *buf, size_t size)
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
void config_format_double(double x, char *buf, size_t size)
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
void config_format_period(uint64_t s, char *buf, size_t size)
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

void config_format_range(const struct key *k, char *buf, size_t size)
{
    char lo[32], hi[32];

    switch (k->type) {
    case KEY_DURATION:
        config_format_duration((unsigned)k->min, lo, sizeof(lo));
        config_format_duration((unsigned)k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_DOUBLE:
        config_format_double(k->min, lo, sizeof(lo));
        config_format_double(k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_PHRASES:
        config_format_double(k->min, lo, sizeof(lo));
        config_format_double(k->max, hi, sizeof(hi));
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
        config_format_period((uint64_t)k->min, lo, sizeof(lo));
        config_format_period((uint64_t)k->max, hi, sizeof(hi));
        snprintf(buf, size, "%s to %s", lo, hi);
        break;
    case KEY_MODELS:
        snprintf(buf, size, "0 to %d files, each at most %d bytes", CONFIG_MAX_MODELS,
                 CONFIG_STRING_MAX - 1);
        break;
    }
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
            config_format_double(k->min, lo, sizeof(lo));
            config_format_double(k->max, hi, sizeof(hi));
            snprintf(range, sizeof(range), "%s to %s", lo, hi);
        } else {
            config_format_range(k, range, sizeof(range));
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
    config_format_range(k, range, sizeof(range));
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
            config_format_range(k, range, sizeof(range));
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

char *config_strip(char *s)
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
        text = config_strip(item);
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
            char *thr = config_strip(slash + 1);
            enum number_status st;

            *slash = '\0';
            text = config_strip(text);
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
                char *cut = config_strip(slash + 1);

                *slash = '\0';
                thr = config_strip(thr);
                st = parse_number(cut, VERIFY_MIN, VERIFY_MAX, &list[n].verify_threshold);
                if (st != NUMBER_OK) {
                    char what[2 * CONFIG_LINE_MAX];
                    snprintf(what, sizeof(what), "verification cut-off '%s' for phrase '%s'", cut,
                             text);
                    number_error(st, what, config_key_find("wakeword", "verify_threshold"), msg,
                                 msgsz);
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
        file = config_strip(item);
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
        config_format_range(k, range, sizeof(range));
        snprintf(msg, msgsz, "value '%s' for %s out of range (%s)", value, k->name, range);
        return -EINVAL;
    }
    *ret = (unsigned)x;
    return 0;
}

/* The one place a value is read, for the file and for the defaults alike. */
int config_value_parse(const struct key *k, const char *value, struct hark_config *cfg, char *msg,
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
