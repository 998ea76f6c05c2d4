/* Logging to stderr, see log.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define LINE_MAX_STACK 1024

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

/* The length of the well-formed UTF-8 sequence at p (2 to 4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

static void put(char *out, size_t outsz, size_t *pos, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++, (*pos)++) {
        if (*pos + 1 < outsz) {
            out[*pos] = text[i];
        }
    }
}

size_t log_escape(char *out, size_t outsz, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t pos = 0;

    while (*p) {
        unsigned char c = *p;
        size_t n = c < 0x80 ? 1 : utf8_len(p);
        uint32_t cp = 0;
        char esc[8];

        if (n == 2) {
            cp = (uint32_t)(c & 0x1f) << 6 | (p[1] & 0x3f);
        } else if (n == 3) {
            cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
        }
        if (c == '\\') {
            put(out, outsz, &pos, "\\\\", 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            put(out, outsz, &pos, esc, 2);
        } else if (n == 0 || c < 0x20 || c == 0x7f || (n == 2 && cp < 0xa0)) {
            /* Control characters, C1 (U+0080 to U+009F) byte by byte, and
             * a byte that starts no UTF-8 sequence. */
            size_t k = n == 0 ? 1 : n;
            for (size_t i = 0; i < k; i++) {
                esc[0] = '\\';
                esc[1] = 'x';
                esc[2] = hex[p[i] >> 4];
                esc[3] = hex[p[i] & 15];
                put(out, outsz, &pos, esc, 4);
            }
            n = k;
        } else if ((n == 2 && cp == 0x061c) ||
                   (n == 3 && ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                               cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029))) {
            /* Text direction marks, overrides and isolates, and line
             * separators: they change how the rest of the line reads. */
            esc[0] = '\\';
            esc[1] = 'u';
            for (int i = 0; i < 4; i++) {
                esc[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
            }
            put(out, outsz, &pos, esc, 6);
        } else {
            put(out, outsz, &pos, (const char *)p, n);
        }
        p += n;
    }
    if (outsz > 0) {
        out[pos < outsz ? pos : outsz - 1] = '\0';
    }
    return pos;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static int journal = -1;
    char stack[LINE_MAX_STACK], line[LINE_MAX_STACK * 4];
    char *text = stack, *safe = line;
    va_list ap;
    int n;
    size_t need;

    if (level > max_level) {
        return;
    }
    /* Formatted first, then escaped: what the arguments carry is text from
     * outside. A line too long for the stack goes to the heap. */
    va_start(ap, fmt);
    n = vsnprintf(stack, sizeof(stack), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof(stack)) {
        text = malloc((size_t)n + 1);
        if (!text) {
            text = stack;
        } else {
            va_start(ap, fmt);
            vsnprintf(text, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
    }
    need = log_escape(line, sizeof(line), text);
    if (need >= sizeof(line)) {
        safe = malloc(need + 1);
        if (safe) {
            log_escape(safe, need + 1, text);
        } else {
            safe = line;
        }
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
    fputs(safe, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
    if (safe != line) {
        free(safe);
    }
    if (text != stack) {
        free(text);
    }
}
