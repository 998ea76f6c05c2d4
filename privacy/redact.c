/* The redactor: finds card numbers, IBANs, phone numbers, e-mail addresses,
 * national ids, secrets and long numbers in a transcript or an answer, in
 * digits or spelled out, and puts a typed marker in the place of each. */
#include "redact.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How far the parts of one thing may stand apart: "4532  0151" is one card
 * number, a table's columns "2019      2020" are not one number. */
#define GAP_MAX 2

/* A context word ("call", "passport") colours the digits that follow it
 * within this many words; further on they are another matter. */
#define CTX_WORDS 4

/* A payment card number has 13 to 19 digits (ISO/IEC 7812). */
#define CARD_MIN 13
#define CARD_MAX 19

/* Digits kept of a run: enough for every check (a card has 19 at most, an
 * IBAN 34 characters); a longer run is a [number] whatever it holds. */
#define RUN_KEEP 40

/* Groups kept of a run, for the shapes of dates and phone numbers. */
#define RUN_GROUPS 8

/* The longest IBAN. */
#define CODE_MAX 34

/* Parts of an e-mail address: atoms of the local part, labels of the
 * domain, and words of a spoken local part ("john smith at ..."). */
#define LOCAL_ATOMS 8
#define DOMAIN_LABELS 8
#define LOCAL_WORDS 3

/* Words of a secret when it is not a number: enough for a spelled-out
 * password, few enough that the request after it survives. */
#define SECRET_CHUNKS 10

static const char *const markers[REDACT_KINDS] = {
    [REDACT_CARD] = "[card]",       [REDACT_IBAN] = "[iban]",
    [REDACT_PHONE] = "[phone]",     [REDACT_EMAIL] = "[email]",
    [REDACT_ID] = "[id]",           [REDACT_SECRET] = "[secret]",
    [REDACT_NUMBER] = "[number]",   [REDACT_BIRTHDATE] = "[birthdate]",
    [REDACT_ADDRESS] = "[address]",
};

/* The longest marker, for the bound on the result's size. */
#define MARKER_MAX (sizeof("[birthdate]") - 1)

const char *redact_marker(enum redact_kind kind)
{
    if ((unsigned)kind >= REDACT_KINDS) {
        return "[redacted]";
    }
    return markers[kind];
}

/* ---- Bytes, words and tokens ------------------------------------------ */

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* A blank at i: space, tab, or the no-break and thin spaces (U+00A0,
 * U+2007, U+2009, U+202F) that typesetting puts between digit groups, so
 * that "4532 0151 ..." with no-break spaces is no disguise. */
static size_t blank_at(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n) {
        return 0;
    }
    if (s[i] == ' ' || s[i] == '\t') {
        return 1;
    }
    if (s[i] == 0xC2 && i + 1 < n && s[i + 1] == 0xA0) {
        return 2;
    }
    if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
        (s[i + 2] == 0x87 || s[i + 2] == 0x89 || s[i + 2] == 0xAF)) {
        return 3;
    }
    return 0;
}

/* A dash at i: '-' or U+2010..U+2013. */
static size_t dash_at(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n) {
        return 0;
    }
    if (s[i] == '-') {
        return 1;
    }
    if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && s[i + 2] >= 0x90 && s[i + 2] <= 0x93) {
        return 3;
    }
    return 0;
}

/* Whether the byte at i belongs to a word. Bytes beyond ASCII do (they are
 * letters of other scripts) unless they start a blank or a dash: replacing
 * whole words must never cut a UTF-8 sequence. */
static bool word_byte_at(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n) {
        return false;
    }
    if (s[i] < 0x80) {
        return is_alnum(s[i]);
    }
    return blank_at(s, n, i) == 0 && dash_at(s, n, i) == 0;
}

/* Whether the byte before i belongs to a word. */
static bool word_byte_before(const unsigned char *s, size_t n, size_t i)
{
    if (i == 0) {
        return false;
    }
    if (s[i - 1] < 0x80) {
        return is_alnum(s[i - 1]);
    }
    if (i >= 2 && blank_at(s, n, i - 2) == 2) {
        return false;
    }
    if (i >= 3 && (blank_at(s, n, i - 3) == 3 || dash_at(s, n, i - 3) == 3)) {
        return false;
    }
    return true;
}

/* Letters for the tokenizer: ASCII letters and the word bytes beyond ASCII
 * (digits make tokens of their own, so that "AB123456C" is three). */
static bool letter_at(const unsigned char *s, size_t n, size_t i)
{
    return i < n && (is_alpha(s[i]) || (s[i] >= 0x80 && word_byte_at(s, n, i)));
}

enum tok_kind { TOK_WORD, TOK_DIGITS, TOK_BLANK, TOK_DASH, TOK_OTHER };

struct tok {
    size_t start, end;
    enum tok_kind kind;
};

/* The token at i < n: a word (with inner apostrophes: "o'clock" is not
 * "o"), a run of digits, a run of blanks, a dash, or any other byte. */
static struct tok tok_at(const unsigned char *s, size_t n, size_t i)
{
    struct tok t = {.start = i, .end = i + 1, .kind = TOK_OTHER};
    size_t k;

    if (is_digit(s[i])) {
        t.kind = TOK_DIGITS;
        while (t.end < n && is_digit(s[t.end])) {
            t.end++;
        }
    } else if ((k = blank_at(s, n, i))) {
        t.kind = TOK_BLANK;
        t.end = i + k;
        while ((k = blank_at(s, n, t.end))) {
            t.end += k;
        }
    } else if ((k = dash_at(s, n, i))) {
        t.kind = TOK_DASH;
        t.end = i + k;
    } else if (letter_at(s, n, i)) {
        t.kind = TOK_WORD;
        while (letter_at(s, n, t.end) || (t.end + 1 < n && s[t.end] == '\'' &&
                                          is_alpha(s[t.end - 1]) && is_alpha(s[t.end + 1]))) {
            t.end++;
        }
    }
    return t;
}

/* Whether s[a..b) is the word w (lower case), ignoring case. */
static bool word_is(const unsigned char *s, size_t a, size_t b, const char *w)
{
    size_t len = strlen(w);

    if (b - a != len) {
        return false;
    }
    for (size_t k = 0; k < len; k++) {
        if (lower(s[a + k]) != (unsigned char)w[k]) {
            return false;
        }
    }
    return true;
}

/* Index of s[a..b) in a NULL-terminated list of words, or -1. */
static int word_index(const unsigned char *s, size_t a, size_t b, const char *const *list)
{
    for (int k = 0; list[k]; k++) {
        if (word_is(s, a, b, list[k])) {
            return k;
        }
    }
    return -1;
}

/* The word at i when it stands alone: nothing of another word glued to
 * either side ("one" in "someone" or "one2" is no number). */
static bool word_at(const unsigned char *s, size_t n, size_t i, size_t *ret_end)
{
    struct tok t;

    if (i >= n) {
        return false;
    }
    t = tok_at(s, n, i);
    if (t.kind != TOK_WORD || word_byte_before(s, n, i) || word_byte_at(s, n, t.end)) {
        return false;
    }
    *ret_end = t.end;
    return true;
}

/* Bytes of one to max blanks at i, or 0: none, or a wider gap, which
 * separates rather than joins. */
static size_t gap_at(const unsigned char *s, size_t n, size_t i, unsigned max)
{
    size_t p = i, k;
    unsigned count = 0;

    while ((k = blank_at(s, n, p))) {
        if (++count > max) {
            return 0;
        }
        p += k;
    }
    return p - i;
}

/* ---- Numbers in words ------------------------------------------------- */

enum nw_kind { NW_UNIT, NW_TEEN, NW_TENS, NW_TIMES, NW_HUNDRED };

struct numword {
    const char *word;
    enum nw_kind kind;
    unsigned char value;
};

/* "oh" and "o" are how people say a zero in a phone number or a card. */
static const struct numword numwords[] = {
    {"zero", NW_UNIT, 0},      {"oh", NW_UNIT, 0},        {"o", NW_UNIT, 0},
    {"nought", NW_UNIT, 0},    {"one", NW_UNIT, 1},       {"two", NW_UNIT, 2},
    {"three", NW_UNIT, 3},     {"four", NW_UNIT, 4},      {"five", NW_UNIT, 5},
    {"six", NW_UNIT, 6},       {"seven", NW_UNIT, 7},     {"eight", NW_UNIT, 8},
    {"nine", NW_UNIT, 9},      {"ten", NW_TEEN, 10},      {"eleven", NW_TEEN, 11},
    {"twelve", NW_TEEN, 12},   {"thirteen", NW_TEEN, 13}, {"fourteen", NW_TEEN, 14},
    {"fifteen", NW_TEEN, 15},  {"sixteen", NW_TEEN, 16},  {"seventeen", NW_TEEN, 17},
    {"eighteen", NW_TEEN, 18}, {"nineteen", NW_TEEN, 19}, {"twenty", NW_TENS, 2},
    {"thirty", NW_TENS, 3},    {"forty", NW_TENS, 4},     {"fourty", NW_TENS, 4},
    {"fifty", NW_TENS, 5},     {"sixty", NW_TENS, 6},     {"seventy", NW_TENS, 7},
    {"eighty", NW_TENS, 8},    {"ninety", NW_TENS, 9},    {"double", NW_TIMES, 2},
    {"triple", NW_TIMES, 3},   {"treble", NW_TIMES, 3},   {"hundred", NW_HUNDRED, 0},
};

#define N_NUMWORDS (sizeof(numwords) / sizeof(numwords[0]))

/* The number word standing alone at i, or NULL. */
static const struct numword *numword_at(const unsigned char *s, size_t n, size_t i, size_t *ret_end)
{
    size_t end;

    if (!word_at(s, n, i, &end)) {
        return NULL;
    }
    for (size_t k = 0; k < N_NUMWORDS; k++) {
        if (word_is(s, i, end, numwords[k].word)) {
            *ret_end = end;
            return &numwords[k];
        }
    }
    return NULL;
}

