/* Tests for signed updates: the bundle parser and its signature (good, bad
 * signature, another key, no domain prefix, every truncation, trailing
 * bytes, bad pins and rules, every size limit), the anti-rollback check,
 * and the stored state (release key, applied bundle and version: atomic,
 * re-verified, fail-closed on tampering and rollback). Keys are made at run
 * time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "update-store.h"
#include "update.h"

#include "check.h"
#include "testdir.h"

#define PIN_A "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="
#define PIN_C "sha256/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA="
#define DEVICE "sha256/ZGV2aWNlIGZpbmdlcnByaW50IGZvciB0ZXN0cyEhISE="
#define OTHER_DEVICE "sha256/b3RoZXIgZGV2aWNlIGZpbmdlcnByaW50IGZvciB0ZXM="

static uint8_t pk[UPDATE_KEY_BYTES], sk[UPDATE_SECRET_BYTES];
static uint8_t pk2[UPDATE_KEY_BYTES], sk2[UPDATE_SECRET_BYTES];

static struct update_bundle sample(uint64_t version)
{
    struct update_bundle b = {.version = version, .created = 1790000000, .n_pins = 2};

    strcpy(b.pins[0], PIN_A);
    strcpy(b.pins[1], PIN_B);
    return b;
}

static size_t sign(const struct update_bundle *b, const uint8_t *secret, uint8_t *out)
{
    char err[256] = "";
    size_t len = 0;
    int r = update_sign(b, secret, out, UPDATE_BUNDLE_MAX, &len, err, sizeof(err));

    CHECKF(r == 0, "%s", err);
    return len;
}

/* Signs raw body bytes as update_sign does, for malformed bodies. */
static size_t sign_raw(const uint8_t *body, size_t len, const uint8_t *secret, uint8_t *out)
{
    uint8_t msg[sizeof(UPDATE_SIGN_DOMAIN) + UPDATE_BUNDLE_MAX * 2];

    memcpy(msg, UPDATE_SIGN_DOMAIN, sizeof(UPDATE_SIGN_DOMAIN));
    memcpy(msg + sizeof(UPDATE_SIGN_DOMAIN), body, len);
    memmove(out, body, len);
    crypto_sign_detached(out + len, NULL, msg, sizeof(UPDATE_SIGN_DOMAIN) + len, secret);
    return len + UPDATE_SIG_BYTES;
}

/* A body written field by field, for the malformed cases. */
struct raw {
    uint8_t b[UPDATE_BUNDLE_MAX * 2];
    size_t n;
};

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

static void raw_u8(struct raw *r, unsigned v)
{
    r->b[r->n++] = (uint8_t)v;
}

static void raw_u64(struct raw *r, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        raw_u8(r, (unsigned)(v >> (8 * i)) & 0xff);
    }
}

static void raw_text8(struct raw *r, const char *s)
{
    raw_u8(r, (unsigned)strlen(s));
    raw_bytes(r, s, strlen(s));
}

static void raw_rule(struct raw *r, const char *name, const char *value)
{
    size_t n = strlen(value);

    raw_text8(r, name);
    raw_u8(r, (unsigned)(n >> 8));
    raw_u8(r, (unsigned)n & 0xff);
    raw_bytes(r, value, n);
}

