/* Helpers for the tests that check hark's TLS pieces (pins, identity, link)
 * against the openssl command line. */
#pragma once

#include "pin.h"

/* system() on a formatted command; a failure is reported on stderr. */
int run_command(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The pin of a PEM certificate as RFC 7469 and the openssl command line
 * compute it. Exits the test when openssl cannot be run. */
void openssl_pin(const char *pem, char out[PIN_STRING_MAX]);
