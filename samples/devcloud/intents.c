/* Intent rules (see intents.h): parsing intents.conf and matching transcripts
 * by the words they contain. Deliberately simple: a development cloud needs
 * predictable answers to a few request types, not language understanding. */
#define _GNU_SOURCE
#include "intents.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_LEN 32   /* longer words are cut; no rule word is that long */
#define TOKENS_MAX 256 /* words of a transcript looked at */
#define PHRASE_WORDS_MAX 8
#define FIELDS_MAX 16
#define LINE_MAX_LEN 4096
#define STRIP_WINDOW 3 /* a wake phrase may start this late (pre-roll noise words) */
#define NUMBER_MAX 1000000

struct tokens {
    char w[TOKENS_MAX][TOKEN_LEN];
    size_t n;
};

/* A word or a few words; the last may be a prefix ("transfer*"). */
struct phrase {
    char (*w)[TOKEN_LEN];
    size_t n;
    bool prefix;
    char *text; /* the words joined with spaces, without the '*' */
};

struct phrase_list {
    struct phrase *items;
    size_t n;
};

enum slot_kind {
    SLOT_LIST,   /* one of a list of values */
    SLOT_NUMBER, /* number words, optionally followed by a unit */
};

struct slot_def {
    char *name;
    enum slot_kind kind;
    struct phrase_list values; /* SLOT_LIST */
    struct phrase_list units;  /* SLOT_NUMBER */
    unsigned line;
};

struct intent_def {
    char *name;
    struct phrase_list words;
    bool sensitive;
    char *response;
    char *slot_names[INTENT_SLOTS_MAX];
    size_t slots[INTENT_SLOTS_MAX]; /* indexes into intents->slots, resolved after parsing */
    size_t n_slots;
    unsigned line;
};

struct intents {
    struct intent_def *intents;
    size_t n_intents;
    struct slot_def *slots;
    size_t n_slots;
    struct phrase_list strip;
    struct intent_def fallback;
    bool has_fallback;
};

struct field {
    char *key;
    char *value; /* NULL for a bare word */
};

struct parser {
    const char *path;
    unsigned line;
    char *err;
    size_t errsz;
};

static int parse_error(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->line > 0) {
        snprintf(p->err, p->errsz, "%s:%u: %s", p->path, p->line, msg);
    } else {
        snprintf(p->err, p->errsz, "%s: %s", p->path, msg);
    }
    return -EINVAL;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '\'';
}

/* Splits text into lower-case words of letters, digits and inner
 * apostrophes; everything else separates words. */
static void tokenize(const char *text, struct tokens *t)
{
    const char *s = text;

    t->n = 0;
    while (*s && t->n < TOKENS_MAX) {
        size_t len = 0;

        while (*s && !is_word_char(*s)) {
            s++;
        }
        while (*s == '\'') {
            s++;
        }
        if (!*s) {
            break;
        }
        while (is_word_char(*s)) {
            if (len < TOKEN_LEN - 1) {
                t->w[t->n][len++] = (char)tolower((unsigned char)*s);
            }
            s++;
        }
        while (len > 0 && t->w[t->n][len - 1] == '\'') {
            len--;
        }
        if (len > 0) {
            t->w[t->n][len] = '\0';
            t->n++;
        }
    }
}

static void phrase_finish(struct phrase *ph)
{
    free(ph->w);
    free(ph->text);
    *ph = (struct phrase){0};
}

static void phrase_list_finish(struct phrase_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        phrase_finish(&list->items[i]);
    }
    free(list->items);
    *list = (struct phrase_list){0};
}

static int phrase_list_grow(struct phrase_list *list, struct phrase **ret_item)
{
    struct phrase *items = reallocarray(list->items, list->n + 1, sizeof(*items));

    if (!items) {
        return -ENOMEM;
    }
    list->items = items;
    items[list->n] = (struct phrase){0};
    *ret_item = &items[list->n++];
    return 0;
}

/* One entry of a comma list: words of [a-z0-9'], separated by spaces, the
 * last optionally ending in '*' when allow_prefix. */
static int parse_phrase(struct parser *p, const char *what, const char *entry, bool allow_prefix,
                        struct phrase *ph)
{
    char buf[LINE_MAX_LEN];
    size_t len;
    struct tokens *t = NULL;
    int r = 0;