/* magic, format 1, version, created, no scope. */
static void raw_header(struct raw *r, uint64_t version)
{
    r->n = 0;
    raw_bytes(r, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
    raw_u8(r, UPDATE_FORMAT);
    raw_u64(r, version);
    raw_u64(r, 1790000000);
    raw_u8(r, 0);
}

/* Parses raw + a signature by sk; expects -EBADMSG and what in the reason. */
static void expect_malformed(struct raw *r, const char *what, int line)
{
    uint8_t buf[UPDATE_BUNDLE_MAX * 2 + UPDATE_SIG_BYTES];
    struct update_bundle b;
    char err[256] = "";
    size_t len = sign_raw(r->b, r->n, sk, buf);
    int e = update_verify(buf, len, pk, &b, err, sizeof(err));

    if (e != -EBADMSG || !strstr(err, what)) {
        fprintf(stderr, "test-update.c:%d: expected -EBADMSG with '%s', got %d '%s'\n", line, what,
                e, err);
        check_failures++;
    }
}

#define EXPECT_MALFORMED(r, what) expect_malformed(r, what, __LINE__)

static void test_good(void)
{
    struct update_bundle b = sample(7), got;
    uint8_t buf[UPDATE_BUNDLE_MAX];
    char err[256] = "", what[UPDATE_DESCRIBE_MAX];
    size_t len;

    strcpy(b.scope, DEVICE);
    b.has_rule[UPDATE_DROP_INTENTS] = true;
    strcpy(b.rules[UPDATE_DROP_INTENTS], "banking.*, crypto.*");
    b.has_rule[UPDATE_DEFAULT_ACTION] = true;
    strcpy(b.rules[UPDATE_DEFAULT_ACTION], "drop");
    b.has_rule[UPDATE_REDACT_WORDS] = true;
    strcpy(b.rules[UPDATE_REDACT_WORDS], "");
    len = sign(&b, sk, buf);
    CHECK(update_verify(buf, len, pk, &got, err, sizeof(err)) == 0);
    CHECK(got.version == 7 && got.created == 1790000000);
    CHECK(strcmp(got.scope, DEVICE) == 0);
    CHECK(got.n_pins == 2 && strcmp(got.pins[0], PIN_A) == 0 && strcmp(got.pins[1], PIN_B) == 0);
    CHECK(got.has_rule[UPDATE_DROP_INTENTS] && got.has_rule[UPDATE_DEFAULT_ACTION]);
    CHECK(got.has_rule[UPDATE_REDACT_WORDS] && got.rules[UPDATE_REDACT_WORDS][0] == '\0');
    CHECK(!got.has_rule[UPDATE_DROP_WORDS] && !got.has_rule[UPDATE_ALLOW_INTENTS]);
    CHECK(strcmp(got.rules[UPDATE_DROP_INTENTS], "banking.*, crypto.*") == 0);
    CHECK(update_has_policy(&got));
    CHECK(update_check(&got, 6, DEVICE, err, sizeof(err)) == 0);

    update_describe(&got, what, sizeof(what));
    CHECKF(strstr(what, "version 7") && strstr(what, "created 2026-09-21T") &&
               strstr(what, "2 pins") && strstr(what, "drop_intents redact_words default_action") &&
               strstr(what, "for device " DEVICE),
           "%s", what);

    /* The smallest: one pin, no rules, any device. */
    b = sample(1);
    b.n_pins = 1;
    len = sign(&b, sk, buf);
    CHECK(len == 8 + 1 + 8 + 8 + 1 + 1 + 1 + 51 + 1 + 64);
    CHECK(update_verify(buf, len, pk, &got, err, sizeof(err)) == 0);
    CHECK(!update_has_policy(&got) && got.scope[0] == '\0');
    update_describe(&got, what, sizeof(what));
    CHECKF(strstr(what, "1 pin, no rules, any device"), "%s", what);

    /* The largest: every limit at once still fits. */
    b = sample(UINT64_MAX);
    strcpy(b.scope, DEVICE);
    b.n_pins = UPDATE_PINS_MAX;
    for (size_t i = 0; i < UPDATE_PINS_MAX; i++) {
        snprintf(b.pins[i], PIN_STRING_MAX, "sha256/%c%s", 'A' + (int)i,
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    }
    /* 255 bytes of list: 48 entries of 4 and their commas, one of 15. */
    for (int k = 0; k < UPDATE_RULES; k++) {
        size_t used = 0;

        b.has_rule[k] = true;
        for (int i = 0; i < 48; i++) {
            used += (size_t)snprintf(b.rules[k] + used, sizeof(b.rules[k]) - used, "e%03d,", i);
        }
        snprintf(b.rules[k] + used, sizeof(b.rules[k]) - used, "e048abcdefghijk");
        CHECK(strlen(b.rules[k]) == UPDATE_RULE_MAX);
    }
    strcpy(b.rules[UPDATE_DEFAULT_ACTION], "redact");
    len = sign(&b, sk, buf);
    CHECK(len > 0 && len <= UPDATE_BUNDLE_MAX);
    CHECK(update_verify(buf, len, pk, &got, err, sizeof(err)) == 0);
    CHECK(got.version == UINT64_MAX && got.n_pins == UPDATE_PINS_MAX);
}

static void test_signature(void)
{
    struct update_bundle b = sample(2), got;
    uint8_t buf[UPDATE_BUNDLE_MAX], copy[UPDATE_BUNDLE_MAX];
    char err[256] = "";
    size_t len = sign(&b, sk, buf);

    /* Every single bit flipped anywhere is refused. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, buf, len);
            copy[i] ^= (uint8_t)(1u << bit);
            int r = update_verify(copy, len, pk, &got, err, sizeof(err));
            CHECKF(r == -EKEYREJECTED || r == -EBADMSG, "byte %zu bit %d: %d", i, bit, r);
        }
    }
    /* In the signature: "bad signature". */
    memcpy(copy, buf, len);
    copy[len - 1] ^= 1;
    CHECK(update_verify(copy, len, pk, &got, err, sizeof(err)) == -EKEYREJECTED);
    CHECKF(strstr(err, "bad signature"), "%s", err);
    /* In the version: well-formed, but not what was signed. */
    memcpy(copy, buf, len);
    copy[16] ^= 1;
    CHECK(update_verify(copy, len, pk, &got, err, sizeof(err)) == -EKEYREJECTED);

    /* Signed by another key. */
    len = sign(&b, sk2, buf);
    CHECK(update_verify(buf, len, pk, &got, err, sizeof(err)) == -EKEYREJECTED);
    CHECK(update_verify(buf, len, pk2, &got, err, sizeof(err)) == 0);

    /* Signed without the domain prefix: a signature the release key made
     * over the same bytes for another purpose does not pass. */
    len = sign(&b, sk, buf);
    crypto_sign_detached(buf + len - UPDATE_SIG_BYTES, NULL, buf, len - UPDATE_SIG_BYTES, sk);
    CHECK(update_verify(buf, len, pk, &got, err, sizeof(err)) == -EKEYREJECTED);
}

static void test_versions(void)
{
    struct update_bundle b = sample(5), scoped = sample(5);
    char err[256] = "";

    CHECK(update_check(&b, 0, NULL, err, sizeof(err)) == 0);
    CHECK(update_check(&b, 4, DEVICE, err, sizeof(err)) == 0);
    CHECK(update_check(&b, 5, DEVICE, err, sizeof(err)) == -ESTALE);
    CHECKF(strstr(err, "version 5 is not newer than the applied version 5"), "%s", err);
    CHECK(update_check(&b, 6, DEVICE, err, sizeof(err)) == -ESTALE);
    CHECKF(strstr(err, "replay or a rollback"), "%s", err);
    CHECK(update_check(&b, UINT64_MAX, DEVICE, err, sizeof(err)) == -ESTALE);

    strcpy(scoped.scope, DEVICE);
    CHECK(update_check(&scoped, 4, DEVICE, err, sizeof(err)) == 0);
    CHECK(update_check(&scoped, 4, OTHER_DEVICE, err, sizeof(err)) == -EACCES);
    CHECKF(strstr(err, "for device " DEVICE ", not this one"), "%s", err);
    CHECK(update_check(&scoped, 4, NULL, err, sizeof(err)) == -EACCES);
    CHECKF(strstr(err, "no identity"), "%s", err);
}

static void test_truncated_and_trailing(void)
{
    struct update_bundle b = sample(3), got;
    uint8_t buf[UPDATE_BUNDLE_MAX + 64];
    char err[256];
    size_t len;

    strcpy(b.scope, DEVICE);
    b.has_rule[UPDATE_DROP_WORDS] = true;
    strcpy(b.rules[UPDATE_DROP_WORDS], "password*, my pin");
    len = sign(&b, sk, buf);
    for (size_t n = 0; n < len; n++) {
        err[0] = '\0';
        int r = update_verify(buf, n, pk, &got, err, sizeof(err));
        CHECKF(r == -EBADMSG && err[0], "truncated to %zu: %d", n, r);
        CHECKF(n < 8 || n >= len - 64 || strstr(err, "truncated"), "%zu: %s", n, err);
        CHECK(update_parse(buf, n, &got, err, sizeof(err)) == -EBADMSG);
    }
    CHECK(update_verify(buf, len - 1, pk, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "the signature has 63 of 64 bytes"), "%s", err);
    CHECK(update_verify(buf, 12, pk, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "truncated: the file ends at offset 12, in the version"), "%s", err);

    buf[len] = 0;
    CHECK(update_verify(buf, len + 1, pk, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "1 bytes of trailing garbage"), "%s", err);
    memset(buf + len, 'x', 64);
    CHECK(update_verify(buf, len + 64, pk, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "64 bytes of trailing garbage"), "%s", err);
}

static void test_malformed(void)
{
    struct update_bundle b = sample(3), got;
    uint8_t big[UPDATE_BUNDLE_MAX + 1] = {0};
    char err[256] = "", long_rule[UPDATE_RULE_MAX + 2];
    struct raw *r = malloc(sizeof(*r));
    uint8_t buf[UPDATE_BUNDLE_MAX];
    size_t len;

    if (!r) {
        CHECK(!"malloc");
        return;
    }
    /* Over the size limit: refused before anything is read. */
    memcpy(big, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
    CHECK(update_parse(big, sizeof(big), &got, err, sizeof(err)) == -EMSGSIZE);
    CHECKF(strstr(err, "3073 bytes, more than a bundle may have (3072)"), "%s", err);

    CHECK(update_parse((const uint8_t *)"", 0, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "empty"), "%s", err);
    len = sign(&b, sk, buf);
    buf[0] = 'X';
    CHECK(update_parse(buf, len, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "not an update bundle"), "%s", err);
    buf[0] = 'H';
    buf[8] = 2;
    CHECK(update_parse(buf, len, &got, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "format 2; this hark reads format 1"), "%s", err);

    raw_header(r, 0);
    raw_u8(r, 1);
    raw_text8(r, PIN_A);
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "version 0");

    /* Pins: none, too many, bad, twice, the wrong length. */
    raw_header(r, 1);
    raw_u8(r, 0);
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "0 pins; an update carries 1 to 8");
    raw_header(r, 1);
    raw_u8(r, 9);
    for (int i = 0; i < 9; i++) {
        raw_text8(r, PIN_A);
    }
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "9 pins");
    raw_header(r, 1);
    raw_u8(r, 1);
    raw_text8(r, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!=");
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "pin 1 at offset 27 is not sha256/");
    raw_header(r, 1);
    raw_u8(r, 1);
    raw_text8(r, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="); /* not canonical */
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "is not sha256/");
    raw_header(r, 1);
    raw_u8(r, 1);
    raw_text8(r, "md5/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "is not sha256/");
    raw_header(r, 1);
    raw_u8(r, 1);
    raw_text8(r, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "pin 1 at offset 27: 56 bytes long, not a pin");
    raw_header(r, 1);
    raw_u8(r, 1);
    raw_u8(r, 0);
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "0 bytes long, not a pin");
    raw_header(r, 1);
    raw_u8(r, 2);
    raw_text8(r, PIN_A);
    raw_text8(r, PIN_A);
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "pin 2 is pin 1 again");
    raw_header(r, 1);
    r->b[r->n - 1] = 10; /* a scope of the wrong length */
    raw_bytes(r, "sha256/AAA", 10);
    raw_u8(r, 1);
    raw_text8(r, PIN_A);
    raw_u8(r, 0);
    EXPECT_MALFORMED(r, "the device scope at offset 25 is not sha256/");

    /* Rules: unknown, twice, out of order, too many, too long, bad values,
     * control characters, invalid UTF-8, a name of 0 bytes (a NULL value:
     * the name alone). Valid UTF-8 gets past the text check to the rule's
     * own, which holds words to what the config takes. Each body: a
     * header, pin A, the rule count, the rules. */
    memset(long_rule, 'a', UPDATE_RULE_MAX + 1);
    long_rule[UPDATE_RULE_MAX + 1] = '\0';
    const struct {
        unsigned count;
        const char *rules[2][2]; /* name, value; up to a NULL name */
        const char *expect;
    } rule_cases[] = {
        {1, {{"history", "off"}}, "unknown rule 'history'"},
        {2, {{"drop_words", "cvv"}, {"drop_words", "pin"}},
         "rule drop_words at offset 96 is out of order or given twice"},
        {2, {{"default_action", "drop"}, {"drop_intents", "banking.*"}}, "out of order"},
        {7, {{NULL}}, "7 rules, at most 6"},
        {1, {{"drop_words", long_rule}}, "rule drop_words: 256 bytes, at most 255"},
        {1, {{"drop_intents", "Banking"}}, "rule drop_intents may hold only intent names"},
        {1, {{"default_action", "forget"}}, "rule default_action is not drop, redact or allow"},
        {1, {{"drop_words", "a\nb"}}, "drop_words: a control character at offset"},
        {1, {{"drop_words", "caf\xc3"}}, "drop_words: invalid UTF-8"},
        {1, {{"", NULL}}, "rule name at offset 80: 0 bytes long"},
        {1, {{"drop_words", "contrase\xc3\xb1" "a"}}, "rule drop_words may hold only words"},
    };
    for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
        raw_header(r, 1);
        raw_u8(r, 1);
        raw_text8(r, PIN_A);
        raw_u8(r, rule_cases[i].count);
        for (size_t j = 0; j < 2 && rule_cases[i].rules[j][0]; j++) {
            if (rule_cases[i].rules[j][1]) {
                raw_rule(r, rule_cases[i].rules[j][0], rule_cases[i].rules[j][1]);
            } else {
                raw_text8(r, rule_cases[i].rules[j][0]);
            }
        }
        EXPECT_MALFORMED(r, rule_cases[i].expect);
    }

    /* The signer refuses what the parser would refuse. */
    b = sample(0);
    CHECK(update_sign(&b, sk, buf, sizeof(buf), &len, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "version 0"), "%s", err);
    b = sample(1);
    strcpy(b.pins[1], "sha256/nope");
    CHECK(update_sign(&b, sk, buf, sizeof(buf), &len, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "pin 2"), "%s", err);
    b = sample(1);
    b.has_rule[UPDATE_ALLOW_INTENTS] = true;
    strcpy(b.rules[UPDATE_ALLOW_INTENTS], "weather today");
    CHECK(update_sign(&b, sk, buf, sizeof(buf), &len, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "allow_intents"), "%s", err);
    b = sample(1);
    CHECK(update_sign(&b, sk, buf, 100, &len, err, sizeof(err)) == -EMSGSIZE);
    free(r);
}

