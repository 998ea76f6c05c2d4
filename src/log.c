/* Logging to stderr, see log.h. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static enum log_level max_level = LOG_LEVEL_WARNING;
static const char *program = "hark";

void log_set_program(const char *name)
{
    program = name;
}

void log_set_level(enum log_level level)
{
    max_level = level;
}

enum log_level log_get_level(void)
{
    return max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static int journal = -1;
    va_list ap;

    if (level > max_level) {
        return;
    }
    if (journal < 0) {
        journal = getenv("JOURNAL_STREAM") != NULL;
    }
    /* One write per line, so lines from several threads do not interleave. */
    flockfile(stderr);
    if (journal) {
        fprintf(stderr, "<%d>", (int)level);
    } else {
        fputs(program, stderr);
        fputs(": ", stderr);
        if (level == LOG_LEVEL_ERROR) {
            fputs("error: ", stderr);
        } else if (level == LOG_LEVEL_WARNING) {
            fputs("warning: ", stderr);
        }
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
