/* Signed updates of the server pins and the privacy rules (doc/updates.md):
 * the bundle format, its strict parser and Ed25519 verification, and the
 * signing side for hark-sign and the tests. Pure functions, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pin.h"
#include "policy.h"

#define UPDATE_MAGIC "HARK-UPD"
#define UPDATE_MAGIC_LEN 8
#define UPDATE_FORMAT 1
/* What the signature covers comes after this prefix (its NUL included), so
 * that no signature made by the release key for anything else can pass for
 * an update, nor one for a later format for this one. */
#define UPDATE_SIGN_DOMAIN "hark-update-v1"
#define UPDATE_SIG_BYTES 64
#define UPDATE_KEY_BYTES 32    /* an Ed25519 public key */
#define UPDATE_SECRET_BYTES 64 /* libsodium's Ed25519 secret key: seed and public key */
#define UPDATE_KEY_TEXT 45     /* the base64 of a public key and a NUL */
/* A whole bundle, signature included: its base64 fills one protocol string
 * field (4096 bytes) exactly. */
#define UPDATE_BUNDLE_MAX 3072
#define UPDATE_PINS_MAX 8   /* the link's limit */
#define UPDATE_RULE_MAX 255 /* bytes of one rule, as a config value */
#define UPDATE_DESCRIBE_MAX 256

/* The [privacy] rules a bundle may carry, in the order the format wants. */
enum update_rule {
    UPDATE_DROP_INTENTS,
    UPDATE_DROP_WORDS,
    UPDATE_REDACT_INTENTS,
    UPDATE_REDACT_WORDS,
    UPDATE_ALLOW_INTENTS,
    UPDATE_DEFAULT_ACTION,
    UPDATE_RULES,
};

/* A parsed bundle: fixed size, nothing to free. */
struct update_bundle {
    uint64_t version;           /* at least 1; applied only when above the stored one */
    uint64_t created;           /* Unix seconds, informational */
    char scope[PIN_STRING_MAX]; /* the one device it is for (fingerprint); "": any */
    size_t n_pins;
    char pins[UPDATE_PINS_MAX][PIN_STRING_MAX];
    bool has_rule[UPDATE_RULES];
    char rules[UPDATE_RULES][UPDATE_RULE_MAX + 1];
};

/* "drop_intents", ... as in the config; NULL out of range. */
const char *update_rule_name(enum update_rule rule);
/* The rule called name, or -ENOENT. */
int update_rule_find(const char *name);
/* Checks one rule's value as the config checks it: NULL if good, else what is
 * wrong (static text). */
const char *update_rule_check(enum update_rule rule, const char *value);

/* The structure only (not the signature): -EMSGSIZE over UPDATE_BUNDLE_MAX,
 * -EBADMSG for anything malformed, with the reason and its offset in err. */
int update_parse(const uint8_t *data, size_t len, struct update_bundle *ret, char *err,
                 size_t errsz);
/* update_parse, then the signature by key: -EKEYREJECTED when it does not
 * verify. */
int update_verify(const uint8_t *data, size_t len, const uint8_t key[UPDATE_KEY_BYTES],
                  struct update_bundle *ret, char *err, size_t errsz);
/* Whether a verified bundle may replace the applied version on the device
 * whose fingerprint is device_fp (NULL: no identity): -ESTALE when it is not
 * newer (a replay or a rollback), -EACCES when it is for another device. */
int update_check(const struct update_bundle *b, uint64_t applied, const char *device_fp, char *err,
                 size_t errsz);

/* The bundle's body (everything the signature follows) into out. */
int update_encode(const struct update_bundle *b, uint8_t *out, size_t outsz, size_t *ret_len);
/* Encodes, signs with secret, and parses the result back, so that a bundle
 * that would be refused is never written: the reason is in err. */
int update_sign(const struct update_bundle *b, const uint8_t secret[UPDATE_SECRET_BYTES],
                uint8_t *out, size_t outsz, size_t *ret_len, char *err, size_t errsz);

/* Overlays the rules the bundle carries on rules (the rest stay). The
 * strings point into b. */
void update_policy_rules(const struct update_bundle *b, struct policy_rules *rules);
bool update_has_policy(const struct update_bundle *b);
/* One line: "version 7 (created 2026-05-01T10:00:00Z), 2 pins, rules
 * drop_intents default_action, any device". */
void update_describe(const struct update_bundle *b, char *out, size_t outsz);

/* A public key as text: base64 (44 characters) or hex (64), blanks and one
 * line end around it allowed. -EINVAL otherwise. */
int update_key_parse(const char *text, size_t len, uint8_t ret[UPDATE_KEY_BYTES]);
/* Its base64. */
void update_key_format(const uint8_t key[UPDATE_KEY_BYTES], char out[UPDATE_KEY_TEXT]);
