/* hark-devcloud's own TLS identity: an EC P-256 key and a self-signed
 * certificate for 127.0.0.1 and localhost, made on first start in the state
 * directory and kept there. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SERVERCERT_KEY_FILE "server.key"
#define SERVERCERT_CERT_FILE "server.crt"

/* Creates dir (0700) if needed; makes a key (0600) and certificate unless
 * both are there. Checks that the key is owner-only. Writes the two paths
 * and whether they were made now. */
int servercert_ensure(const char *dir, char ret_key_path[PATH_MAX], char ret_cert_path[PATH_MAX],
                      bool *ret_created, char *err, size_t errsz);
