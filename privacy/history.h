/* The utterance history on the device: an append-only file of records, each
 * sealed with XChaCha20-Poly1305 under the key of its retention epoch. Epoch
 * keys are wrapped by a master key and destroyed when their epoch expires, so
 * that expiry is a crypto-erase. Crash-safe appends, tamper evidence,
 * retention by age and count. The formats are in doc/privacy.md.
 * Files in DIR: history.key, history.keys, history.dat, history.lock.
 *
 * One process may hold a history open while others (`hark history ...`) use
 * it too: every operation takes an exclusive lock on DIR/history.lock and
 * re-reads what changed. A struct history is not thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_PAYLOAD_MAX (1024 * 1024)
/* Ten years: at most 3650 epoch keys of a day each. */
#define HISTORY_RETENTION_MAX_S (10ULL * 365 * 86400)

struct history;

enum history_type {
    HISTORY_INTERACTION = 1, /* a finished request: the caller's JSON */
    HISTORY_DELETED = 2,     /* what `delete` leaves: the id, no payload */
    HISTORY_AUDIO = 3,       /* a debug recording: the caller's bytes */
};

struct history_params {
    const char *dir;             /* the storage directory; must exist */
    const char *passphrase_file; /* NULL: the master key is DIR/history.key */
    uint64_t retention_s;        /* records older than this expire; >= 1 */
    uint32_t max_entries;        /* 0: no limit on the count */
    bool create;                 /* make missing key and history files */
    bool read_only;              /* change no file: no retention, no repair (not with create) */
};

struct history_entry {
    uint64_t id; /* the record's sequence number: stable, never reused */
    uint64_t epoch;
    int64_t time_ms; /* Unix time of the append, ms */
    enum history_type type;
    const uint8_t *data; /* the decrypted payload; valid during the callback */
    size_t len;
};

/* What open, purge and verify found. */
struct history_report {
    size_t records;        /* records in the file */
    size_t readable;       /* decrypted and in place */
    size_t deleted;        /* delete stubs among them */
    size_t bad;            /* records that fail authentication (modified) */
    size_t misplaced;      /* out of order, or an id missing before them */
    size_t no_key;         /* their epoch key is gone */
    uint64_t torn_bytes;   /* an incomplete last record, truncated (reported here only) */
    uint64_t torn_kept;    /* an incomplete last record left in place (read only, verify) */
    size_t expired;        /* records removed by retention (purge, open) */
    size_t keys_destroyed; /* epoch keys destroyed (purge, open) */
    bool header_bad;       /* the file header fails authentication: read only */
    bool slot_bad;         /* the other header slot fails authentication */
    char problem[256];     /* the first problem, "" if none */
};

/* Opens (and with params->create, makes) the history in params->dir, checks
 * permissions (a key, history or lock file that others can read or write,
 * or one owned by another user: refused with a message saying why),
 * truncates a torn tail and applies retention at now_ms. ret_report
 * (optional) says what was found. Errors name the file: -EPERM for
 * permissions, -EKEYREJECTED for a wrong passphrase or key, -ENOENT without
 * create when there is no history file at all, -ENOKEY when the key file is
 * missing next to the others (nothing is touched then), -ENODATA when
 * history.dat is missing next to a key file. A file header that fails
 * authentication still opens (ret_report->header_bad): the history can be
 * read and verified, but appends and deletes fail with -EBADMSG until it is
 * wiped. With params->read_only no history or key file is written (a torn
 * tail is reported in torn_kept, not cut; nothing expires, though expired
 * records are not handed out; only an absent lock file, which holds
 * nothing, is made); append, delete and purge fail with -EROFS. */
int history_open(const struct history_params *params, int64_t now_ms, char *err, size_t errsz,
                 struct history_report *ret_report, struct history **ret);
void history_free(struct history *h);

/* Applies retention, then appends one record and fsyncs it. On success the
 * record survives a crash. type: HISTORY_INTERACTION or HISTORY_AUDIO;
 * len <= HISTORY_PAYLOAD_MAX (else -EMSGSIZE). */
int history_append(struct history *h, enum history_type type, int64_t now_ms, const void *data,
                   size_t len, char *err, size_t errsz, uint64_t *ret_id);

/* Applies retention at now_ms: drops expired and surplus records from the
 * file and destroys epoch keys no record needs. */
int history_purge(struct history *h, int64_t now_ms, char *err, size_t errsz,
                  struct history_report *ret_report);

/* Calls fn for every readable record, oldest first; a non-zero return from
 * fn stops the walk and is returned. Unreadable records are skipped and
 * counted in ret_report (optional); so are expired ones not yet purged.
 * The walk holds no lock (a slow fn does not hold up other processes'
 * appends); fn must not call history functions on the same h (-EBUSY). */
typedef int (*history_fn)(void *userdata, const struct history_entry *entry);
int history_foreach(struct history *h, history_fn fn, void *userdata, char *err, size_t errsz,
                    struct history_report *ret_report);

/* Replaces record id with a delete stub (the file is rewritten atomically).
 * -ENOENT if there is no such readable record, or it is a stub already. */
int history_delete(struct history *h, uint64_t id, char *err, size_t errsz);

/* The newest readable record that is not a stub; -ENOENT if none. */
int history_last(struct history *h, enum history_type type, uint64_t *ret_id);

/* Reads every record again and checks authentication, order and
 * completeness; changes no file (a torn tail is reported, not cut). Counts
 * as problems: each record that fails (bad, misplaced, no_key), a header
 * or header slot that fails authentication, an incomplete last record.
 * Returns how many problems it found (0: none; else err holds the first),
 * or a negative errno if it could not read. */
int history_verify(struct history *h, char *err, size_t errsz, struct history_report *ret_report);

/* Destroys every history and key file in dir (user-data erasure), the lock
 * and temp files too. Needs no key and works on corrupt files. Returns how
 * many files were removed. */
int history_wipe(const char *dir, char *err, size_t errsz);

/* The epoch length used for a retention: records are grouped into epochs
 * this long, and a key lives at most retention plus one epoch. */
uint64_t history_epoch_seconds(uint64_t retention_s);

/* How many usable epoch keys the keys file held at the last operation. */
size_t history_key_count(const struct history *h);
