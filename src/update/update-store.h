/* The device's side of signed updates (doc/updates.md): the release public
 * key fixed at provisioning, the highest version applied (anti-rollback) and
 * the applied bundle, all in the storage directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "update.h"

#define UPDATE_KEY_FILE "release.pub"
#define UPDATE_BUNDLE_FILE "update.bundle"
#define UPDATE_VERSION_FILE "update.version"
#define UPDATE_LOCK_FILE "update.lock"

struct update_state {
    bool have_key;
    uint8_t key[UPDATE_KEY_BYTES];
    uint64_t version; /* the highest applied; 0: none */
};

/* Stores key as DIR/release.pub (0644, one line of base64). 0: stored; 1:
 * that key was there already. Another key: -EEXIST unless replace; replacing
 * it forgets the applied update and its version, which the other key
 * signed. */
int update_store_set_key(const char *dir, const uint8_t key[UPDATE_KEY_BYTES], bool replace,
                         char *err, size_t errsz);

/* Reads the release key (when one was provisioned) and the applied version.
 * A file that others may write, that another user owns, or that is
 * malformed: a negative errno and a message naming it. */
int update_store_load(const char *dir, struct update_state *ret, char *err, size_t errsz);

/* The applied bundle, verified again: 1 and *ret when there is one, 0 when no
 * update was ever applied. Fails closed, with why in err: a bundle that does
 * not verify, that is older than the applied version, that is for another
 * device, or that is missing while a version was applied. A bundle newer
 * than the stored version (a crash between the two writes of
 * update_store_apply) raises st->version to it. */
int update_store_load_applied(const char *dir, struct update_state *st, const char *device_fp,
                              struct update_bundle *ret, char *err, size_t errsz);

/* Every check of an offered bundle, without I/O: a release key is
 * provisioned (-ENOKEY), the bundle is well-formed and signed by it, newer
 * than st->version and for this device (device_fp, NULL: no identity). */
int update_store_check(const struct update_state *st, const uint8_t *data, size_t len,
                       const char *device_fp, struct update_bundle *ret, char *err, size_t errsz);

/* Checks the bundle, under a lock and against the version on disk (so that
 * two appliers never go backwards), then stores it: DIR/update.bundle, then
 * DIR/update.version, each written to a temp file, flushed and renamed,
 * then the directory flushed. st->version follows. */
int update_store_apply(const char *dir, struct update_state *st, const uint8_t *data, size_t len,
                       const char *device_fp, struct update_bundle *ret, char *err, size_t errsz);
