/* Logging to stderr for hark-devcloud, see dclog.h. */
#include "dclog.h"

#include <stdarg.h>
#include <stdio.h>

static enum dclog_level max_level = DCLOG_INFO;

void dclog_set_level(enum dclog_level level)
{
    max_level = level;
}

enum dclog_level dclog_get_level(void)
{
    return max_level;
}

void dclog(enum dclog_level level, const char *fmt, ...)
{
    va_list ap;

    if (level > max_level) {
        return;
    }
    /* One locked write per line, so the worker's lines do not interleave. */
    flockfile(stderr);
    fputs("hark-devcloud: ", stderr);
    if (level == DCLOG_ERROR) {
        fputs("error: ", stderr);
    } else if (level == DCLOG_WARNING) {
        fputs("warning: ", stderr);
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
