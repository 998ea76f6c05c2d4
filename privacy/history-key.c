/* The history's key file (DIR/history.key: the master key, or the
 * parameters a passphrase is stretched with) and the checks every file of
 * the history passes before it is used. */
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

bool hist_path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Our files hold keys or what they protect: owner-only, ours, regular.
 * Checked on the open descriptor, so the answer is about what we read. */
int hist_check_file(int fd, const char *path, char *err, size_t errsz)
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
int hist_check_dir(const char *dir, char *err, size_t errsz)
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
        return err_fail(
            err, errsz, -EPERM,
            "%s: writable by %s (mode %04o): refusing to keep history there; chmod 700 it", dir,
            (st.st_mode & 0002) ? "others" : "its group", (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

/* DIR/NAME replaced through DIR/.NAME.tmp (0600 whatever the umask), and
 * the directory flushed: a crash leaves either the old file or the new one,
 * never half of one. */
int hist_write_atomic(const char *dir, const char *name, const uint8_t *data, size_t len, char *err,
                      size_t errsz)
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
        return err_fail(err, errsz, -e, "%s: cannot open the passphrase file: %s", path,
                        strerror(e));
    }
    r = hist_check_file(fd, path, err, errsz);
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
    if (crypto_pwhash(master, KEY_BYTES, pass, len, kf + 32, le_get64(kf + 16),
                      (size_t)le_get64(kf + 24), (int)le_get32(kf + 12)) != 0) {
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
    return hist_write_atomic(h->dir, KEY_FILE, kf, KEYFILE_SIZE, err, errsz);
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
            return err_fail(
                err, errsz, -EINVAL,
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
int hist_load_master(struct history *h, const struct history_params *params, char *err,
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
        if (hist_path_exists(h->keys_path) || hist_path_exists(h->hist_path)) {
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
        r = hist_check_file(fd, h->key_path, err, errsz);
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
