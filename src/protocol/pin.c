/* Public-key pins ("sha256/<base64>" of the SubjectPublicKeyInfo, RFC 7469)
 * computed with mbedTLS, independently of the TLS library under lws. */
#include "pin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/error.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "base-file.h"

#define PIN_PREFIX "sha256/"
#define PIN_PREFIX_LEN (sizeof(PIN_PREFIX) - 1)
#define PIN_B64_LEN 44 /* base64 of 32 bytes, one '=' of padding */

/* A certificate file is a few KiB; a chain file a few tens. Anything larger
 * is the wrong file, and the bound keeps a mistake from filling memory. */
#define PIN_FILE_MAX (1024 * 1024)

/* An SPKI is at most a few hundred bytes for EC and ~550 for RSA-4096. */
#define SPKI_MAX 2048

_Static_assert(PIN_PREFIX_LEN + PIN_B64_LEN + 1 <= PIN_STRING_MAX, "PIN_STRING_MAX too small");

int pin_from_der(const uint8_t *der, size_t len, char ret_pin[PIN_STRING_MAX])
{
    mbedtls_x509_crt crt;
    unsigned char spki[SPKI_MAX];
    unsigned char hash[32];
    size_t olen = 0;
    int n;
    int r;

    if (!der || len == 0) {
        return -EINVAL;
    }
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0) {
        r = -EBADMSG;
        goto cleanup;
    }
    /* pk_write_pubkey_der writes at the end of the buffer and returns the
     * length: the SPKI starts at spki + sizeof(spki) - n. */
    n = mbedtls_pk_write_pubkey_der(&crt.pk, spki, sizeof(spki));
    if (n <= 0) {
        r = -EBADMSG;
        goto cleanup;
    }
    if (mbedtls_sha256_ret(spki + sizeof(spki) - (size_t)n, (size_t)n, hash, 0) != 0) {
        r = -EIO;
        goto cleanup;
    }
    memcpy(ret_pin, PIN_PREFIX, PIN_PREFIX_LEN);
    if (mbedtls_base64_encode((unsigned char *)ret_pin + PIN_PREFIX_LEN,
                              PIN_STRING_MAX - PIN_PREFIX_LEN, &olen, hash, sizeof(hash)) != 0) {
        r = -EIO;
        goto cleanup;
    }
    ret_pin[PIN_PREFIX_LEN + olen] = '\0';
    r = 0;

cleanup:
    mbedtls_x509_crt_free(&crt);
    return r;
}

int pin_from_file(const char *path, char ret_pin[PIN_STRING_MAX], char *err, size_t errsz)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    mbedtls_pem_context pem;
    char *text = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t used = 0;
    int r;

    mbedtls_pem_init(&pem);
    /* NUL-terminated: the PEM parser wants that. */
    r = file_read_alloc(path, PIN_FILE_MAX, &text, &len);
    buf = (unsigned char *)text;
    if (r == -EINVAL || r == -EISDIR) {
        snprintf(err, errsz, "%s: not a regular file", path);
        r = -EINVAL;
        goto cleanup;
    }
    if (r == -EFBIG) {
        snprintf(err, errsz, "%s: too large for a certificate (more than %d KiB)", path,
                 PIN_FILE_MAX / 1024);
        goto cleanup;
    }
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot read: %s", path, strerror(-r));
        goto cleanup;
    }
    if (len == 0) {
        snprintf(err, errsz, "%s: empty file, expected a certificate (PEM or DER)", path);
        r = -EBADMSG;
        goto cleanup;
    }

    /* PEM when the file has a certificate block (a chain file: the first
     * one, the leaf), DER otherwise. */
    if (strstr((const char *)buf, begin)) {
        r = mbedtls_pem_read_buffer(&pem, begin, end, buf, NULL, 0, &used);
        if (r != 0) {
            char why[128];
            mbedtls_strerror(r, why, sizeof(why));
            snprintf(err, errsz, "%s: bad PEM certificate: %s", path, why);
            r = -EBADMSG;
            goto cleanup;
        }
        r = pin_from_der(pem.buf, pem.buflen, ret_pin);
    } else {
        r = pin_from_der(buf, len, ret_pin);
    }
    if (r < 0) {
        snprintf(err, errsz, "%s: not a certificate (expected X.509 in PEM or DER)", path);
        goto cleanup;
    }
    r = 0;

cleanup:
    mbedtls_pem_free(&pem);
    free(buf);
    return r;
}

bool pin_is_valid(const char *s)
{
    unsigned char hash[64];
    unsigned char again[PIN_B64_LEN + 1];
    size_t n = 0;

    if (!s || strncmp(s, PIN_PREFIX, PIN_PREFIX_LEN) != 0) {
        return false;
    }
    s += PIN_PREFIX_LEN;
    if (strlen(s) != PIN_B64_LEN) {
        return false;
    }
    if (mbedtls_base64_decode(hash, sizeof(hash), &n, (const unsigned char *)s, PIN_B64_LEN) != 0 ||
        n != 32) {
        return false;
    }
    /* Only the canonical encoding: a pin is compared as a string, so two
     * spellings of the same hash would silently never match. */
    if (mbedtls_base64_encode(again, sizeof(again), &n, hash, 32) != 0 || n != PIN_B64_LEN) {
        return false;
    }
    return memcmp(again, s, PIN_B64_LEN) == 0;
}

size_t pin_count_distinct(const char *const *pins, size_t n)
{
    size_t distinct = 0;

    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && strcmp(pins[j], pins[i]) != 0) {
            j++;
        }
        distinct += j == i;
    }
    return distinct;
}
