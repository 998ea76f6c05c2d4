/* Public-key pins (RFC 7469 form, "sha256/<base64>") computed with mbedTLS
 * from certificate DER, so the check does not depend on the TLS library
 * libwebsockets was built with. Also the device fingerprint. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "sha256/" + 44 base64 characters + NUL */
#define PIN_STRING_MAX 52

/* The pin of a DER certificate: SHA-256 over its SubjectPublicKeyInfo. */
int pin_from_der(const uint8_t *der, size_t len, char ret_pin[PIN_STRING_MAX]);
/* The pin of the first certificate in a PEM (or DER) file; errors name it. */
int pin_from_file(const char *path, char ret_pin[PIN_STRING_MAX], char *err, size_t errsz);
/* Whether s is a well-formed pin: "sha256/" and the base64 of 32 bytes. */
bool pin_is_valid(const char *s);
/* How many different pins the n in pins are (the same key twice is one). */
size_t pin_count_distinct(const char *const *pins, size_t n);
