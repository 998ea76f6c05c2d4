/* The redactor's inside, shared by its files (not for other modules): the
 * limits, the tokens, runs and codes it reads, and the matchers one file
 * calls in another (named redact_*; the public ones are in redact.h). The
 * files: redact-words.c, redact-runs.c, redact-codes.c, redact-cued.c, and
 * redact.c, the scan that puts them together, and the slots. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "redact.h"

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

/* "email the invoice to accounts at ...": the verb cues an address a few
 * words on, whatever context words ("invoice") come between. */
#define EMAIL_WORDS 8

static inline bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static inline unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

enum tok_kind { TOK_WORD, TOK_DIGITS, TOK_BLANK, TOK_DASH, TOK_OTHER };

struct tok {
    size_t start, end;
    enum tok_kind kind;
};

/* The digits of a group of number words: "four" 4, "double seven" 77,
 * "fifteen" 15, "forty two" 42, "four hundred twelve" 412. Speakers read
 * long numbers group by group, so a group never makes more than four
 * digits, and "thousand" or "million" end the number instead. */
struct group {
    char d[4];
    size_t nd;
    size_t end;
};

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

/* What the words before a run say it is. CTX_NUMBER is the bare "my number
 * is", which is most often a phone number. */
enum ctx { CTX_NONE, CTX_NUMBER, CTX_CARD, CTX_PHONE, CTX_ID, CTX_ACCOUNT, CTX_EMAIL, CTX_SORT };

struct state {
    enum ctx ctx;
    unsigned age;                /* words since the context word */
    size_t prev_start, prev_end; /* the word before, for "zip code" */
    bool has_prev;
    unsigned email_left; /* words left in which "email" still cues */
    unsigned send_left;  /* words left in which "send" still cues */
};

/* Characters of a code read across tokens: "GB82WEST1234...", "GB82 WEST
 * 1234 ...", "g b eight two w e s t one two ...", with where each token
 * ends, so that a code may end at any of them. */
struct code {
    char c[CODE_MAX];
    size_t len, nb;
    unsigned char at_len[CODE_MAX];
    size_t at_end[CODE_MAX];
};

/* redact-words.c: bytes, words, tokens and numbers in words. */
size_t redact_blank_at(const unsigned char *s, size_t n, size_t i);
size_t redact_dash_at(const unsigned char *s, size_t n, size_t i);
bool redact_word_byte_at(const unsigned char *s, size_t n, size_t i);
bool redact_word_byte_before(const unsigned char *s, size_t n, size_t i);
struct tok redact_tok_at(const unsigned char *s, size_t n, size_t i);
bool redact_word_is(const unsigned char *s, size_t a, size_t b, const char *w);
int redact_word_index(const unsigned char *s, size_t a, size_t b, const char *const *list);
bool redact_word_at(const unsigned char *s, size_t n, size_t i, size_t *ret_end);
size_t redact_gap_at(const unsigned char *s, size_t n, size_t i, unsigned max);
bool redact_group_at(const unsigned char *s, size_t n, size_t i, struct group *g);

/* redact-runs.c: runs of digits, the context before them, what a run is. */
bool redact_run_at(const unsigned char *s, size_t n, size_t i, bool commas, bool lead,
                   struct run *r);
bool redact_email_cued(const struct state *st);
bool redact_number_announced(const unsigned char *s, const struct state *st);
void redact_note_token(const unsigned char *s, const struct tok *t, struct state *st);
bool redact_classify(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
                     enum redact_kind *ret_kind);
bool redact_comma_run(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
                      enum redact_kind *ret_kind);
void redact_run_span(const unsigned char *s, size_t n, const struct run *r, size_t limit,
                     size_t *ret_start, size_t *ret_end);

/* redact-codes.c: e-mail addresses, IBANs and National Insurance numbers. */
bool redact_email_at(const unsigned char *s, size_t n, size_t i, const struct state *st,
                     size_t *ret_end);
void redact_code_at(const unsigned char *s, size_t n, size_t i, struct code *k);
size_t redact_iban_end(const unsigned char *s, size_t n, const struct code *k);
size_t redact_ni_end(const unsigned char *s, size_t n, const struct code *k);

/* redact-cued.c: what follows a cue: secrets, dates of birth, addresses. */
bool redact_secret_at(const unsigned char *s, size_t n, const struct tok *t, const struct state *st,
                      size_t *ret_start, size_t *ret_end);
bool redact_birthdate_at(const unsigned char *s, size_t n, const struct tok *t, size_t *ret_start,
                         size_t *ret_end);
bool redact_address_at(const unsigned char *s, size_t n, const struct tok *t,
                       const struct state *st, size_t *ret_start, size_t *ret_end);
