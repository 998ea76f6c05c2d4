/* The epoch keys (DIR/history.keys): one key per retention epoch, wrapped
 * by a subkey of the master key; held in guarded memory while the history is
 * open. Destroying an epoch's key is what erases its records. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base-err.h"
#include "base-file.h"
#include "base-le.h"
#include "history-internal.h"

/* Key memory is readable only while an operation runs. */
void hist_keys_access(struct history *h, bool on)
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

const uint8_t *hist_epoch_key(const struct history *h, uint64_t number)
{
    /* From the newest: records mostly use the last few epochs. */
    for (size_t i = h->nepochs; i-- > 0;) {
        if (h->epochs[i].number == number && h->epochs[i].usable) {
            return h->ekeys + KEY_BYTES * i;
        }
    }
    return NULL;
}

size_t hist_epoch_index(const struct history *h, uint64_t number)
{
    for (size_t i = h->nepochs; i-- > 0;) {
        if (h->epochs[i].number == number && h->epochs[i].usable) {
            return i;
        }
    }
    return SIZE_MAX;
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

/* Reads DIR/history.keys again: another process may have added or
 * destroyed epochs. A structurally corrupt file is refused (we would rewrite
 * it without what we cannot parse); an entry that does not unwrap is kept
 * as it is and its epoch counts as having no key. */
int hist_load_keys(struct history *h, char *err, size_t errsz)
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
        return hist_recheck_states(h);
    }
    if (fd < 0) {
        int e = errno;
        return err_fail(err, errsz, -e, "%s: cannot open: %s", h->keys_path, strerror(e));
    }
    r = hist_check_file(fd, h->keys_path, err, errsz);
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
        r = err_fail(
            err, errsz, -EBADMSG,
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
        ep->usable = ep->start_ms < ep->end_ms && hist_epoch_key(h, ep->number) == NULL &&
                     crypto_aead_xchacha20poly1305_ietf_decrypt(
                         key, NULL, NULL, e + KEYS_AD + REC_NONCE, KEY_BYTES + REC_TAG, e, KEYS_AD,
                         e + KEYS_AD, h->sec->wrap) == 0;
        if (!ep->usable) {
            sodium_memzero(key, KEY_BYTES);
        }
    }
    h->keys_st = st;
    h->keys_known = true;
    r = hist_recheck_states(h);
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

int hist_keys_refresh(struct history *h, char *err, size_t errsz)
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
    return hist_load_keys(h, err, errsz);
}

/* Rewrites the keys file without the epochs marked destroy; only when that
 * is on disk are their keys wiped from memory. */
int hist_write_keys(struct history *h, char *err, size_t errsz)
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
    r = hist_write_atomic(h->dir, KEYS_FILE, buf, KEYS_HEADER + n * KEYS_ENTRY, err, errsz);
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

static uint64_t epoch_ms(const struct history *h)
{
    return history_epoch_seconds(h->retention_s) * 1000;
}

/* The epoch an append at now_ms goes into: the newest one if now lies in
 * it, else a new one (its key made and written to the keys file first, so a
 * crash never leaves a record without its key). */
int hist_current_epoch(struct history *h, int64_t now_ms, uint64_t *ret_number,
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
        return err_fail(err, errsz, -EINVAL, "a time of %lld ms is out of range",
                        (long long)now_ms);
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
    r = hist_write_keys(h, err, errsz);
    if (r < 0) {
        h->nepochs--;
        sodium_memzero(h->ekeys + KEY_BYTES * h->nepochs, KEY_BYTES);
        return r;
    }
    *ret_number = number;
    *ret_key = h->ekeys + KEY_BYTES * (h->nepochs - 1);
    return 0;
}

uint64_t history_epoch_seconds(uint64_t retention_s)
{
    uint64_t e = retention_s / 8;

    return e < 1 ? 1 : e > 86400 ? 86400 : e;
}

size_t history_key_count(const struct history *h)
{
    size_t n = 0;

    for (size_t i = 0; i < h->nepochs; i++) {
        n += h->epochs[i].usable;
    }
    return n;
}