    while (*entry == ' ' || *entry == '\t') {
        entry++;
    }
    len = strlen(entry);
    while (len > 0 && (entry[len - 1] == ' ' || entry[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        return parse_error(p, "%s: empty entry in the list", what);
    }
    if (len >= sizeof(buf)) {
        return parse_error(p, "%s: entry too long", what);
    }
    memcpy(buf, entry, len);
    buf[len] = '\0';
    if (buf[len - 1] == '*') {
        if (!allow_prefix) {
            return parse_error(p, "%s: '%s': a '*' (prefix) is not allowed here", what, buf);
        }
        ph->prefix = true;
        buf[--len] = '\0';
    }
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '\'' || c == ' ')) {
            return parse_error(
                p, "%s: '%s': use lower-case letters, digits, apostrophes and spaces", what, entry);
        }
    }
    t = malloc(sizeof(*t));
    if (!t) {
        return -ENOMEM;
    }
    tokenize(buf, t);
    if (t->n == 0) {
        r = parse_error(p, "%s: '%s' has no word", what, entry);
        goto finish;
    }
    if (t->n > PHRASE_WORDS_MAX) {
        r = parse_error(p, "%s: '%s' has more than %d words", what, entry, PHRASE_WORDS_MAX);
        goto finish;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->w[i]) >= TOKEN_LEN - 1) {
            r = parse_error(p, "%s: '%s' is too long a word", what, t->w[i]);
            goto finish;
        }
    }
    ph->w = calloc(t->n, sizeof(*ph->w));
    ph->text = strdup(buf);
    if (!ph->w || !ph->text) {
        r = -ENOMEM;
        goto finish;
    }
    memcpy(ph->w, t->w, t->n * sizeof(*ph->w));
    ph->n = t->n;
finish:
    free(t);
    return r;
}

static int parse_phrase_list(struct parser *p, const char *what, const char *value,
                             bool allow_prefix, struct phrase_list *list)
{
    const char *s = value;

    for (;;) {
        size_t len = strcspn(s, ",");
        char entry[LINE_MAX_LEN];
        struct phrase *ph;
        int r;

        if (len >= sizeof(entry)) {
            return parse_error(p, "%s: entry too long", what);
        }
        memcpy(entry, s, len);
        entry[len] = '\0';
        r = phrase_list_grow(list, &ph);
        if (r < 0) {
            return r;
        }
        r = parse_phrase(p, what, entry, allow_prefix, ph);
        if (r < 0) {
            return r;
        }
        if (s[len] == '\0') {
            return 0;
        }
        s += len + 1;
    }
}

/* Splits a line in place into bare words and key=value fields; a value may be
 * "quoted" with \" and \\ escapes. */
static int split_fields(struct parser *p, char *line, struct field *fields, size_t *ret_n)
{
    char *s = line;
    size_t n = 0;

    for (;;) {
        char *start;

        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s == '\0' || *s == '#') {
            break;
        }
        if (n == FIELDS_MAX) {
            return parse_error(p, "too many fields (at most %d)", FIELDS_MAX);
        }
        start = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '=') {
            if (*s == '"') {
                return parse_error(p, "unexpected '\"' in '%s'", start);
            }
            s++;
        }
        fields[n] = (struct field){.key = start};
        if (*s == '=') {
            *s++ = '\0';
            if (*fields[n].key == '\0') {
                return parse_error(p, "'=' without a key");
            }
            if (*s == '"') {
                char *out = s;

                fields[n].value = out;
                s++;
                while (*s && *s != '"') {
                    if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) {
                        s++;
                    }
                    *out++ = *s++;
                }
                if (*s != '"') {
                    return parse_error(p, "%s: unterminated quote", fields[n].key);
                }
                s++;
                *out = '\0';
                if (*s != '\0' && *s != ' ' && *s != '\t') {
                    return parse_error(p, "%s: text after the closing quote", fields[n].key);
                }
            } else {
                fields[n].value = s;
                while (*s && *s != ' ' && *s != '\t') {
                    if (*s == '"') {
                        return parse_error(p, "%s: a quote inside an unquoted value",
                                           fields[n].key);
                    }
                    s++;
                }
            }
        }
        n++;
        if (*s == '\0') {
            break;
        }
        *s++ = '\0';
    }
    *ret_n = n;
    return 0;
}

/* Intent and slot names: lower-case letters, digits, '.', '_' and '-'. */
static bool name_is_valid(const char *name)
{
    if (!*name || strlen(name) > 64) {
        return false;
    }
    for (const char *c = name; *c; c++) {
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '.' || *c == '_' ||
              *c == '-')) {
            return false;
        }
    }
    return true;
}

static void intent_def_finish(struct intent_def *def)
{
    free(def->name);
    free(def->response);
    phrase_list_finish(&def->words);
    for (size_t i = 0; i < def->n_slots; i++) {
        free(def->slot_names[i]);
    }
    *def = (struct intent_def){0};
}

