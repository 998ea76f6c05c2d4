/* The encrypted, time-limited history store: an append-only file of records
 * sealed under per-epoch keys that are destroyed when their epoch expires.
 * This file holds the operations of history.h, each under the lock; the
 * parts are named in history-internal.h. The formats, the key hierarchy and
 * the threat model: doc/privacy.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base-err.h"
#include "base-file.h"
#include "base-le.h"
#include "history-internal.h"

static const char *const our_files[] = {
    HISTORY_FILE,        KEYS_FILE,          KEY_FILE,  ".history.dat.tmp",
    ".history.keys.tmp", ".history.key.tmp", LOCK_FILE,
};

void hist_note(struct history_report *rep, const char *fmt, ...)
{
    va_list ap;

    if (!rep || rep->problem[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
    va_end(ap);
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
    hist_keys_access(h, true);
    return 0;
}

static void op_end(struct history *h)
{
    hist_keys_access(h, false);
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
    r = hist_check_file(fd, h->lock_path, err, errsz);
    if (r < 0) {
        close(fd);
        return r;
    }
    h->lock_fd = fd;
    return 0;
}

/* The start of an operation that changes the files: refused on a history
 * opened read-only, then locked and brought up to what is on disk; with
 * `refusing` (what the operation is) refused too while the file header
 * fails authentication. The lock is held on success only. */
