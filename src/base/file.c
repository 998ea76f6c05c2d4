/* Files (base-file.h). */
#include "base-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_join(char *out, size_t outsz, const char *dir, const char *name)
{
    int n = snprintf(out, outsz, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) < 0) {
        r = -errno;
    }
    close(fd);
    return r;
}

/* The one loop behind file_write_all, file_pwrite_all and file_pread_all:
 * through EINTR and short counts until len bytes are done, or a read meets
 * the end of the file (*ret_done says how far it got). */
enum io { IO_WRITE, IO_PWRITE, IO_PREAD };

static int io_all(int fd, enum io io, const uint8_t *out, uint8_t *in, size_t len, uint64_t off,
                  size_t *ret_done)
{
    size_t done = 0;

    while (done < len) {
        ssize_t k = io == IO_WRITE    ? write(fd, out + done, len - done)
                    : io == IO_PWRITE ? pwrite(fd, out + done, len - done, (off_t)(off + done))
                                      : pread(fd, in + done, len - done, (off_t)(off + done));

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return -errno;
        }
        if (k == 0 && io == IO_PREAD) {
            break;
        }
        done += (size_t)k;
    }
    *ret_done = done;
    return 0;
}

int file_write_all(int fd, const void *data, size_t len)
{
    size_t done;

    return io_all(fd, IO_WRITE, data, NULL, len, 0, &done);
}

int file_pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
    size_t done;

    return io_all(fd, IO_PWRITE, data, NULL, len, off, &done);
}

int file_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *ret_got)
{
    return io_all(fd, IO_PREAD, NULL, buf, len, off, ret_got);
}

int file_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    int r = 0;

    if (fd < 0) {
        return -errno;
    }
    /* The umask may have taken more than asked; never less. */
    if (fchmod(fd, mode) < 0) {
        r = -errno;
    }
    if (r == 0) {
        r = file_write_all(fd, data, len);
    }
    if (r == 0 && fsync(fd) < 0) {
        r = -errno;
    }
    if (close(fd) < 0 && r == 0) {
        r = -errno;
    }
    if (r < 0) {
        unlink(path);
    }
    return r;
}

int file_write_atomic(const char *dir, const char *name, const char *tmp_suffix, const void *data,
                      size_t len, mode_t mode)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s/.%s%s", dir, name, tmp_suffix);
    int r;

    if (n < 0 || (size_t)n >= sizeof(tmp) || file_join(path, sizeof(path), dir, name) < 0) {
        return -ENAMETOOLONG;
    }
    /* A temp file left by a crash: the caller's, never in use. */
    if (unlink(tmp) < 0 && errno != ENOENT) {
        return -errno;
    }
    r = file_write_new(tmp, data, len, mode);
    if (r < 0) {
        return r;
    }
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
    }
    return r;
}

int file_read_fd(int fd, void *buf, size_t max, size_t *ret_len)
{
    uint8_t *p = buf;
    size_t len = 0;

    for (;;) {
        uint8_t extra;
        ssize_t k = len < max ? read(fd, p + len, max - len) : read(fd, &extra, 1);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return -errno;
        }
        if (k == 0) {
            break;
        }
        if (len == max) {
            return -EFBIG;
        }
        len += (size_t)k;
    }
    *ret_len = len;
    return 0;
}

/* Opens path for reading if it is a regular file; *ret_size: its size then. */
static int open_regular(const char *path, off_t *ret_size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    *ret_size = st.st_size;
    return fd;
}

int file_read(const char *path, void *buf, size_t max, size_t *ret_len)
{
    off_t size;
    int fd = open_regular(path, &size);
    int r;

    if (fd < 0) {
        return fd;
    }
    r = file_read_fd(fd, buf, max, ret_len);
    close(fd);
    return r;
}

int file_read_alloc(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
    off_t size;
    char *buf = NULL;
    size_t len = 0;
    int fd = open_regular(path, &size);
    int r;

    if (fd < 0) {
        return fd;
    }
    /* Sized by what the file holds now; one that grows meanwhile is -EFBIG. */
    if ((uint64_t)size > max) {
        r = -EFBIG;
        goto finish;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        r = -ENOMEM;
        goto finish;
    }
    r = file_read_fd(fd, buf, (size_t)size, &len);
    if (r < 0) {
        goto finish;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    buf = NULL;

finish:
    free(buf);
    close(fd);
    return r;
}
