/* What a cue word announces: a secret after "my pin is", a date of birth
 * after "born on", a street address or postcode after "I live at". */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact-internal.h"

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
        size_t g = redact_gap_at(s, n, p, GAP_MAX);

        if (!g || !redact_word_at(s, n, p + g, &we)) {
            return 0;
        }
        if (redact_word_index(s, p + g, we, links) >= 0) {
            return k > 0 ? we : 0;
        }
        if (redact_word_index(s, p + g, we, secret_stops) >= 0) {
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

        if (redact_run_at(s, n, q, false, false, &r) && r.ndigits >= 3) {
            redact_run_span(s, n, &r, q, &a, &b);
        } else {
            b = q;
            while (b < n && !redact_blank_at(s, n, b) && s[b] != '\n' && s[b] != '\r') {
                b++;
            }
        }
        c = b;
        while (c > a && is_trailing_punct(s[c - 1])) {
            c--;
        }
        if (c == a || redact_word_index(s, a, c, secret_stops) >= 0 ||
            (k == 0 && redact_word_index(s, a, c, not_secrets) >= 0)) {
            break;
        }
        if (k == 0) {
            first_end = c;
        }
        last = a;
        end = c;
        if (c < b || !(g = redact_gap_at(s, n, b, GAP_MAX))) {
            break;
        }
        q = b + g;
    }
    if (end && end == first_end && redact_word_index(s, p, end, not_secrets_alone) >= 0) {
        return 0;
    }
    if (end && redact_word_index(s, last, end, secret_lengths) >= 0) {
        return 0;
    }
    return end;
}

/* A secret after the trigger word t ("my pin is four four two one", "the
 * password is hunter two", "cvv 123"): the secret's span, not the
 * trigger's. */