static int begin_change(struct history *h, const char *refusing, struct history_report *rep,
                        char *err, size_t errsz)
{
    int r;

    if (h->read_only) {
        return err_fail(err, errsz, -EROFS, "%s: opened read-only", h->hist_path);
    }
    r = op_begin(h, err, errsz);
    if (r < 0) {
        return r;
    }
    r = hist_refresh(h, rep, err, errsz);
    if (r == 0 && refusing && h->header_bad) {
        r = err_fail(err, errsz, -EBADMSG, "%s; refusing to %s", h->header_problem, refusing);
    }
    if (r < 0) {
        op_end(h);
    }
    return r;
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

/* "No history" is no file of it at all; a part missing is an error, and
 * nothing is made or changed that could lose what the rest holds. */
static int check_present(const struct history *h, char *err, size_t errsz)
{
    bool key = hist_path_exists(h->key_path), dat = hist_path_exists(h->hist_path);
    bool keys = hist_path_exists(h->keys_path);

    if (!key && !dat && !keys) {
        return err_fail(err, errsz, -ENOENT, "%s: no history here", h->dir);
    }
    if (!key) {
        return err_fail(err, errsz, -ENOKEY,
                        "%s: missing, but %s exists: the history cannot be read without it; "
                        "restore the key file, or wipe the history to start over",
                        h->key_path, dat ? h->hist_path : h->keys_path);
    }
    if (!dat) {
        return err_fail(err, errsz, -ENODATA,
                        "%s: missing, but %s exists: the records are gone (removed?); wipe the "
                        "history to start over",
                        h->hist_path, h->key_path);
    }
    return 0;
}

/* A struct history for params, its paths made and its directory checked;
 * no file opened yet. */
static int alloc_history(const struct history_params *params, char *err, size_t errsz,
                         struct history **ret)
{
    struct history *h;
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
    r = hist_check_dir(h->dir, err, errsz);
    if (r == 0 && !params->create) {
        r = check_present(h, err, errsz);
    }
    if (r < 0) {
        goto cleanup;
    }
    h->sec = sodium_malloc(sizeof(*h->sec));
    if (!h->sec) {
        r = err_fail(err, errsz, -ENOMEM, "out of memory");
        goto cleanup;
    }
    *ret = h;
    return 0;

cleanup:
    history_free(h);
    return r;
}

int history_open(const struct history_params *params, int64_t now_ms, char *err, size_t errsz,
                 struct history_report *ret_report, struct history **ret)
{
    struct history_report rep = {0};
    struct history *h = NULL;
    bool locked = false;
    int r;

    r = alloc_history(params, err, errsz, &h);
    if (r < 0) {
        return r;
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
    r = hist_load_master(h, params, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = hist_load_keys(h, err, errsz);
    if (r == 0 && params->create && !hist_path_exists(h->keys_path)) {
        r = hist_write_keys(h, err, errsz);
    }
    if (r < 0) {
        goto cleanup;
    }
    if (params->create && !hist_path_exists(h->hist_path)) {
        r = hist_create(h, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }
    r = hist_refresh(h, &rep, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->read_only) {
        hist_set_clock(h, now_ms, &rep);
    } else {
        r = hist_apply_retention(h, now_ms, true, &rep, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }
    hist_fill_report(h, &rep);
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
        return err_fail(err, errsz, -EMSGSIZE, "a history record of %zu bytes: the limit is %d",
                        len, HISTORY_PAYLOAD_MAX);
    }
    if (!data && len > 0) {
        return err_fail(err, errsz, -EINVAL, "history_append: no data");
    }
    r = begin_change(h, "append", &rep, err, errsz);
    if (r < 0) {
        return r;
    }
    r = hist_apply_retention(h, now_ms, false, &rep, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (h->next_id == UINT64_MAX) {
        r = err_fail(err, errsz, -EOVERFLOW, "%s: out of record ids", h->hist_path);
        goto cleanup;
    }
    r = hist_current_epoch(h, now_ms, &epoch, &key, err, errsz);
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
    hist_seal_record(&c, data, key, buf);
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
    r = hist_push_rec(h, &c);
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

    r = begin_change(h, NULL, &rep, err, errsz);
    if (r < 0) {
        return r;
    }
    r = hist_apply_retention(h, now_ms, true, &rep, err, errsz);
    if (r == 0) {
        hist_fill_report(h, &rep);
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
    r = hist_refresh(h, &rep, err, errsz);
    if (r == 0) {
        r = hist_ensure_pt(h);
        if (r < 0) {
            err_fail(err, errsz, r, "out of memory");
        }
    }
    if (r < 0) {
        op_end(h);
        return r;
    }
    hist_fill_report(h, &rep);
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

        if (c->state != REC_OK || !c->placed || hist_expired(h, c)) {
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
        key = hist_epoch_key(h, c->epoch);
        if (got != c->size || !key || hist_open_record(h, h->io, c->len, key) < 0) {
            rep.readable--;
            rep.bad++;
            hist_note(&rep, "%s: record %llu at offset %llu: fails authentication now",
                      h->hist_path, ull(c->id), ull(c->off));
            continue;
        }
        hist_keys_access(h, false);
        r = fn(userdata, &(struct history_entry){
                             .id = c->id,
                             .epoch = c->epoch,
                             .time_ms = c->time_ms,
                             .type = (enum history_type)c->type,
                             .data = h->pt,
                             .len = c->len,
                         });
        sodium_memzero(h->pt, c->len);
        hist_keys_access(h, true);
    }
    h->walking = false;
    hist_keys_access(h, false);
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

    r = begin_change(h, "delete", NULL, err, errsz);
    if (r < 0) {
        return r;
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
        r = err_fail(err, errsz, -ENOENT, "%s: record %llu is already deleted", h->hist_path,
                     ull(id));
        goto cleanup;
    }
    key = hist_epoch_key(h, h->recs[i].epoch);
    /* The stub keeps id, epoch and time, so ids stay consecutive. */
    hist_seal_record(&(struct rec){.id = h->recs[i].id,
                                   .epoch = h->recs[i].epoch,
                                   .time_ms = h->recs[i].time_ms,
                                   .type = HISTORY_DELETED},
                     NULL, key, stub);
    r = hist_rewrite(h, i, stub, sizeof(stub), err, errsz);
    hist_place(h);

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
    r = hist_refresh(h, NULL, NULL, 0);
    if (r == 0) {
        r = -ENOENT;
        for (size_t i = h->nrec; i-- > 0;) {
            const struct rec *c = &h->recs[i];
            if (c->state == REC_OK && c->placed && c->type == type && type != HISTORY_DELETED &&
                !hist_expired(h, c)) {
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
    r = hist_refresh(h, NULL, err, errsz);
    /* Everything again from the disk: the cache says what was read, not
     * what is there now. */
    if (r == 0) {
        r = hist_rescan(h, &rep, err, errsz);
    }
    if (r == 0) {
        hist_place(h);
        hist_fill_report(h, &rep);
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
            r = err_fail(err, errsz, -e, "%s/%s: cannot remove: %s", dir, our_files[i],
                         strerror(e));
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