/* The number word that continues a number after i ("twenty one",
 * "twenty-one"), or NULL. */
static const struct numword *next_numword(const unsigned char *s, size_t n, size_t i,
                                          size_t *ret_end)
{
    size_t p = i + gap_at(s, n, i, GAP_MAX);

    if (p == i) {
        size_t d = dash_at(s, n, i);

        if (!d) {
            return NULL;
        }
        p += d;
    }
    return numword_at(s, n, p, ret_end);
}

/* The digits of a group of number words: "four" 4, "double seven" 77,
 * "fifteen" 15, "forty two" 42, "four hundred twelve" 412. Speakers read
 * long numbers group by group, so a group never makes more than four
 * digits, and "thousand" or "million" end the number instead. */
struct group {
    char d[4];
    size_t nd;
    size_t end;
};

static void group_tail(const unsigned char *s, size_t n, struct group *g)
{
    const struct numword *w;
    size_t e, p = g->end, g1, and_end;

    /* "hundred and five" */
    g1 = gap_at(s, n, p, GAP_MAX);
    if (g1 && word_at(s, n, p + g1, &and_end) && word_is(s, p + g1, and_end, "and") &&
        (w = next_numword(s, n, and_end, &e)) && w->kind != NW_TIMES && w->kind != NW_HUNDRED) {
        p = and_end;
    }
    w = next_numword(s, n, p, &e);
    g->d[g->nd] = '0';
    g->d[g->nd + 1] = '0';
    if (w && w->kind == NW_TEEN) {
        g->d[g->nd] = (char)('0' + w->value / 10);
        g->d[g->nd + 1] = (char)('0' + w->value % 10);
        g->end = e;
    } else if (w && w->kind == NW_TENS) {
        size_t e2;
        const struct numword *u = next_numword(s, n, e, &e2);

        g->d[g->nd] = (char)('0' + w->value);
        g->end = e;
        if (u && u->kind == NW_UNIT && u->value != 0) {
            g->d[g->nd + 1] = (char)('0' + u->value);
            g->end = e2;
        }
    } else if (w && w->kind == NW_UNIT) {
        g->d[g->nd + 1] = (char)('0' + w->value);
        g->end = e;
    }
    g->nd += 2;
}

static bool group_at(const unsigned char *s, size_t n, size_t i, struct group *g)
{
    const struct numword *w, *w2;
    size_t e, e2;

    w = numword_at(s, n, i, &e);
    if (!w) {
        return false;
    }
    g->nd = 0;
    g->end = e;
    switch (w->kind) {
    case NW_HUNDRED:
        return false;
    case NW_TIMES:
        w2 = next_numword(s, n, e, &e2);
        if (!w2 || w2->kind != NW_UNIT) {
            return false;
        }
        for (unsigned k = 0; k < w->value; k++) {
            g->d[g->nd++] = (char)('0' + w2->value);
        }
        g->end = e2;
        return true;
    case NW_TENS:
        g->d[g->nd++] = (char)('0' + w->value);
        g->d[g->nd++] = '0';
        w2 = next_numword(s, n, e, &e2);
        if (w2 && w2->kind == NW_UNIT && w2->value != 0) {
            g->d[1] = (char)('0' + w2->value);
            g->end = e2;
        }
        return true;
    case NW_TEEN:
        g->d[g->nd++] = (char)('0' + w->value / 10);
        g->d[g->nd++] = (char)('0' + w->value % 10);
        break;
    case NW_UNIT:
        g->d[g->nd++] = (char)('0' + w->value);
        break;
    }
    w2 = next_numword(s, n, e, &e2);
    if (w2 && w2->kind == NW_HUNDRED && (w->kind == NW_TEEN || w->value != 0)) {
        g->end = e2;
        group_tail(s, n, g);
    }
    return true;
}

/* ---- Runs of digits ----------------------------------------------------- */

/* What speech recognition writes for a digit it heard: "for five three to
 * seven" is 4532-7. These are ordinary words everywhere else ("a timer for
 * five minutes", "two tickets to paris"), so one counts as a digit only
 * inside a run: between spelled-out digits, or first after a word that
 * announces a number ("account for five ...", "my pin is for ..."). */
static const struct {
    const char *word;
    char digit;
} homophones[] = {
    {"for", '4'}, {"to", '2'}, {"too", '2'}, {"won", '1'}, {"ate", '8'},
};

static bool homophone_at(const unsigned char *s, size_t n, size_t i, char *ret_digit,
                         size_t *ret_end)
{
    size_t end;

    if (!word_at(s, n, i, &end)) {
        return false;
    }
    for (size_t k = 0; k < sizeof(homophones) / sizeof(homophones[0]); k++) {
        if (word_is(s, i, end, homophones[k].word)) {
            *ret_digit = homophones[k].digit;
            *ret_end = end;
            return true;
        }
    }
    return false;
}

/* What joins two groups of a run. */
enum joint { JOINT_GAP, JOINT_DASH, JOINT_DOT, JOINT_PAREN, JOINT_COMMA };

/* A run: groups of digits or of number words, joined by blanks, dashes,
 * dots between digits, or the parentheses of "(555) 123-4567", with an
 * optional leading '+' or "plus". */
struct run {
    size_t start, end;
    size_t ndigits;
    char digits[RUN_KEEP];
    size_t ngroups;
    unsigned char group[RUN_GROUPS]; /* digits per group, at most 255 */
    unsigned char joint[RUN_GROUPS]; /* joint[k] joins group k to group k - 1 */
    bool words;                      /* some group was spelled out */
    bool last_words;                 /* the last group was spelled out */
    bool lead;                       /* a homophone may start the run */
    bool plus, paren, commas;
    size_t segment;              /* digits since the last comma */
    bool short_segment;          /* fewer than four digits between two commas */
    bool glued_start, glued_end; /* letters touch the first or last digits */
};

static void run_add(struct run *r, const char *d, size_t len, enum joint j)
{
    if (j == JOINT_COMMA) {
        r->short_segment |= r->segment < 4;
        r->segment = 0;
    }
    r->segment += len;
    for (size_t k = 0; k < len; k++) {
        if (r->ndigits < RUN_KEEP) {
            r->digits[r->ndigits] = d[k];
        }
        r->ndigits++;
    }
    if (r->ngroups < RUN_GROUPS) {
        r->group[r->ngroups] = (unsigned char)(len > 255 ? 255 : len);
        r->joint[r->ngroups] = (unsigned char)j;
    }
    r->ngroups++;
}

/* Whether a group of number words follows the word that ends at i, after
 * a gap or a dash, as in "for five" or "to-seven", perhaps after other
 * homophones ("won won to ate three"). */
static bool group_follows(const unsigned char *s, size_t n, size_t i)
{
    for (unsigned k = 0; k < RUN_GROUPS; k++) {
        size_t p = i + gap_at(s, n, i, GAP_MAX), e;
        struct group g;
        char d;

        if (p == i) {
            p += dash_at(s, n, i);
        }
        if (p == i) {
            return false;
        }
        if (group_at(s, n, p, &g)) {
            return true;
        }
        if (!homophone_at(s, n, p, &d, &e)) {
            return false;
        }
        i = e;
    }
    return false;
}

/* One group at p: digits, or number words unless only digits may follow
 * (after a dot or a parenthesis). Returns its end, or 0. */
static size_t item_at(const unsigned char *s, size_t n, size_t p, struct run *r, enum joint j,
                      bool words)
{
    struct group g;

    if (p < n && is_digit(s[p])) {
        struct tok t = tok_at(s, n, p);

        run_add(r, (const char *)s + p, t.end - p, j);
        r->glued_end = word_byte_at(s, n, t.end);
        return t.end;
    }
    if (words && group_at(s, n, p, &g)) {
        run_add(r, g.d, g.nd, j);
        r->words = r->last_words = true;
        r->glued_end = false;
        return g.end;
    }
    if (words && (r->ngroups ? r->last_words : r->lead)) {
        char d;
        size_t e;

        /* A spelled-out digit must follow, too: "... one nine to" ends
         * the run before "to". */
        if (homophone_at(s, n, p, &d, &e) && group_follows(s, n, e)) {
            run_add(r, &d, 1, j);
            r->words = r->last_words = true;
            r->glued_end = false;
            return e;
        }
    }
    return 0;
}

static bool run_starts(const unsigned char *s, size_t n, size_t p)
{
    struct group g;

    return p < n && (is_digit(s[p]) || group_at(s, n, p, &g));
}

/* The run that starts at i, if one does. It goes on as long as groups
 * follow each other; what it means is for classify() to say. With commas,
 * groups may also be joined by commas, as in a card number transcribed
 * with pauses ("4532, 0151, 1283, 0366"), and the run stops after the
 * longest card number. */
static bool run_at(const unsigned char *s, size_t n, size_t i, bool commas, bool lead,
                   struct run *r)
{
    size_t p = i, end, e;
    bool open = false;