static void test_keys_and_rules(void)
{
    static const char hex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    struct update_bundle b = sample(1);
    struct policy_rules rules = {
        .drop_intents = "banking.*",
        .drop_words = "cvv",
        .redact_intents = "",
        .redact_words = "",
        .allow_intents = "weather",
        .default_action = POLICY_REDACT,
    };
    uint8_t key[UPDATE_KEY_BYTES];
    char text[UPDATE_KEY_TEXT + 8];

    update_key_format(pk, text);
    CHECK(strlen(text) == 44);
    CHECK(update_key_parse(text, strlen(text), key) == 0 && memcmp(key, pk, sizeof(key)) == 0);
    strcat(text, "\n");
    CHECK(update_key_parse(text, strlen(text), key) == 0 && memcmp(key, pk, sizeof(key)) == 0);
    CHECK(update_key_parse(hex, strlen(hex), key) == 0 && key[0] == 0x00 && key[31] == 0xff);
    CHECK(update_key_parse(hex, 62, key) == -EINVAL);
    CHECK(update_key_parse("", 0, key) == -EINVAL);
    CHECK(update_key_parse(PIN_A, strlen(PIN_A), key) == -EINVAL);
    CHECK(update_key_parse("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 64,
                           key) == -EINVAL);
    /* Not canonical base64 (the last character's low bits set). */
    CHECK(update_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", 44, key) == -EINVAL);
    /* Two lines: not one key. */
    CHECK(update_key_parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", 46, key) == -EINVAL);

    /* Rules the bundle carries replace those of the config; the rest stay. */
    update_policy_rules(&b, &rules);
    CHECK(strcmp(rules.drop_intents, "banking.*") == 0 && rules.default_action == POLICY_REDACT);
    b.has_rule[UPDATE_DROP_INTENTS] = true;
    strcpy(b.rules[UPDATE_DROP_INTENTS], "banking.*, crypto.*");
    b.has_rule[UPDATE_ALLOW_INTENTS] = true;
    b.has_rule[UPDATE_DEFAULT_ACTION] = true;
    strcpy(b.rules[UPDATE_DEFAULT_ACTION], "drop");
    update_policy_rules(&b, &rules);
    CHECK(strcmp(rules.drop_intents, "banking.*, crypto.*") == 0);
    CHECK(strcmp(rules.drop_words, "cvv") == 0);
    CHECK(strcmp(rules.allow_intents, "") == 0);
    CHECK(rules.default_action == POLICY_DROP);
    CHECK(update_rule_name(UPDATE_RULES) == NULL);
    CHECK(strcmp(update_rule_name(UPDATE_REDACT_WORDS), "redact_words") == 0);
    CHECK(update_rule_find("default_action") == UPDATE_DEFAULT_ACTION);
    CHECK(update_rule_find("history") == -ENOENT && update_rule_find("") == -ENOENT);
}

/* ---- the stored state -------------------------------------------------- */

static unsigned mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) < 0 ? 07777 : (unsigned)(st.st_mode & 07777);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    chmod(path, mode);
}

