/* Error text for callers to log: libraries write what went wrong into the
 * caller's buffer and return a negative errno; the caller logs it once. */
#pragma once

#include <stddef.h>

/* The size of the buffers callers give for error text. */
#define ERRSZ 512

/* Writes the message into err; does nothing when err is NULL or errsz 0.
 * A message longer than the buffer is cut short, NUL-terminated. */
void err_set(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* err_set, then returns r: `return err_fail(err, errsz, -EINVAL, ...)`. */
int err_fail(char *err, size_t errsz, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The formatted text in a malloc'd string, or NULL when out of memory. */
char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