    *r = (struct run){.start = i, .lead = lead};
    if (s[p] == '+' && p + 1 < n && is_digit(s[p + 1])) {
        r->plus = true;
        p++;
    } else if (word_at(s, n, p, &e) && word_is(s, p, e, "plus")) {
        size_t g = gap_at(s, n, e, GAP_MAX);

        if (!g || !run_starts(s, n, e + g)) {
            return false;
        }
        r->plus = true;
        p = e + g;
    } else if (s[p] == '(' && p + 1 < n && is_digit(s[p + 1])) {
        open = true;
        r->paren = true;
        p++;
    }
    r->glued_start = !r->plus && !r->paren && word_byte_before(s, n, p);
    end = item_at(s, n, p, r, JOINT_GAP, !open);
    if (!end) {
        return false;
    }
    for (;;) {
        size_t q = end, g, d, np;
        enum joint j;
        bool words = true, opens = false;

        if (commas && r->ndigits > CARD_MAX) {
            break;
        }
        if (open && q < n && s[q] == ')') {
            open = false;
            end = ++q;
            r->glued_end = false;
            np = q + gap_at(s, n, q, GAP_MAX);
            if ((e = item_at(s, n, np, r, JOINT_PAREN, false))) {
                end = e;
                continue;
            }
            break;
        }
        g = gap_at(s, n, q, GAP_MAX);
        if ((d = dash_at(s, n, q + g))) {
            np = q + g + d;
            np += gap_at(s, n, np, GAP_MAX);
            j = JOINT_DASH;
        } else if (commas && !g && q < n && s[q] == ',') {
            np = q + 1;
            np += gap_at(s, n, np, GAP_MAX);
            j = JOINT_COMMA;
        } else if (g) {
            np = q + g;
            j = JOINT_GAP;
            if (!open && np + 1 < n && s[np] == '(' && is_digit(s[np + 1])) {
                opens = true;
                np++;
                words = false;
            }
        } else if (q + 1 < n && s[q] == '.' && is_digit(s[q - 1]) && is_digit(s[q + 1])) {
            np = q + 1;
            j = JOINT_DOT;
            words = false;
        } else {
            break;
        }
        if (!(e = item_at(s, n, np, r, j, words))) {
            break;
        }
        if (opens) {
            open = true;
            r->paren = true;
        }
        r->commas |= j == JOINT_COMMA;
        end = e;
    }
    r->end = end;
    /* A parenthesis belongs to a run only as in "(555) 123-4567"; in
     * "(4532015112830366)" it stays where it is. */
    if (s[i] == '(' && r->ngroups < 2) {
        return run_at(s, n, i + 1, commas, lead, r);
    }
    return true;
}

/* The value of group k (a few digits; the callers check the lengths). */
static unsigned group_value(const struct run *r, size_t k)
{
    size_t off = 0;
    unsigned v = 0;

    for (size_t m = 0; m < k; m++) {
        off += r->group[m];
    }
    for (size_t m = 0; m < r->group[k] && off + m < RUN_KEEP; m++) {
        v = v * 10 + (unsigned)(r->digits[off + m] - '0');
    }
    return v;
}

static bool groups_are(const struct run *r, size_t count, const unsigned char *lens)
{
    if (r->ngroups != count) {
        return false;
    }
    for (size_t k = 0; k < count; k++) {
        if (r->group[k] != lens[k]) {
            return false;
        }
    }
    return true;
}

static bool joints_all(const struct run *r, enum joint j)
{
    for (size_t k = 1; k < r->ngroups && k < RUN_GROUPS; k++) {
        if (r->joint[k] != j) {
            return false;
        }
    }
    return true;
}

/* 2026-11-21, 21.11.2026, 11-21-26 */
static bool is_date(const struct run *r)
{
    unsigned a, b, c;

    if (r->ngroups != 3 || !(joints_all(r, JOINT_DASH) || joints_all(r, JOINT_DOT))) {
        return false;
    }
    a = group_value(r, 0);
    b = group_value(r, 1);
    c = group_value(r, 2);
    if (r->group[0] == 4 && r->group[1] <= 2 && r->group[2] <= 2) {
        return b >= 1 && b <= 12 && c >= 1 && c <= 31;
    }
    if (r->group[0] <= 2 && r->group[1] <= 2 && (r->group[2] == 4 || r->group[2] == 2)) {
        return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
    }
    return false;
}

/* 1939-1945, 2025-26 */
static bool is_year_range(const struct run *r)
{
    unsigned a, b;

    if (r->ngroups != 2 || r->joint[1] != JOINT_DASH || r->group[0] != 4) {
        return false;
    }
    a = group_value(r, 0);
    b = group_value(r, 1);
    if (a < 1000 || a > 2999) {
        return false;
    }
    return r->group[1] == 2 || (r->group[1] == 4 && b >= a && b <= 2999);
}

/* 3.14159, 1.234.567 */
static bool is_decimal(const struct run *r)
{
    if (r->ngroups < 2 || !joints_all(r, JOINT_DOT)) {
        return false;
    }
    if (r->ngroups == 2) {
        return true;
    }
    for (size_t k = 1; k < r->ngroups; k++) {
        if (k >= RUN_GROUPS || r->group[k] != 3) {
            return false;
        }
    }
    return r->group[0] <= 3;
}

/* 123-45-6789, without the numbers the SSA never issues. */
static bool is_ssn(const struct run *r)
{
    static const unsigned char lens[] = {3, 2, 4};
    unsigned area;

    if (!groups_are(r, 3, lens) || !(joints_all(r, JOINT_DASH) || joints_all(r, JOINT_GAP))) {
        return false;
    }
    area = group_value(r, 0);
    return area != 0 && area != 666 && area < 900 && group_value(r, 1) != 0 &&
           group_value(r, 2) != 0;
}

/* (555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199, 555-1234 */
static bool is_phone_shape(const struct run *r)
{
    static const unsigned char us[] = {3, 3, 4}, us1[] = {1, 3, 3, 4}, local[] = {3, 4};

    if (r->paren && r->ndigits == 10) {
        return true;
    }
    if (groups_are(r, 3, us)) {
        return joints_all(r, JOINT_DASH) || joints_all(r, JOINT_DOT) || joints_all(r, JOINT_GAP);
    }
    if (groups_are(r, 4, us1)) {
        return r->digits[0] == '1' && (joints_all(r, JOINT_DASH) || joints_all(r, JOINT_GAP));
    }
    return groups_are(r, 2, local) && r->joint[1] == JOINT_DASH;
}

/* "$1500000", "1500000 people", "99.5%": an amount, not an identifier. */
static bool is_amount(const unsigned char *s, size_t n, const struct run *r)
{
    static const char *const units[] = {
        "pounds",   "dollars",    "euros",      "pence", "cents",  "percent", "people", "years",
        "km",       "kilometres", "kilometers", "miles", "metres", "meters",  "kg",     "degrees",
        "calories", "steps",      "views",      "times", "bytes",  NULL,
    };
    size_t b = r->start, e = r->end, g, we;

    if ((b >= 1 && s[b - 1] == '$') ||
        (b >= 2 && s[b - 2] == 0xC2 && (s[b - 1] == 0xA3 || s[b - 1] == 0xA5)) ||
        (b >= 3 && s[b - 3] == 0xE2 && s[b - 2] == 0x82 && s[b - 1] == 0xAC)) {
        return true;
    }
    if (e < n && s[e] == '%') {
        return true;
    }
    g = gap_at(s, n, e, GAP_MAX);
    return g && word_at(s, n, e + g, &we) && word_index(s, e + g, we, units) >= 0;
}

