/* hark-devcloud's device registry: a text file of the fingerprints
 * ("sha256/<base64>" of a device's public key) allowed to connect. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct registry;

/* Reads the registry: one fingerprint a line, '#' comments (whole lines or
 * after an entry), blank lines. A bad line is reported through on_bad_line
 * (may be NULL) and skipped. A missing file is -ENOENT. */
int registry_load(const char *path,
                  void (*on_bad_line)(void *userdata, const char *path, unsigned line,
                                      const char *why),
                  void *userdata, char *err, size_t errsz, struct registry **ret_registry);
void registry_free(struct registry *registry);

bool registry_contains(const struct registry *registry, const char *fingerprint);
size_t registry_count(const struct registry *registry);

/* Appends a fingerprint (checked with pin_is_valid), creating the file (0600)
 * if needed. Returns 0 when added, 1 when it was there already. */
int registry_append(const char *path, const char *fingerprint, char *err, size_t errsz);
