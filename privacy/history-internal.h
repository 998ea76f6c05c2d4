/* The history's inside, shared by its files (not for other modules): the
 * formats' sizes, the state of an open history, and the functions one part
 * calls in another. The parts: history-key.c the key file and the checks of
 * every file we open; history-epochs.c the epoch keys (DIR/history.keys);
 * history-records.c the record file (DIR/history.dat: its header, the scan,
 * the rewrite); history-retention.c what expires; history.c the operations
 * of history.h, each under the lock. Functions shared between the parts are
 * named hist_*. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <sodium.h>

#include "history.h"

#define FORMAT_VERSION 1
#define KEY_BYTES 32

/* DIR/history.key: the master key, or the Argon2id parameters and salt a
 * passphrase is stretched with; both with a check value. */
#define KEYFILE_MAGIC "HARK-KEY"
#define KEYFILE_SIZE 112
#define KEYFILE_CHECKED 48 /* the bytes the check value covers */
#define KEYFILE_CHECK 48
#define KEYFILE_KEY 80
#define MODE_KEY 1
#define MODE_PASSPHRASE 2
/* Argon2id sized for a Raspberry Pi: MODERATE's 3 passes, but INTERACTIVE's
 * 64 MiB, because MODERATE's 256 MiB is a quarter to an eighth of a Pi's RAM
 * and would fail or swap next to the speech pipeline. The extra pass buys
 * back some of the cost a guesser pays. */
#define PW_OPSLIMIT 3ULL
#define PW_MEMLIMIT (64ULL * 1024 * 1024)
/* What we accept from a key file: it is outside input, and a huge memlimit
 * would be a denial of service. */
#define PW_OPSLIMIT_MAX 64ULL
#define PW_MEMLIMIT_MAX (1024ULL * 1024 * 1024)
#define PASSPHRASE_MAX 1024

/* DIR/history.keys: a header and one wrapped key per epoch. */
#define KEYS_MAGIC "HARKKEYS"
#define KEYS_HEADER 16
#define KEYS_ENTRY 96
#define KEYS_AD 24 /* epoch number, start and end: the entry's associated data */
#define KEYS_MAX 65536

/* DIR/history.dat: two header slots in separate sectors (a purge rewrites
 * the older one, so a torn header write leaves the other intact), then the
 * records. */
#define HIST_MAGIC "HARKHIST"
#define SLOT_SIZE 72
#define SLOT_MACED 40
#define SLOT_STRIDE 512
#define HEADER_SIZE 1024

#define REC_HDR 32
#define REC_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define REC_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define REC_OVERHEAD (REC_HDR + REC_NONCE + REC_TAG)
#define REC_MAX ((size_t)REC_OVERHEAD + HISTORY_PAYLOAD_MAX)

#define KDF_CONTEXT "harkhist"
enum { SUBKEY_CHECK = 1, SUBKEY_WRAP = 2, SUBKEY_HEADER = 3 };

#define DAY_MS (86400LL * 1000)
#define READ_CHUNK (256 * 1024)
/* A purge only moves the header's start; the dead bytes before it are
 * dropped by a rewrite once they are at least this many and at least as
 * many as the live ones, so rewriting stays amortised O(1) per record. */
#define COMPACT_MIN (64 * 1024)

#define HISTORY_FILE "history.dat"
#define KEYS_FILE "history.keys"
#define KEY_FILE "history.key"
#define LOCK_FILE "history.lock"

enum rec_state { REC_OK, REC_NOKEY, REC_BAD };

/* One record (or one unreadable region) of the history file as last read. */
struct rec {
    uint64_t off;
    uint64_t size; /* bytes in the file */
    uint64_t id;
    uint64_t epoch;
    int64_t time_ms;
    uint32_t len;
    uint8_t type;
    uint8_t state;
    bool placed; /* its id is the one expected there */
};

/* Subkeys of the master key; the master key itself is wiped once these
 * are derived. */
struct secrets {
    uint8_t wrap[KEY_BYTES];
    uint8_t header[KEY_BYTES];
    uint8_t scratch[KEY_BYTES];
};

struct epoch {
    uint64_t number;
    int64_t start_ms;
    int64_t end_ms;
    bool usable;  /* unwrapped; an entry that is not stays in the file as it is */
    bool destroy; /* marked by the purge, while the keys file is rewritten */
    uint8_t entry[KEYS_ENTRY];
};