static bool luhn_ok(const char *d, size_t len)
{
    unsigned sum = 0;

    for (size_t k = 0; k < len; k++) {
        unsigned v = (unsigned)(d[len - 1 - k] - '0');

        if (k % 2) {
            v *= 2;
            if (v > 9) {
                v -= 9;
            }
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* ---- Context ---------------------------------------------------------- */

/* What the words before a run say it is. CTX_NUMBER is the bare "my number
 * is", which is most often a phone number. */
enum ctx { CTX_NONE, CTX_NUMBER, CTX_CARD, CTX_PHONE, CTX_ID, CTX_ACCOUNT, CTX_EMAIL, CTX_SORT };

static const struct {
    const char *const *words;
    enum ctx ctx;
} ctx_words[] = {
    {(const char *const[]){"card", "credit", "debit", "visa", "mastercard", "amex", NULL},
     CTX_CARD},
    {(const char *const[]){"call", "calls", "calling", "phone", "telephone", "mobile", "cell",
                           "cellphone", "landline", "dial", "ring", "text", "fax", "whatsapp",
                           "tel", "contact", NULL},
     CTX_PHONE},
    {(const char *const[]){"social", "ssn", "passport", "insurance", "nino", "licence", "license",
                           "id", "identity", "identification", NULL},
     CTX_ID},
    {(const char *const[]){"account", "iban", "routing", "sort", "bank", "reference", "ref",
                           "order", "booking", "confirmation", "member", "membership", "customer",
                           "policy", "tracking", "invoice", NULL},
     CTX_ACCOUNT},
    {(const char *const[]){"email", "emails", "mail", "address", "send", "write", "forward",
                           "reply", "recipient", "recipients", "sender", "cc", "bcc", NULL},
     CTX_EMAIL},
};

struct state {
    enum ctx ctx;
    unsigned age;                /* words since the context word */
    size_t prev_start, prev_end; /* the word before, for "zip code" */
    bool has_prev;
    unsigned email_left; /* words left in which "email" still cues */
    unsigned send_left;  /* words left in which "send" still cues */
};

/* "email the invoice to accounts at ...": the verb cues an address a few
 * words on, whatever context words ("invoice") come between. */
#define EMAIL_WORDS 8

static const char *const email_cues[] = {
    "email", "emails", "emailed", "emailing", "mail", "mailed", "mailing", NULL,
};

/* "send it to 42 acacia avenue": the verb makes the place after "to" an
 * address. */
static const char *const send_cues[] = {
    "send",   "sent",    "sending",  "deliver", "delivered", "delivering",
    "ship",   "shipped", "shipping", "post",    "posted",    "mail",
    "mailed", "forward", "courier",  "return",  "redirect",  NULL,
};

/* Whether a spoken e-mail address is expected here. */
static bool email_cued(const struct state *st)
{
    return st->ctx == CTX_EMAIL || st->email_left > 0;
}

/* Whether the words right before a run announce it, so that a homophone
 * may start it ("account for five three ...", "my card number is for
 * ..."). */
static bool number_announced(const unsigned char *s, const struct state *st)
{
    static const char *const links_[] = {"is", "was", "are", NULL};

    if (!st->has_prev || st->ctx == CTX_NONE || st->ctx == CTX_EMAIL) {
        return false;
    }
    return st->age == 0 ||
           (st->age == 1 && word_index(s, st->prev_start, st->prev_end, links_) >= 0);
}

/* The main loop passed token t without replacing it. */
static void note_token(const unsigned char *s, const struct tok *t, struct state *st)
{
    static const char *const numbers[] = {"number", "numbers", "no", "num", NULL};
    bool had_prev = st->has_prev;

    if (t->kind == TOK_BLANK || t->kind == TOK_DASH) {
        return;
    }
    st->has_prev = false;
    if (t->kind != TOK_WORD) {
        if (t->kind == TOK_OTHER && s[t->start] != '\0' && strchr(".!?;\n\r", s[t->start])) {
            st->ctx = CTX_NONE;
            st->email_left = st->send_left = 0;
        }
        return;
    }
    if (st->email_left) {
        st->email_left--;
    }
    if (st->send_left) {
        st->send_left--;
    }
    if (word_index(s, t->start, t->end, email_cues) >= 0) {
        st->email_left = EMAIL_WORDS;
    }
    if (word_index(s, t->start, t->end, send_cues) >= 0) {
        st->send_left = EMAIL_WORDS;
    }
    /* "sort code 11-03-20" has the shape of a date */
    if (had_prev && word_is(s, t->start, t->end, "code") &&
        word_is(s, st->prev_start, st->prev_end, "sort")) {
        st->ctx = CTX_SORT;
        st->age = 0;
    }
    st->has_prev = true;
    st->prev_start = t->start;
    st->prev_end = t->end;
    if (st->ctx == CTX_SORT && st->age == 0 && word_is(s, t->start, t->end, "code")) {
        return;
    }
    for (size_t k = 0; k < sizeof(ctx_words) / sizeof(ctx_words[0]); k++) {
        if (word_index(s, t->start, t->end, ctx_words[k].words) >= 0) {
            st->ctx = ctx_words[k].ctx;
            st->age = 0;
            return;
        }
    }
    if (word_index(s, t->start, t->end, numbers) >= 0) {
        if (st->ctx == CTX_NONE) {
            st->ctx = CTX_NUMBER;
        }
        st->age = 0;
        return;
    }
    if (st->ctx != CTX_NONE && ++st->age > CTX_WORDS) {
        st->ctx = CTX_NONE;
    }
}

/* ---- What a run is ---------------------------------------------------- */

static bool classify(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
                     enum redact_kind *ret_kind)
{
    size_t len = r->ndigits;
    const char *d = r->digits;
    bool plain = !r->words;

    /* A sort code has six digits and often the shape of a date. */
    if (ctx == CTX_SORT && len >= 6) {
        *ret_kind = REDACT_NUMBER;
        return true;
    }
    /* Dates, amounts and decimals stay, but never with 13 digits or more:
     * that would let a card number through in disguise. */
    if (len < CARD_MIN && !r->plus) {
        if (plain && (is_date(r) || is_year_range(r) || is_decimal(r))) {
            return false;
        }
        if ((ctx == CTX_NONE || ctx == CTX_NUMBER) && is_amount(s, n, r)) {
            return false;
        }
    }
    /* Six digits at least: "my licence expires in 2027" is a year. */
    if (ctx == CTX_ID && len >= 6) {
        *ret_kind = REDACT_ID;
    } else if (plain && is_ssn(r)) {
        *ret_kind = REDACT_ID;
    } else if (r->plus && len >= 8 && len <= 15) {
        *ret_kind = REDACT_PHONE;
    } else if (len >= 11 && len <= 15 && d[0] == '0' && d[1] == '0') {
        *ret_kind = REDACT_PHONE; /* 0044 20 7946 0958 */
    } else if (len >= CARD_MIN && len <= CARD_MAX && luhn_ok(d, len)) {
        *ret_kind = REDACT_CARD;
    } else if ((ctx == CTX_PHONE || ctx == CTX_NUMBER) && len >= 7 && len <= 15) {
        *ret_kind = REDACT_PHONE;
    } else if (ctx == CTX_ACCOUNT || ctx == CTX_CARD) {
        /* "order number 123-456-7890" has the shape of a phone number */
        if (len < 6) {
            return false;
        }
        *ret_kind = REDACT_NUMBER;
    } else if (plain && is_phone_shape(r)) {
        *ret_kind = REDACT_PHONE;
    } else if (d[0] == '0' && (len == 10 || len == 11)) {
        *ret_kind = REDACT_PHONE; /* a trunk prefix: 020 7946 0958, 07700 900123 */
    } else if (len >= 6) {
        *ret_kind = REDACT_NUMBER;
    } else {
        return false;
    }
    return true;
}

/* A card number with commas between its groups of four ("4532, 0151, 1283,
 * 0366", or the same in words, as a transcript may punctuate pauses).
 * Lists have commas too ("12, 15, 18", "2019, 2020, 2021, 2022"), so the
 * groups must be four digits or more and, in digits, start as a card does:
 * 3 to 6, or the 2221-2720 of Mastercard. Spelled out, a number of that
 * shape is no list: when the Luhn check fails (a misheard digit) it is
 * still a [number]. After "call" or "my number is", the parts of a phone
 * number may be separated by commas as well, and after "card", "passport"
 * or "account" any long number. */
static bool comma_run(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
                      enum redact_kind *ret_kind)
{
    const char *d = r->digits;
    unsigned prefix;
    bool card_like;

    if (!r->commas) {
        return false; /* the same run as without commas: classify() says */
    }
    if ((ctx == CTX_PHONE || ctx == CTX_NUMBER) && r->ndigits >= 7 && r->ndigits <= 15) {
        *ret_kind = REDACT_PHONE;
        return true;
    }
    if (ctx == CTX_CARD || ctx == CTX_ID || ctx == CTX_ACCOUNT || ctx == CTX_SORT) {
        return r->ndigits >= 6 && classify(s, n, r, ctx, ret_kind);
    }
    if (r->short_segment || r->ndigits < CARD_MIN || r->ndigits > CARD_MAX) {
        return false;
    }
    prefix =
        (unsigned)((d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0'));
    card_like = (d[0] >= '3' && d[0] <= '6') || (prefix >= 2221 && prefix <= 2720);
    if (!card_like && !r->words) {
        return false;
    }
    *ret_kind = card_like && luhn_ok(d, r->ndigits) ? REDACT_CARD : REDACT_NUMBER;
    return true;
}

/* What a replaced run covers: letters glued to its digits go with them, so
 * that "X1234567" leaves no "X" behind and the marker replaces whole words.
 * Never back past what is already written out. */
static void run_span(const unsigned char *s, size_t n, const struct run *r, size_t limit,
                     size_t *ret_start, size_t *ret_end)
{
    size_t a = r->start, b = r->end;

    if (r->glued_start) {
        while (a > limit && word_byte_before(s, n, a)) {
            a--;
        }
    }
    if (r->glued_end) {
        while (word_byte_at(s, n, b)) {
            b++;
        }
    }
    *ret_start = a;
    *ret_end = b;
}

/* ---- E-mail addresses ------------------------------------------------- */

static const char *const local_seps[] = {"dot", "underscore", "dash", "hyphen", NULL};
static const char *const dot_words[] = {"dot", NULL};

/* Top-level domains a spoken address may end in; written ones may end in
 * any. */
static const char *const tlds[] = {
    "com", "org", "net", "edu", "gov",  "mil", "int", "io",  "co",     "uk", "de", "fr", "es",
    "it",  "nl",  "be",  "ch",  "at",   "se",  "no",  "dk",  "fi",     "ie", "pl", "pt", "eu",
    "us",  "ca",  "au",  "nz",  "info", "biz", "me",  "app", "dev",    "ai", "in", "jp", "br",
    "mx",  "ru",  "cz",  "gr",  "hu",   "ro",  "tv",  "xyz", "online", NULL,
};

/* Mail providers: "jane at gmail dot com" is an address even unasked. */
static const char *const providers[] = {
    "gmail",      "googlemail", "hotmail", "outlook",  "yahoo",   "icloud",   "aol",
    "protonmail", "proton",     "gmx",     "yandex",   "zoho",    "fastmail", "btinternet",
    "msn",        "comcast",    "posteo",  "tutanota", "mailbox", NULL,
};

/* Words before "at" that make it a place or a time, not an address: "look
 * at", "meet me at". */
static const char *const not_local[] = {
    "at",      "is",      "are",       "was",  "were",  "be",      "am",    "me",    "us",
    "him",     "her",     "them",      "it",   "look",  "looking", "meet",  "stay",  "arrive",
    "here",    "there",   "home",      "work", "that",  "this",    "what",  "and",   "or",
    "to",      "the",     "a",         "an",   "my",    "your",    "our",   "email", "mail",
    "address", "send",    "write",     "on",   "in",    "from",    "of",    "for",   "with",
    "by",      "dot",     "buy",       "shop", "order", "book",    "check", "find",  "search",
    "price",   "cheaper", "available", "sold", "deals", NULL,
};

static size_t atom_at(const unsigned char *s, size_t n, size_t i)
{
    size_t p = i;

    while (p < n && is_alnum(s[p])) {
        p++;
    }
    return p - i;
}

/* A spoken separator " dot " between parts: the position after it, or 0. */
static size_t spoken_at(const unsigned char *s, size_t n, size_t i, const char *const *words)
{
    size_t p = i + gap_at(s, n, i, GAP_MAX), e, g;

    if (p == i || !word_at(s, n, p, &e) || word_index(s, p, e, words) < 0) {
        return 0;
    }
    g = gap_at(s, n, e, GAP_MAX);
    return g ? e + g : 0;
}

/* The local part at i ("john.smith", "john dot smith", "j_smith+news"):
 * its end, and whether it had separators. */
static bool local_at(const unsigned char *s, size_t n, size_t i, size_t *ret_end, bool *ret_seps)
{
    size_t p = i, q;
    unsigned atoms = 0;
    struct group g;

    *ret_seps = false;
    for (;;) {
        size_t a = atom_at(s, n, p);

        if (a == 0) {
            return false;
        }
        p += a;
        if (++atoms == LOCAL_ATOMS) {
            break;
        }
        if (p + 1 < n &&
            (s[p] == '.' || s[p] == '_' || s[p] == '+' || s[p] == '-' || s[p] == '%') &&
            is_alnum(s[p + 1])) {
            p++;
            *ret_seps = true;
            continue;
        }
        if ((q = spoken_at(s, n, p, local_seps)) && q < n && is_alnum(s[q])) {
            p = q;
            *ret_seps = true;
            continue;
        }
        /* "john ninety nine" is john99 */
        if ((q = gap_at(s, n, p, GAP_MAX)) && group_at(s, n, p + q, &g)) {
            p += q;
            *ret_seps = true;
            continue;
        }
        break;
    }
    if (word_byte_at(s, n, p)) {
        return false;
    }
    *ret_end = p;
    return true;
}

/* A domain label: letters, digits, inner hyphens. */
static size_t label_at(const unsigned char *s, size_t n, size_t i)
{
    size_t p = i + atom_at(s, n, i);

    if (p == i) {
        return 0;
    }
    while (p + 1 < n && s[p] == '-' && is_alnum(s[p + 1])) {
        p += 1 + atom_at(s, n, p + 1);
    }
    return p - i;
}

static bool tld_ok(const unsigned char *s, size_t a, size_t b, bool spoken)
{
    if (spoken) {
        return word_index(s, a, b, tlds) >= 0;
    }
    if (b - a < 2) {
        return false;
    }
    for (size_t k = a; k < b; k++) {
        if (!is_alpha(s[k])) {
            return false;
        }
    }
    return true;
}

/* The domain at i ("example.com", "example dot co dot uk"): the end of its
 * last label that is a top-level domain, and its first label. */
static bool domain_at(const unsigned char *s, size_t n, size_t i, bool spoken, size_t *ret_end,
                      size_t *ret_first_end)
{
    size_t p = i, good = 0;
    unsigned labels = 0;

    for (;;) {
        size_t a = label_at(s, n, p), q, next;

        if (a == 0) {
            break;
        }
        q = p + a;
        if (labels++ == 0) {
            *ret_first_end = q;
        } else if (!word_byte_at(s, n, q) && tld_ok(s, p, q, spoken)) {
            good = q;
        }
        if (labels == DOMAIN_LABELS) {
            break;
        }
        if (q + 1 < n && s[q] == '.' && is_alnum(s[q + 1])) {
            p = q + 1;
        } else if ((next = spoken_at(s, n, q, dot_words)) && next < n && is_alnum(s[next])) {
            p = next;
        } else {
            break;
        }
    }
    if (!good) {
        return false;
    }
    *ret_end = good;
    return true;
}

/* An address that starts at i, written ("john.smith@example.com") or as
 * ASR writes it ("john dot smith at example dot com"). A spoken "at" is
 * everywhere, so a spoken address must also look like one: separators in
 * the local part, a mail provider, or "my email is" before it. */
static bool email_at(const unsigned char *s, size_t n, size_t i, const struct state *st,
                     size_t *ret_end)
{
    size_t p = i, first = atom_at(s, n, i), end, we, g, first_label_end = 0;
    bool written = false, seps = false, chunk_seps;
    unsigned chunks = 0;

    if (first == 0 || word_byte_before(s, n, i)) {
        return false;
    }
    for (;;) {
        if (!local_at(s, n, p, &end, &chunk_seps)) {
            return false;
        }
        seps |= chunk_seps;
        chunks++;
        g = gap_at(s, n, end, GAP_MAX);
        if (end + g < n && s[end + g] == '@') {
            written = true;
            p = end + g + 1;
            p += gap_at(s, n, p, GAP_MAX);
            break;
        }
        if (g && word_at(s, n, end + g, &we) && word_is(s, end + g, we, "at")) {
            size_t g2 = gap_at(s, n, we, GAP_MAX);

            if (!g2) {
                return false;
            }
            p = we + g2;
            break;
        }
        /* "my email is john smith at ..." */
        if (!g || chunks == LOCAL_WORDS || !email_cued(st)) {
            return false;
        }
        p = end + g;
        if (word_index(s, p, p + atom_at(s, n, p), not_local) >= 0) {
            return false;
        }
    }
    if (!domain_at(s, n, p, !written, &end, &first_label_end)) {
        return false;
    }
    if ((!written || chunks > 1) && word_index(s, i, i + first, not_local) >= 0) {
        return false;
    }
    if (!written && !seps && !email_cued(st) && word_index(s, p, first_label_end, providers) < 0) {
        return false;
    }
    *ret_end = end;
    return true;
}

/* ---- IBANs and National Insurance numbers ------------------------------ */

/* IBAN lengths by country, from the SWIFT IBAN registry. */
static const char iban_lengths[] = "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22"
                                   "CY28CZ24DE22DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22"
                                   "GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26IT27JO30"
                                   "KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20"
                                   "MR27MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22"
                                   "RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26"
                                   "UA29VA22VG24XK20YE30";

static size_t iban_length(char a, char b)
{
    for (size_t k = 0; k + 4 <= sizeof(iban_lengths) - 1; k += 4) {
        if (iban_lengths[k] == a && iban_lengths[k + 1] == b) {
            return (size_t)((iban_lengths[k + 2] - '0') * 10 + (iban_lengths[k + 3] - '0'));
        }
    }
    return 0;
}

/* Characters of a code read across tokens: "GB82WEST1234...", "GB82 WEST
 * 1234 ...", "g b eight two w e s t one two ...", with where each token
 * ends, so that a code may end at any of them. */
struct code {
    char c[CODE_MAX];
    size_t len, nb;
    unsigned char at_len[CODE_MAX];
    size_t at_end[CODE_MAX];
};

/* Both an IBAN and an NI number start with two letters and two digits. */
static bool code_prefix_ok(const struct code *k)
{
    for (size_t m = 0; m < k->len && m < 4; m++) {
        if (m < 2 ? !is_alpha((unsigned char)k->c[m]) : !is_digit((unsigned char)k->c[m])) {
            return false;
        }
    }
    return true;
}

static void code_at(const unsigned char *s, size_t n, size_t i, struct code *k)
{
    size_t p = i;

    k->len = k->nb = 0;
    while (k->nb < CODE_MAX && p < n) {
        struct tok t = tok_at(s, n, p);
        struct group g;
        size_t end, gap;

        if (t.kind == TOK_DIGITS) {
            if (t.end - p > CODE_MAX - k->len) {
                break;
            }
            memcpy(k->c + k->len, s + p, t.end - p);
            k->len += t.end - p;
            end = t.end;
        } else if (t.kind == TOK_WORD && group_at(s, n, p, &g)) {
            if (g.nd > CODE_MAX - k->len) {
                break;
            }
            memcpy(k->c + k->len, g.d, g.nd);
            k->len += g.nd;
            end = g.end;
        } else if (t.kind == TOK_WORD && t.end - p <= 4 && t.end - p <= CODE_MAX - k->len) {
            for (size_t m = p; m < t.end; m++) {
                if (!is_alpha(s[m])) {
                    return;
                }
                k->c[k->len++] = (char)(s[m] & ~0x20);
            }
            end = t.end;
        } else {
            break;
        }
        if (!code_prefix_ok(k)) {
            break;
        }
        k->at_len[k->nb] = (unsigned char)k->len;
        k->at_end[k->nb] = end;
        k->nb++;
        if (word_byte_at(s, n, end)) {
            p = end; /* "GB" glued to "82" */
        } else if ((gap = gap_at(s, n, end, GAP_MAX))) {
            p = end + gap;
        } else {
            break;
        }
    }
}

/* Where a code of len characters ends on a word boundary, or 0. */
static size_t code_end(const unsigned char *s, size_t n, const struct code *k, size_t len)
{
    for (size_t b = 0; b < k->nb; b++) {
        if (k->at_len[b] == len && !word_byte_at(s, n, k->at_end[b])) {
            return k->at_end[b];
        }
    }
    return 0;
}

static size_t iban_end(const unsigned char *s, size_t n, const struct code *k)
{
    size_t len, end;
    unsigned rem = 0;

    if (k->len < 15 || !code_prefix_ok(k)) {
        return 0;
    }
    len = iban_length(k->c[0], k->c[1]);
    if (!len || !(end = code_end(s, n, k, len))) {
        return 0;
    }
    /* ISO 13616: the country and check digits move to the end, letters
     * count as 10..35, and the whole is 1 modulo 97. */
    for (size_t m = 0; m < len; m++) {
        char c = k->c[(m + 4) % len];

        if (is_digit((unsigned char)c)) {
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        } else {
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        }
    }
    return rem == 1 ? end : 0;
}

/* AB123456C: HMRC never issues D, F, I, Q, U or V first, D, F, I, O, Q, U
 * or V second, nor the prefixes BG, GB, KN, NK, NT, TN and ZZ. */
static size_t ni_end(const unsigned char *s, size_t n, const struct code *k)
{
    static const char *const bad[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    size_t end = code_end(s, n, k, 9);

    if (!end || !code_prefix_ok(k) || strchr("DFIQUV", k->c[0]) || strchr("DFIOQUV", k->c[1])) {
        return 0;
    }
    for (size_t m = 4; m < 8; m++) {
        if (!is_digit((unsigned char)k->c[m])) {
            return 0;
        }
    }
    if (k->c[8] < 'A' || k->c[8] > 'D') {
        return 0;
    }
    for (size_t m = 0; m < sizeof(bad) / sizeof(bad[0]); m++) {
        if (k->c[0] == bad[m][0] && k->c[1] == bad[m][1]) {
            return 0;
        }
    }
    return end;
}

/* ---- Secrets ---------------------------------------------------------- */

static const char *const secret_words[] = {
    "pin", "pincode", "password", "passcode",    "passphrase", "passwd",
    "cvv", "cvc",     "otp",      "combination", NULL,
};

/* "code" alone is too common ("zip code", "source code"). After one of
 * these it is a secret in any form; after none of them, a secret only when
 * it is a number ("the code is 1234"). */
static const char *const secret_codes[] = {
    "pin",           "security",      "verification", "access", "door",
    "alarm",         "unlock",        "login",        "auth",   "authentication",
    "authorisation", "authorization", "confirmation", "sms",    "activation",
    "gate",          "lock",          "safe",         "entry",  "secret",
    "time",          "garage",        "wifi",         "backup", "recovery",
    "otp",           "digit",         NULL,
};

static const char *const not_codes[] = {
    "zip",      "post",    "postal",   "area",    "country", "dialling", "dialing",
    "sort",     "source",  "error",    "status",  "qr",      "bar",      "dress",
    "morse",    "promo",   "discount", "voucher", "coupon",  "colour",   "color",
    "language", "airport", "product",  "tax",     "exit",    NULL,
};

static const char *const qualifiers[] = {"number", "code", NULL};
static const char *const links[] = {"is", "was", "are", NULL};
static const char *const fillers[] = {"now", "actually", "just", NULL};

/* Words that end a secret. */
static const char *const secret_stops[] = {
    "and", "please", "thanks", "thank", "but", "then", "okay", "ok", "because", NULL,
};

/* First words that say the sentence is about the secret, not the secret:
 * "the pin is in the drawer". */
static const char *const not_secrets[] = {
    "not", "too", "what", "where", "how",    "why",  "when", "which",
    "who", "in",  "on",   "under", "inside", "case", NULL,
};

/* Words that say so when they are all there is: "the password is wrong",
 * but "the password is correct horse battery staple". */
static const char *const not_secrets_alone[] = {
    "wrong",  "incorrect", "correct", "invalid", "expired", "required", "missing", "lost",
    "locked", "blocked",   "broken",  "changed", "reset",   "weak",     "strong",  "saved",
    "stored", "set",       "fine",    "right",   "new",     "old",      NULL,
};

/* Last words that make the "secret" a description of one: "the code on
 * the back is three digits". */
static const char *const secret_lengths[] = {
    "digit", "digits", "characters", "letters", "numbers", "long", NULL,
};

static bool is_trailing_punct(unsigned char c)
{
    return c == '.' || c == ',' || c == ';' || c == '!' || c == '?' || c == ')' || c == '"';
}

/* Words that may stand between a trigger and its "is": "the password for
 * the guest network is ...", "the three digit code on the back of my card
 * is ...". */
#define LINK_WORDS 6

/* The end of a link word ("is") that follows one to LINK_WORDS other
 * words from p, or 0. */
static size_t far_link_at(const unsigned char *s, size_t n, size_t p)
{
    size_t we;

    for (unsigned k = 0; k <= LINK_WORDS; k++) {
        size_t g = gap_at(s, n, p, GAP_MAX);

        if (!g || !word_at(s, n, p + g, &we)) {
            return 0;
        }
        if (word_index(s, p + g, we, links) >= 0) {
            return k > 0 ? we : 0;
        }
        if (word_index(s, p + g, we, secret_stops) >= 0) {
            return 0;
        }
        p = we;
    }
    return 0;
}

/* The words of a secret from p: up to SECRET_CHUNKS of them, to the end of
 * the sentence or a word such as "and". A run of digits counts as one.
 * Returns the end, or 0. */
static size_t chunks_at(const unsigned char *s, size_t n, size_t p)
{
    size_t end = 0, first_end = 0, last = p, q = p;

    for (unsigned k = 0; k < SECRET_CHUNKS && q < n; k++) {
        struct run r;
        size_t b, c, g, a = q;

        if (run_at(s, n, q, false, false, &r) && r.ndigits >= 3) {
            run_span(s, n, &r, q, &a, &b);
        } else {
            b = q;
            while (b < n && !blank_at(s, n, b) && s[b] != '\n' && s[b] != '\r') {
                b++;
            }
        }
        c = b;
        while (c > a && is_trailing_punct(s[c - 1])) {
            c--;
        }
        if (c == a || word_index(s, a, c, secret_stops) >= 0 ||
            (k == 0 && word_index(s, a, c, not_secrets) >= 0)) {
            break;
        }
        if (k == 0) {
            first_end = c;
        }
        last = a;
        end = c;
        if (c < b || !(g = gap_at(s, n, b, GAP_MAX))) {
            break;
        }
        q = b + g;
    }
    if (end && end == first_end && word_index(s, p, end, not_secrets_alone) >= 0) {
        return 0;
    }
    if (end && word_index(s, last, end, secret_lengths) >= 0) {
        return 0;
    }
    return end;
}

/* A secret after the trigger word t ("my pin is four four two one", "the
 * password is hunter two", "cvv 123"): the secret's span, not the
 * trigger's. */
static bool secret_at(const unsigned char *s, size_t n, const struct tok *t, const struct state *st,
                      size_t *ret_start, size_t *ret_end)
{
    size_t a = t->start, e = t->end, p, q, we;
    bool linked = false, far = false, any_form;
    struct run r;

    if (e - a > 2 && s[e - 2] == '\'' && lower(s[e - 1]) == 's') {
        e -= 2; /* "pin's" */
        linked = true;
    }
    if (word_index(s, a, e, secret_words) >= 0) {
        any_form = true;
    } else if (word_is(s, a, e, "code")) {
        if (st->has_prev && word_index(s, st->prev_start, st->prev_end, not_codes) >= 0) {
            return false;
        }
        any_form = st->has_prev && word_index(s, st->prev_start, st->prev_end, secret_codes) >= 0;
    } else {
        return false;
    }
    p = t->end;
    if (!linked) {
        q = p + gap_at(s, n, p, GAP_MAX);
        if (q > p && word_at(s, n, q, &we) && word_index(s, q, we, qualifiers) >= 0) {
            p = we;
        }
        q = p + gap_at(s, n, p, GAP_MAX);
        if (q < n && (s[q] == ':' || s[q] == '=')) {
            linked = true;
            p = q + 1;
        } else if (q > p && word_at(s, n, q, &we) && word_index(s, q, we, links) >= 0) {
            linked = true;
            p = we;
            if (p < n && s[p] == ':') {
                p++;
            }
        } else if ((q = far_link_at(s, n, p))) {
            linked = far = true;
            p = q;
        }
    }
    q = p + gap_at(s, n, p, GAP_MAX);
    if (q == p && (!linked || word_byte_before(s, n, q))) {
        return false;
    }
    p = q;
    if (linked && word_at(s, n, p, &we) && word_index(s, p, we, fillers) >= 0 &&
        (q = gap_at(s, n, we, GAP_MAX))) {
        p = we + q;
    }
    if (p >= n) {
        return false;
    }
    /* A number of three digits or more is the secret by itself; a shorter
     * one may be the start of a password ("oh so secret"). */
    if (run_at(s, n, p, false, true, &r) && (r.ndigits >= 3 || !any_form || !linked) &&
        (!far || r.ndigits >= 3)) {
        run_span(s, n, &r, p, ret_start, ret_end);
        return true;
    }
    if (!linked || !any_form || !(e = chunks_at(s, n, p))) {
        return false;
    }
    *ret_start = p;
    *ret_end = e;
    return true;
}

/* ---- Dates of birth and addresses ------------------------------------- */

/* Words of a spoken or written date besides numbers. */
static const char *const months[] = {
    "january", "february", "march",    "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan",   "feb", "mar",  "apr",  "jun",    "jul",
    "aug",     "sep",      "sept",     "oct",   "nov", "dec",  NULL,
};

static const char *const ordinals[] = {
    "first",      "second",     "third",     "fourth",    "fifth",       "sixth",
    "seventh",    "eighth",     "ninth",     "tenth",     "eleventh",    "twelfth",
    "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth",  "thirtieth", NULL,
};

/* Words inside a date that do not make one by themselves. */
static const char *const date_fillers[] = {"the", "of", "and", "thousand", "hundred", NULL};

static const char *const ordinal_suffixes[] = {"st", "nd", "rd", "th", NULL};

/* Tokens of a date: "the twenty first of march two thousand and one". */
#define DATE_TOKENS 14

/* The end of a date that starts at p ("the fourth of july nineteen eighty
 * two", "04/07/1982", "4th July, 1982"), or 0: it ends with its last
 * number, ordinal or month, and has a number or an ordinal. */
static size_t date_at(const unsigned char *s, size_t n, size_t p)
{
    size_t end = 0, q = p;
    bool numeric = false;

    for (unsigned k = 0; k < DATE_TOKENS && q < n; k++) {
        struct group g;
        size_t e, gap;

        if (is_digit(s[q])) {
            struct tok t = tok_at(s, n, q), w;

            if (t.end - q > 4) {
                break;
            }
            e = t.end;
            if (e < n && is_alpha(s[e])) {
                w = tok_at(s, n, e);
                if (word_index(s, e, w.end, ordinal_suffixes) < 0) {
                    break;
                }
                e = w.end;
            }
            if (word_byte_at(s, n, e)) {
                break;
            }
            end = e;
            numeric = true;
            if (e + 1 < n && (s[e] == '/' || s[e] == '-' || s[e] == '.') && is_digit(s[e + 1])) {
                q = e + 1; /* 04/07/1982 */
                continue;
            }
        } else if (word_at(s, n, q, &e)) {
            if (word_index(s, q, e, ordinals) >= 0) {
                end = e;
                numeric = true;
            } else if (word_index(s, q, e, months) >= 0) {
                end = e;
            } else if (group_at(s, n, q, &g)) {
                end = e = g.end;
                numeric = true;
            } else if (word_index(s, q, e, date_fillers) < 0) {
                break;
            }
        } else {
            break;
        }
        q = e;
        if (q < n && s[q] == ',') {
            q++;
        }
        if (!(gap = gap_at(s, n, q, GAP_MAX))) {
            break;
        }
        q += gap;
    }
    return numeric ? end : 0;
}

/* Where the value after a cue starts: after blanks, a colon or "is", and
 * the words in also ("on" in "born on"). Returns 0 when nothing follows
 * the cue as a value would. */
static size_t value_start(const unsigned char *s, size_t n, size_t p, const char *const *also)
{
    static const char *const is_words[] = {"is", "was", "are", NULL};
    size_t q = p + gap_at(s, n, p, GAP_MAX), we;

    if (q < n && s[q] == ':') {
        p = q + 1;
        q = p + gap_at(s, n, p, GAP_MAX);
    } else if (q > p && word_at(s, n, q, &we) && word_index(s, q, we, is_words) >= 0) {
        p = we;
        if (p < n && s[p] == ':') {
            p++;
        }
        q = p + gap_at(s, n, p, GAP_MAX);
    }
    if (also && q > p && word_at(s, n, q, &we) && word_index(s, q, we, also) >= 0) {
        p = we;
        q = p + gap_at(s, n, p, GAP_MAX);
    }
    return q > p && q < n ? q : 0;
}

/* A date of birth after its cue at t: "date of birth", "birth date",
 * "birthdate", "dob", "birthday", "born". */
static bool birthdate_at(const unsigned char *s, size_t n, const struct tok *t, size_t *ret_start,
                         size_t *ret_end)
{
    static const char *const cues[] = {"birthdate", "dob", "birthday", "born", NULL};
    static const char *const on[] = {"on", NULL};
    size_t e = t->end, p, q, we, end;

    if (word_is(s, t->start, t->end, "date")) {
        /* "date of birth" */
        q = e + gap_at(s, n, e, GAP_MAX);
        if (q == e || !word_at(s, n, q, &we) || !word_is(s, q, we, "of")) {
            return false;
        }
        e = we;
        q = e + gap_at(s, n, e, GAP_MAX);
        if (q == e || !word_at(s, n, q, &we) || !word_is(s, q, we, "birth")) {
            return false;
        }
        e = we;
    } else if (word_is(s, t->start, t->end, "birth")) {
        q = e + gap_at(s, n, e, GAP_MAX);
        if (q == e || !word_at(s, n, q, &we) || !word_is(s, q, we, "date")) {
            return false;
        }
        e = we;
    } else if (word_index(s, t->start, t->end, cues) < 0) {
        return false;
    }
    if (!(p = value_start(s, n, e, on)) || !(end = date_at(s, n, p))) {
        return false;
    }
    *ret_start = p;
    *ret_end = end;
    return true;
}

/* Words that end a street's name and make it one. */
static const char *const street_types[] = {
    "street", "st",        "road", "rd",       "avenue", "ave",   "lane",    "ln",
    "drive",  "close",     "way",  "crescent", "place",  "court", "terrace", "gardens",
    "grove",  "boulevard", "blvd", "square",   "hill",   "row",   "mews",    "walk",
    "parade", "green",     "park", "highway",  "circle", "rise",  NULL,
};

/* Words before the number of a flat or a house. */
static const char *const unit_words[] = {"flat", "apartment", "apt", "unit", "suite", NULL};

/* Words a street's name may have. */
#define STREET_WORDS 4

/* Words and commas of an address after "my address is". */
#define ADDRESS_WORDS 14

/* A house or flat number at p ("42", "221b", "forty two", "flat 3"): its
 * end, or 0. */
static size_t house_number_at(const unsigned char *s, size_t n, size_t p)
{
    struct group g;
    size_t e;

    if (word_at(s, n, p, &e) && word_index(s, p, e, unit_words) >= 0) {
        size_t gap = gap_at(s, n, e, GAP_MAX);

        if (!gap) {
            return 0;
        }
        p = e + gap;
    }
    if (p < n && is_digit(s[p])) {
        e = tok_at(s, n, p).end;
        if (e - p > 5) {
            return 0;
        }
        if (e < n && is_alpha(s[e]) && !word_byte_at(s, n, e + 1)) {
            e++; /* 221b */
        }
        return word_byte_at(s, n, e) ? 0 : e;
    }
    if (group_at(s, n, p, &g) && g.nd <= 4) {
        return g.end;
    }
    return 0;
}

/* A street at p: a house number ("flat 3, 12" too), one to STREET_WORDS
 * words of its name and a street type ("42 acacia avenue"): its end, or
 * 0. */
static size_t street_at(const unsigned char *s, size_t n, size_t p)
{
    size_t e = house_number_at(s, n, p), we, q;

    if (!e) {
        return 0;
    }
    if (e < n && s[e] == ',' && (q = house_number_at(s, n, e + 1 + gap_at(s, n, e + 1, GAP_MAX)))) {
        e = q;
    }
    for (unsigned k = 0; k <= STREET_WORDS; k++) {
        size_t gap = gap_at(s, n, e, GAP_MAX);

        if (!gap || !word_at(s, n, e + gap, &we) || word_index(s, e + gap, we, secret_stops) >= 0) {
            return 0;
        }
        if (k > 0 && word_index(s, e + gap, we, street_types) >= 0) {
            return we;
        }
        e = we;
    }
    return 0;
}

/* An address as said after "my address is": words, numbers and commas up
 * to the end of the sentence or a word such as "and", when they start
 * with a house number or name a street. Returns the end, or 0. */
static size_t address_words_at(const unsigned char *s, size_t n, size_t p)
{
    size_t end = 0, q = p, we;
    bool street = house_number_at(s, n, p) > 0;

    if (word_at(s, n, p, &we) && word_index(s, p, we, not_secrets) >= 0) {
        return 0;
    }
    for (unsigned k = 0; k < ADDRESS_WORDS && q < n; k++) {
        size_t e = q, gap;

        while (e < n && is_alnum(s[e])) {
            e++;
        }
        if (e == q || word_byte_at(s, n, e) || word_index(s, q, e, secret_stops) >= 0) {
            break;
        }
        street |= word_index(s, q, e, street_types) >= 0;
        end = e;
        if (e < n && s[e] == ',') {
            e++;
        }
        if (!(gap = gap_at(s, n, e, GAP_MAX))) {
            break;
        }
        q = e + gap;
    }
    return street ? end : 0;
}

/* A postcode after "my postcode is": letters and digits in words of at
 * most eight, as written ("SW1A 1AA", "90210-1234") or spelled ("s w one
 * a one a a"), with a digit somewhere. Returns the end, or 0. */
static size_t postcode_at(const unsigned char *s, size_t n, size_t p)
{
    size_t end = 0, q = p;
    bool digit = false;

    for (unsigned k = 0; k < SECRET_CHUNKS && q < n; k++) {
        struct group g;
        size_t e = q, gap;
        bool has_digit = false;

        if (group_at(s, n, q, &g)) {
            e = g.end;
            has_digit = true;
        } else {
            while (e < n && (is_alnum(s[e]) || (s[e] == '-' && e > q && e + 1 < n &&
                                                is_digit(s[e - 1]) && is_digit(s[e + 1])))) {
                has_digit |= is_digit(s[e]);
                e++;
            }
            if (e == q || e - q > 8 || word_byte_at(s, n, e) || (!has_digit && e - q > 1)) {
                break;
            }
        }
        digit |= has_digit;
        end = e;
        if (!(gap = gap_at(s, n, e, GAP_MAX))) {
            break;
        }
        q = e + gap;
    }
    return digit ? end : 0;
}

/* An address after its cue at t: "my address is ...", "i live at 42 ...",
 * "send it to 42 ...", "my postcode is ...". */
static bool address_at(const unsigned char *s, size_t n, const struct tok *t,
                       const struct state *st, size_t *ret_start, size_t *ret_end)
{
    static const char *const not_postal[] = {"email", "mail",     "ip",     "web",    "mac",
                                             "url",   "internet", "server", "memory", NULL};
    static const char *const owners[] = {"my", "our", "home", "his", "her", "their", NULL};
    static const char *const live[] = {"live", "lives", "living", "stay", "staying", NULL};
    static const char *const at_on[] = {"at", "on", NULL};
    static const char *const code[] = {"code", NULL};
    size_t a = t->start, e = t->end, p, q, we, end = 0;

    if (word_is(s, a, e, "address")) {
        if (st->has_prev && word_index(s, st->prev_start, st->prev_end, not_postal) >= 0) {
            return false;
        }
        if ((p = value_start(s, n, e, NULL))) {
            end = address_words_at(s, n, p);
        }
    } else if (word_index(s, a, e, live) >= 0) {
        q = e + gap_at(s, n, e, GAP_MAX);
        if (q > e && word_at(s, n, q, &we) && word_index(s, q, we, at_on) >= 0 &&
            (p = q = we + gap_at(s, n, we, GAP_MAX)) > we) {
            end = street_at(s, n, p);
        }
    } else if (word_is(s, a, e, "to") && st->send_left) {
        p = e + gap_at(s, n, e, GAP_MAX);
        end = p > e ? street_at(s, n, p) : 0;
    } else if (st->has_prev && word_index(s, st->prev_start, st->prev_end, owners) >= 0) {
        /* "my postcode", "my zip code", "our post code": a weather
         * question's "zip code 90210" is nobody's */
        if (word_is(s, a, e, "post") || word_is(s, a, e, "postal") || word_is(s, a, e, "zip")) {
            q = e + gap_at(s, n, e, GAP_MAX);
            if (q > e && word_at(s, n, q, &we) && word_index(s, q, we, code) >= 0) {
                e = we;
            } else if (!word_is(s, a, e, "zip")) {
                return false;
            }
        } else if (!word_is(s, a, e, "postcode") && !word_is(s, a, e, "zipcode") &&
                   !word_is(s, a, e, "eircode")) {
            return false;
        }
        if ((p = value_start(s, n, e, NULL))) {
            end = postcode_at(s, n, p);
        }
    }
    if (!end) {
        return false;
    }
    *ret_start = p;
    *ret_end = end;
    return true;
}

/* ---- The scan --------------------------------------------------------- */

struct span {
    size_t start, end;
    enum redact_kind kind;
};

/* What to replace starting at token t, if anything. Otherwise *ret_next
 * says where to go on: past a whole run that stays, so that no run is
 * looked at again from its middle. */
static bool match_at(const unsigned char *s, size_t n, const struct tok *t, const struct state *st,
                     size_t copied, struct span *sp, size_t *ret_next)
{
    struct run r;
    size_t end;

    if ((t->kind == TOK_WORD || t->kind == TOK_DIGITS) && !word_byte_before(s, n, t->start)) {
        if (email_at(s, n, t->start, st, &end)) {
            *sp = (struct span){t->start, end, REDACT_EMAIL};
            return true;
        }
        if (t->kind == TOK_WORD && is_alpha(s[t->start])) {
            struct code k;

            code_at(s, n, t->start, &k);
            if ((end = iban_end(s, n, &k))) {
                *sp = (struct span){t->start, end, REDACT_IBAN};
                return true;
            }
            if ((end = ni_end(s, n, &k))) {
                *sp = (struct span){t->start, end, REDACT_ID};
                return true;
            }
        }
    }
    if (t->kind == TOK_WORD && !word_byte_before(s, n, t->start) && !word_byte_at(s, n, t->end) &&
        secret_at(s, n, t, st, &sp->start, &sp->end)) {
        sp->kind = REDACT_SECRET;
        return true;
    }
    if (t->kind == TOK_WORD && !word_byte_before(s, n, t->start) && !word_byte_at(s, n, t->end)) {
        if (birthdate_at(s, n, t, &sp->start, &sp->end)) {
            sp->kind = REDACT_BIRTHDATE;
            return true;
        }
        if (address_at(s, n, t, st, &sp->start, &sp->end)) {
            sp->kind = REDACT_ADDRESS;
            return true;
        }
    }
    if (run_at(s, n, t->start, false, number_announced(s, st), &r)) {
        struct run c;

        if (r.end < n && s[r.end] == ',' &&
            run_at(s, n, t->start, true, number_announced(s, st), &c) &&
            comma_run(s, n, &c, st->ctx, &sp->kind)) {
            run_span(s, n, &c, copied, &sp->start, &sp->end);
            return true;
        }
        if (classify(s, n, &r, st->ctx, &sp->kind)) {
            run_span(s, n, &r, copied, &sp->start, &sp->end);
            return true;
        }
        *ret_next = r.end;
    }
    return false;
}

struct out {
    char *buf; /* NULL while measuring */
    size_t len;
    unsigned counts[REDACT_KINDS];
};

static void put(struct out *o, const void *p, size_t len)
{
    if (o->buf) {
        memcpy(o->buf + o->len, p, len);
    }
    o->len += len;
}

/* One pass over the text: the first measures, the second writes, so that
 * the result is the only allocation. Text is copied lazily (from copied)
 * so that a replacement can take in letters glued before it. The bytes
 * before from are context only (a slot's name): they colour what follows
 * but are never written. A slot's value is one thing, so that "jane at
 * example dot com" there is an address whatever the name. */
static void scan(const unsigned char *s, size_t n, size_t from, struct out *o)
{
    struct state st = {.ctx = CTX_NONE};
    size_t i = 0, copied = from;
    bool value = from == 0;

    while (i < n) {
        struct tok t = tok_at(s, n, i);
        struct span sp;
        size_t next = t.end;

        if (!value && i >= from) {
            st.email_left = EMAIL_WORDS;
            value = true;
        }

        if (match_at(s, n, &t, &st, copied, &sp, &next) && sp.end > i) {
            const char *m = markers[sp.kind];

            if (sp.end <= from) {
                i = sp.end;
                st = (struct state){.ctx = CTX_NONE};
                continue;
            }
            if (sp.start < copied) {
                sp.start = copied;
            }
            put(o, s + copied, sp.start - copied);
            put(o, m, strlen(m));
            o->counts[sp.kind]++;
            copied = sp.end;
            i = sp.end;
            st = (struct state){.ctx = CTX_NONE};
            continue;
        }
        if (next > t.end) {
            st.ctx = CTX_NONE; /* a run that stays */
            st.has_prev = false;
        } else {
            note_token(s, &t, &st);
        }
        i = next;
    }
    put(o, s + copied, n - copied);
}

/* Measures, allocates once, writes: the redacted copy of s[from..n). */
static char *redact_from(const unsigned char *s, size_t n, size_t from,
                         unsigned ret_counts[REDACT_KINDS])
{
    struct out o = {0};

    /* A marker replaces at least one byte. */
    if (n > (SIZE_MAX - 1) / MARKER_MAX) {
        return NULL;
    }
    scan(s, n, from, &o);
    o.buf = malloc(o.len + 1);
    if (!o.buf) {
        return NULL;
    }
    o.len = 0;
    memset(o.counts, 0, sizeof(o.counts));
    scan(s, n, from, &o);
    o.buf[o.len] = '\0';
    if (ret_counts) {
        memcpy(ret_counts, o.counts, sizeof(o.counts));
    }
    return o.buf;
}

char *redact_text(const char *text, unsigned ret_counts[REDACT_KINDS])
{
    return redact_from((const unsigned char *)text, strlen(text), 0, ret_counts);
}

/* ---- Slots ------------------------------------------------------------ */

/* Words of a slot's name that say its value is a secret or a payment or
 * bank detail, which the history never keeps in any form. "code" alone
 * counts: a slot named "code" holds what the user read out, and the few
 * codes that are harmless are named by the word before ("country_code"). */
static const char *const secret_names[] = {
    "code",  "pin",        "pincode", "password", "passcode", "passphrase", "passwd",
    "pwd",   "cvv",        "cvv2",    "cvc",      "csc",      "account",    "acct",
    "card",  "iban",       "bic",     "swift",    "sortcode", "secret",     "otp",
    "token", "credential", "ssn",     NULL,
};

/* Words after which "code" names something harmless. */
static const char *const harmless_codes[] = {
    "country", "language", "lang",   "currency", "area",   "dialling", "dialing", "error",
    "status",  "http",     "exit",   "airport",  "iata",   "icao",     "colour",  "color",
    "product", "discount", "promo",  "voucher",  "coupon", "qr",       "bar",     "source",
    "zip",     "post",     "postal", "dress",    "morse",  "tax",      NULL,
};

/* Endings glued to a secret word that keep it one: "cardnumber",
 * "accountno", "pins". */
static const char *const secret_suffixes[] = {"", "s", "number", "num", "no", "nr", "id", NULL};

/* The next word of a name from *p: letters and digits, split at anything
 * else and where a lower-case letter meets an upper-case one ("pinCode").
 * Returns false at the end. */
static bool name_word(const unsigned char *s, size_t n, size_t *p, size_t *ret_start,
                      size_t *ret_end)
{
    size_t a = *p, b;

    while (a < n && !is_alnum(s[a])) {
        a++;
    }
    if (a == n) {
        return false;
    }
    b = a + 1;
    while (b < n && is_alnum(s[b]) &&
           !(s[b] >= 'A' && s[b] <= 'Z' && s[b - 1] >= 'a' && s[b - 1] <= 'z')) {
        b++;
    }
    *ret_start = a;
    *ret_end = b;
    *p = b;
    return true;
}

static bool secret_name_word(const unsigned char *s, size_t a, size_t b)
{
    for (size_t k = 0; secret_names[k]; k++) {
        size_t len = strlen(secret_names[k]);

        if (b - a < len) {
            continue;
        }
        for (size_t m = 0; secret_suffixes[m]; m++) {
            if (b - a == len + strlen(secret_suffixes[m]) &&
                word_is(s, a, a + len, secret_names[k]) &&
                word_is(s, a + len, b, secret_suffixes[m])) {
                return true;
            }
        }
    }
    return false;
}

bool redact_slot_is_secret(const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name), p = 0, a, b, prev_a = 0, prev_b = 0;
    bool has_prev = false;

    while (name_word(s, n, &p, &a, &b)) {
        if (secret_name_word(s, a, b) && !(word_is(s, a, b, "code") && has_prev &&
                                           word_index(s, prev_a, prev_b, harmless_codes) >= 0)) {
            return true;
        }
        prev_a = a;
        prev_b = b;
        has_prev = true;
    }
    return false;
}

int redact_slot(const char *name, const char *value, char **ret_value,
                unsigned ret_counts[REDACT_KINDS])
{
    const unsigned char *s;
    size_t n, vlen, p = 0, a, b, len = 0;
    char *text, *out;

    if (!name || !value || !ret_value) {
        return -EINVAL;
    }
    if (redact_slot_is_secret(name)) {
        if (ret_counts) {
            memset(ret_counts, 0, sizeof(unsigned) * REDACT_KINDS);
        }
        *ret_value = NULL;
        return 0;
    }
    /* The name's words, then ": ", then the value: "recipient: jane at
     * example dot com". The colon keeps a run or an address from reaching
     * back into the name; digits of the name are left out. */
    s = (const unsigned char *)name;
    n = strlen(name);
    vlen = strlen(value);
    if (n > SIZE_MAX / 2 - 3 || vlen > SIZE_MAX / 2) {
        return -ENOMEM;
    }
    text = malloc(2 * n + 3 + vlen);
    if (!text) {
        return -ENOMEM;
    }
    while (name_word(s, n, &p, &a, &b)) {
        for (size_t k = a; k < b; k++) {
            if (is_alpha(s[k])) {
                text[len++] = (char)s[k];
            }
        }
        text[len++] = ' ';
    }
    if (len) {
        len--;
        text[len++] = ':';
        text[len++] = ' ';
    }
    memcpy(text + len, value, vlen);
    out = redact_from((const unsigned char *)text, len + vlen, len, ret_counts);
    explicit_bzero(text, len + vlen);
    free(text);
    if (!out) {
        return -ENOMEM;
    }
    *ret_value = out;
    return 0;
}
