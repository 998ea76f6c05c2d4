/* The redactor: finds card numbers, IBANs, phone numbers, e-mail addresses,
 * national ids, secrets and long numbers in a transcript or an answer, in
 * digits or spelled out, and puts a typed marker in the place of each.
 * This file holds the scan that runs the matchers of the other redact-*.c
 * files over a text, the entry points and the slots. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact-internal.h"

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

    if ((t->kind == TOK_WORD || t->kind == TOK_DIGITS) &&
        !redact_word_byte_before(s, n, t->start)) {
        if (redact_email_at(s, n, t->start, st, &end)) {
            *sp = (struct span){t->start, end, REDACT_EMAIL};
            return true;
        }
        if (t->kind == TOK_WORD && is_alpha(s[t->start])) {
            struct code k;

            redact_code_at(s, n, t->start, &k);
            if ((end = redact_iban_end(s, n, &k))) {
                *sp = (struct span){t->start, end, REDACT_IBAN};
                return true;
            }
            if ((end = redact_ni_end(s, n, &k))) {
                *sp = (struct span){t->start, end, REDACT_ID};
                return true;
            }
        }
    }
    if (t->kind == TOK_WORD && !redact_word_byte_before(s, n, t->start) &&
        !redact_word_byte_at(s, n, t->end) && redact_secret_at(s, n, t, st, &sp->start, &sp->end)) {
        sp->kind = REDACT_SECRET;
        return true;
    }
    if (t->kind == TOK_WORD && !redact_word_byte_before(s, n, t->start) &&
        !redact_word_byte_at(s, n, t->end)) {
        if (redact_birthdate_at(s, n, t, &sp->start, &sp->end)) {
            sp->kind = REDACT_BIRTHDATE;
            return true;
        }
        if (redact_address_at(s, n, t, st, &sp->start, &sp->end)) {
            sp->kind = REDACT_ADDRESS;
            return true;
        }
    }
    if (redact_run_at(s, n, t->start, false, redact_number_announced(s, st), &r)) {
        struct run c;

        if (r.end < n && s[r.end] == ',' &&
            redact_run_at(s, n, t->start, true, redact_number_announced(s, st), &c) &&
            redact_comma_run(s, n, &c, st->ctx, &sp->kind)) {
            redact_run_span(s, n, &c, copied, &sp->start, &sp->end);
            return true;
        }
        if (redact_classify(s, n, &r, st->ctx, &sp->kind)) {
            redact_run_span(s, n, &r, copied, &sp->start, &sp->end);
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
        struct tok t = redact_tok_at(s, n, i);
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
            redact_note_token(s, &t, &st);
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
                redact_word_is(s, a, a + len, secret_names[k]) &&
                redact_word_is(s, a + len, b, secret_suffixes[m])) {
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
        if (secret_name_word(s, a, b) &&
            !(redact_word_is(s, a, b, "code") && has_prev &&
              redact_word_index(s, prev_a, prev_b, harmless_codes) >= 0)) {
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