static void slot_def_finish(struct slot_def *def)
{
    free(def->name);
    phrase_list_finish(&def->values);
    phrase_list_finish(&def->units);
    *def = (struct slot_def){0};
}

void intents_free(struct intents *intents)
{
    if (!intents) {
        return;
    }
    for (size_t i = 0; i < intents->n_intents; i++) {
        intent_def_finish(&intents->intents[i]);
    }
    free(intents->intents);
    for (size_t i = 0; i < intents->n_slots; i++) {
        slot_def_finish(&intents->slots[i]);
    }
    free(intents->slots);
    phrase_list_finish(&intents->strip);
    intent_def_finish(&intents->fallback);
    free(intents);
}

static bool intent_name_taken(const struct intents *in, const char *name)
{
    for (size_t i = 0; i < in->n_intents; i++) {
        if (strcmp(in->intents[i].name, name) == 0) {
            return true;
        }
    }
    return in->has_fallback && strcmp(in->fallback.name, name) == 0;
}

/* Checks a response template: {slot} and {slot|default} name one of the
 * intent's slots or the built-in {time}. */
static int check_template(struct parser *p, const struct intent_def *def)
{
    const char *s = def->response;

    if (strlen(s) > INTENT_RESPONSE_MAX / 2) {
        return parse_error(p, "response: longer than %d bytes", INTENT_RESPONSE_MAX / 2);
    }
    while ((s = strpbrk(s, "{}"))) {
        const char *end;
        size_t len;
        bool known = false;

        if (*s == '}') {
            return parse_error(p, "response: '}' without '{'");
        }
        end = strchr(s, '}');
        if (!end || memchr(s + 1, '{', (size_t)(end - s - 1))) {
            return parse_error(p, "response: '{' without '}'");
        }
        len = strcspn(s + 1, "|}");
        if (len == 4 && strncmp(s + 1, "time", 4) == 0) {
            known = true;
        }
        for (size_t i = 0; i < def->n_slots; i++) {
            if (strlen(def->slot_names[i]) == len && strncmp(s + 1, def->slot_names[i], len) == 0) {
                known = true;
            }
        }
        if (!known) {
            return parse_error(p,
                               "response: {%.*s} is not a slot of this intent (slots=) nor {time}",
                               (int)len, s + 1);
        }
        s = end + 1;
    }
    return 0;
}

static int parse_sensitive(struct parser *p, const char *value, bool *ret)
{
    if (strcmp(value, "yes") == 0) {
        *ret = true;
    } else if (strcmp(value, "no") == 0) {
        *ret = false;
    } else {
        return parse_error(p, "sensitive: '%s' is neither yes nor no", value);
    }
    return 0;
}

static int parse_slot_names(struct parser *p, const char *value, struct intent_def *def)
{
    const char *s = value;

    for (;;) {
        size_t len = strcspn(s, ",");

        if (def->n_slots == INTENT_SLOTS_MAX) {
            return parse_error(p, "slots: at most %d", INTENT_SLOTS_MAX);
        }
        def->slot_names[def->n_slots] = strndup(s, len);
        if (!def->slot_names[def->n_slots]) {
            return -ENOMEM;
        }
        if (!name_is_valid(def->slot_names[def->n_slots])) {
            int r = parse_error(p, "slots: '%s' is not a slot name", def->slot_names[def->n_slots]);
            def->n_slots++;
            return r;
        }
        def->n_slots++;
        if (s[len] == '\0') {
            return 0;
        }
        s += len + 1;
    }
}

/* intent NAME words=... [slots=...] [sensitive=yes|no] response="..."
 * fallback NAME response="..." [sensitive=yes|no] */
