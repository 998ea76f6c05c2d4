/* Signed update bundles (doc/updates.md): a strict, bounded parser that
 * gives every refusal a reason and an offset, Ed25519 verification over a
 * domain-separated message, and the encoder and signer hark-sign uses. */
#include "update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base-err.h"
#include "protocol.h"

_Static_assert(UPDATE_BUNDLE_MAX == PROTO_UPDATE_MAX, "a bundle must fit the update message");
_Static_assert(UPDATE_SIG_BYTES == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(UPDATE_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(UPDATE_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");

#define DOMAIN_LEN sizeof(UPDATE_SIGN_DOMAIN) /* with its NUL */
#define HEADER_LEN (UPDATE_MAGIC_LEN + 1 + 8 + 8)
#define RULE_NAME_MAX 32
#define KEY_HEX_LEN 64
#define KEY_B64_LEN 44

static const char *const rule_names[UPDATE_RULES] = {
    [UPDATE_DROP_INTENTS] = "drop_intents",     [UPDATE_DROP_WORDS] = "drop_words",
    [UPDATE_REDACT_INTENTS] = "redact_intents", [UPDATE_REDACT_WORDS] = "redact_words",
    [UPDATE_ALLOW_INTENTS] = "allow_intents",   [UPDATE_DEFAULT_ACTION] = "default_action",
};

const char *update_rule_name(enum update_rule rule)
{
    return (unsigned)rule < UPDATE_RULES ? rule_names[rule] : NULL;
}

int update_rule_find(const char *name)
{
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (strcmp(name, rule_names[k]) == 0) {
            return k;
        }
    }
    return -ENOENT;
}

const char *update_rule_check(enum update_rule rule, const char *value)
{
    enum policy_action action;

    switch (rule) {
    case UPDATE_DROP_INTENTS:
    case UPDATE_REDACT_INTENTS:
    case UPDATE_ALLOW_INTENTS:
        return policy_check_intents(value);
    case UPDATE_DROP_WORDS:
    case UPDATE_REDACT_WORDS:
        return policy_check_words(value);
    case UPDATE_DEFAULT_ACTION:
        return policy_action_parse(value, &action) < 0 ? "is not drop, redact or allow" : NULL;
    case UPDATE_RULES:
        break;
    }
    return "is not a rule";
}

/* ---- reading ----------------------------------------------------------- */

struct reader {
    const uint8_t *data;
    size_t len;
    size_t off;
    char *err;
    size_t errsz;
};

static int need(struct reader *r, size_t n, const char *what)
{
    if (r->len - r->off < n) {
        err_set(r->err, r->errsz, "truncated: the file ends at offset %zu, in %s", r->len, what);
        return -EBADMSG;
    }
    return 0;
}

static int read_u8(struct reader *r, const char *what, unsigned *ret)
{
    int e = need(r, 1, what);

    if (e < 0) {
        return e;
    }
    *ret = r->data[r->off++];
    return 0;
}

static int read_u16(struct reader *r, const char *what, unsigned *ret)
{
    int e = need(r, 2, what);

    if (e < 0) {
        return e;
    }
    *ret = (unsigned)r->data[r->off] << 8 | r->data[r->off + 1];
    r->off += 2;
    return 0;
}

static int read_u64(struct reader *r, const char *what, uint64_t *ret)
{
    uint64_t v = 0;
    int e = need(r, 8, what);

    if (e < 0) {
        return e;
    }
    for (size_t i = 0; i < 8; i++) {
        v = v << 8 | r->data[r->off + i];
    }
    r->off += 8;
    *ret = v;
    return 0;
}

/* Text of n bytes into out (NUL-terminated; the caller checked n fits):
 * valid UTF-8 without control characters, because rules end up in events
 * and log lines. */
static int read_text(struct reader *r, size_t n, const char *what, char *out)
{
    const uint8_t *s;
    size_t i = 0;
    int e = need(r, n, what);

    if (e < 0) {
        return e;
    }
    s = r->data + r->off;
    while (i < n) {
        size_t k = 0;
        uint8_t lo = 0x80, hi = 0xBF;

        if (s[i] < 0x20 || s[i] == 0x7f) {
            err_set(r->err, r->errsz, "%s: a control character at offset %zu", what, r->off + i);
            return -EBADMSG;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0xC2 && s[i] <= 0xDF) {
            k = 2;
        } else if (s[i] >= 0xE0 && s[i] <= 0xEF) {
            k = 3;
            lo = s[i] == 0xE0 ? 0xA0 : 0x80;
            hi = s[i] == 0xED ? 0x9F : 0xBF;
        } else if (s[i] >= 0xF0 && s[i] <= 0xF4) {
            k = 4;
            lo = s[i] == 0xF0 ? 0x90 : 0x80;
            hi = s[i] == 0xF4 ? 0x8F : 0xBF;
        }
        bool ok = k > 0 && n - i >= k && s[i + 1] >= lo && s[i + 1] <= hi;
        for (size_t j = 2; ok && j < k; j++) {
            ok = s[i + j] >= 0x80 && s[i + j] <= 0xBF;
        }
        if (!ok) {
            err_set(r->err, r->errsz, "%s: invalid UTF-8 at offset %zu", what, r->off + i);
            return -EBADMSG;
        }
        i += k;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    r->off += n;
    return 0;
}

/* A pin of n bytes (its length byte, at offset at, is read). */
static int read_pin(struct reader *r, size_t at, unsigned n, const char *what,
                    char out[PIN_STRING_MAX])
{
    int e;

    if (n == 0 || n >= PIN_STRING_MAX) {
        err_set(r->err, r->errsz, "%s at offset %zu: %u bytes long, not a pin", what, at, n);
        return -EBADMSG;
    }
    e = read_text(r, n, what, out);
    if (e < 0) {
        return e;
    }
    if (!pin_is_valid(out)) {
        err_set(r->err, r->errsz, "%s at offset %zu is not sha256/ and the base64 of 32 bytes",
                  what, at);
        return -EBADMSG;
    }
    return 0;
}

static int parse_rules(struct reader *r, struct update_bundle *b)
{
    unsigned count = 0;
    int next = 0; /* rules come in table order, each at most once */
    int e = read_u8(r, "the rule count", &count);

    if (e < 0) {
        return e;
    }
    if (count > UPDATE_RULES) {
        err_set(r->err, r->errsz, "%u rules, at most %d", count, UPDATE_RULES);
        return -EBADMSG;
    }
    for (unsigned i = 0; i < count; i++) {
        char name[RULE_NAME_MAX + 1];
        size_t at = r->off;
        unsigned name_len = 0, value_len = 0;
        int k;

        e = read_u8(r, "a rule name", &name_len);
        if (e < 0) {
            return e;
        }
        if (name_len == 0 || name_len > RULE_NAME_MAX) {
            err_set(r->err, r->errsz, "rule name at offset %zu: %u bytes long", at, name_len);
            return -EBADMSG;
        }
        e = read_text(r, name_len, "a rule name", name);
        if (e < 0) {
            return e;
        }
        k = update_rule_find(name);
        if (k < 0) {
            err_set(r->err, r->errsz, "unknown rule '%s' at offset %zu", name, at);
            return -EBADMSG;
        }
        if (k < next) {
            err_set(r->err, r->errsz,
                      "rule %s at offset %zu is out of order or given twice (the order is "
                      "drop_intents, drop_words, redact_intents, redact_words, allow_intents, "
                      "default_action)",
                      name, at);
            return -EBADMSG;
        }
        next = k + 1;
        e = read_u16(r, "a rule value", &value_len);
        if (e < 0) {
            return e;
        }
        if (value_len > UPDATE_RULE_MAX) {
            err_set(r->err, r->errsz, "rule %s: %u bytes, at most %d", name, value_len,
                      UPDATE_RULE_MAX);
            return -EBADMSG;
        }
        e = read_text(r, value_len, name, b->rules[k]);
        if (e < 0) {
            return e;
        }
        const char *why = update_rule_check((enum update_rule)k, b->rules[k]);
        if (why) {
            err_set(r->err, r->errsz, "rule %s %s", name, why);
            return -EBADMSG;
        }
        b->has_rule[k] = true;
    }
    return 0;
}

/* What can be said of the bundle before reading it: its size and magic. */
static int check_envelope(const uint8_t *data, size_t len, const struct update_bundle *ret,
                          char *err, size_t errsz)
{
    if (!data || !ret) {
        err_set(err, errsz, "no bundle");
        return -EINVAL;
    }
    if (len > UPDATE_BUNDLE_MAX) {
        err_set(err, errsz, "%zu bytes, more than a bundle may have (%d)", len,
                  UPDATE_BUNDLE_MAX);
        return -EMSGSIZE;
    }
    if (len == 0) {
        err_set(err, errsz, "empty, not an update bundle");
        return -EBADMSG;
    }
    /* The magic first, so that the wrong file gets the right message. */
    if (len < UPDATE_MAGIC_LEN) {
        err_set(err, errsz, "%zu bytes, too short for an update bundle", len);
        return -EBADMSG;
    }
    if (memcmp(data, UPDATE_MAGIC, UPDATE_MAGIC_LEN) != 0) {
        err_set(err, errsz, "not an update bundle (no %s magic)", UPDATE_MAGIC);
        return -EBADMSG;
    }
    return 0;
}

/* After the magic: the format, the version, the creation time and the
 * device scope. */
static int parse_header(struct reader *r, struct update_bundle *b)
{
    unsigned format = 0, scope_len = 0;
    size_t at;
    int e;

    e = read_u8(r, "the format", &format);
    if (e < 0) {
        return e;
    }
    if (format != UPDATE_FORMAT) {
        err_set(r->err, r->errsz, "format %u; this hark reads format %d", format,
                  UPDATE_FORMAT);
        return -EBADMSG;
    }
    e = read_u64(r, "the version", &b->version);
    if (e < 0) {
        return e;
    }
    if (b->version == 0) {
        err_set(r->err, r->errsz, "version 0 (versions start at 1)");
        return -EBADMSG;
    }
    e = read_u64(r, "the creation time", &b->created);
    if (e < 0) {
        return e;
    }
    at = r->off;
    e = read_u8(r, "the device scope", &scope_len);
    if (e < 0) {
        return e;
    }
    if (scope_len > 0) {
        return read_pin(r, at, scope_len, "the device scope", b->scope);
    }
    return 0;
}

/* The pin count and the pins: 1 to UPDATE_PINS_MAX, none twice. */
static int parse_pins(struct reader *r, struct update_bundle *b)
{
    unsigned n_pins = 0;
    int e = read_u8(r, "the pin count", &n_pins);

    if (e < 0) {
        return e;
    }
    if (n_pins == 0 || n_pins > UPDATE_PINS_MAX) {
        err_set(r->err, r->errsz, "%u pins; an update carries 1 to %d", n_pins,
                  UPDATE_PINS_MAX);
        return -EBADMSG;
    }
    for (unsigned i = 0; i < n_pins; i++) {
        unsigned pin_len = 0;
        char what[32];
        size_t at = r->off;

        snprintf(what, sizeof(what), "pin %u", i + 1);
        e = read_u8(r, what, &pin_len);
        if (e < 0) {
            return e;
        }
        e = read_pin(r, at, pin_len, what, b->pins[i]);
        if (e < 0) {
            return e;
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(b->pins[i], b->pins[j]) == 0) {
                err_set(r->err, r->errsz, "pin %u is pin %u again", i + 1, j + 1);
                return -EBADMSG;
            }
        }
    }
    b->n_pins = n_pins;
    return 0;
}

/* What is left after the rules must be the signature, exactly. */
static int check_signature_room(const struct reader *r)
{
    size_t left = r->len - r->off;

    if (left < UPDATE_SIG_BYTES) {
        err_set(r->err, r->errsz, "truncated: the signature has %zu of %d bytes", left,
                  UPDATE_SIG_BYTES);
        return -EBADMSG;
    }
    if (left > UPDATE_SIG_BYTES) {
        err_set(r->err, r->errsz, "%zu bytes of trailing garbage after the signature",
                  left - UPDATE_SIG_BYTES);
        return -EBADMSG;
    }
    return 0;
}

int update_parse(const uint8_t *data, size_t len, struct update_bundle *ret, char *err,
                 size_t errsz)
{
    struct update_bundle b = {0};
    struct reader r = {
        .data = data, .len = len, .off = UPDATE_MAGIC_LEN, .err = err, .errsz = errsz};
    int e;

    e = check_envelope(data, len, ret, err, errsz);
    if (e < 0) {
        return e;
    }
    e = parse_header(&r, &b);
    if (e < 0) {
        return e;
    }
    e = parse_pins(&r, &b);
    if (e < 0) {
        return e;
    }
    e = parse_rules(&r, &b);
    if (e < 0) {
        return e;
    }
    e = check_signature_room(&r);
    if (e < 0) {
        return e;
    }
    *ret = b;
    return 0;
}

/* The signed message: the domain prefix, then the body. */
static size_t signed_message(const uint8_t *body, size_t len,
                             uint8_t out[DOMAIN_LEN + UPDATE_BUNDLE_MAX])
{
    memcpy(out, UPDATE_SIGN_DOMAIN, DOMAIN_LEN);
    memcpy(out + DOMAIN_LEN, body, len);
    return DOMAIN_LEN + len;
}

int update_verify(const uint8_t *data, size_t len, const uint8_t key[UPDATE_KEY_BYTES],
                  struct update_bundle *ret, char *err, size_t errsz)
{
    uint8_t msg[DOMAIN_LEN + UPDATE_BUNDLE_MAX];
    struct update_bundle b;
    size_t body;
    int e = update_parse(data, len, &b, err, errsz);

    if (e < 0) {
        return e;
    }
    if (sodium_init() < 0) {
        err_set(err, errsz, "libsodium cannot start");
        return -EIO;
    }
    body = len - UPDATE_SIG_BYTES;
    if (crypto_sign_verify_detached(data + body, msg, signed_message(data, body, msg), key) != 0) {
        err_set(err, errsz, "bad signature: not signed by the release key");
        return -EKEYREJECTED;
    }
    *ret = b;
    return 0;
}

int update_check(const struct update_bundle *b, uint64_t applied, const char *device_fp, char *err,
                 size_t errsz)
{
    if (b->version <= applied) {
        err_set(err, errsz,
                  "version %" PRIu64 " is not newer than the applied version %" PRIu64
                  ": a replay or a rollback",
                  b->version, applied);
        return -ESTALE;
    }
    if (b->scope[0] && !device_fp) {
        err_set(err, errsz, "for device %s, and this device has no identity", b->scope);
        return -EACCES;
    }
    if (b->scope[0] && strcmp(b->scope, device_fp) != 0) {
        err_set(err, errsz, "for device %s, not this one (%s)", b->scope, device_fp);
        return -EACCES;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

struct writer {
    uint8_t *out;
    size_t size;
    size_t off;
    bool overflow;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (w->overflow || w->size - w->off < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->out + w->off, p, n);
    w->off += n;
}

static void put_u8(struct writer *w, size_t v)
{
    uint8_t b = (uint8_t)v;

    if (v > UINT8_MAX) {
        w->overflow = true;
    }
    put(w, &b, 1);
}

static void put_u64(struct writer *w, uint64_t v)
{
    uint8_t b[8];

    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    put(w, b, 8);
}

static void put_text8(struct writer *w, const char *s)
{
    size_t n = strlen(s);

    put_u8(w, n);
    put(w, s, n);
}

int update_encode(const struct update_bundle *b, uint8_t *out, size_t outsz, size_t *ret_len)
{
    struct writer w = {.out = out, .size = outsz};
    size_t n_rules = 0;

    if (b->n_pins > UPDATE_PINS_MAX) {
        return -EINVAL;
    }
    put(&w, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
    put_u8(&w, UPDATE_FORMAT);
    put_u64(&w, b->version);
    put_u64(&w, b->created);
    put_text8(&w, b->scope);
    put_u8(&w, b->n_pins);
    for (size_t i = 0; i < b->n_pins; i++) {
        put_text8(&w, b->pins[i]);
    }
    for (int k = 0; k < UPDATE_RULES; k++) {
        n_rules += b->has_rule[k];
    }
    put_u8(&w, n_rules);
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (b->has_rule[k]) {
            size_t n = strnlen(b->rules[k], UPDATE_RULE_MAX + 1);
            uint8_t len16[2] = {(uint8_t)(n >> 8), (uint8_t)n};

            put_text8(&w, rule_names[k]);
            put(&w, len16, 2);
            put(&w, b->rules[k], n);
        }
    }
    if (w.overflow) {
        return -EMSGSIZE;
    }
    *ret_len = w.off;
    return 0;
}

int update_sign(const struct update_bundle *b, const uint8_t secret[UPDATE_SECRET_BYTES],
                uint8_t *out, size_t outsz, size_t *ret_len, char *err, size_t errsz)
{
    uint8_t msg[DOMAIN_LEN + UPDATE_BUNDLE_MAX];
    struct update_bundle check;
    size_t body = 0;
    int e;

    if (sodium_init() < 0) {
        err_set(err, errsz, "libsodium cannot start");
        return -EIO;
    }
    e = update_encode(b, out, outsz < UPDATE_BUNDLE_MAX ? outsz : UPDATE_BUNDLE_MAX, &body);
    if (e < 0 || outsz - body < UPDATE_SIG_BYTES || body + UPDATE_SIG_BYTES > UPDATE_BUNDLE_MAX) {
        err_set(err, errsz, "the bundle would be larger than %d bytes", UPDATE_BUNDLE_MAX);
        return -EMSGSIZE;
    }
    if (crypto_sign_detached(out + body, NULL, msg, signed_message(out, body, msg), secret) != 0) {
        err_set(err, errsz, "cannot sign");
        return -EIO;
    }
    e = update_parse(out, body + UPDATE_SIG_BYTES, &check, err, errsz);
    if (e < 0) {
        sodium_memzero(out, outsz);
        return e;
    }
    *ret_len = body + UPDATE_SIG_BYTES;
    return 0;
}

/* ---- using ------------------------------------------------------------- */

bool update_has_policy(const struct update_bundle *b)
{
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (b->has_rule[k]) {
            return true;
        }
    }
    return false;
}

void update_policy_rules(const struct update_bundle *b, struct policy_rules *rules)
{
    const char **lists[] = {
        [UPDATE_DROP_INTENTS] = &rules->drop_intents,
        [UPDATE_DROP_WORDS] = &rules->drop_words,
        [UPDATE_REDACT_INTENTS] = &rules->redact_intents,
        [UPDATE_REDACT_WORDS] = &rules->redact_words,
        [UPDATE_ALLOW_INTENTS] = &rules->allow_intents,
    };

    for (int k = 0; k < UPDATE_DEFAULT_ACTION; k++) {
        if (b->has_rule[k]) {
            *lists[k] = b->rules[k];
        }
    }
    /* Parsed when the bundle was; drop is the safe side regardless. */
    if (b->has_rule[UPDATE_DEFAULT_ACTION] &&
        policy_action_parse(b->rules[UPDATE_DEFAULT_ACTION], &rules->default_action) < 0) {
        rules->default_action = POLICY_DROP;
    }
}

void update_describe(const struct update_bundle *b, char *out, size_t outsz)
{
    char created[32], rules[128] = "";
    size_t used = 0;
    /* Up to 9999-12-31, where time_t holds it. */
    const uint64_t last = sizeof(time_t) >= 8 ? 253402300799ULL : (uint64_t)INT32_MAX;
    time_t t = b->created <= last ? (time_t)b->created : -1;
    struct tm tm;

    /* A date a person can read; a time no calendar holds as the number. */
    if (t < 0 || !gmtime_r(&t, &tm) ||
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(created, sizeof(created), "%" PRIu64, b->created);
    }
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (b->has_rule[k]) {
            int n = snprintf(rules + used, sizeof(rules) - used, " %s", rule_names[k]);
            used += n > 0 && (size_t)n < sizeof(rules) - used ? (size_t)n : 0;
        }
    }
    snprintf(out, outsz, "version %" PRIu64 " (created %s), %zu pin%s, %s%s, %s%s", b->version,
             created, b->n_pins, b->n_pins == 1 ? "" : "s", used ? "rules" : "no rules", rules,
             b->scope[0] ? "for device " : "any device", b->scope);
}

int update_key_parse(const char *text, size_t len, uint8_t ret[UPDATE_KEY_BYTES])
{
    uint8_t key[UPDATE_KEY_BYTES];
    char again[UPDATE_KEY_TEXT];
    size_t start = 0, end = len, n = 0;

    if (!text || sodium_init() < 0) {
        return -EINVAL;
    }
    while (start < end && (text[start] == ' ' || text[start] == '\t')) {
        start++;
    }
    if (end > start && text[end - 1] == '\n') {
        end--;
    }
    if (end > start && text[end - 1] == '\r') {
        end--;
    }
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t')) {
        end--;
    }
    text += start;
    len = end - start;
    if (len == KEY_HEX_LEN) {
        if (sodium_hex2bin(key, sizeof(key), text, len, NULL, &n, NULL) != 0 || n != sizeof(key)) {
            return -EINVAL;
        }
    } else if (len == KEY_B64_LEN) {
        if (sodium_base642bin(key, sizeof(key), text, len, NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            n != sizeof(key)) {
            return -EINVAL;
        }
        /* One spelling per key: the stored text is compared as text. */
        update_key_format(key, again);
        if (memcmp(again, text, KEY_B64_LEN) != 0) {
            return -EINVAL;
        }
    } else {
        return -EINVAL;
    }
    memcpy(ret, key, sizeof(key));
    return 0;
}

void update_key_format(const uint8_t key[UPDATE_KEY_BYTES], char out[UPDATE_KEY_TEXT])
{
    sodium_bin2base64(out, UPDATE_KEY_TEXT, key, UPDATE_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
}
