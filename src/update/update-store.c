/* The update state in the storage directory: release.pub, update.bundle and
 * update.version, each replaced atomically and checked before each use. */
#include "update-store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base-file.h"

/* A key line is 45 bytes and a version line 21 at most. */
#define SMALL_FILE_MAX 128
#define VERSION_DIGITS_MAX 20

/* Reads DIR/NAME (its path into path, for the caller's messages), a whole
 * file of at most max bytes that this user owns and nobody else may write.
 * -ENOENT when missing (err not set), else err names it. */
static int read_checked(const char *dir, const char *name, char path[static PATH_MAX], uint8_t *buf,
                        size_t max, size_t *ret_len, char *err, size_t errsz)
{
    struct stat st;
    int fd, r = 0;

    if (file_join(path, PATH_MAX, dir, name) < 0) {
        snprintf(err, errsz, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0) {
        r = -errno;
        if (r != -ENOENT) {
            snprintf(err, errsz, "%s: cannot open: %s", path, strerror(-r));
        }
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot stat: %s", path, strerror(-r));
        goto finish;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file", path);
        r = -EPERM;
        goto finish;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errsz, "%s: owned by uid %u, not by this user (uid %u)", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        r = -EPERM;
        goto finish;
    }
    /* Whoever may write it may choose the server hark talks to. */
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errsz, "%s: writable by others (mode %03o): chmod go-w %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        r = -EPERM;
        goto finish;
    }
    r = file_read_fd(fd, buf, max, ret_len);
    if (r == -EFBIG) {
        snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
    } else if (r < 0) {
        snprintf(err, errsz, "%s: cannot read: %s", path, strerror(-r));
    }

finish:
    close(fd);
    return r;
}

/* DIR/.NAME.new, written, flushed and renamed over DIR/NAME: a crash
 * leaves the old file or the new one, never half of one. The directory is
 * the caller's to flush. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode, char *err, size_t errsz)
{
    int r = file_write_atomic(dir, name, ".new", data, len, mode);

    if (r == -ENAMETOOLONG) {
        snprintf(err, errsz, "%s: path too long", dir);
    } else if (r < 0) {
        snprintf(err, errsz, "%s/%s: cannot write: %s", dir, name, strerror(-r));
    }
    return r;
}

/* After the files replaced together, so that their renames last. */
static int sync_dir(const char *dir, char *err, size_t errsz)
{
    int r = file_sync_dir(dir);

    if (r < 0) {
        snprintf(err, errsz, "%s: cannot sync: %s", dir, strerror(-r));
    }
    return r;
}

static int load_key(const char *dir, struct update_state *st, char *err, size_t errsz)
{
    char path[PATH_MAX];
    uint8_t buf[SMALL_FILE_MAX];
    size_t len = 0;
    int r;

    r = read_checked(dir, UPDATE_KEY_FILE, path, buf, sizeof(buf), &len, err, errsz);
    if (r == -ENOENT) {
        st->have_key = false;
        return 0;
    }
    if (r < 0) {
        return r;
    }
    if (update_key_parse((const char *)buf, len, st->key) < 0) {
        snprintf(err, errsz, "%s: not an Ed25519 public key (one line of base64 or hex)", path);
        return -EBADMSG;
    }
    st->have_key = true;
    return 0;
}

/* DIR/update.version: the decimal number and a newline, nothing else. */
static int load_version(const char *dir, uint64_t *ret, char *err, size_t errsz)
{
    char path[PATH_MAX];
    uint8_t buf[SMALL_FILE_MAX];
    size_t len = 0, digits;
    uint64_t v = 0;
    bool ok;
    int r;

    r = read_checked(dir, UPDATE_VERSION_FILE, path, buf, sizeof(buf), &len, err, errsz);
    if (r == -ENOENT) {
        *ret = 0;
        return 0;
    }
    if (r < 0) {
        return r;
    }
    digits = len > 0 ? len - 1 : 0;
    ok = len >= 2 && buf[len - 1] == '\n' && digits <= VERSION_DIGITS_MAX &&
         (buf[0] != '0' || digits == 1);
    for (size_t i = 0; ok && i < digits; i++) {
        unsigned d = (unsigned)buf[i] - '0';

        ok = d <= 9 && v <= (UINT64_MAX - d) / 10;
        v = ok ? v * 10 + d : v;
    }
    if (!ok) {
        snprintf(err, errsz, "%s: not a version number (one line, digits only)", path);
        return -EBADMSG;
    }
    *ret = v;
    return 0;
}

int update_store_load(const char *dir, struct update_state *ret, char *err, size_t errsz)
{
    struct update_state st = {0};
    int r = load_key(dir, &st, err, errsz);

    if (r < 0) {
        return r;
    }
    r = load_version(dir, &st.version, err, errsz);
    if (r < 0) {
        return r;
    }
    *ret = st;
    return 0;
}

int update_store_check(const struct update_state *st, const uint8_t *data, size_t len,
                       const char *device_fp, struct update_bundle *ret, char *err, size_t errsz)
{
    struct update_bundle b;
    int r;

    if (!st->have_key) {
        snprintf(err, errsz, "no release key provisioned (hark provision --release-key FILE)");
        return -ENOKEY;
    }
    r = update_verify(data, len, st->key, &b, err, errsz);
    if (r < 0) {
        return r;
    }
    r = update_check(&b, st->version, device_fp, err, errsz);
    if (r < 0) {
        return r;
    }
    *ret = b;
    return 0;
}

