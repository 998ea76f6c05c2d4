/* The encrypted, time-limited history store: an append-only file of records
 * sealed under per-epoch keys that are destroyed when their epoch expires.
 * The formats, the key hierarchy and the threat model: doc/privacy.md. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base-err.h"
#include "base-file.h"
#include "base-le.h"

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

static const char *const our_files[] = {
    HISTORY_FILE,        KEYS_FILE,          KEY_FILE,  ".history.dat.tmp",
    ".history.keys.tmp", ".history.key.tmp", LOCK_FILE,
};

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
    uint8_t *pt; /* plaintext scratch, wiped after each use */
    uint8_t *io; /* one record read for the walk */
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

static void note(struct history_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct history_report *rep, const char *fmt, ...)
{
    va_list ap;

    if (!rep || rep->problem[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
    va_end(ap);
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* DIR/.NAME.tmp: where a file is written before it is renamed over NAME. */
static int tmp_path_of(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/.%s.tmp", dir, name);

    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Our files hold keys or what they protect: owner-only, ours, regular.
 * Checked on the open descriptor, so the answer is about what we read. */
static int check_file(int fd, const char *path, char *err, size_t errsz)
{
    struct stat st;
    unsigned mode;

    if (fstat(fd, &st) < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot stat: %s", path, strerror(e));
    }
    mode = (unsigned)(st.st_mode & 07777);
    if (!S_ISREG(st.st_mode)) {
        return err_fail(err, errsz, -EPERM, "%s: not a regular file: refusing to use it", path);
    }
    if (st.st_uid != geteuid()) {
        return err_fail(err, errsz, -EPERM,
                    "%s: owned by uid %u, not by this user (uid %u): refusing to use it", path,
                    (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if (mode & 0044) {
        return err_fail(err, errsz, -EPERM,
                    "%s: readable by %s (mode %04o): refusing to use it; chmod 600 it", path,
                    (mode & 0004) ? "others" : "its group", mode);
    }
    if (mode & 0033) {
        return err_fail(
            err, errsz, -EPERM,
            "%s: writable or executable by %s (mode %04o): refusing to use it; chmod 600 it", path,
            (mode & 0003) ? "others" : "its group", mode);
    }
    return 0;
}

/* Others who can write the directory can swap our files for theirs. */
static int check_dir(const char *dir, char *err, size_t errsz)
{
    struct stat st;

    if (stat(dir, &st) < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: %s", dir, strerror(e));
    }
    if (!S_ISDIR(st.st_mode)) {
        return err_fail(err, errsz, -ENOTDIR, "%s: not a directory", dir);
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        return err_fail(
            err, errsz, -EPERM,
            "%s: owned by uid %u, not by this user (uid %u): refusing to keep history there", dir,
            (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if (st.st_mode & 0022) {
        return err_fail(err, errsz, -EPERM,
                    "%s: writable by %s (mode %04o): refusing to keep history there; chmod 700 it",
                    dir, (st.st_mode & 0002) ? "others" : "its group",
                    (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

/* DIR/NAME replaced through DIR/.NAME.tmp (0600 whatever the umask), and
 * the directory flushed: a crash leaves either the old file or the new one,
 * never half of one. */
static int write_atomic(const char *dir, const char *name, const uint8_t *data, size_t len,
                        char *err, size_t errsz)
{
    int r = file_write_atomic(dir, name, ".tmp", data, len, 0600);

    if (r == -ENAMETOOLONG) {
        return err_fail(err, errsz, r, "%s: path too long", dir);
    }
    if (r < 0) {
        return err_fail(err, errsz, r, "%s/%s: cannot write: %s", dir, name, strerror(-r));
    }
    r = file_sync_dir(dir);
    if (r < 0) {
        return err_fail(err, errsz, r, "%s: cannot flush the directory: %s", dir, strerror(-r));
    }
    return 0;
}

/* Key memory is readable only while an operation runs. */
static void keys_access(struct history *h, bool on)
{
    if (h->sec) {
        if (on) {
            sodium_mprotect_readwrite(h->sec);
        } else {
            sodium_mprotect_noaccess(h->sec);
        }
    }
    if (h->ekeys) {
        if (on) {
            sodium_mprotect_readwrite(h->ekeys);
        } else {
            sodium_mprotect_noaccess(h->ekeys);
        }
    }
}

static const uint8_t *epoch_key(const struct history *h, uint64_t number)
{
    /* From the newest: records mostly use the last few epochs. */
    for (size_t i = h->nepochs; i-- > 0;) {
        if (h->epochs[i].number == number && h->epochs[i].usable) {
            return h->ekeys + KEY_BYTES * i;
        }
    }
    return NULL;
}

static size_t epoch_index(const struct history *h, uint64_t number)
{
    for (size_t i = h->nepochs; i-- > 0;) {
        if (h->epochs[i].number == number && h->epochs[i].usable) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* ---- the key file ---- */

static int derive(uint8_t out[KEY_BYTES], uint64_t id, const uint8_t *master)
{
    return crypto_kdf_derive_from_key(out, KEY_BYTES, id, KDF_CONTEXT, master) == 0 ? 0 : -EIO;
}

/* The check value: a keyed BLAKE2b of the key file's parameters under a
 * subkey of the master key, so that a wrong passphrase or key is told apart
 * from corrupt records before anything is read. */
static int key_check(struct history *h, const uint8_t *kf, const uint8_t *master,
                     uint8_t out[KEY_BYTES])
{
    int r = derive(h->sec->scratch, SUBKEY_CHECK, master);

    if (r == 0 &&
        crypto_generichash(out, KEY_BYTES, kf, KEYFILE_CHECKED, h->sec->scratch, KEY_BYTES) != 0) {
        r = -EIO;
    }
    sodium_memzero(h->sec->scratch, KEY_BYTES);
    return r;
}

/* The first line of the passphrase file, without its line ending, into
 * guarded memory. */
static int read_passphrase(const char *path, char *pass, size_t *ret_len, char *err, size_t errsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0, len = 0;
    int r;

    if (fd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot open the passphrase file: %s", path, strerror(e));
    }
    r = check_file(fd, path, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = file_pread_all(fd, pass, PASSPHRASE_MAX + 1, 0, &got);
    if (r < 0) {
        err_fail(err, errsz, r, "%s: cannot read: %s", path, strerror(-r));
        goto cleanup;
    }
    while (len < got && pass[len] != '\n') {
        len++;
    }
    if (len > PASSPHRASE_MAX) {
        r = err_fail(err, errsz, -EINVAL, "%s: the passphrase is longer than %d bytes", path,
                 PASSPHRASE_MAX);
        goto cleanup;
    }
    if (len > 0 && pass[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        r = err_fail(err, errsz, -EINVAL, "%s: the first line (the passphrase) is empty", path);
        goto cleanup;
    }
    sodium_memzero(pass + len, PASSPHRASE_MAX + 1 - len);
    *ret_len = len;
    r = 0;

cleanup:
    close(fd);
    return r;
}

static int stretch(const char *pass_path, const uint8_t *kf, uint8_t *master, char *err,
                   size_t errsz)
{
    char *pass = sodium_malloc(PASSPHRASE_MAX + 1);
    size_t len = 0;
    int r;

    if (!pass) {
        return err_fail(err, errsz, -ENOMEM, "out of memory");
    }
    r = read_passphrase(pass_path, pass, &len, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (crypto_pwhash(master, KEY_BYTES, pass, len, kf + 32, le_get64(kf + 16), (size_t)le_get64(kf + 24),
                      (int)le_get32(kf + 12)) != 0) {
        r = err_fail(err, errsz, -ENOMEM, "%s: Argon2id needs %llu MiB: out of memory", pass_path,
                 ull(le_get64(kf + 24) >> 20));
    }

cleanup:
    sodium_free(pass);
    return r;
}

static int make_key_file(struct history *h, const struct history_params *params, uint8_t *kf,
                         uint8_t *master, char *err, size_t errsz)
{
    int r;

    memset(kf, 0, KEYFILE_SIZE);
    memcpy(kf, KEYFILE_MAGIC, 8);
    le_put16(kf + 8, FORMAT_VERSION);
    if (params->passphrase_file) {
        kf[10] = MODE_PASSPHRASE;
        le_put32(kf + 12, crypto_pwhash_ALG_ARGON2ID13);
        le_put64(kf + 16, PW_OPSLIMIT);
        le_put64(kf + 24, PW_MEMLIMIT);
        randombytes_buf(kf + 32, crypto_pwhash_SALTBYTES);
        r = stretch(params->passphrase_file, kf, master, err, errsz);
        if (r < 0) {
            return r;
        }
    } else {
        kf[10] = MODE_KEY;
        crypto_kdf_keygen(master);
        memcpy(kf + KEYFILE_KEY, master, KEY_BYTES);
    }
    r = key_check(h, kf, master, kf + KEYFILE_CHECK);
    if (r < 0) {
        return err_fail(err, errsz, r, "libsodium: cannot derive a key");
    }
    return write_atomic(h->dir, KEY_FILE, kf, KEYFILE_SIZE, err, errsz);
}

static int parse_key_file(struct history *h, const struct history_params *params, const uint8_t *kf,
                          uint8_t *master, char *err, size_t errsz)
{
    uint8_t check[KEY_BYTES];
    int r;

    if (memcmp(kf, KEYFILE_MAGIC, 8) != 0) {
        return err_fail(err, errsz, -EBADMSG, "%s: not a hark history key file", h->key_path);
    }
    if (le_get16(kf + 8) != FORMAT_VERSION) {
        return err_fail(err, errsz, -EPROTONOSUPPORT, "%s: format version %u; this hark reads %u",
                    h->key_path, le_get16(kf + 8), FORMAT_VERSION);
    }
    if (kf[10] == MODE_KEY) {
        if (params->passphrase_file) {
            return err_fail(err, errsz, -EINVAL,
                        "%s: holds a key, but a passphrase file (%s) was given: the history was "
                        "made without a passphrase",
                        h->key_path, params->passphrase_file);
        }
        memcpy(master, kf + KEYFILE_KEY, KEY_BYTES);
    } else if (kf[10] == MODE_PASSPHRASE) {
        uint64_t ops = le_get64(kf + 16), mem = le_get64(kf + 24);
        if (!params->passphrase_file) {
            return err_fail(err, errsz, -EINVAL,
                        "%s: the history was made with a passphrase: give its passphrase file",
                        h->key_path);
        }
        if (le_get32(kf + 12) != crypto_pwhash_ALG_ARGON2ID13 || ops < crypto_pwhash_OPSLIMIT_MIN ||
            ops > PW_OPSLIMIT_MAX || mem < crypto_pwhash_MEMLIMIT_MIN || mem > PW_MEMLIMIT_MAX) {
            return err_fail(err, errsz, -EBADMSG,
                        "%s: corrupt Argon2id parameters (algorithm %u, %llu passes, %llu KiB)",
                        h->key_path, le_get32(kf + 12), ull(ops), ull(mem >> 10));
        }
        r = stretch(params->passphrase_file, kf, master, err, errsz);
        if (r < 0) {
            return r;
        }
    } else {
        return err_fail(err, errsz, -EBADMSG, "%s: unknown key mode %u", h->key_path, kf[10]);
    }
    r = key_check(h, kf, master, check);
    if (r < 0) {
        return err_fail(err, errsz, r, "libsodium: cannot derive a key");
    }
    if (sodium_memcmp(check, kf + KEYFILE_CHECK, KEY_BYTES) != 0) {
        return err_fail(err, errsz, -EKEYREJECTED,
                    "%s: wrong passphrase or key (the key check value does not match)",
                    h->key_path);
    }
    return 0;
}

/* Reads (or with create, makes) the key file and leaves the subkeys in
 * h->sec; the master key itself does not outlive this function. */
static int load_master(struct history *h, const struct history_params *params, char *err,
                       size_t errsz)
{
    uint8_t *kf = sodium_malloc(KEYFILE_SIZE + 1);
    uint8_t *master = sodium_malloc(KEY_BYTES);
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int r;

    if (!kf || !master) {
        r = err_fail(err, errsz, -ENOMEM, "out of memory");
        goto cleanup;
    }
    fd = open(h->key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && params->create) {
        /* A new master key would orphan what the old one protects. */
        if (path_exists(h->keys_path) || path_exists(h->hist_path)) {
            r = err_fail(err, errsz, -ENOKEY,
                     "%s: missing, but %s or %s exists: restore the key file, or wipe the "
                     "history to start over",
                     h->key_path, h->keys_path, h->hist_path);
            goto cleanup;
        }
        r = make_key_file(h, params, kf, master, err, errsz);
    } else if (fd < 0) {
        int e = errno;
        r = err_fail(err, errsz, -e, "%s: cannot open: %s", h->key_path, strerror(e));
    } else {
        r = check_file(fd, h->key_path, err, errsz);
        if (r == 0) {
            r = file_pread_all(fd, kf, KEYFILE_SIZE + 1, 0, &got);
            if (r < 0) {
                err_fail(err, errsz, r, "%s: cannot read: %s", h->key_path, strerror(-r));
            } else if (got != KEYFILE_SIZE) {
                r = err_fail(err, errsz, -EBADMSG, "%s: corrupt (%zu bytes, a key file has %d)",
                         h->key_path, got, KEYFILE_SIZE);
            } else {
                r = parse_key_file(h, params, kf, master, err, errsz);
            }
        }
    }
    if (r < 0) {
        goto cleanup;
    }
    if (derive(h->sec->wrap, SUBKEY_WRAP, master) < 0 ||
        derive(h->sec->header, SUBKEY_HEADER, master) < 0) {
        r = err_fail(err, errsz, -EIO, "libsodium: cannot derive a key");
        goto cleanup;
    }
    if (stat(h->key_path, &st) < 0) {
        int e = errno;
        r = err_fail(err, errsz, -e, "%s: %s", h->key_path, strerror(e));
        goto cleanup;
    }
    h->key_dev = st.st_dev;
    h->key_ino = st.st_ino;

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    sodium_free(master);
    sodium_free(kf);
    return r;
}

/* ---- the keys file ---- */

static int keys_reserve(struct history *h, size_t n)
{
    struct epoch *e;
    uint8_t *k;
    size_t cap = h->ecap ? h->ecap : 16;

    if (n <= h->ecap) {
        return 0;
    }
    while (cap < n) {
        cap *= 2;
    }
    e = realloc(h->epochs, cap * sizeof(*e));
    if (!e) {
        return -ENOMEM;
    }
    h->epochs = e;
    k = sodium_malloc(cap * KEY_BYTES);
    if (!k) {
        return -ENOMEM;
    }
    if (h->ekeys) {
        memcpy(k, h->ekeys, h->nepochs * KEY_BYTES);
        sodium_free(h->ekeys);
    }
    h->ekeys = k;
    h->ecap = cap;
    return 0;
}

static void keys_clear(struct history *h)
{
    if (h->ekeys) {
        sodium_memzero(h->ekeys, h->ecap * KEY_BYTES);
    }
    h->nepochs = 0;
}

static void wrap_entry(struct history *h, struct epoch *ep, const uint8_t *key)
{
    uint8_t *e = ep->entry;

    le_put64(e, ep->number);
    le_put64(e + 8, (uint64_t)ep->start_ms);
    le_put64(e + 16, (uint64_t)ep->end_ms);
    randombytes_buf(e + KEYS_AD, REC_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(e + KEYS_AD + REC_NONCE, NULL, key, KEY_BYTES, e,
                                               KEYS_AD, NULL, e + KEYS_AD, h->sec->wrap);
}

static void place(struct history *h);
static int recheck_states(struct history *h);

/* Reads DIR/history.keys again: another process may have added or
 * destroyed epochs. A structurally corrupt file is refused (we would rewrite
 * it without what we cannot parse); an entry that does not unwrap is kept
 * as it is and its epoch counts as having no key. */
static int load_keys(struct history *h, char *err, size_t errsz)
{
    uint8_t *buf = NULL;
    uint8_t head[KEYS_HEADER];
    struct stat st;
    size_t got = 0, count;
    int fd;
    int r;

    fd = open(h->keys_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        keys_clear(h);
        h->keys_known = false;
        return recheck_states(h);
    }
    if (fd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot open: %s", h->keys_path, strerror(e));
    }
    r = check_file(fd, h->keys_path, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        err_fail(err, errsz, r, "%s: cannot stat: %s", h->keys_path, strerror(-r));
        goto cleanup;
    }
    r = file_pread_all(fd, head, sizeof(head), 0, &got);
    if (r < 0) {
        err_fail(err, errsz, r, "%s: cannot read: %s", h->keys_path, strerror(-r));
        goto cleanup;
    }
    count = got == sizeof(head) ? le_get32(head + 12) : 0;
    if (got != sizeof(head) || memcmp(head, KEYS_MAGIC, 8) != 0 ||
        le_get16(head + 8) != FORMAT_VERSION || count > KEYS_MAX ||
        (uint64_t)st.st_size != KEYS_HEADER + (uint64_t)count * KEYS_ENTRY) {
        r = err_fail(err, errsz, -EBADMSG,
                 "%s: corrupt (bad header or size): refusing to rewrite it; wipe the history to "
                 "start over",
                 h->keys_path);
        goto cleanup;
    }
    buf = malloc(count * KEYS_ENTRY + 1);
    if (!buf) {
        r = err_fail(err, errsz, -ENOMEM, "out of memory");
        goto cleanup;
    }
    r = file_pread_all(fd, buf, count * KEYS_ENTRY, KEYS_HEADER, &got);
    if (r < 0 || got != count * KEYS_ENTRY) {
        r = err_fail(err, errsz, r < 0 ? r : -EIO, "%s: cannot read", h->keys_path);
        goto cleanup;
    }
    keys_clear(h);
    r = keys_reserve(h, count);
    if (r < 0) {
        err_fail(err, errsz, r, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        struct epoch *ep = &h->epochs[i];
        const uint8_t *e = buf + i * KEYS_ENTRY;
        uint8_t *key = h->ekeys + KEY_BYTES * i;

        *ep = (struct epoch){
            .number = le_get64(e),
            .start_ms = (int64_t)le_get64(e + 8),
            .end_ms = (int64_t)le_get64(e + 16),
        };
        memcpy(ep->entry, e, KEYS_ENTRY);
        h->nepochs = i + 1;
        ep->usable = ep->start_ms < ep->end_ms && epoch_key(h, ep->number) == NULL &&
                     crypto_aead_xchacha20poly1305_ietf_decrypt(
                         key, NULL, NULL, e + KEYS_AD + REC_NONCE, KEY_BYTES + REC_TAG, e, KEYS_AD,
                         e + KEYS_AD, h->sec->wrap) == 0;
        if (!ep->usable) {
            sodium_memzero(key, KEY_BYTES);
        }
    }
    h->keys_st = st;
    h->keys_known = true;
    r = recheck_states(h);
    if (r < 0) {
        err_fail(err, errsz, r, "%s: cannot read: %s", h->hist_path, strerror(-r));
    }

cleanup:
    free(buf);
    close(fd);
    return r;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int keys_refresh(struct history *h, char *err, size_t errsz)
{
    struct stat st;

    if (stat(h->keys_path, &st) < 0) {
        int e = errno;
        if (e != ENOENT) {
            return err_fail(err, errsz, -e, "%s: %s", h->keys_path, strerror(e));
        }
        if (!h->keys_known && h->nepochs == 0) {
            return 0;
        }
    } else if (h->keys_known && same_file(&st, &h->keys_st)) {
        return 0;
    }
    return load_keys(h, err, errsz);
}

/* Rewrites the keys file without the epochs marked destroy; only when that
 * is on disk are their keys wiped from memory. */
static int write_keys(struct history *h, char *err, size_t errsz)
{
    size_t n = 0;
    uint8_t *buf = malloc(KEYS_HEADER + h->nepochs * KEYS_ENTRY);
    struct stat st;
    int r;

    if (!buf) {
        return err_fail(err, errsz, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < h->nepochs; i++) {
        if (!h->epochs[i].destroy) {
            memcpy(buf + KEYS_HEADER + n * KEYS_ENTRY, h->epochs[i].entry, KEYS_ENTRY);
            n++;
        }
    }
    memset(buf, 0, KEYS_HEADER);
    memcpy(buf, KEYS_MAGIC, 8);
    le_put16(buf + 8, FORMAT_VERSION);
    le_put32(buf + 12, (uint32_t)n);
    r = write_atomic(h->dir, KEYS_FILE, buf, KEYS_HEADER + n * KEYS_ENTRY, err, errsz);
    free(buf);
    if (r < 0) {
        for (size_t i = 0; i < h->nepochs; i++) {
            h->epochs[i].destroy = false;
        }
        return r;
    }
    n = 0;
    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].destroy) {
            continue;
        }
        if (n != i) {
            h->epochs[n] = h->epochs[i];
            memcpy(h->ekeys + KEY_BYTES * n, h->ekeys + KEY_BYTES * i, KEY_BYTES);
        }
        n++;
    }
    sodium_memzero(h->ekeys + KEY_BYTES * n, KEY_BYTES * (h->nepochs - n));
    h->nepochs = n;
    if (stat(h->keys_path, &st) == 0) {
        h->keys_st = st;
        h->keys_known = true;
    }
    return 0;
}

/* ---- the history file ---- */

static void build_slot(const struct history *h, uint8_t s[SLOT_SIZE], uint64_t gen,
                       uint64_t first_id, uint64_t data_off)
{
    memset(s, 0, SLOT_SIZE);
    memcpy(s, HIST_MAGIC, 8);
    le_put16(s + 8, FORMAT_VERSION);
    le_put16(s + 10, (uint16_t)(gen % 2));
    le_put64(s + 16, gen);
    le_put64(s + 24, first_id);
    le_put64(s + 32, data_off);
    crypto_generichash(s + SLOT_MACED, KEY_BYTES, s, SLOT_MACED, h->sec->header, KEY_BYTES);
}

/* Picks the authentic header slot with the highest generation. No slot
 * with our magic: not our file, refused. Slots that all fail their MAC: the
 * history is read from the first record on and nothing is written. */
static int read_header(struct history *h, uint64_t size, char *err, size_t errsz)
{
    uint8_t buf[SLOT_STRIDE + SLOT_SIZE];
    uint8_t mac[KEY_BYTES];
    size_t got = 0;
    int best = -1, failed = -1;
    bool magic = false;
    unsigned version = 0;
    int r;

    r = file_pread_all(h->fd, buf, sizeof(buf), 0, &got);
    if (r < 0) {
        return err_fail(err, errsz, r, "%s: cannot read: %s", h->hist_path, strerror(-r));
    }
    for (int slot = 0; slot < 2; slot++) {
        const uint8_t *p = buf + slot * SLOT_STRIDE;
        if (got < (size_t)slot * SLOT_STRIDE + SLOT_SIZE || memcmp(p, HIST_MAGIC, 8) != 0) {
            continue;
        }
        magic = true;
        if (le_get16(p + 8) != FORMAT_VERSION) {
            version = le_get16(p + 8);
            failed = slot;
            continue;
        }
        crypto_generichash(mac, sizeof(mac), p, SLOT_MACED, h->sec->header, KEY_BYTES);
        if (le_get16(p + 10) != slot || sodium_memcmp(mac, p + SLOT_MACED, KEY_BYTES) != 0) {
            failed = slot;
            continue;
        }
        if (best < 0 || le_get64(p + 16) > le_get64(buf + best * SLOT_STRIDE + 16)) {
            best = slot;
        }
    }
    h->header_bad = false;
    h->header_problem[0] = '\0';
    h->slot_bad = false;
    h->slot_problem[0] = '\0';
    if (best >= 0) {
        const uint8_t *p = buf + best * SLOT_STRIDE;
        /* Only a crash inside the 72-byte header write could leave this
         * (its own sector), and the next purge writes over it; so it is
         * reported, not fatal: it could also hide a newer header, which
         * would bring back records a purge had dropped. */
        if (failed >= 0) {
            h->slot_bad = true;
            err_set(h->slot_problem, sizeof(h->slot_problem),
                   "%s: header slot %d fails authentication (modified or corrupt); slot %d "
                   "(generation %llu) is used",
                   h->hist_path, failed, best, ull(le_get64(p + 16)));
        }
        h->gen = le_get64(p + 16);
        h->first_id = le_get64(p + 24);
        h->data_off = le_get64(p + 32);
        if (h->data_off < HEADER_SIZE || h->data_off > size) {
            err_set(h->header_problem, sizeof(h->header_problem),
                   "%s: %llu bytes long, but its header says the records start at %llu: "
                   "records were cut off",
                   h->hist_path, ull(size), ull(h->data_off));
            h->header_bad = true;
            h->data_off = size < HEADER_SIZE ? HEADER_SIZE : size;
        }
        return 0;
    }
    if (!magic) {
        return err_fail(err, errsz, -EBADMSG, "%s: not a hark history file: refusing to use it",
                    h->hist_path);
    }
    if (version != 0) {
        return err_fail(err, errsz, -EPROTONOSUPPORT, "%s: format version %u; this hark reads %u",
                    h->hist_path, version, FORMAT_VERSION);
    }
    /* In key-file mode the check value only says the key file is whole;
     * a key file from another history shows here, when nothing at all
     * authenticates under it. */
    if (history_key_count(h) == 0) {
        return err_fail(err, errsz, -EKEYREJECTED,
                    "%s: wrong passphrase or key: neither the history header nor any epoch key "
                    "authenticates under it (or both are corrupt)",
                    h->key_path);
    }
    err_set(h->header_problem, sizeof(h->header_problem),
           "%s: the file header fails authentication (modified or corrupt): reading only",
           h->hist_path);
    h->header_bad = true;
    h->first_id = 0;
    h->data_off = HEADER_SIZE;
    return 0;
}

static int write_slot(struct history *h, uint64_t first_id, uint64_t data_off, char *err,
                      size_t errsz)
{
    uint8_t s[SLOT_SIZE];
    uint64_t gen = h->gen + 1;
    int r;

    build_slot(h, s, gen, first_id, data_off);
    r = file_pwrite_all(h->fd, s, sizeof(s), (gen % 2) * SLOT_STRIDE);
    if (r == 0 && fdatasync(h->fd) < 0) {
        r = -errno;
    }
    if (r < 0) {
        return err_fail(err, errsz, r, "%s: cannot write the header: %s", h->hist_path, strerror(-r));
    }
    h->gen = gen;
    h->first_id = first_id;
    h->data_off = data_off;
    return 0;
}

static int reader_get(struct reader *rd, uint64_t off, size_t n, const uint8_t **ret)
{
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    size_t got = 0;
    int r;

    if (off >= rd->start && off + n <= rd->start + rd->len) {
        *ret = rd->buf + (off - rd->start);
        return 0;
    }
    if (want > rd->size - off) {
        want = (size_t)(rd->size - off);
    }
    r = file_pread_all(rd->fd, rd->buf, want, off, &got);
    if (r < 0) {
        return r;
    }
    rd->start = off;
    rd->len = got;
    if (got < n) {
        return -EIO; /* the file shrank under us: it is locked, so not ours */
    }
    *ret = rd->buf;
    return 0;
}

/* The reader's and the rewrite's buffers (1.25 MiB each, for a moment):
 * mapped and unmapped, not from the heap. From malloc, glibc raises its
 * mmap threshold when the first is freed and serves the next from the
 * heap, which keeps the pages: the soak saw RSS rise by 0.5 to 0.75 MiB at
 * each of the first compactions of a long-running hark. Mapped memory
 * reads as zeros, as calloc's does. */
static uint8_t *big_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

static void big_free(uint8_t *p, size_t n)
{
    /* The pages go back to the kernel, which clears them before any reuse. */
    if (p) {
        munmap(p, n);
    }
}

static int reader_init(struct reader *rd, int fd, uint64_t size)
{
    *rd = (struct reader){.fd = fd, .size = size};
    rd->buf = big_alloc(REC_MAX + READ_CHUNK);
    return rd->buf ? 0 : -ENOMEM;
}

static void reader_finish(struct reader *rd)
{
    big_free(rd->buf, REC_MAX + READ_CHUNK);
    rd->buf = NULL;
}

static int ensure_pt(struct history *h)
{
    if (!h->pt) {
        h->pt = malloc(HISTORY_PAYLOAD_MAX + 1);
    }
    return h->pt ? 0 : -ENOMEM;
}

/* Decrypts a whole record (header, nonce, ciphertext) into h->pt. */
static int open_record(struct history *h, const uint8_t *p, size_t len, const uint8_t *key)
{
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(h->pt, NULL, NULL, p + REC_HDR + REC_NONCE,
                                                   len + REC_TAG, p, REC_HDR, p + REC_HDR,
                                                   key) != 0) {
        return -EBADMSG;
    }
    return 0;
}

static bool header_plausible(const uint8_t *p)
{
    uint32_t len = le_get32(p);

    if (p[4] != FORMAT_VERSION || p[6] != 0 || p[7] != 0 || len > HISTORY_PAYLOAD_MAX ||
        le_get64(p + 16) == 0) {
        return false;
    }
    if (p[5] == HISTORY_DELETED) {
        return len == 0;
    }
    return p[5] == HISTORY_INTERACTION || p[5] == HISTORY_AUDIO;
}

enum { P_OK, P_NOKEY, P_BAD, P_SHORT, P_JUNK };

/* What lies at off: a record that authenticates, one whose key is gone, one
 * that fails, one cut short by the end of the file, or no record header. */
static int parse_at(struct history *h, struct reader *rd, uint64_t off, uint64_t max_id,
                    struct rec *out)
{
    const uint8_t *p;
    const uint8_t *key;
    int r;

    if (rd->size - off < REC_HDR) {
        return P_SHORT;
    }
    r = reader_get(rd, off, REC_HDR, &p);
    if (r < 0) {
        return r;
    }
    if (!header_plausible(p)) {
        return P_JUNK;
    }
    *out = (struct rec){
        .off = off,
        .len = le_get32(p),
        .type = p[5],
        .epoch = le_get64(p + 8),
        .id = le_get64(p + 16),
        .time_ms = (int64_t)le_get64(p + 24),
    };
    out->size = REC_OVERHEAD + (uint64_t)out->len;
    if (rd->size - off < out->size) {
        return P_SHORT;
    }
    /* While resynchronising, only ids that could follow: a crafted file
     * cannot make us authenticate at every offset. */
    if (max_id > 0 && (out->id < h->first_id || out->id > max_id)) {
        return P_JUNK;
    }
    key = epoch_key(h, out->epoch);
    if (!key) {
        out->state = REC_NOKEY;
        return P_NOKEY;
    }
    r = reader_get(rd, off, (size_t)out->size, &p);
    if (r < 0) {
        return r;
    }
    r = open_record(h, p, out->len, key);
    sodium_memzero(h->pt, out->len);
    out->state = r == 0 ? REC_OK : REC_BAD;
    return r == 0 ? P_OK : P_BAD;
}

/* The first offset from `from` on where a record authenticates (or, its key
 * gone, has a header with a believable id); the file size if none. */
static int resync(struct history *h, struct reader *rd, uint64_t from, uint64_t *ret_off)
{
    for (uint64_t o = from; o < rd->size && rd->size - o >= REC_OVERHEAD; o++) {
        struct rec c;
        int r = parse_at(h, rd, o, h->next_id + (rd->size - o) / REC_OVERHEAD, &c);
        if (r < 0) {
            return r;
        }
        if (r == P_OK || r == P_NOKEY) {
            *ret_off = o;
            return 0;
        }
    }
    *ret_off = rd->size;
    return 0;
}

/* Is [off, EOF) what an interrupted append leaves? One record at most; a
 * header cut short, or the next record's header with the record cut short,
 * or zeros (a filesystem that extended the file before its data reached the
 * disk). A record of full length that fails authentication is not: a write
 * that was cut off is shorter, so that is a modified or corrupt record, kept
 * and reported like any other damage. */
static int tail_is_torn(struct history *h, struct reader *rd, uint64_t off, int parsed,
                        const struct rec *c, bool *ret)
{
    uint64_t tail = rd->size - off;
    bool expected_id = h->header_bad || c->id == h->next_id;
    const uint8_t *p;
    int r;

    *ret = false;
    if (tail > REC_MAX) {
        return 0;
    }
    if (parsed == P_SHORT) {
        *ret = tail < REC_HDR || expected_id;
        return 0;
    }
    r = reader_get(rd, off, (size_t)tail, &p);
    if (r < 0) {
        return r;
    }
    *ret = true;
    for (uint64_t i = 0; i < tail; i++) {
        if (p[i] != 0) {
            *ret = false;
            break;
        }
    }
    return 0;
}

static int push_rec(struct history *h, const struct rec *c)
{
    if (h->nrec == h->rcap) {
        size_t cap = h->rcap ? h->rcap * 2 : 256;
        struct rec *n = realloc(h->recs, cap * sizeof(*n));
        if (!n) {
            return -ENOMEM;
        }
        h->recs = n;
        h->rcap = cap;
    }
    h->recs[h->nrec++] = *c;
    if (c->state == REC_OK) {
        if (c->id >= h->next_id && c->id < UINT64_MAX) {
            h->next_id = c->id + 1;
        }
        if (c->time_ms > h->newest_ms) {
            h->newest_ms = c->time_ms;
        }
    }
    return 0;
}

/* Reads the records from `from` to the end of the file into the index. A
 * torn tail is cut off (we hold the lock: no append is under way, so an
 * incomplete record is one whose writer died) and counted in torn_bytes;
 * once cut it is no problem of the history, so it is not in `problem`.
 * With no_repair it is left, counted in torn_kept, and is a problem. */
static int scan(struct history *h, uint64_t from, struct history_report *rep, char *err,
                size_t errsz)
{
    struct reader rd;
    struct stat st;
    uint64_t off = from;
    int r;

    if (fstat(h->fd, &st) < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot stat: %s", h->hist_path, strerror(e));
    }
    r = reader_init(&rd, h->fd, (uint64_t)st.st_size);
    if (r < 0 || (r = ensure_pt(h)) < 0) {
        reader_finish(&rd);
        return err_fail(err, errsz, r, "out of memory");
    }
    while (off < rd.size) {
        struct rec c = {0};
        uint64_t next = 0;
        bool torn = false;
        int parsed;

        r = parse_at(h, &rd, off, 0, &c);
        if (r < 0) {
            break;
        }
        if (r == P_OK || r == P_NOKEY) {
            r = push_rec(h, &c);
            if (r < 0) {
                break;
            }
            off += c.size;
            continue;
        }
        parsed = r;
        r = resync(h, &rd, off + 1, &next);
        if (r == 0 && next >= rd.size) {
            r = tail_is_torn(h, &rd, off, parsed, &c, &torn);
        }
        if (r < 0) {
            break;
        }
        if (torn && h->no_repair) {
            if (rep) {
                rep->torn_kept += rd.size - off;
            }
            note(rep,
                 "%s: an incomplete last record at offset %llu (%llu bytes), left by an "
                 "interrupted append or cut short: left as it is (the next write removes it)",
                 h->hist_path, ull(off), ull(rd.size - off));
            break;
        }
        if (torn) {
            if (ftruncate(h->fd, (off_t)off) < 0 || fsync(h->fd) < 0) {
                r = -errno;
                break;
            }
            if (rep) {
                rep->torn_bytes += rd.size - off;
            }
            rd.size = off;
            break;
        }
        c = (struct rec){.off = off, .size = next - off, .state = REC_BAD};
        r = push_rec(h, &c);
        if (r < 0) {
            break;
        }
        off = next;
    }
    reader_finish(&rd);
    if (r < 0) {
        return err_fail(err, errsz, r, "%s: cannot read at offset %llu: %s", h->hist_path, ull(off),
                    strerror(-r));
    }
    h->scanned_end = off;
    return 0;
}

static int rescan(struct history *h, struct history_report *rep, char *err, size_t errsz)
{
    h->nrec = 0;
    h->next_id = h->first_id ? h->first_id : 1;
    h->newest_ms = INT64_MIN;
    return scan(h, h->data_off, rep, err, errsz);
}

/* Ids run on by one from the header's first_id. A record after a gap, or
 * one whose id has already gone by, is misplaced. After a region that fails
 * authentication any higher id is accepted: the region is reported itself. */
static void place(struct history *h)
{
    uint64_t expected = h->first_id;
    bool after_bad = false, first = true;

    h->anomaly[0] = '\0';
    for (size_t i = 0; i < h->nrec; i++) {
        struct rec *c = &h->recs[i];
        char msg[sizeof(h->anomaly)];

        msg[0] = '\0';
        c->placed = false;
        if (c->state == REC_BAD) {
            after_bad = true;
            err_set(msg, sizeof(msg),
                   "%s: offset %llu: %llu bytes that fail authentication (modified or corrupt)",
                   h->hist_path, ull(c->off), ull(c->size));
        } else {
            if (h->header_bad && first) {
                expected = c->id;
            }
            first = false;
            if (c->id == expected || (after_bad && c->id > expected)) {
                c->placed = true;
                expected = c->id + 1;
            } else if (c->id > expected) {
                err_set(msg, sizeof(msg),
                       "%s: record %llu at offset %llu: record(s) %llu to %llu before it are "
                       "missing",
                       h->hist_path, ull(c->id), ull(c->off), ull(expected), ull(c->id - 1));
                expected = c->id + 1;
            } else {
                err_set(msg, sizeof(msg),
                       "%s: record %llu at offset %llu: out of order (record %llu expected)",
                       h->hist_path, ull(c->id), ull(c->off), ull(expected));
            }
            after_bad = false;
            if (c->state == REC_NOKEY && msg[0] == '\0') {
                err_set(msg, sizeof(msg),
                       "%s: record %llu at offset %llu: the key of its epoch %llu is gone",
                       h->hist_path, ull(c->id), ull(c->off), ull(c->epoch));
            }
        }
        if (msg[0] != '\0' && h->anomaly[0] == '\0') {
            memcpy(h->anomaly, msg, sizeof(msg));
        }
    }
}

/* After the keys changed: records whose key went are unreadable now, and
 * those whose key came are authenticated again. */
static int recheck_states(struct history *h)
{
    struct reader rd;
    bool need = false;
    int r;

    for (size_t i = 0; i < h->nrec; i++) {
        struct rec *c = &h->recs[i];
        if (c->state == REC_OK && !epoch_key(h, c->epoch)) {
            c->state = REC_NOKEY;
        } else if (c->state == REC_NOKEY && epoch_key(h, c->epoch)) {
            need = true;
        }
    }
    if (!need) {
        return 0;
    }
    r = reader_init(&rd, h->fd, h->scanned_end);
    if (r < 0 || (r = ensure_pt(h)) < 0) {
        reader_finish(&rd);
        return r;
    }
    for (size_t i = 0; i < h->nrec && r >= 0; i++) {
        struct rec *c = &h->recs[i];
        struct rec again;
        if (c->state != REC_NOKEY || !epoch_key(h, c->epoch)) {
            continue;
        }
        r = parse_at(h, &rd, c->off, 0, &again);
        if (r == P_OK) {
            c->state = REC_OK;
        } else if (r == P_BAD) {
            c->state = REC_BAD;
        }
    }
    reader_finish(&rd);
    return r < 0 ? r : 0;
}

static int open_history_fd(struct history *h, char *err, size_t errsz)
{
    struct stat st;
    int fd = open(h->hist_path, (h->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW);
    int r;

    if (fd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot open: %s", h->hist_path, strerror(e));
    }
    r = check_file(fd, h->hist_path, err, errsz);
    if (r < 0 || fstat(fd, &st) < 0) {
        close(fd);
        return r < 0 ? r : err_fail(err, errsz, -EIO, "%s: cannot stat", h->hist_path);
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    h->fd = fd;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    return 0;
}

/* Brings the index up to what is on disk: another process (or another
 * handle) may have appended, purged, rewritten the file or changed keys. */
static int refresh(struct history *h, struct history_report *rep, char *err, size_t errsz)
{
    struct stat st;
    int r;

    if (stat(h->key_path, &st) < 0 || st.st_dev != h->key_dev || st.st_ino != h->key_ino) {
        return err_fail(err, errsz, -ENOENT,
                    "%s: removed or replaced since the history was opened (wiped?)", h->key_path);
    }
    r = keys_refresh(h, err, errsz);
    if (r < 0) {
        return r;
    }
    if (stat(h->hist_path, &st) < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: %s", h->hist_path, strerror(e));
    }
    if (h->fd < 0 || st.st_dev != h->dev || st.st_ino != h->ino) {
        r = open_history_fd(h, err, errsz);
        if (r < 0) {
            return r;
        }
        if (fstat(h->fd, &st) < 0) {
            return err_fail(err, errsz, -EIO, "%s: cannot stat", h->hist_path);
        }
        r = read_header(h, (uint64_t)st.st_size, err, errsz);
        if (r == 0) {
            r = rescan(h, rep, err, errsz);
        }
    } else {
        uint64_t gen = h->gen, data_off = h->data_off;
        bool was_bad = h->header_bad;

        r = read_header(h, (uint64_t)st.st_size, err, errsz);
        if (r < 0) {
            return r;
        }
        if (h->gen != gen || h->data_off != data_off || h->header_bad != was_bad ||
            (uint64_t)st.st_size < h->scanned_end) {
            /* A purge by another process moved the start forward: drop what
             * went, if it lines up with what we have; else read it all. */
            size_t k = 0;
            while (k < h->nrec && h->recs[k].off < h->data_off) {
                k++;
            }
            if (!h->header_bad && !was_bad && h->data_off >= data_off &&
                (uint64_t)st.st_size >= h->scanned_end &&
                (k == h->nrec ? h->data_off == h->scanned_end : h->recs[k].off == h->data_off)) {
                memmove(h->recs, h->recs + k, (h->nrec - k) * sizeof(*h->recs));
                h->nrec -= k;
                if (h->next_id < h->first_id) {
                    h->next_id = h->first_id;
                }
            } else {
                r = rescan(h, rep, err, errsz);
                if (r < 0) {
                    return r;
                }
            }
        }
        if ((uint64_t)st.st_size > h->scanned_end) {
            r = scan(h, h->scanned_end, rep, err, errsz);
        }
    }
    place(h);
    return r;
}

static void fill_report(const struct history *h, struct history_report *rep)
{
    rep->records = h->nrec;
    rep->readable = rep->deleted = rep->bad = rep->misplaced = rep->no_key = 0;
    for (size_t i = 0; i < h->nrec; i++) {
        const struct rec *c = &h->recs[i];
        if (c->state == REC_BAD) {
            rep->bad++;
        } else if (c->state == REC_NOKEY) {
            rep->no_key++;
        } else if (!c->placed) {
            rep->misplaced++;
        } else {
            rep->readable++;
            if (c->type == HISTORY_DELETED) {
                rep->deleted++;
            }
        }
    }
    rep->header_bad = h->header_bad;
    rep->slot_bad = h->slot_bad;
    if (h->header_bad) {
        note(rep, "%s", h->header_problem);
    }
    if (h->slot_bad) {
        note(rep, "%s", h->slot_problem);
    }
    if (h->anomaly[0] != '\0') {
        note(rep, "%s", h->anomaly);
    }
}

static uint64_t epoch_ms(const struct history *h)
{
    return history_epoch_seconds(h->retention_s) * 1000;
}

static bool expired(const struct history *h, const struct rec *c)
{
    int64_t ret_ms = (int64_t)h->retention_s * 1000;

    return h->clock_ok && h->now_ms >= INT64_MIN + ret_ms && c->time_ms <= h->now_ms - ret_ms;
}

/* Writes the file again with only the live records (the dead prefix a
 * purge left goes), record `target` replaced by `stub` if target < nrec:
 * temp file, fsync, rename, fsync of the directory. */
static int rewrite(struct history *h, size_t target, const uint8_t *stub, size_t stub_size,
                   char *err, size_t errsz)
{
    char tmp[PATH_MAX];
    uint8_t *buf = NULL;
    size_t fill = HEADER_SIZE, bufsz = REC_MAX + READ_CHUNK;
    uint64_t woff = 0, noff;
    struct stat st;
    int fd = -1;
    int r;

    if (tmp_path_of(tmp, h->dir, HISTORY_FILE) < 0) {
        return err_fail(err, errsz, -ENAMETOOLONG, "%s: path too long", h->dir);
    }
    buf = big_alloc(bufsz);
    if (!buf) {
        return err_fail(err, errsz, -ENOMEM, "out of memory");
    }
    if (unlink(tmp) < 0 && errno != ENOENT) {
        r = -errno;
        goto cleanup;
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        r = -errno;
        goto cleanup;
    }
    build_slot(h, buf + ((h->gen + 1) % 2) * SLOT_STRIDE, h->gen + 1, h->first_id, HEADER_SIZE);
    for (size_t i = 0; i < h->nrec; i++) {
        const struct rec *c = &h->recs[i];
        size_t n = i == target ? stub_size : (size_t)c->size;
        size_t got = 0;

        if (fill + n > bufsz) {
            r = file_pwrite_all(fd, buf, fill, woff);
            if (r < 0) {
                goto cleanup;
            }
            woff += fill;
            fill = 0;
        }
        if (i == target) {
            memcpy(buf + fill, stub, stub_size);
        } else {
            /* Bad regions can be larger than a record: copy them in pieces. */
            for (uint64_t done = 0; done < c->size; done += got) {
                size_t piece = c->size - done > bufsz - fill ? bufsz - fill : c->size - done;
                r = file_pread_all(h->fd, buf + fill, piece, c->off + done, &got);
                if (r == 0 && got != piece) {
                    r = -EIO;
                }
                if (r < 0) {
                    goto cleanup;
                }
                fill += piece;
                if (fill == bufsz) {
                    r = file_pwrite_all(fd, buf, fill, woff);
                    if (r < 0) {
                        goto cleanup;
                    }
                    woff += fill;
                    fill = 0;
                }
            }
            continue;
        }
        fill += n;
    }
    r = file_pwrite_all(fd, buf, fill, woff);
    if (r < 0) {
        goto cleanup;
    }
    woff += fill;
    if (fsync(fd) < 0 || fstat(fd, &st) < 0 || rename(tmp, h->hist_path) < 0) {
        r = -errno;
        goto cleanup;
    }
    close(h->fd);
    h->fd = fd;
    fd = -1;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    h->gen++;
    h->data_off = HEADER_SIZE;
    h->scanned_end = woff;
    noff = HEADER_SIZE;
    for (size_t i = 0; i < h->nrec; i++) {
        struct rec *c = &h->recs[i];
        c->off = noff;
        if (i == target) {
            c->size = stub_size;
            c->len = 0;
            c->type = HISTORY_DELETED;
        }
        noff += c->size;
    }
    r = file_sync_dir(h->dir);
    if (r < 0) {
        err_fail(err, errsz, r, "%s: cannot flush the directory: %s", h->dir, strerror(-r));
    }
    big_free(buf, bufsz);
    return r;

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    big_free(buf, bufsz);
    return err_fail(err, errsz, r, "%s: cannot rewrite: %s", h->hist_path, strerror(-r));
}

/* The epoch an append at now_ms goes into: the newest one if now lies in
 * it, else a new one (its key made and written to the keys file first, so a
 * crash never leaves a record without its key). */
static int current_epoch(struct history *h, int64_t now_ms, uint64_t *ret_number,
                         const uint8_t **ret_key, char *err, size_t errsz)
{
    size_t latest = SIZE_MAX;
    uint64_t number = 1;
    int64_t len = (int64_t)epoch_ms(h);
    struct epoch *ep;
    int64_t start;
    int r;

    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].number >= number) {
            number = h->epochs[i].number + 1;
        }
        if (h->epochs[i].usable &&
            (latest == SIZE_MAX || h->epochs[i].number > h->epochs[latest].number)) {
            latest = i;
        }
    }
    if (latest != SIZE_MAX && h->epochs[latest].start_ms <= now_ms &&
        now_ms < h->epochs[latest].end_ms) {
        *ret_number = h->epochs[latest].number;
        *ret_key = h->ekeys + KEY_BYTES * latest;
        return 0;
    }
    if (now_ms > INT64_MAX - len) {
        return err_fail(err, errsz, -EINVAL, "a time of %lld ms is out of range", (long long)now_ms);
    }
    if (h->nepochs >= KEYS_MAX || number == UINT64_MAX) {
        return err_fail(err, errsz, -EOVERFLOW, "%s: too many epoch keys", h->keys_path);
    }
    r = keys_reserve(h, h->nepochs + 1);
    if (r < 0) {
        return err_fail(err, errsz, r, "out of memory");
    }
    start = now_ms / len * len;
    if (now_ms % len < 0) {
        start -= len;
    }
    ep = &h->epochs[h->nepochs];
    *ep =
        (struct epoch){.number = number, .start_ms = start, .end_ms = start + len, .usable = true};
    crypto_aead_xchacha20poly1305_ietf_keygen(h->ekeys + KEY_BYTES * h->nepochs);
    wrap_entry(h, ep, h->ekeys + KEY_BYTES * h->nepochs);
    h->nepochs++;
    r = write_keys(h, err, errsz);
    if (r < 0) {
        h->nepochs--;
        sodium_memzero(h->ekeys + KEY_BYTES * h->nepochs, KEY_BYTES);
        return r;
    }
    *ret_number = number;
    *ret_key = h->ekeys + KEY_BYTES * (h->nepochs - 1);
    return 0;
}

/* Destroys the keys of epochs whose every possible record has expired, and
 * (with sweep) of past epochs no live record uses. */
static int destroy_keys(struct history *h, int64_t now_ms, int64_t cutoff, bool sweep,
                        struct history_report *rep, char *err, size_t errsz)
{
    bool *used = NULL;
    size_t cur = SIZE_MAX, n = 0;
    int r = 0;

    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].usable &&
            (cur == SIZE_MAX || h->epochs[i].number > h->epochs[cur].number)) {
            cur = i;
        }
    }
    if (cur != SIZE_MAX && now_ms >= h->epochs[cur].end_ms) {
        cur = SIZE_MAX;
    }
    if (sweep && h->nepochs > 0) {
        used = calloc(h->nepochs, sizeof(*used));
        if (!used) {
            return err_fail(err, errsz, -ENOMEM, "out of memory");
        }
        for (size_t i = 0, last = SIZE_MAX; i < h->nrec; i++) {
            const struct rec *c = &h->recs[i];
            if (c->state != REC_OK) {
                continue;
            }
            if (last == SIZE_MAX || h->epochs[last].number != c->epoch) {
                last = epoch_index(h, c->epoch);
            }
            if (last != SIZE_MAX) {
                used[last] = true;
            }
        }
    }
    for (size_t i = 0; i < h->nepochs; i++) {
        struct epoch *ep = &h->epochs[i];
        if (!ep->usable) {
            continue;
        }
        if (ep->end_ms <= cutoff || (used && i != cur && !used[i])) {
            ep->destroy = true;
            n++;
        }
    }
    free(used);
    if (n > 0) {
        r = write_keys(h, err, errsz);
        if (r == 0) {
            if (rep) {
                rep->keys_destroyed += n;
            }
            r = recheck_states(h);
            if (r < 0) {
                err_fail(err, errsz, r, "%s: cannot read: %s", h->hist_path, strerror(-r));
            }
            place(h);
        }
    }
    return r;
}

/* Takes now_ms as the time that decides what has expired, unless it is
 * more than a day behind the newest record or epoch (then nothing expires). */
static bool set_clock(struct history *h, int64_t now_ms, struct history_report *rep)
{
    int64_t newest = h->newest_ms;

    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].usable && h->epochs[i].start_ms > newest) {
            newest = h->epochs[i].start_ms;
        }
    }
    h->now_ms = now_ms;
    h->clock_ok = !(newest > now_ms && (uint64_t)newest - (uint64_t)now_ms > (uint64_t)DAY_MS);
    if (!h->clock_ok) {
        note(rep,
             "the clock (%lld ms) is %llu s behind the newest record: nothing expired (a device "
             "without a real-time clock before its time is set?)",
             (long long)now_ms, ull(((uint64_t)newest - (uint64_t)now_ms) / 1000));
    }
    return h->clock_ok;
}

/* Retention at now_ms: records expired by age or beyond max_entries go from
 * the head (the header's start moves; the bytes go at the next rewrite),
 * then the keys no record needs. Nothing when the clock is far behind. */
static int apply_retention(struct history *h, int64_t now_ms, bool sweep,
                           struct history_report *rep, char *err, size_t errsz)
{
    int64_t ret_ms = (int64_t)h->retention_s * 1000;
    int64_t cutoff = now_ms >= INT64_MIN + ret_ms ? now_ms - ret_ms : INT64_MIN;
    size_t k = 0;
    int r;

    if (!set_clock(h, now_ms, rep)) {
        return 0;
    }
    if (!h->header_bad) {
        for (size_t i = 0; i < h->nrec; i++) {
            if (h->recs[i].state == REC_BAD) {
                continue;
            }
            if (h->recs[i].time_ms > cutoff) {
                break;
            }
            k = i + 1;
        }
        if (h->max_entries > 0 && h->nrec - k > h->max_entries) {
            k = h->nrec - h->max_entries;
        }
    }
    if (k > 0) {
        uint64_t first = h->first_id;
        for (size_t i = 0; i < k; i++) {
            if (h->recs[i].state == REC_OK && h->recs[i].id >= first &&
                h->recs[i].id < UINT64_MAX) {
                first = h->recs[i].id + 1;
            }
        }
        if (k == h->nrec && h->next_id > first) {
            first = h->next_id;
        }
        r = write_slot(h, first, k < h->nrec ? h->recs[k].off : h->scanned_end, err, errsz);
        if (r < 0) {
            return r;
        }
        memmove(h->recs, h->recs + k, (h->nrec - k) * sizeof(*h->recs));
        h->nrec -= k;
        if (h->next_id < h->first_id) {
            h->next_id = h->first_id;
        }
        place(h);
        if (rep) {
            rep->expired += k;
        }
    }
    r = destroy_keys(h, now_ms, cutoff, sweep || k > 0, rep, err, errsz);
    if (r < 0) {
        return r;
    }
    if (k > 0 && h->data_off - HEADER_SIZE >= COMPACT_MIN &&
        h->data_off - HEADER_SIZE >= h->scanned_end - h->data_off) {
        r = rewrite(h, SIZE_MAX, NULL, 0, err, errsz);
    }
    return r;
}

static int create_history(struct history *h, char *err, size_t errsz)
{
    uint8_t buf[HEADER_SIZE];

    memset(buf, 0, sizeof(buf));
    build_slot(h, buf + SLOT_STRIDE, 1, 1, HEADER_SIZE);
    return write_atomic(h->dir, HISTORY_FILE, buf, sizeof(buf), err, errsz);
}

static int op_begin(struct history *h, char *err, size_t errsz)
{
    if (h->walking) {
        return err_fail(err, errsz, -EBUSY, "%s: in use by history_foreach", h->hist_path);
    }
    while (flock(h->lock_fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            return err_fail(err, errsz, -e, "%s: cannot lock: %s", h->lock_path, strerror(e));
        }
    }
    keys_access(h, true);
    return 0;
}

static void op_end(struct history *h)
{
    keys_access(h, false);
    flock(h->lock_fd, LOCK_UN);
}

/* The lock file is checked like the others, not put right: whoever can
 * open it can take the lock (flock needs no write access) and so stall
 * every operation, and a chmod would not take back a descriptor already
 * opened. Only one made here, just now, gets its mode set. */
static int open_lock(struct history *h, char *err, size_t errsz)
{
    int fd = -1;
    int r;

    while (fd < 0) {
        fd = open(h->lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 || errno != ENOENT) {
            break;
        }
        fd = open(h->lock_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 && fchmod(fd, 0600) < 0) {
            int e = errno;
            close(fd);
            return err_fail(err, errsz, -e, "%s: cannot set its mode: %s", h->lock_path,
                        strerror(e));
        }
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    if (fd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot open: %s", h->lock_path, strerror(e));
    }
    r = check_file(fd, h->lock_path, err, errsz);
    if (r < 0) {
        close(fd);
        return r;
    }
    h->lock_fd = fd;
    return 0;
}

uint64_t history_epoch_seconds(uint64_t retention_s)
{
    uint64_t e = retention_s / 8;

    return e < 1 ? 1 : e > 86400 ? 86400 : e;
}

void history_free(struct history *h)
{
    if (!h) {
        return;
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    if (h->lock_fd >= 0) {
        close(h->lock_fd);
    }
    sodium_free(h->sec);
    sodium_free(h->ekeys);
    free(h->epochs);
    free(h->recs);
    if (h->pt) {
        sodium_memzero(h->pt, HISTORY_PAYLOAD_MAX);
        free(h->pt);
    }
    if (h->io) {
        sodium_memzero(h->io, h->io_cap);
        free(h->io);
    }
    free(h);
}

int history_open(const struct history_params *params, int64_t now_ms, char *err, size_t errsz,
                 struct history_report *ret_report, struct history **ret)
{
    struct history_report rep = {0};
    struct history *h = NULL;
    bool locked = false;
    int r;

    if (!params || !params->dir || !ret) {
        return err_fail(err, errsz, -EINVAL, "history_open: no parameters");
    }
    if (params->create && params->read_only) {
        return err_fail(err, errsz, -EINVAL, "history_open: create and read_only together");
    }
    if (params->retention_s < 1 || params->retention_s > HISTORY_RETENTION_MAX_S) {
        return err_fail(err, errsz, -EINVAL, "retention of %llu s: must be 1 s to %llu s",
                    ull(params->retention_s), ull(HISTORY_RETENTION_MAX_S));
    }
    if (sodium_init() < 0) {
        return err_fail(err, errsz, -EIO, "libsodium cannot initialise");
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        return err_fail(err, errsz, -ENOMEM, "out of memory");
    }
    h->fd = -1;
    h->lock_fd = -1;
    h->retention_s = params->retention_s;
    h->max_entries = params->max_entries;
    h->newest_ms = INT64_MIN;
    h->clock_ok = true;
    h->read_only = h->no_repair = params->read_only;
    if (strlen(params->dir) >= sizeof(h->dir) ||
        file_join(h->hist_path, sizeof(h->hist_path), params->dir, HISTORY_FILE) < 0 ||
        file_join(h->keys_path, sizeof(h->keys_path), params->dir, KEYS_FILE) < 0 ||
        file_join(h->key_path, sizeof(h->key_path), params->dir, KEY_FILE) < 0 ||
        file_join(h->lock_path, sizeof(h->lock_path), params->dir, LOCK_FILE) < 0) {
        r = err_fail(err, errsz, -ENAMETOOLONG, "%s: path too long", params->dir);
        goto cleanup;
    }
    strcpy(h->dir, params->dir);
    r = check_dir(h->dir, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    /* "No history" is no file of it at all; a part missing is an error,
     * and nothing is made or changed that could lose what the rest holds. */
    if (!params->create) {
        bool key = path_exists(h->key_path), dat = path_exists(h->hist_path);
        bool keys = path_exists(h->keys_path);
        if (!key && !dat && !keys) {
            r = err_fail(err, errsz, -ENOENT, "%s: no history here", h->dir);
            goto cleanup;
        }
        if (!key) {
            r = err_fail(err, errsz, -ENOKEY,
                     "%s: missing, but %s exists: the history cannot be read without it; restore "
                     "the key file, or wipe the history to start over",
                     h->key_path, dat ? h->hist_path : h->keys_path);
            goto cleanup;
        }
        if (!dat) {
            r = err_fail(err, errsz, -ENODATA,
                     "%s: missing, but %s exists: the records are gone (removed?); wipe the "
                     "history to start over",
                     h->hist_path, h->key_path);
            goto cleanup;
        }
    }
    h->sec = sodium_malloc(sizeof(*h->sec));
    if (!h->sec) {
        r = err_fail(err, errsz, -ENOMEM, "out of memory");
        goto cleanup;
    }
    r = open_lock(h, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = op_begin(h, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    locked = true;
    r = load_master(h, params, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = load_keys(h, err, errsz);
    if (r == 0 && params->create && !path_exists(h->keys_path)) {
        r = write_keys(h, err, errsz);
    }
    if (r < 0) {
        goto cleanup;
    }
    if (params->create && !path_exists(h->hist_path)) {
        r = create_history(h, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }
    r = refresh(h, &rep, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->read_only) {
        set_clock(h, now_ms, &rep);
    } else {
        r = apply_retention(h, now_ms, true, &rep, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }
    fill_report(h, &rep);
    op_end(h);
    if (ret_report) {
        *ret_report = rep;
    }
    *ret = h;
    return 0;

cleanup:
    if (locked) {
        op_end(h);
    }
    history_free(h);
    return r;
}

int history_append(struct history *h, enum history_type type, int64_t now_ms, const void *data,
                   size_t len, char *err, size_t errsz, uint64_t *ret_id)
{
    struct history_report rep = {0};
    uint8_t *buf = NULL;
    const uint8_t *key = NULL;
    struct rec c;
    uint64_t epoch = 0;
    int r;

    if (type != HISTORY_INTERACTION && type != HISTORY_AUDIO) {
        return err_fail(err, errsz, -EINVAL, "history_append: record type %d cannot be appended",
                    (int)type);
    }
    if (len > HISTORY_PAYLOAD_MAX) {
        return err_fail(err, errsz, -EMSGSIZE, "a history record of %zu bytes: the limit is %d", len,
                    HISTORY_PAYLOAD_MAX);
    }
    if (!data && len > 0) {
        return err_fail(err, errsz, -EINVAL, "history_append: no data");
    }
    if (h->read_only) {
        return err_fail(err, errsz, -EROFS, "%s: opened read-only", h->hist_path);
    }
    r = op_begin(h, err, errsz);
    if (r < 0) {
        return r;
    }
    r = refresh(h, &rep, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->header_bad) {
        r = err_fail(err, errsz, -EBADMSG, "%s; refusing to append", h->header_problem);
        goto cleanup;
    }
    r = apply_retention(h, now_ms, false, &rep, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->next_id == UINT64_MAX) {
        r = err_fail(err, errsz, -EOVERFLOW, "%s: out of record ids", h->hist_path);
        goto cleanup;
    }
    r = current_epoch(h, now_ms, &epoch, &key, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    c = (struct rec){
        .off = h->scanned_end,
        .size = REC_OVERHEAD + len,
        .id = h->next_id,
        .epoch = epoch,
        .time_ms = now_ms,
        .len = (uint32_t)len,
        .type = (uint8_t)type,
        .state = REC_OK,
    };
    buf = malloc(c.size);
    if (!buf) {
        r = err_fail(err, errsz, -ENOMEM, "out of memory");
        goto cleanup;
    }
    le_put32(buf, c.len);
    buf[4] = FORMAT_VERSION;
    buf[5] = c.type;
    buf[6] = buf[7] = 0;
    le_put64(buf + 8, c.epoch);
    le_put64(buf + 16, c.id);
    le_put64(buf + 24, (uint64_t)c.time_ms);
    randombytes_buf(buf + REC_HDR, REC_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + REC_HDR + REC_NONCE, NULL, data, len, buf,
                                               REC_HDR, NULL, buf + REC_HDR, key);
    /* One write, then fsync: a crash leaves this record whole or torn at
     * the end, where the next open finds and removes it. */
    r = file_pwrite_all(h->fd, buf, c.size, c.off);
    if (r == 0 && fdatasync(h->fd) < 0) {
        r = -errno;
    }
    if (r < 0) {
        if (ftruncate(h->fd, (off_t)c.off) == 0) {
            fsync(h->fd);
        }
        err_fail(err, errsz, r, "%s: cannot append: %s", h->hist_path, strerror(-r));
        goto cleanup;
    }
    r = push_rec(h, &c);
    if (r < 0) {
        err_fail(err, errsz, r, "out of memory");
        goto cleanup;
    }
    h->recs[h->nrec - 1].placed = true;
    h->scanned_end += c.size;
    if (ret_id) {
        *ret_id = c.id;
    }

cleanup:
    free(buf);
    op_end(h);
    return r;
}

int history_purge(struct history *h, int64_t now_ms, char *err, size_t errsz,
                  struct history_report *ret_report)
{
    struct history_report rep = {0};
    int r;

    if (h->read_only) {
        return err_fail(err, errsz, -EROFS, "%s: opened read-only", h->hist_path);
    }
    r = op_begin(h, err, errsz);
    if (r < 0) {
        return r;
    }
    r = refresh(h, &rep, err, errsz);
    if (r == 0) {
        r = apply_retention(h, now_ms, true, &rep, err, errsz);
    }
    if (r == 0) {
        fill_report(h, &rep);
        if (ret_report) {
            *ret_report = rep;
        }
    }
    op_end(h);
    return r;
}

int history_foreach(struct history *h, history_fn fn, void *userdata, char *err, size_t errsz,
                    struct history_report *ret_report)
{
    struct history_report rep = {0};
    int r = op_begin(h, err, errsz);

    if (r < 0) {
        return r;
    }
    r = refresh(h, &rep, err, errsz);
    if (r == 0) {
        r = ensure_pt(h);
        if (r < 0) {
            err_fail(err, errsz, r, "out of memory");
        }
    }
    if (r < 0) {
        op_end(h);
        return r;
    }
    fill_report(h, &rep);
    /* The walk runs unlocked, so that a slow reader (a pager) never holds
     * up appends. It stays consistent: bytes of records already written are
     * never changed in place (deletes and compaction rename a new file
     * over; our descriptor keeps the old one), and calls on this handle are
     * refused until the walk ends. */
    flock(h->lock_fd, LOCK_UN);
    h->walking = true;
    for (size_t i = 0; i < h->nrec && r == 0; i++) {
        const struct rec *c = &h->recs[i];
        const uint8_t *key;
        size_t got = 0;

        if (c->state != REC_OK || !c->placed || expired(h, c)) {
            continue;
        }
        if (h->io_cap < c->size) {
            uint8_t *n = realloc(h->io, (size_t)c->size);
            if (!n) {
                r = err_fail(err, errsz, -ENOMEM, "out of memory");
                break;
            }
            h->io = n;
            h->io_cap = (size_t)c->size;
        }
        r = file_pread_all(h->fd, h->io, (size_t)c->size, c->off, &got);
        if (r < 0) {
            err_fail(err, errsz, r, "%s: cannot read at offset %llu: %s", h->hist_path, ull(c->off),
                 strerror(-r));
            break;
        }
        key = epoch_key(h, c->epoch);
        if (got != c->size || !key || open_record(h, h->io, c->len, key) < 0) {
            rep.readable--;
            rep.bad++;
            note(&rep, "%s: record %llu at offset %llu: fails authentication now", h->hist_path,
                 ull(c->id), ull(c->off));
            continue;
        }
        keys_access(h, false);
        r = fn(userdata, &(struct history_entry){
                             .id = c->id,
                             .epoch = c->epoch,
                             .time_ms = c->time_ms,
                             .type = (enum history_type)c->type,
                             .data = h->pt,
                             .len = c->len,
                         });
        sodium_memzero(h->pt, c->len);
        keys_access(h, true);
    }
    h->walking = false;
    keys_access(h, false);
    if (r >= 0 && ret_report) {
        *ret_report = rep;
    }
    return r;
}

int history_delete(struct history *h, uint64_t id, char *err, size_t errsz)
{
    uint8_t stub[REC_OVERHEAD];
    const uint8_t *key;
    size_t i;
    int r;

    if (h->read_only) {
        return err_fail(err, errsz, -EROFS, "%s: opened read-only", h->hist_path);
    }
    r = op_begin(h, err, errsz);
    if (r < 0) {
        return r;
    }
    r = refresh(h, NULL, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->header_bad) {
        r = err_fail(err, errsz, -EBADMSG, "%s; refusing to delete", h->header_problem);
        goto cleanup;
    }
    for (i = 0; i < h->nrec; i++) {
        if (h->recs[i].state == REC_OK && h->recs[i].id == id) {
            break;
        }
    }
    if (i == h->nrec) {
        r = err_fail(err, errsz, -ENOENT, "%s: no readable record %llu", h->hist_path, ull(id));
        goto cleanup;
    }
    if (h->recs[i].type == HISTORY_DELETED) {
        r = err_fail(err, errsz, -ENOENT, "%s: record %llu is already deleted", h->hist_path, ull(id));
        goto cleanup;
    }
    key = epoch_key(h, h->recs[i].epoch);
    /* The stub keeps id, epoch and time, so ids stay consecutive. */
    le_put32(stub, 0);
    stub[4] = FORMAT_VERSION;
    stub[5] = HISTORY_DELETED;
    stub[6] = stub[7] = 0;
    le_put64(stub + 8, h->recs[i].epoch);
    le_put64(stub + 16, h->recs[i].id);
    le_put64(stub + 24, (uint64_t)h->recs[i].time_ms);
    randombytes_buf(stub + REC_HDR, REC_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(stub + REC_HDR + REC_NONCE, NULL, NULL, 0, stub,
                                               REC_HDR, NULL, stub + REC_HDR, key);
    r = rewrite(h, i, stub, sizeof(stub), err, errsz);
    place(h);

cleanup:
    op_end(h);
    return r;
}

int history_last(struct history *h, enum history_type type, uint64_t *ret_id)
{
    int r = op_begin(h, NULL, 0);

    if (r < 0) {
        return r;
    }
    r = refresh(h, NULL, NULL, 0);
    if (r == 0) {
        r = -ENOENT;
        for (size_t i = h->nrec; i-- > 0;) {
            const struct rec *c = &h->recs[i];
            if (c->state == REC_OK && c->placed && c->type == type && type != HISTORY_DELETED &&
                !expired(h, c)) {
                *ret_id = c->id;
                r = 0;
                break;
            }
        }
    }
    op_end(h);
    return r;
}

int history_verify(struct history *h, char *err, size_t errsz, struct history_report *ret_report)
{
    struct history_report rep = {0};
    size_t problems;
    int r = op_begin(h, err, errsz);

    if (r < 0) {
        return r;
    }
    /* Verify only looks: what a torn tail looks like can also be a record
     * cut off on purpose, and cutting it would destroy the evidence. */
    h->no_repair = true;
    r = refresh(h, NULL, err, errsz);
    /* Everything again from the disk: the cache says what was read, not
     * what is there now. */
    if (r == 0) {
        r = rescan(h, &rep, err, errsz);
    }
    if (r == 0) {
        place(h);
        fill_report(h, &rep);
        problems = rep.bad + rep.misplaced + rep.no_key + (rep.header_bad ? 1 : 0) +
                   (rep.slot_bad ? 1 : 0) + (rep.torn_kept > 0 ? 1 : 0);
        if (problems > 0) {
            err_fail(err, errsz, 0, "%s", rep.problem);
        }
        r = problems > INT_MAX ? INT_MAX : (int)problems;
        if (ret_report) {
            *ret_report = rep;
        }
    }
    h->no_repair = h->read_only;
    op_end(h);
    return r;
}

size_t history_key_count(const struct history *h)
{
    size_t n = 0;

    for (size_t i = 0; i < h->nepochs; i++) {
        n += h->epochs[i].usable;
    }
    return n;
}

/* Best effort before unlinking: on a disk that overwrites in place the key
 * material is gone even from the free blocks (flash: see the format doc). */
static void overwrite(int dirfd, const char *name)
{
    uint8_t zeros[4096] = {0};
    struct stat st;
    int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
        for (off_t o = 0; o < st.st_size; o += (off_t)sizeof(zeros)) {
            size_t n =
                st.st_size - o < (off_t)sizeof(zeros) ? (size_t)(st.st_size - o) : sizeof(zeros);
            if (file_pwrite_all(fd, zeros, n, (uint64_t)o) < 0) {
                break;
            }
        }
        fsync(fd);
    }
    close(fd);
}

int history_wipe(const char *dir, char *err, size_t errsz)
{
    int dirfd, lock_fd;
    int removed = 0, r = 0;

    if (!dir) {
        return err_fail(err, errsz, -EINVAL, "history_wipe: no directory");
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: %s", dir, strerror(e));
    }
    /* Wait for an operation under way to finish; the lock file goes last. */
    lock_fd = openat(dirfd, LOCK_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lock_fd >= 0) {
        while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR) {
        }
    }
    overwrite(dirfd, KEY_FILE);
    overwrite(dirfd, KEYS_FILE);
    for (size_t i = 0; i < sizeof(our_files) / sizeof(our_files[0]); i++) {
        if (unlinkat(dirfd, our_files[i], 0) == 0) {
            removed++;
        } else if (errno != ENOENT && r == 0) {
            int e = errno;
            r = err_fail(err, errsz, -e, "%s/%s: cannot remove: %s", dir, our_files[i], strerror(e));
        }
    }
    if (fsync(dirfd) < 0 && r == 0) {
        int e = errno;
        r = err_fail(err, errsz, -e, "%s: cannot flush the directory: %s", dir, strerror(e));
    }
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    close(dirfd);
    return r < 0 ? r : removed;
}