struct history {
    char dir[PATH_MAX];
    char hist_path[PATH_MAX];
    char keys_path[PATH_MAX];
    char key_path[PATH_MAX];
    char lock_path[PATH_MAX];
    uint64_t retention_s;
    uint32_t max_entries;
    int lock_fd;
    int fd;

    struct secrets *sec; /* sodium_malloc, no access while idle */
    struct epoch *epochs;
    uint8_t *ekeys; /* sodium_malloc: KEY_BYTES per epoch, same order */
    size_t nepochs;
    size_t ecap;
    bool keys_known; /* keys_st says what the keys file was when last read */
    struct stat keys_st;
    dev_t key_dev;
    ino_t key_ino;

    dev_t dev;
    ino_t ino;
    uint64_t gen;
    uint64_t first_id;
    uint64_t data_off;
    uint64_t scanned_end;
    uint64_t next_id;
    int64_t newest_ms;
    bool header_bad;
    char header_problem[200];
    bool slot_bad;
    char slot_problem[200];
    struct rec *recs;
    size_t nrec;
    size_t rcap;

    int64_t now_ms; /* of the last call that gave a time */
    bool clock_ok;
    bool walking;
    bool read_only; /* opened so: no file is written */
    bool no_repair; /* read_only, or a verify under way: a torn tail is left */
    uint8_t *pt;    /* plaintext scratch, wiped after each use */
    uint8_t *io;    /* one record read for the walk */
    size_t io_cap;
    char anomaly[200];
};

/* Sequential reads of the history file for a scan, REC_MAX at a time at
 * most. */
struct reader {
    int fd;
    uint64_t size;
    uint8_t *buf;
    uint64_t start;
    size_t len;
};
static inline unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* history.c: the first problem into rep->problem (rep may be NULL). */
void hist_note(struct history_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* history-key.c: the files' checks, their atomic writes, the master key. */
bool hist_path_exists(const char *path);
int hist_check_file(int fd, const char *path, char *err, size_t errsz);
int hist_check_dir(const char *dir, char *err, size_t errsz);
int hist_write_atomic(const char *dir, const char *name, const uint8_t *data, size_t len, char *err,
                      size_t errsz);
int hist_load_master(struct history *h, const struct history_params *params, char *err,
                     size_t errsz);

/* history-epochs.c: the epoch keys. */
void hist_keys_access(struct history *h, bool on);
const uint8_t *hist_epoch_key(const struct history *h, uint64_t number);
size_t hist_epoch_index(const struct history *h, uint64_t number);
int hist_load_keys(struct history *h, char *err, size_t errsz);
int hist_keys_refresh(struct history *h, char *err, size_t errsz);
int hist_write_keys(struct history *h, char *err, size_t errsz);
int hist_current_epoch(struct history *h, int64_t now_ms, uint64_t *ret_number,
                       const uint8_t **ret_key, char *err, size_t errsz);

/* history-records.c: the record file. */
int hist_create(struct history *h, char *err, size_t errsz);
int hist_write_slot(struct history *h, uint64_t first_id, uint64_t data_off, char *err,
                    size_t errsz);
int hist_ensure_pt(struct history *h);
int hist_open_record(struct history *h, const uint8_t *p, size_t len, const uint8_t *key);
void hist_seal_record(const struct rec *c, const void *data, const uint8_t *key, uint8_t *out);
int hist_push_rec(struct history *h, const struct rec *c);
int hist_rescan(struct history *h, struct history_report *rep, char *err, size_t errsz);
void hist_place(struct history *h);
int hist_recheck_states(struct history *h);
int hist_refresh(struct history *h, struct history_report *rep, char *err, size_t errsz);
void hist_fill_report(const struct history *h, struct history_report *rep);
int hist_rewrite(struct history *h, size_t target, const uint8_t *stub, size_t stub_size, char *err,
                 size_t errsz);

/* history-retention.c: what expires. */
bool hist_expired(const struct history *h, const struct rec *c);
bool hist_set_clock(struct history *h, int64_t now_ms, struct history_report *rep);
int hist_apply_retention(struct history *h, int64_t now_ms, bool sweep, struct history_report *rep,
                         char *err, size_t errsz);