int update_store_load_applied(const char *dir, struct update_state *st, const char *device_fp,
                              struct update_bundle *ret, char *err, size_t errsz)
{
    char path[PATH_MAX], why[512];
    uint8_t buf[UPDATE_BUNDLE_MAX];
    struct update_bundle b;
    size_t len = 0;
    int r;

    r = read_checked(dir, UPDATE_BUNDLE_FILE, path, buf, sizeof(buf), &len, err, errsz);
    if (r == -ENOENT) {
        if (st->version > 0) {
            /* Falling back to the config's pins would undo a rotation. */
            snprintf(err, errsz, "%s/%s says version %" PRIu64 " was applied, but %s is missing",
                     dir, UPDATE_VERSION_FILE, st->version, path);
            return -ENOENT;
        }
        return 0;
    }
    if (r < 0) {
        return r;
    }
    if (!st->have_key) {
        snprintf(err, errsz, "%s cannot be checked: no release key provisioned", path);
        return -ENOKEY;
    }
    r = update_verify(buf, len, st->key, &b, why, sizeof(why));
    if (r < 0) {
        snprintf(err, errsz, "%s: %s", path, why);
        return r;
    }
    if (b.version < st->version) {
        snprintf(err, errsz,
                 "%s: version %" PRIu64 " is older than the applied version %" PRIu64
                 ": the file was rolled back",
                 path, b.version, st->version);
        return -ESTALE;
    }
    /* The version check is not repeated: the applied bundle is at most as
     * new as itself. */
    r = update_check(&b, 0, device_fp, why, sizeof(why));
    if (r < 0) {
        snprintf(err, errsz, "%s: %s", path, why);
        return r;
    }
    st->version = b.version;
    *ret = b;
    return 1;
}

static int lock_dir(const char *dir, char *err, size_t errsz)
{
    char path[PATH_MAX];
    int fd;

    if (file_join(path, sizeof(path), dir, UPDATE_LOCK_FILE) < 0) {
        snprintf(err, errsz, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            snprintf(err, errsz, "%s: cannot lock: %s", path, strerror(e));
            close(fd);
            return -e;
        }
    }
    return fd;
}

int update_store_apply(const char *dir, struct update_state *st, const uint8_t *data, size_t len,
                       const char *device_fp, struct update_bundle *ret, char *err, size_t errsz)
{
    struct update_state now = *st;
    struct update_bundle b;
    char line[VERSION_DIGITS_MAX + 2];
    uint64_t on_disk = 0;
    int lock_fd, r, n;

    lock_fd = lock_dir(dir, err, errsz);
    if (lock_fd < 0) {
        return lock_fd;
    }
    /* Another process (hark verify-update --apply, a running hark) may have
     * applied a newer version since st was read. */
    r = load_version(dir, &on_disk, err, errsz);
    if (r < 0) {
        goto finish;
    }
    if (on_disk > now.version) {
        now.version = on_disk;
    }
    r = update_store_check(&now, data, len, device_fp, &b, err, errsz);
    if (r < 0) {
        goto finish;
    }
    /* The bundle first: a crash before the version is written leaves a
     * bundle newer than the version, which the next start accepts. */
    r = write_atomic(dir, UPDATE_BUNDLE_FILE, data, len, 0600, err, errsz);
    if (r < 0) {
        goto finish;
    }
    n = snprintf(line, sizeof(line), "%" PRIu64 "\n", b.version);
    r = write_atomic(dir, UPDATE_VERSION_FILE, line, (size_t)n, 0600, err, errsz);
    if (r < 0) {
        goto finish;
    }
    r = sync_dir(dir, err, errsz);
    if (r < 0) {
        goto finish;
    }
    st->version = b.version;
    *ret = b;
    r = 0;

finish:
    close(lock_fd); /* and with it the lock */
    return r;
}

int update_store_set_key(const char *dir, const uint8_t key[UPDATE_KEY_BYTES], bool replace,
                         char *err, size_t errsz)
{
    struct update_state st = {0};
    char text[UPDATE_KEY_TEXT + 1], path[PATH_MAX];
    const char *forget[] = {UPDATE_BUNDLE_FILE, UPDATE_VERSION_FILE};
    int r = load_key(dir, &st, err, errsz);

    /* A damaged key file is one more thing replacing it repairs; what the
     * unknown key signed is forgotten as for any other key. */
    if (r < 0 && !replace) {
        return r;
    }
    if (r < 0) {
        st.have_key = true;
        memset(st.key, 0, sizeof(st.key));
    }
    if (st.have_key && r == 0 && memcmp(st.key, key, UPDATE_KEY_BYTES) == 0) {
        return 1;
    }
    if (st.have_key && !replace) {
        snprintf(err, errsz,
                 "%s already holds another release key; not replacing it (--force replaces it "
                 "and forgets the applied update)",
                 dir);
        return -EEXIST;
    }
    /* The applied update goes first: a crash then leaves the old key and no
     * update, which is where the new key starts anyway. */
    for (size_t i = 0; st.have_key && i < sizeof(forget) / sizeof(forget[0]); i++) {
        if (file_join(path, sizeof(path), dir, forget[i]) < 0) {
            snprintf(err, errsz, "%s: path too long", dir);
            return -ENAMETOOLONG;
        }
        if (unlink(path) < 0 && errno != ENOENT) {
            r = -errno;
            snprintf(err, errsz, "%s: cannot remove: %s", path, strerror(-r));
            return r;
        }
    }
    update_key_format(key, text);
    strcat(text, "\n");
    r = write_atomic(dir, UPDATE_KEY_FILE, text, strlen(text), 0644, err, errsz);
    if (r < 0) {
        return r;
    }
    return sync_dir(dir, err, errsz);
}
