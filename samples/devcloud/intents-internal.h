/* The intent rules' inside, shared by intents.c (the rules file) and
 * intents-match.c (a transcript matched against them); not for other
 * modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "intents.h"

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

/* intents.c: text split into lower-case words (letters, digits, inner
 * apostrophes); everything else separates words. */
void intents_tokenize(const char *text, struct tokens *t);
