/* Runs of digits or number words, the context words before them, and what
 * a run is: a card (Luhn), a phone number, an id, a date, an amount, a long
 * number. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact-internal.h"

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

    if (!redact_word_at(s, n, i, &end)) {
        return false;
    }
    for (size_t k = 0; k < sizeof(homophones) / sizeof(homophones[0]); k++) {
        if (redact_word_is(s, i, end, homophones[k].word)) {
            *ret_digit = homophones[k].digit;
            *ret_end = end;
            return true;
        }
    }
    return false;
}

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
        size_t p = i + redact_gap_at(s, n, i, GAP_MAX), e;
        struct group g;
        char d;

        if (p == i) {
            p += redact_dash_at(s, n, i);
        }
        if (p == i) {
            return false;
        }
        if (redact_group_at(s, n, p, &g)) {
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
        struct tok t = redact_tok_at(s, n, p);

        run_add(r, (const char *)s + p, t.end - p, j);
        r->glued_end = redact_word_byte_at(s, n, t.end);
        return t.end;
    }
    if (words && redact_group_at(s, n, p, &g)) {
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

    return p < n && (is_digit(s[p]) || redact_group_at(s, n, p, &g));
}

/* The run that starts at i, if one does. It goes on as long as groups
 * follow each other; what it means is for redact_classify() to say. With commas,
 * groups may also be joined by commas, as in a card number transcribed
 * with pauses ("4532, 0151, 1283, 0366"), and the run stops after the
 * longest card number. */
bool redact_run_at(const unsigned char *s, size_t n, size_t i, bool commas, bool lead,
                   struct run *r)
{
    size_t p = i, end, e;
    bool open = false;

    *r = (struct run){.start = i, .lead = lead};
    if (s[p] == '+' && p + 1 < n && is_digit(s[p + 1])) {
        r->plus = true;
        p++;
    } else if (redact_word_at(s, n, p, &e) && redact_word_is(s, p, e, "plus")) {
        size_t g = redact_gap_at(s, n, e, GAP_MAX);

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
    r->glued_start = !r->plus && !r->paren && redact_word_byte_before(s, n, p);
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
            np = q + redact_gap_at(s, n, q, GAP_MAX);
            if ((e = item_at(s, n, np, r, JOINT_PAREN, false))) {
                end = e;
                continue;
            }
            break;
        }
        g = redact_gap_at(s, n, q, GAP_MAX);
        if ((d = redact_dash_at(s, n, q + g))) {
            np = q + g + d;
            np += redact_gap_at(s, n, np, GAP_MAX);
            j = JOINT_DASH;
        } else if (commas && !g && q < n && s[q] == ',') {
            np = q + 1;
            np += redact_gap_at(s, n, np, GAP_MAX);
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
        return redact_run_at(s, n, i + 1, commas, lead, r);
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
    g = redact_gap_at(s, n, e, GAP_MAX);
    return g && redact_word_at(s, n, e + g, &we) && redact_word_index(s, e + g, we, units) >= 0;
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
bool redact_email_cued(const struct state *st)
{
    return st->ctx == CTX_EMAIL || st->email_left > 0;
}

/* Whether the words right before a run announce it, so that a homophone
 * may start it ("account for five three ...", "my card number is for
 * ..."). */
bool redact_number_announced(const unsigned char *s, const struct state *st)
{
    static const char *const links_[] = {"is", "was", "are", NULL};

    if (!st->has_prev || st->ctx == CTX_NONE || st->ctx == CTX_EMAIL) {
        return false;
    }
    return st->age == 0 ||
           (st->age == 1 && redact_word_index(s, st->prev_start, st->prev_end, links_) >= 0);
}

/* The main loop passed token t without replacing it. */
void redact_note_token(const unsigned char *s, const struct tok *t, struct state *st)
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
    if (redact_word_index(s, t->start, t->end, email_cues) >= 0) {
        st->email_left = EMAIL_WORDS;
    }
    if (redact_word_index(s, t->start, t->end, send_cues) >= 0) {
        st->send_left = EMAIL_WORDS;
    }
    /* "sort code 11-03-20" has the shape of a date */
    if (had_prev && redact_word_is(s, t->start, t->end, "code") &&
        redact_word_is(s, st->prev_start, st->prev_end, "sort")) {
        st->ctx = CTX_SORT;
        st->age = 0;
    }
    st->has_prev = true;
    st->prev_start = t->start;
    st->prev_end = t->end;
    if (st->ctx == CTX_SORT && st->age == 0 && redact_word_is(s, t->start, t->end, "code")) {
        return;
    }
    for (size_t k = 0; k < sizeof(ctx_words) / sizeof(ctx_words[0]); k++) {
        if (redact_word_index(s, t->start, t->end, ctx_words[k].words) >= 0) {
            st->ctx = ctx_words[k].ctx;
            st->age = 0;
            return;
        }
    }
    if (redact_word_index(s, t->start, t->end, numbers) >= 0) {
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

bool redact_classify(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
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
bool redact_comma_run(const unsigned char *s, size_t n, const struct run *r, enum ctx ctx,
                      enum redact_kind *ret_kind)
{
    const char *d = r->digits;
    unsigned prefix;
    bool card_like;

    if (!r->commas) {
        return false; /* the same run as without commas: redact_classify() says */
    }
    if ((ctx == CTX_PHONE || ctx == CTX_NUMBER) && r->ndigits >= 7 && r->ndigits <= 15) {
        *ret_kind = REDACT_PHONE;
        return true;
    }
    if (ctx == CTX_CARD || ctx == CTX_ID || ctx == CTX_ACCOUNT || ctx == CTX_SORT) {
        return r->ndigits >= 6 && redact_classify(s, n, r, ctx, ret_kind);
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
void redact_run_span(const unsigned char *s, size_t n, const struct run *r, size_t limit,
                     size_t *ret_start, size_t *ret_end)
{
    size_t a = r->start, b = r->end;

    if (r->glued_start) {
        while (a > limit && redact_word_byte_before(s, n, a)) {
            a--;
        }
    }
    if (r->glued_end) {
        while (redact_word_byte_at(s, n, b)) {
            b++;
        }
    }
    *ret_start = a;
    *ret_end = b;
}
