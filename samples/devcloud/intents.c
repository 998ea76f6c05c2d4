/* Intent rules (see intents.h): parsing intents.conf (intents-match.c
 * matches transcripts by the words they contain). Deliberately simple: a
 * development cloud needs predictable answers to a few request types, not
 * language understanding. */
#define _GNU_SOURCE
#include "intents.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intents-internal.h"

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
void intents_tokenize(const char *text, struct tokens *t)
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
    intents_tokenize(buf, t);
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