static int parse_intent(struct parser *p, struct intents *in, struct field *f, size_t n,
                        bool fallback)
{
    struct intent_def def = {.line = p->line};
    int r;

    if (n < 2 || f[1].value || !name_is_valid(f[1].key)) {
        return parse_error(p, "%s: a name (letters, digits, '.', '_', '-') must follow", f[0].key);
    }
    if (intent_name_taken(in, f[1].key)) {
        return parse_error(p, "intent '%s' is defined twice", f[1].key);
    }
    if (fallback && in->has_fallback) {
        return parse_error(p, "a second fallback ('%s'); there is one, '%s'", f[1].key,
                           in->fallback.name);
    }
    def.name = strdup(f[1].key);
    if (!def.name) {
        return -ENOMEM;
    }
    for (size_t i = 2; i < n; i++) {
        const char *key = f[i].key, *value = f[i].value;

        if (!value) {
            r = parse_error(p, "'%s': expected key=value", key);
            goto fail;
        }
        for (size_t j = 2; j < i; j++) {
            if (strcmp(f[j].key, key) == 0) {
                r = parse_error(p, "%s: given twice", key);
                goto fail;
            }
        }
        if (strcmp(key, "words") == 0 && !fallback) {
            r = parse_phrase_list(p, "words", value, true, &def.words);
        } else if (strcmp(key, "slots") == 0 && !fallback) {
            r = parse_slot_names(p, value, &def);
        } else if (strcmp(key, "sensitive") == 0) {
            r = parse_sensitive(p, value, &def.sensitive);
        } else if (strcmp(key, "response") == 0) {
            def.response = strdup(value);
            r = def.response ? 0 : -ENOMEM;
        } else {
            r = parse_error(p, "unknown key '%s' for %s", key, f[0].key);
        }
        if (r < 0) {
            goto fail;
        }
    }
    if (!fallback && def.words.n == 0) {
        r = parse_error(p, "intent %s: words= is missing", def.name);
        goto fail;
    }
    if (!def.response || !*def.response) {
        r = parse_error(p, "%s %s: response= is missing", f[0].key, def.name);
        goto fail;
    }
    r = check_template(p, &def);
    if (r < 0) {
        goto fail;
    }
    if (fallback) {
        in->fallback = def;
        in->has_fallback = true;
    } else {
        struct intent_def *defs = reallocarray(in->intents, in->n_intents + 1, sizeof(*defs));
        if (!defs) {
            r = -ENOMEM;
            goto fail;
        }
        in->intents = defs;
        defs[in->n_intents++] = def;
    }
    return 0;

fail:
    intent_def_finish(&def);
    return r;
}

/* slot NAME kind=list values=a,b,c
 * slot NAME kind=number [units=a,b,c] */
static int parse_slot(struct parser *p, struct intents *in, struct field *f, size_t n)
{
    struct slot_def def = {.line = p->line};
    const char *kind = NULL;
    struct slot_def *defs;
    int r = 0;

    if (n < 2 || f[1].value || !name_is_valid(f[1].key)) {
        return parse_error(p, "slot: a name (letters, digits, '.', '_', '-') must follow");
    }
    if (strcmp(f[1].key, "time") == 0) {
        return parse_error(p, "slot: 'time' is built in");
    }
    for (size_t i = 0; i < in->n_slots; i++) {
        if (strcmp(in->slots[i].name, f[1].key) == 0) {
            return parse_error(p, "slot '%s' is defined twice", f[1].key);
        }
    }
    def.name = strdup(f[1].key);
    if (!def.name) {
        return -ENOMEM;
    }
    for (size_t i = 2; i < n && r >= 0; i++) {
        if (!f[i].value) {
            r = parse_error(p, "'%s': expected key=value", f[i].key);
        } else if (strcmp(f[i].key, "kind") == 0 && !kind) {
            kind = f[i].value;
        } else if (strcmp(f[i].key, "values") == 0 && def.values.n == 0) {
            r = parse_phrase_list(p, "values", f[i].value, false, &def.values);
        } else if (strcmp(f[i].key, "units") == 0 && def.units.n == 0) {
            r = parse_phrase_list(p, "units", f[i].value, false, &def.units);
        } else {
            r = parse_error(p, "unknown or repeated key '%s' for slot", f[i].key);
        }
    }
    if (r < 0) {
        goto fail;
    }
    if (!kind) {
        r = parse_error(p, "slot %s: kind= (list or number) is missing", def.name);
    } else if (strcmp(kind, "list") == 0) {
        def.kind = SLOT_LIST;
        if (def.values.n == 0) {
            r = parse_error(p, "slot %s: a list slot needs values=", def.name);
        } else if (def.units.n > 0) {
            r = parse_error(p, "slot %s: units= is for number slots", def.name);
        }
    } else if (strcmp(kind, "number") == 0) {
        def.kind = SLOT_NUMBER;
        if (def.values.n > 0) {
            r = parse_error(p, "slot %s: values= is for list slots", def.name);
        }
    } else {
        r = parse_error(p, "slot %s: kind '%s' is neither list nor number", def.name, kind);
    }
    if (r < 0) {
        goto fail;
    }
    defs = reallocarray(in->slots, in->n_slots + 1, sizeof(*defs));
    if (!defs) {
        r = -ENOMEM;
        goto fail;
    }
    in->slots = defs;
    defs[in->n_slots++] = def;
    return 0;

fail:
    slot_def_finish(&def);
    return r;
}

