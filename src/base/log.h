/* Diagnostics on stderr, once, at the edge. Journal-friendly: under systemd
 * (JOURNAL_STREAM set) each line carries its syslog priority. Thread-safe:
 * one locked write per line. Messages carry text from outside (the cloud's
 * errors, file names): what a terminal would act on is escaped (log_escape),
 * so a message is always one line and changes nothing on the screen. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};

/* The name each line starts with (not under systemd); default "hark". */
void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Copies s to out (outsz bytes, NUL-terminated if outsz > 0) with every
 * byte a terminal could act on made visible: control characters (C0, DEL,
 * and C1 as UTF-8) as \n, \r, \t or \xHH, bidirectional marks and overrides as
 * \uHHHH, bytes that are not UTF-8 as \xHH, and a backslash as \\ (so the
 * escaping cannot be forged). Returns the length the whole escaped text
 * needs, without the NUL, as snprintf does. Pure and thread-safe. For text
 * from outside (the cloud, a file) shown to a human. */
size_t log_escape(char *out, size_t outsz, const char *s);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
