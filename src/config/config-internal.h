/* The config's inside, shared by its files (not for other modules): the key
 * table and what reads, checks and writes values through it. */
#pragma once

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A configuration file is a few hundred bytes; anything near this is a mistake
 * (the wrong file), and the limit bounds what we read into memory. */
#define CONFIG_FILE_MAX (64 * 1024)

/* Bytes of one line, without its line ending: a rule list at its longest
 * with its key, and far more than any other key needs. */
#define CONFIG_LINE_MAX 8192
_Static_assert(CONFIG_LIST_MAX + 64 < CONFIG_LINE_MAX, "a rule list at its longest fits a line");

/* The second pass's cut-off (nats per frame), for the table and for a
 * phrase's own cut-off (PHRASE/THRESHOLD/CUTOFF). */
#define VERIFY_MIN (-20.0)
#define VERIFY_MAX 20.0
/* Room for one message about one value. */
#define MSG_MAX 512

enum key_type {
    KEY_STRING,   /* char[CONFIG_STRING_MAX] */
    KEY_LIST,     /* char[CONFIG_LIST_MAX], a [privacy] rule list */
    KEY_DURATION, /* unsigned milliseconds, written with a unit */
    KEY_DOUBLE,   /* double */
    KEY_PHRASES,  /* the wake phrase list (wakeword.phrases and n_phrases) */
    KEY_UINT,     /* unsigned, a whole number */
    KEY_BOOL,     /* bool, written on or off */
    KEY_PERIOD,   /* uint64_t seconds, written with a unit from s to y */
    KEY_MODELS,   /* the neural model files (wakeword.models and n_models) */
};

/* One entry of the key table, written with designated initialisers: a
 * field left out is 0, NULL or false. */
struct key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset; /* into struct hark_config */
    /* Durations: milliseconds. Periods: seconds. Doubles: the value. Phrases:
     * each threshold. */
    double min, max;
    const char *def;     /* the default, as a user would write it */
    const char *doc_def; /* the default as doc/config.md shows it, when set at build time */
    const char *help;
    /* Strings and numbers: what is wrong with a value (static text, or
     * written into buf), or NULL; for a number, after the range check. */
    const char *(*check)(const char *value, char *buf, size_t size);
    /* Strings: may be empty (the default then is empty: not set). */
    bool optional;
};

struct section {
    const char *name;
    const char *help;
};

/* The file format is ASCII; the <ctype.h> functions would follow the locale. */
static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static inline bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline void *key_field(struct hark_config *cfg, const struct key *k)
{
    return (char *)cfg + k->offset;
}

static inline const void *key_cfield(const struct hark_config *cfg, const struct key *k)
{
    return (const char *)cfg + k->offset;
}

/* config-keys.c: every section and every key, in the order of the file. */
extern const struct section config_sections[];
extern const size_t config_n_sections;
extern const struct key config_keys[];
extern const size_t config_n_keys;
const struct key *config_key_find(const char *section, const char *name);
bool config_section_known(const char *name);

/* config-value.c: one value read into its field (for the file and the
 * defaults alike), a value written as the file would say it, and the range
 * as doc/config.md and the errors say it. */
int config_value_parse(const struct key *k, const char *value, struct hark_config *cfg,
                       char *msg, size_t msgsz);
void config_format_duration(unsigned ms, char *buf, size_t size);
void config_format_double(double x, char *buf, size_t size);
void config_format_period(uint64_t s, char *buf, size_t size);
void config_format_range(const struct key *k, char *buf, size_t size);
/* Blanks cut off both ends, in place. */
char *config_strip(char *s);

/* strtod() and printf("%g") follow LC_NUMERIC, which the program may have
 * set from the environment; the file format always writes numbers with '.'.
 * Between these two, this thread uses the C locale. */
locale_t config_locale_enter(locale_t *old);
void config_locale_leave(locale_t c, locale_t old);
