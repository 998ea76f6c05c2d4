/* Files: paths joined within a bound, whole small files read within a bound,
 * files replaced atomically (a crash leaves the old one or the new one,
 * never half of one) and the directory flushed so the rename lasts. Every
 * descriptor is opened with O_CLOEXEC. Functions return 0 or a negative
 * errno and write nothing on failure; callers say which file it was about. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* DIR/NAME into out. -ENAMETOOLONG if it does not fit in outsz. */
int file_join(char *out, size_t outsz, const char *dir, const char *name);

/* fsync of the directory itself, so that the names created, renamed or
 * removed in it survive a crash. -ENOTDIR if dir is not one. */
int file_sync_dir(const char *dir);

/* All of data to fd, retrying short writes and EINTR. */
int file_write_all(int fd, const void *data, size_t len);

/* All of data to fd at offset off (the file position does not move). */
int file_pwrite_all(int fd, const void *data, size_t len, uint64_t off);

/* Up to len bytes of fd from offset off into buf, fewer only at the end of
 * the file; *ret_got says how many. */
int file_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *ret_got);

/* Creates path (never over an existing name, nor through a link), with
 * exactly mode whatever the umask, writes data and fsyncs it. A file it
 * created and could not fill is removed again. -EEXIST if path exists. */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode);

/* Replaces DIR/NAME: writes DIR/.NAME<tmp_suffix> with file_write_new
 * (first removing one a crash left behind: the caller owns that name) and
 * renames it over DIR/NAME. The directory is not flushed: the caller calls
 * file_sync_dir once after the files it replaces together. */
int file_write_atomic(const char *dir, const char *name, const char *tmp_suffix, const void *data,
                      size_t len, mode_t mode);

/* Reads fd to its end into buf. -EFBIG if it holds more than max bytes
 * (then buf holds the first max). */
int file_read_fd(int fd, void *buf, size_t max, size_t *ret_len);

/* The whole of a regular file into buf, at most max bytes (-EFBIG beyond;
 * -EISDIR for a directory, -EINVAL for anything else not a regular file). */
int file_read(const char *path, void *buf, size_t max, size_t *ret_len);

/* The whole of a regular file, at most max bytes, in a malloc'd buffer with
 * a NUL after the last byte (parsers of text formats want one). The same
 * errors as file_read, and -ENOMEM. */
int file_read_alloc(const char *path, size_t max, char **ret_buf, size_t *ret_len);
