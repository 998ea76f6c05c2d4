/* hark-devcloud's diagnostics: one line per event on stderr, prefixed with
 * the program name. Thread-safe (the worker thread logs too). */
#pragma once

enum dclog_level {
    DCLOG_ERROR = 3,
    DCLOG_WARNING = 4,
    DCLOG_INFO = 6,
    DCLOG_DEBUG = 7,
};

void dclog_set_level(enum dclog_level level);
enum dclog_level dclog_get_level(void);

void dclog(enum dclog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dc_error(...) dclog(DCLOG_ERROR, __VA_ARGS__)
#define dc_warning(...) dclog(DCLOG_WARNING, __VA_ARGS__)
#define dc_info(...) dclog(DCLOG_INFO, __VA_ARGS__)
#define dc_debug(...) dclog(DCLOG_DEBUG, __VA_ARGS__)