static size_t read_back(const char *path, uint8_t *buf, size_t max)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, max, f);
        fclose(f);
    }
    return n;
}

static void test_store(void)
{
    const char *dir = testdir;
    struct update_state st;
    struct update_bundle b, got;
    uint8_t v2[UPDATE_BUNDLE_MAX], v3[UPDATE_BUNDLE_MAX], v4[UPDATE_BUNDLE_MAX];
    uint8_t buf[UPDATE_BUNDLE_MAX];
    size_t n2, n3, n4;
    char err[512] = "", line[64];

    b = sample(2);
    n2 = sign(&b, sk, v2);
    b = sample(3);
    strcpy(b.pins[0], PIN_C);
    n3 = sign(&b, sk, v3);
    b = sample(4);
    n4 = sign(&b, sk, v4);

    /* Nothing provisioned: no key, version 0, nothing applied; an offered
     * update is refused for want of a key. */
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0);
    CHECK(!st.have_key && st.version == 0);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == 0);
    CHECK(update_store_check(&st, v2, n2, DEVICE, &got, err, sizeof(err)) == -ENOKEY);
    CHECKF(strstr(err, "no release key provisioned"), "%s", err);
    CHECK(update_store_apply(dir, &st, v2, n2, DEVICE, &got, err, sizeof(err)) == -ENOKEY);
    CHECK(access(testdir_path(UPDATE_BUNDLE_FILE), F_OK) < 0);

    /* The key: 0644, one line; the same key again is fine, another not. */
    CHECK(update_store_set_key(dir, pk, false, err, sizeof(err)) == 0);
    CHECK(mode_of(testdir_path(UPDATE_KEY_FILE)) == 0644);
    CHECK(read_back(testdir_path(UPDATE_KEY_FILE), buf, sizeof(buf)) == 45 && buf[44] == '\n');
    CHECK(update_store_set_key(dir, pk, false, err, sizeof(err)) == 1);
    CHECK(update_store_set_key(dir, pk2, false, err, sizeof(err)) == -EEXIST);
    CHECKF(strstr(err, "another release key"), "%s", err);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0);
    CHECK(st.have_key && memcmp(st.key, pk, sizeof(pk)) == 0);

    /* Apply 3: stored, 0600, the version written; 2 and 3 again refused. */
    CHECK(update_store_check(&st, v3, n3, DEVICE, &got, err, sizeof(err)) == 0);
    CHECK(update_store_apply(dir, &st, v3, n3, DEVICE, &got, err, sizeof(err)) == 0);
    CHECK(st.version == 3 && got.version == 3 && strcmp(got.pins[0], PIN_C) == 0);
    CHECK(mode_of(testdir_path(UPDATE_BUNDLE_FILE)) == 0600);
    CHECK(read_back(testdir_path(UPDATE_BUNDLE_FILE), buf, sizeof(buf)) == n3 &&
          memcmp(buf, v3, n3) == 0);
    CHECK(read_back(testdir_path(UPDATE_VERSION_FILE), buf, sizeof(buf)) == 2 &&
          memcmp(buf, "3\n", 2) == 0);
    CHECK(access(testdir_path("." UPDATE_BUNDLE_FILE ".new"), F_OK) < 0);
    CHECK(update_store_apply(dir, &st, v3, n3, DEVICE, &got, err, sizeof(err)) == -ESTALE);
    CHECK(update_store_apply(dir, &st, v2, n2, DEVICE, &got, err, sizeof(err)) == -ESTALE);
    CHECKF(strstr(err, "version 2 is not newer than the applied version 3"), "%s", err);
    CHECK(read_back(testdir_path(UPDATE_VERSION_FILE), buf, sizeof(buf)) == 2 &&
          memcmp(buf, "3\n", 2) == 0);

    /* Another process applied 4 meanwhile: this one's st says 3, the disk
     * wins, and 4 is not applied twice. */
    struct update_state stale = st;
    CHECK(update_store_apply(dir, &st, v4, n4, DEVICE, &got, err, sizeof(err)) == 0);
    CHECK(update_store_apply(dir, &stale, v4, n4, DEVICE, &got, err, sizeof(err)) == -ESTALE);

    /* Start-up: re-verified. */
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0 && st.version == 4);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == 1);
    CHECK(got.version == 4);

    /* Tampered: one byte changed. */
    memcpy(buf, v4, n4);
    buf[20] ^= 0x01; /* in the creation time: still well-formed */
    write_file(testdir_path(UPDATE_BUNDLE_FILE), buf, n4, 0600);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -EKEYREJECTED);
    CHECKF(strstr(err, UPDATE_BUNDLE_FILE ": bad signature"), "%s", err);
    /* Rolled back: an older, genuinely signed bundle under a newer version. */
    write_file(testdir_path(UPDATE_BUNDLE_FILE), v3, n3, 0600);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -ESTALE);
    CHECKF(strstr(err, "version 3 is older than the applied version 4"), "%s", err);
    /* Missing while a version was applied. */
    unlink(testdir_path(UPDATE_BUNDLE_FILE));
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -ENOENT);
    CHECKF(strstr(err, "is missing"), "%s", err);
    /* Truncated. */
    write_file(testdir_path(UPDATE_BUNDLE_FILE), v4, n4 - 10, 0600);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -EBADMSG);
    /* Writable by others. */
    write_file(testdir_path(UPDATE_BUNDLE_FILE), v4, n4, 0620);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -EPERM);
    CHECKF(strstr(err, "writable by others"), "%s", err);
    /* A bundle newer than the version (a crash between the two writes). */
    write_file(testdir_path(UPDATE_BUNDLE_FILE), v4, n4, 0600);
    write_file(testdir_path(UPDATE_VERSION_FILE), "3\n", 2, 0600);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0 && st.version == 3);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == 1);
    CHECK(st.version == 4);
    /* Scoped to another device. */
    b = sample(5);
    strcpy(b.scope, OTHER_DEVICE);
    write_file(testdir_path(UPDATE_BUNDLE_FILE), buf, sign(&b, sk, buf), 0600);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == -EACCES);
    write_file(testdir_path(UPDATE_BUNDLE_FILE), v4, n4, 0600);

    /* Malformed version files, and a key file others may write. */
    static const char *const bad_versions[] = {
        "", "4", "04\n", "-1\n", "4 \n", "x\n", "18446744073709551616\n", "4\n4\n"};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        write_file(testdir_path(UPDATE_VERSION_FILE), bad_versions[i], strlen(bad_versions[i]),
                   0600);
        CHECKF(update_store_load(dir, &st, err, sizeof(err)) == -EBADMSG, "'%s'", bad_versions[i]);
    }
    snprintf(line, sizeof(line), "%llu\n", 18446744073709551615ULL);
    write_file(testdir_path(UPDATE_VERSION_FILE), line, strlen(line), 0600);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0 && st.version == UINT64_MAX);
    write_file(testdir_path(UPDATE_VERSION_FILE), "4\n", 2, 0600);
    chmod(testdir_path(UPDATE_KEY_FILE), 0666);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == -EPERM);
    CHECKF(strstr(err, UPDATE_KEY_FILE ": writable by others"), "%s", err);
    chmod(testdir_path(UPDATE_KEY_FILE), 0644);
    write_file(testdir_path(UPDATE_KEY_FILE), "not a key\n", 10, 0644);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "not an Ed25519 public key"), "%s", err);
    CHECK(update_store_set_key(dir, pk, false, err, sizeof(err)) == -EBADMSG);

    /* Re-provisioning with another key forgets what the old one signed. */
    update_key_format(pk, line);
    strcat(line, "\n");
    write_file(testdir_path(UPDATE_KEY_FILE), line, strlen(line), 0644);
    CHECK(update_store_set_key(dir, pk2, true, err, sizeof(err)) == 0);
    CHECK(access(testdir_path(UPDATE_BUNDLE_FILE), F_OK) < 0);
    CHECK(access(testdir_path(UPDATE_VERSION_FILE), F_OK) < 0);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0);
    CHECK(st.have_key && memcmp(st.key, pk2, sizeof(pk2)) == 0 && st.version == 0);
    CHECK(update_store_load_applied(dir, &st, DEVICE, &got, err, sizeof(err)) == 0);
    CHECK(update_store_apply(dir, &st, v2, n2, DEVICE, &got, err, sizeof(err)) == -EKEYREJECTED);

    /* A damaged key file: refused, and repaired by replacing it. */
    write_file(testdir_path(UPDATE_KEY_FILE), "damaged\n", 8, 0644);
    CHECK(update_store_set_key(dir, pk, false, err, sizeof(err)) == -EBADMSG);
    CHECK(update_store_set_key(dir, pk, true, err, sizeof(err)) == 0);
    CHECK(update_store_load(dir, &st, err, sizeof(err)) == 0);
    CHECK(st.have_key && memcmp(st.key, pk, sizeof(pk)) == 0);
}

int main(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "libsodium cannot start\n");
        return 1;
    }
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    testdir_make("update");
    test_good();
    test_signature();
    test_versions();
    test_truncated_and_trailing();
    test_malformed();
    test_keys_and_rules();
    test_store();
    testdir_remove();
    return check_status();
}