/* strip WORDS...: a wake phrase to drop from the start of a transcript. */
static int parse_strip(struct parser *p, struct intents *in, struct field *f, size_t n)
{
    char phrase[LINE_MAX_LEN] = "";
    size_t len = 0;
    struct phrase *ph;
    int r;

    if (n < 2) {
        return parse_error(p, "strip: the words of a wake phrase must follow");
    }
    for (size_t i = 1; i < n; i++) {
        int w;

        if (f[i].value) {
            return parse_error(p, "strip: '%s=...' is not a word", f[i].key);
        }
        w = snprintf(phrase + len, sizeof(phrase) - len, "%s%s", i > 1 ? " " : "", f[i].key);
        if (w < 0 || (size_t)w >= sizeof(phrase) - len) {
            return parse_error(p, "strip: too long");
        }
        len += (size_t)w;
    }
    r = phrase_list_grow(&in->strip, &ph);
    if (r < 0) {
        return r;
    }
    return parse_phrase(p, "strip", phrase, false, ph);
}

static int parse_line(struct parser *p, struct intents *in, char *line)
{
    struct field f[FIELDS_MAX];
    size_t n = 0;
    int r;

    r = split_fields(p, line, f, &n);
    if (r < 0 || n == 0) {
        return r;
    }
    if (f[0].value) {
        return parse_error(p, "'%s=' where a directive (intent, fallback, slot, strip) belongs",
                           f[0].key);
    }
    if (strcmp(f[0].key, "intent") == 0) {
        return parse_intent(p, in, f, n, false);
    }
    if (strcmp(f[0].key, "fallback") == 0) {
        return parse_intent(p, in, f, n, true);
    }
    if (strcmp(f[0].key, "slot") == 0) {
        return parse_slot(p, in, f, n);
    }
    if (strcmp(f[0].key, "strip") == 0) {
        return parse_strip(p, in, f, n);
    }
    return parse_error(p, "unknown directive '%s' (intent, fallback, slot, strip)", f[0].key);
}

/* Slots may be defined after the intents that use them. */
static int resolve_slots(struct parser *p, struct intents *in)
{
    for (size_t i = 0; i < in->n_intents; i++) {
        struct intent_def *def = &in->intents[i];

        for (size_t s = 0; s < def->n_slots; s++) {
            bool found = false;

            for (size_t k = 0; k < in->n_slots && !found; k++) {
                if (strcmp(in->slots[k].name, def->slot_names[s]) == 0) {
                    def->slots[s] = k;
                    found = true;
                }
            }
            if (!found) {
                p->line = def->line;
                return parse_error(p, "intent %s: slot '%s' is not defined (slot %s kind=...)",
                                   def->name, def->slot_names[s], def->slot_names[s]);
            }
        }
    }
    return 0;
}

int intents_load(const char *path, char *err, size_t errsz, struct intents **ret_intents)
{
    struct parser p = {.path = path, .err = err, .errsz = errsz};
    struct intents *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f;
    int r = 0;

    f = fopen(path, "re");
    if (!f) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot open the intent rules: %s", path, strerror(errno));
        return r;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        r = -ENOMEM;
        goto finish;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        p.line++;
        if (len > LINE_MAX_LEN) {
            r = parse_error(&p, "line longer than %d bytes", LINE_MAX_LEN);
            goto finish;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (strlen(line) != (size_t)len) {
            r = parse_error(&p, "a NUL byte in the line");
            goto finish;
        }
        r = parse_line(&p, in, line);
        if (r < 0) {
            if (r == -ENOMEM) {
                snprintf(err, errsz, "%s:%u: out of memory", path, p.line);
            }
            goto finish;
        }
    }
    if (ferror(f)) {
        r = -EIO;
        snprintf(err, errsz, "%s: read error", path);
        goto finish;
    }
    r = resolve_slots(&p, in);
    if (r < 0) {
        goto finish;
    }
    if (!in->has_fallback) {
        p.line = 0;
        r = parse_error(&p, "no fallback line (fallback NAME response=\"...\"): the answer "
                            "when nothing matches");
        goto finish;
    }
    *ret_intents = in;
    in = NULL;
finish:
    intents_free(in);
    free(line);
    fclose(f);
    return r;
}

size_t intents_count(const struct intents *intents)
{
    return intents->n_intents + (intents->has_fallback ? 1 : 0);
}

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
        tokenize(transcript ? transcript : "", t);
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
