/* Fuzz harness for update bundles: bytes are refused with a reason, or the
 * bundle they hold encodes back to exactly those bytes. The same body signed
 * by the harness's own key verifies exactly when it parses, so the fuzzer
 * reaches past the signature too. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "%s: %s\n", what, why ? why : "");
    abort();
}

/* A key made afresh by each run: no key is committed, and what the property
 * below checks holds for any key. */
static uint8_t pk[UPDATE_KEY_BYTES], sk[UPDATE_SECRET_BYTES];

static void init_key(void)
{
    static int done;

    if (!done) {
        if (sodium_init() < 0) {
            fail("sodium_init", NULL);
        }
        crypto_sign_keypair(pk, sk);
        done = 1;
    }
}

static int same(const struct update_bundle *a, const struct update_bundle *b)
{
    if (a->version != b->version || a->created != b->created || a->n_pins != b->n_pins ||
        strcmp(a->scope, b->scope) != 0) {
        return 0;
    }
    for (size_t i = 0; i < a->n_pins; i++) {
        if (strcmp(a->pins[i], b->pins[i]) != 0) {
            return 0;
        }
    }
    for (int k = 0; k < UPDATE_RULES; k++) {
        if (a->has_rule[k] != b->has_rule[k] ||
            (a->has_rule[k] && strcmp(a->rules[k], b->rules[k]) != 0)) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t msg[sizeof(UPDATE_SIGN_DOMAIN) + UPDATE_BUNDLE_MAX];
    static uint8_t resigned[UPDATE_BUNDLE_MAX];
    uint8_t body[UPDATE_BUNDLE_MAX];
    struct update_bundle b, again;
    char err[256] = "", what[UPDATE_DESCRIBE_MAX];
    size_t len = 0;
    int r;

    init_key();
    r = update_parse(data, size, &b, err, sizeof(err));
    if (r < 0) {
        if ((r != -EBADMSG && r != -EMSGSIZE) || err[0] == '\0') {
            fail("refused without a reason or with an unexpected error", err);
        }
        if ((r == -EMSGSIZE) != (size > UPDATE_BUNDLE_MAX)) {
            fail("-EMSGSIZE for the wrong size", err);
        }
    } else {
        /* One encoding per bundle: what was accepted is what is signed. */
        if (update_encode(&b, body, sizeof(body), &len) < 0 || len + UPDATE_SIG_BYTES != size ||
            memcmp(body, data, len) != 0) {
            fail("an accepted bundle does not encode back to itself", NULL);
        }
        if (b.version == 0 || b.n_pins == 0 || b.n_pins > UPDATE_PINS_MAX) {
            fail("an accepted bundle breaks the format's limits", NULL);
        }
        update_describe(&b, what, sizeof(what));
    }

    /* The body signed by the test key: verifies exactly when it parses. */
    if (size >= UPDATE_SIG_BYTES && size <= UPDATE_BUNDLE_MAX) {
        size_t n = size - UPDATE_SIG_BYTES;

        memcpy(resigned, data, n);
        memcpy(msg, UPDATE_SIGN_DOMAIN, sizeof(UPDATE_SIGN_DOMAIN));
        memcpy(msg + sizeof(UPDATE_SIGN_DOMAIN), data, n);
        crypto_sign_detached(resigned + n, NULL, msg, sizeof(UPDATE_SIGN_DOMAIN) + n, sk);
        int v = update_verify(resigned, size, pk, &again, err, sizeof(err));
        if ((v == 0) != (r == 0)) {
            fail("signature verification disagrees with the parser", err);
        }
        if (v == 0 && !same(&again, &b)) {
            fail("verify and parse disagree on the content", NULL);
        }
        if (v == 0 && update_check(&again, again.version - 1, NULL, err, sizeof(err)) < 0 &&
            !again.scope[0]) {
            fail("a newer bundle for any device refused", err);
        }
    }
    return 0;
}
