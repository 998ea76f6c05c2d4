/* The device identity: its own EC P-256 key pair and self-signed certificate,
 * made on the device by `hark provision` and used as the TLS client
 * certificate. No shared or default credential exists. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pin.h"

#define IDENTITY_KEY_FILE "device.key"
#define IDENTITY_CERT_FILE "device.crt"

/* Creates dir (0700) if needed and writes a new key and certificate there,
 * both 0600. An identity already there is kept unless force; then -EEXIST.
 * Writes the device fingerprint (the pin of its certificate). */
int identity_provision(const char *dir, bool force, char ret_fingerprint[PIN_STRING_MAX],
                       char *err, size_t errsz);

/* Checks that dir holds an identity whose files only the owner can read and
 * write, and returns its fingerprint and the two paths (static strings valid
 * until the next call). Missing: -ENOENT with a message that says to run
 * `hark provision`. Files others can read or write: -EPERM, naming them. */
int identity_load(const char *dir, char ret_fingerprint[PIN_STRING_MAX], const char **ret_cert_path,
                  const char **ret_key_path, char *err, size_t errsz);
/* The fingerprint of the device key in dir (the pin its certificate has),
 * for showing it again; the key itself never leaves this function. Checks
 * the key file as identity_load does. Missing: -ENOENT. */
int identity_fingerprint(const char *dir, char ret_fingerprint[PIN_STRING_MAX], char *err,
                         size_t errsz);
