/* The redactor's reading of text: bytes, words and tokens, and numbers
 * said in words ("four five three two", "double seven", "forty two"). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact-internal.h"

/* ---- Bytes, words and tokens ------------------------------------------ */

/* A blank at i: space, tab, or the no-break and thin spaces (U+00A0,
 * U+2007, U+2009, U+202F) that typesetting puts between digit groups, so
 * that "4532 0151 ..." with no-break spaces is no disguise. */
size_t redact_blank_at(const unsigned char *s, size_t n, size_t i)
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
size_t redact_dash_at(const unsigned char *s, size_t n, size_t i)
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
bool redact_word_byte_at(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n) {
        return false;
    }
    if (s[i] < 0x80) {
        return is_alnum(s[i]);
    }
    return redact_blank_at(s, n, i) == 0 && redact_dash_at(s, n, i) == 0;
}

/* Whether the byte before i belongs to a word. */
bool redact_word_byte_before(const unsigned char *s, size_t n, size_t i)
{
    if (i == 0) {
        return false;
    }
    if (s[i - 1] < 0x80) {
        return is_alnum(s[i - 1]);
    }
    if (i >= 2 && redact_blank_at(s, n, i - 2) == 2) {
        return false;
    }
    if (i >= 3 && (redact_blank_at(s, n, i - 3) == 3 || redact_dash_at(s, n, i - 3) == 3)) {
        return false;
    }
    return true;
}

/* Letters for the tokenizer: ASCII letters and the word bytes beyond ASCII
 * (digits make tokens of their own, so that "AB123456C" is three). */
static bool letter_at(const unsigned char *s, size_t n, size_t i)
{
    return i < n && (is_alpha(s[i]) || (s[i] >= 0x80 && redact_word_byte_at(s, n, i)));
}

/* The token at i < n: a word (with inner apostrophes: "o'clock" is not
 * "o"), a run of digits, a run of blanks, a dash, or any other byte. */
struct tok redact_tok_at(const unsigned char *s, size_t n, size_t i)
{
    struct tok t = {.start = i, .end = i + 1, .kind = TOK_OTHER};
    size_t k;

    if (is_digit(s[i])) {
        t.kind = TOK_DIGITS;
        while (t.end < n && is_digit(s[t.end])) {
            t.end++;
        }
    } else if ((k = redact_blank_at(s, n, i))) {
        t.kind = TOK_BLANK;
        t.end = i + k;
        while ((k = redact_blank_at(s, n, t.end))) {
            t.end += k;
        }
    } else if ((k = redact_dash_at(s, n, i))) {
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
bool redact_word_is(const unsigned char *s, size_t a, size_t b, const char *w)
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
int redact_word_index(const unsigned char *s, size_t a, size_t b, const char *const *list)
{
    for (int k = 0; list[k]; k++) {
        if (redact_word_is(s, a, b, list[k])) {
            return k;
        }
    }
    return -1;
}

/* The word at i when it stands alone: nothing of another word glued to
 * either side ("one" in "someone" or "one2" is no number). */
bool redact_word_at(const unsigned char *s, size_t n, size_t i, size_t *ret_end)
{
    struct tok t;

    if (i >= n) {
        return false;
    }
    t = redact_tok_at(s, n, i);
    if (t.kind != TOK_WORD || redact_word_byte_before(s, n, i) ||
        redact_word_byte_at(s, n, t.end)) {
        return false;
    }
    *ret_end = t.end;
    return true;
}

/* Bytes of one to max blanks at i, or 0: none, or a wider gap, which
 * separates rather than joins. */
size_t redact_gap_at(const unsigned char *s, size_t n, size_t i, unsigned max)
{
    size_t p = i, k;
    unsigned count = 0;

    while ((k = redact_blank_at(s, n, p))) {
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

    if (!redact_word_at(s, n, i, &end)) {
        return NULL;
    }
    for (size_t k = 0; k < N_NUMWORDS; k++) {
        if (redact_word_is(s, i, end, numwords[k].word)) {
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
    size_t p = i + redact_gap_at(s, n, i, GAP_MAX);

    if (p == i) {
        size_t d = redact_dash_at(s, n, i);

        if (!d) {
            return NULL;
        }
        p += d;
    }
    return numword_at(s, n, p, ret_end);
}

static void group_tail(const unsigned char *s, size_t n, struct group *g)
{
    const struct numword *w;
    size_t e, p = g->end, g1, and_end;

    /* "hundred and five" */
    g1 = redact_gap_at(s, n, p, GAP_MAX);
    if (g1 && redact_word_at(s, n, p + g1, &and_end) && redact_word_is(s, p + g1, and_end, "and") &&
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

bool redact_group_at(const unsigned char *s, size_t n, size_t i, struct group *g)
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
