/* The record file (DIR/history.dat): its two header slots, the scan that
 * indexes the records (torn tails, resynchronisation after damage), their
 * sealing and the rewrite that compacts the file or replaces a record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base-err.h"
#include "base-file.h"
#include "base-le.h"
#include "history-internal.h"

/* DIR/.NAME.tmp: where a file is written before it is renamed over NAME. */
static int tmp_path_of(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/.%s.tmp", dir, name);

    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
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

int hist_write_slot(struct history *h, uint64_t first_id, uint64_t data_off, char *err,
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
        return err_fail(err, errsz, r, "%s: cannot write the header: %s", h->hist_path,
                        strerror(-r));
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

int hist_ensure_pt(struct history *h)
{
    if (!h->pt) {
        h->pt = malloc(HISTORY_PAYLOAD_MAX + 1);
    }
    return h->pt ? 0 : -ENOMEM;
}

/* Decrypts a whole record (header, nonce, ciphertext) into h->pt. */
int hist_open_record(struct history *h, const uint8_t *p, size_t len, const uint8_t *key)
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

/* A record's bytes into out (REC_OVERHEAD + c->len of them): its header,
 * a fresh nonce, and data sealed under key with the header as associated
 * data, so that no field of the header can be changed unnoticed. */
void hist_seal_record(const struct rec *c, const void *data, const uint8_t *key, uint8_t *out)
{
    le_put32(out, c->len);
    out[4] = FORMAT_VERSION;
    out[5] = c->type;
    out[6] = out[7] = 0;
    le_put64(out + 8, c->epoch);
    le_put64(out + 16, c->id);
    le_put64(out + 24, (uint64_t)c->time_ms);
    randombytes_buf(out + REC_HDR, REC_NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + REC_HDR + REC_NONCE, NULL, data, c->len, out,
                                               REC_HDR, NULL, out + REC_HDR, key);
}

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
    key = hist_epoch_key(h, out->epoch);
    if (!key) {
        out->state = REC_NOKEY;
        return P_NOKEY;
    }
    r = reader_get(rd, off, (size_t)out->size, &p);
    if (r < 0) {
        return r;
    }
    r = hist_open_record(h, p, out->len, key);
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

int hist_push_rec(struct history *h, const struct rec *c)
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
    if (r < 0 || (r = hist_ensure_pt(h)) < 0) {
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
            r = hist_push_rec(h, &c);
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
            hist_note(rep,
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
        r = hist_push_rec(h, &c);
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

int hist_rescan(struct history *h, struct history_report *rep, char *err, size_t errsz)
{
    h->nrec = 0;
    h->next_id = h->first_id ? h->first_id : 1;
    h->newest_ms = INT64_MIN;
    return scan(h, h->data_off, rep, err, errsz);
}

/* Ids run on by one from the header's first_id. A record after a gap, or
 * one whose id has already gone by, is misplaced. After a region that fails
 * authentication any higher id is accepted: the region is reported itself. */
void hist_place(struct history *h)
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
int hist_recheck_states(struct history *h)
{
    struct reader rd;
    bool need = false;
    int r;

    for (size_t i = 0; i < h->nrec; i++) {
        struct rec *c = &h->recs[i];
        if (c->state == REC_OK && !hist_epoch_key(h, c->epoch)) {
            c->state = REC_NOKEY;
        } else if (c->state == REC_NOKEY && hist_epoch_key(h, c->epoch)) {
            need = true;
        }
    }
    if (!need) {
        return 0;
    }
    r = reader_init(&rd, h->fd, h->scanned_end);
    if (r < 0 || (r = hist_ensure_pt(h)) < 0) {
        reader_finish(&rd);
        return r;
    }
    for (size_t i = 0; i < h->nrec && r >= 0; i++) {
        struct rec *c = &h->recs[i];
        struct rec again;
        if (c->state != REC_NOKEY || !hist_epoch_key(h, c->epoch)) {
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
    r = hist_check_file(fd, h->hist_path, err, errsz);
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
int hist_refresh(struct history *h, struct history_report *rep, char *err, size_t errsz)
{
    struct stat st;
    int r;

    if (stat(h->key_path, &st) < 0 || st.st_dev != h->key_dev || st.st_ino != h->key_ino) {
        return err_fail(err, errsz, -ENOENT,
                        "%s: removed or replaced since the history was opened (wiped?)",
                        h->key_path);
    }
    r = hist_keys_refresh(h, err, errsz);
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
            r = hist_rescan(h, rep, err, errsz);
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
                r = hist_rescan(h, rep, err, errsz);
                if (r < 0) {
                    return r;
                }
            }
        }
        if ((uint64_t)st.st_size > h->scanned_end) {
            r = scan(h, h->scanned_end, rep, err, errsz);
        }
    }
    hist_place(h);
    return r;
}

void hist_fill_report(const struct history *h, struct history_report *rep)
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
        hist_note(rep, "%s", h->header_problem);
    }
    if (h->slot_bad) {
        hist_note(rep, "%s", h->slot_problem);
    }
    if (h->anomaly[0] != '\0') {
        hist_note(rep, "%s", h->anomaly);
    }
}

/* The rewrite's copy: the header slot already in buf, then every record
 * (record `target` as `stub`) into fd through buf; *ret_woff is the size
 * written. */
static int copy_live(struct history *h, int fd, uint8_t *buf, size_t bufsz, size_t target,
                     const uint8_t *stub, size_t stub_size, uint64_t *ret_woff)
{
    size_t fill = HEADER_SIZE;
    uint64_t woff = 0;
    int r;

    for (size_t i = 0; i < h->nrec; i++) {
        const struct rec *c = &h->recs[i];
        size_t n = i == target ? stub_size : (size_t)c->size;
        size_t got = 0;

        if (fill + n > bufsz) {
            r = file_pwrite_all(fd, buf, fill, woff);
            if (r < 0) {
                return r;
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
                    return r;
                }
                fill += piece;
                if (fill == bufsz) {
                    r = file_pwrite_all(fd, buf, fill, woff);
                    if (r < 0) {
                        return r;
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
        return r;
    }
    woff += fill;
    *ret_woff = woff;
    return 0;
}

/* Writes the file again with only the live records (the dead prefix a
 * purge left goes), record `target` replaced by `stub` if target < nrec:
 * temp file, fsync, rename, fsync of the directory. */
int hist_rewrite(struct history *h, size_t target, const uint8_t *stub, size_t stub_size, char *err,
                 size_t errsz)
{
    char tmp[PATH_MAX];
    uint8_t *buf = NULL;
    size_t bufsz = REC_MAX + READ_CHUNK;
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
    r = copy_live(h, fd, buf, bufsz, target, stub, stub_size, &woff);
    if (r < 0) {
        goto cleanup;
    }
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

int hist_create(struct history *h, char *err, size_t errsz)
{
    uint8_t buf[HEADER_SIZE];

    memset(buf, 0, sizeof(buf));
    build_slot(h, buf + SLOT_STRIDE, 1, 1, HEADER_SIZE);
    return hist_write_atomic(h->dir, HISTORY_FILE, buf, sizeof(buf), err, errsz);
}
