/* E-mail addresses, written or spoken ("jane at example dot com"), and
 * codes read across tokens: IBANs (mod-97) and UK National Insurance
 * numbers. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact-internal.h"

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
    size_t p = i + redact_gap_at(s, n, i, GAP_MAX), e, g;

    if (p == i || !redact_word_at(s, n, p, &e) || redact_word_index(s, p, e, words) < 0) {
        return 0;
    }
    g = redact_gap_at(s, n, e, GAP_MAX);
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
        if ((q = redact_gap_at(s, n, p, GAP_MAX)) && redact_group_at(s, n, p + q, &g)) {
            p += q;
            *ret_seps = true;
            continue;
        }
        break;
    }
    if (redact_word_byte_at(s, n, p)) {
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
        return redact_word_index(s, a, b, tlds) >= 0;
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
        } else if (!redact_word_byte_at(s, n, q) && tld_ok(s, p, q, spoken)) {
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
bool redact_email_at(const unsigned char *s, size_t n, size_t i, const struct state *st,
                     size_t *ret_end)
{
    size_t p = i, first = atom_at(s, n, i), end, we, g, first_label_end = 0;
    bool written = false, seps = false, chunk_seps;
    unsigned chunks = 0;

    if (first == 0 || redact_word_byte_before(s, n, i)) {
        return false;
    }
    for (;;) {
        if (!local_at(s, n, p, &end, &chunk_seps)) {
            return false;
        }
        seps |= chunk_seps;
        chunks++;
        g = redact_gap_at(s, n, end, GAP_MAX);
        if (end + g < n && s[end + g] == '@') {
            written = true;
            p = end + g + 1;
            p += redact_gap_at(s, n, p, GAP_MAX);
            break;
        }
        if (g && redact_word_at(s, n, end + g, &we) && redact_word_is(s, end + g, we, "at")) {
            size_t g2 = redact_gap_at(s, n, we, GAP_MAX);

            if (!g2) {
                return false;
            }
            p = we + g2;
            break;
        }
        /* "my email is john smith at ..." */
        if (!g || chunks == LOCAL_WORDS || !redact_email_cued(st)) {
            return false;
        }
        p = end + g;
        if (redact_word_index(s, p, p + atom_at(s, n, p), not_local) >= 0) {
            return false;
        }
    }
    if (!domain_at(s, n, p, !written, &end, &first_label_end)) {
        return false;
    }
    if ((!written || chunks > 1) && redact_word_index(s, i, i + first, not_local) >= 0) {
        return false;
    }
    if (!written && !seps && !redact_email_cued(st) &&
        redact_word_index(s, p, first_label_end, providers) < 0) {
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

void redact_code_at(const unsigned char *s, size_t n, size_t i, struct code *k)
{
    size_t p = i;

    k->len = k->nb = 0;
    while (k->nb < CODE_MAX && p < n) {
        struct tok t = redact_tok_at(s, n, p);
        struct group g;
        size_t end, gap;

        if (t.kind == TOK_DIGITS) {
            if (t.end - p > CODE_MAX - k->len) {
                break;
            }
            memcpy(k->c + k->len, s + p, t.end - p);
            k->len += t.end - p;
            end = t.end;
        } else if (t.kind == TOK_WORD && redact_group_at(s, n, p, &g)) {
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
        if (redact_word_byte_at(s, n, end)) {
            p = end; /* "GB" glued to "82" */
        } else if ((gap = redact_gap_at(s, n, end, GAP_MAX))) {
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
        if (k->at_len[b] == len && !redact_word_byte_at(s, n, k->at_end[b])) {
            return k->at_end[b];
        }
    }
    return 0;
}

size_t redact_iban_end(const unsigned char *s, size_t n, const struct code *k)
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
size_t redact_ni_end(const unsigned char *s, size_t n, const struct code *k)
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