bool redact_secret_at(const unsigned char *s, size_t n, const struct tok *t, const struct state *st,
                      size_t *ret_start, size_t *ret_end)
{
    size_t a = t->start, e = t->end, p, q, we;
    bool linked = false, far = false, any_form;
    struct run r;

    if (e - a > 2 && s[e - 2] == '\'' && lower(s[e - 1]) == 's') {
        e -= 2; /* "pin's" */
        linked = true;
    }
    if (redact_word_index(s, a, e, secret_words) >= 0) {
        any_form = true;
    } else if (redact_word_is(s, a, e, "code")) {
        if (st->has_prev && redact_word_index(s, st->prev_start, st->prev_end, not_codes) >= 0) {
            return false;
        }
        any_form =
            st->has_prev && redact_word_index(s, st->prev_start, st->prev_end, secret_codes) >= 0;
    } else {
        return false;
    }
    p = t->end;
    if (!linked) {
        q = p + redact_gap_at(s, n, p, GAP_MAX);
        if (q > p && redact_word_at(s, n, q, &we) && redact_word_index(s, q, we, qualifiers) >= 0) {
            p = we;
        }
        q = p + redact_gap_at(s, n, p, GAP_MAX);
        if (q < n && (s[q] == ':' || s[q] == '=')) {
            linked = true;
            p = q + 1;
        } else if (q > p && redact_word_at(s, n, q, &we) &&
                   redact_word_index(s, q, we, links) >= 0) {
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
    q = p + redact_gap_at(s, n, p, GAP_MAX);
    if (q == p && (!linked || redact_word_byte_before(s, n, q))) {
        return false;
    }
    p = q;
    if (linked && redact_word_at(s, n, p, &we) && redact_word_index(s, p, we, fillers) >= 0 &&
        (q = redact_gap_at(s, n, we, GAP_MAX))) {
        p = we + q;
    }
    if (p >= n) {
        return false;
    }
    /* A number of three digits or more is the secret by itself; a shorter
     * one may be the start of a password ("oh so secret"). */
    if (redact_run_at(s, n, p, false, true, &r) && (r.ndigits >= 3 || !any_form || !linked) &&
        (!far || r.ndigits >= 3)) {
        redact_run_span(s, n, &r, p, ret_start, ret_end);
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
            struct tok t = redact_tok_at(s, n, q), w;

            if (t.end - q > 4) {
                break;
            }
            e = t.end;
            if (e < n && is_alpha(s[e])) {
                w = redact_tok_at(s, n, e);
                if (redact_word_index(s, e, w.end, ordinal_suffixes) < 0) {
                    break;
                }
                e = w.end;
            }
            if (redact_word_byte_at(s, n, e)) {
                break;
            }
            end = e;
            numeric = true;
            if (e + 1 < n && (s[e] == '/' || s[e] == '-' || s[e] == '.') && is_digit(s[e + 1])) {
                q = e + 1; /* 04/07/1982 */
                continue;
            }
        } else if (redact_word_at(s, n, q, &e)) {
            if (redact_word_index(s, q, e, ordinals) >= 0) {
                end = e;
                numeric = true;
            } else if (redact_word_index(s, q, e, months) >= 0) {
                end = e;
            } else if (redact_group_at(s, n, q, &g)) {
                end = e = g.end;
                numeric = true;
            } else if (redact_word_index(s, q, e, date_fillers) < 0) {
                break;
            }
        } else {
            break;
        }
        q = e;
        if (q < n && s[q] == ',') {
            q++;
        }
        if (!(gap = redact_gap_at(s, n, q, GAP_MAX))) {
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
    size_t q = p + redact_gap_at(s, n, p, GAP_MAX), we;

    if (q < n && s[q] == ':') {
        p = q + 1;
        q = p + redact_gap_at(s, n, p, GAP_MAX);
    } else if (q > p && redact_word_at(s, n, q, &we) &&
               redact_word_index(s, q, we, is_words) >= 0) {
        p = we;
        if (p < n && s[p] == ':') {
            p++;
        }
        q = p + redact_gap_at(s, n, p, GAP_MAX);
    }
    if (also && q > p && redact_word_at(s, n, q, &we) && redact_word_index(s, q, we, also) >= 0) {
        p = we;
        q = p + redact_gap_at(s, n, p, GAP_MAX);
    }
    return q > p && q < n ? q : 0;
}

/* A date of birth after its cue at t: "date of birth", "birth date",
 * "birthdate", "dob", "birthday", "born". */
bool redact_birthdate_at(const unsigned char *s, size_t n, const struct tok *t, size_t *ret_start,
                         size_t *ret_end)
{
    static const char *const cues[] = {"birthdate", "dob", "birthday", "born", NULL};
    static const char *const on[] = {"on", NULL};
    size_t e = t->end, p, q, we, end;

    if (redact_word_is(s, t->start, t->end, "date")) {
        /* "date of birth" */
        q = e + redact_gap_at(s, n, e, GAP_MAX);
        if (q == e || !redact_word_at(s, n, q, &we) || !redact_word_is(s, q, we, "of")) {
            return false;
        }
        e = we;
        q = e + redact_gap_at(s, n, e, GAP_MAX);
        if (q == e || !redact_word_at(s, n, q, &we) || !redact_word_is(s, q, we, "birth")) {
            return false;
        }
        e = we;
    } else if (redact_word_is(s, t->start, t->end, "birth")) {
        q = e + redact_gap_at(s, n, e, GAP_MAX);
        if (q == e || !redact_word_at(s, n, q, &we) || !redact_word_is(s, q, we, "date")) {
            return false;
        }
        e = we;
    } else if (redact_word_index(s, t->start, t->end, cues) < 0) {
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

    if (redact_word_at(s, n, p, &e) && redact_word_index(s, p, e, unit_words) >= 0) {
        size_t gap = redact_gap_at(s, n, e, GAP_MAX);

        if (!gap) {
            return 0;
        }
        p = e + gap;
    }
    if (p < n && is_digit(s[p])) {
        e = redact_tok_at(s, n, p).end;
        if (e - p > 5) {
            return 0;
        }
        if (e < n && is_alpha(s[e]) && !redact_word_byte_at(s, n, e + 1)) {
            e++; /* 221b */
        }
        return redact_word_byte_at(s, n, e) ? 0 : e;
    }
    if (redact_group_at(s, n, p, &g) && g.nd <= 4) {
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
    if (e < n && s[e] == ',' &&
        (q = house_number_at(s, n, e + 1 + redact_gap_at(s, n, e + 1, GAP_MAX)))) {
        e = q;
    }
    for (unsigned k = 0; k <= STREET_WORDS; k++) {
        size_t gap = redact_gap_at(s, n, e, GAP_MAX);

        if (!gap || !redact_word_at(s, n, e + gap, &we) ||
            redact_word_index(s, e + gap, we, secret_stops) >= 0) {
            return 0;
        }
        if (k > 0 && redact_word_index(s, e + gap, we, street_types) >= 0) {
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

    if (redact_word_at(s, n, p, &we) && redact_word_index(s, p, we, not_secrets) >= 0) {
        return 0;
    }
    for (unsigned k = 0; k < ADDRESS_WORDS && q < n; k++) {
        size_t e = q, gap;

        while (e < n && is_alnum(s[e])) {
            e++;
        }
        if (e == q || redact_word_byte_at(s, n, e) ||
            redact_word_index(s, q, e, secret_stops) >= 0) {
            break;
        }
        street |= redact_word_index(s, q, e, street_types) >= 0;
        end = e;
        if (e < n && s[e] == ',') {
            e++;
        }
        if (!(gap = redact_gap_at(s, n, e, GAP_MAX))) {
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

        if (redact_group_at(s, n, q, &g)) {
            e = g.end;
            has_digit = true;
        } else {
            while (e < n && (is_alnum(s[e]) || (s[e] == '-' && e > q && e + 1 < n &&
                                                is_digit(s[e - 1]) && is_digit(s[e + 1])))) {
                has_digit |= is_digit(s[e]);
                e++;
            }
            if (e == q || e - q > 8 || redact_word_byte_at(s, n, e) || (!has_digit && e - q > 1)) {
                break;
            }
        }
        digit |= has_digit;
        end = e;
        if (!(gap = redact_gap_at(s, n, e, GAP_MAX))) {
            break;
        }
        q = e + gap;
    }
    return digit ? end : 0;
}

/* An address after its cue at t: "my address is ...", "i live at 42 ...",
 * "send it to 42 ...", "my postcode is ...". */
bool redact_address_at(const unsigned char *s, size_t n, const struct tok *t,
                       const struct state *st, size_t *ret_start, size_t *ret_end)
{
    static const char *const not_postal[] = {"email", "mail",     "ip",     "web",    "mac",
                                             "url",   "internet", "server", "memory", NULL};
    static const char *const owners[] = {"my", "our", "home", "his", "her", "their", NULL};
    static const char *const live[] = {"live", "lives", "living", "stay", "staying", NULL};
    static const char *const at_on[] = {"at", "on", NULL};
    static const char *const code[] = {"code", NULL};
    size_t a = t->start, e = t->end, p, q, we, end = 0;

    if (redact_word_is(s, a, e, "address")) {
        if (st->has_prev && redact_word_index(s, st->prev_start, st->prev_end, not_postal) >= 0) {
            return false;
        }
        if ((p = value_start(s, n, e, NULL))) {
            end = address_words_at(s, n, p);
        }
    } else if (redact_word_index(s, a, e, live) >= 0) {
        q = e + redact_gap_at(s, n, e, GAP_MAX);
        if (q > e && redact_word_at(s, n, q, &we) && redact_word_index(s, q, we, at_on) >= 0 &&
            (p = q = we + redact_gap_at(s, n, we, GAP_MAX)) > we) {
            end = street_at(s, n, p);
        }
    } else if (redact_word_is(s, a, e, "to") && st->send_left) {
        p = e + redact_gap_at(s, n, e, GAP_MAX);
        end = p > e ? street_at(s, n, p) : 0;
    } else if (st->has_prev && redact_word_index(s, st->prev_start, st->prev_end, owners) >= 0) {
        /* "my postcode", "my zip code", "our post code": a weather
         * question's "zip code 90210" is nobody's */
        if (redact_word_is(s, a, e, "post") || redact_word_is(s, a, e, "postal") ||
            redact_word_is(s, a, e, "zip")) {
            q = e + redact_gap_at(s, n, e, GAP_MAX);
            if (q > e && redact_word_at(s, n, q, &we) && redact_word_index(s, q, we, code) >= 0) {
                e = we;
            } else if (!redact_word_is(s, a, e, "zip")) {
                return false;
            }
        } else if (!redact_word_is(s, a, e, "postcode") && !redact_word_is(s, a, e, "zipcode") &&
                   !redact_word_is(s, a, e, "eircode")) {
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
