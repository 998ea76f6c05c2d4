/* The text of a message before cJSON sees it: held to RFC 8259 where cJSON
 * is lenient (see protocol-internal.h). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base-err.h"
#include "protocol-internal.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        if (s[0] == 0xE0) {
            lo = 0xA0;
        } else if (s[0] == 0xED) {
            hi = 0x9F;
        }
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        if (s[0] == 0xF0) {
            lo = 0x90;
        } else if (s[0] == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (left < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_number_char(unsigned char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Length of the RFC 8259 number at s, or 0 when the run of number
 * characters there is not exactly one. */
static size_t number_length(const unsigned char *s, size_t left)
{
    size_t i = 0;

    if (i < left && s[i] == '-') {
        i++;
    }
    if (i < left && s[i] == '0') {
        i++;
    } else if (i < left && is_digit(s[i])) {
        while (i < left && is_digit(s[i])) {
            i++;
        }
    } else {
        return 0;
    }
    if (i < left && s[i] == '.') {
        i++;
        if (i >= left || !is_digit(s[i])) {
            return 0;
        }
        while (i < left && is_digit(s[i])) {
            i++;
        }
    }
    if (i < left && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < left && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i >= left || !is_digit(s[i])) {
            return 0;
        }
        while (i < left && is_digit(s[i])) {
            i++;
        }
    }
    if (i < left && is_number_char(s[i])) {
        return 0;
    }
    return i;
}

int proto_check_text(const unsigned char *s, size_t len, char *err, size_t errsz)
{
    bool in_string = false;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;

        if (c == '\0') {
            err_set(err, errsz, "a NUL byte at offset %zu", i);
            return -EBADMSG;
        }
        if (c >= 0x80) {
            n = utf8_sequence(s + i, len - i);
            if (n == 0) {
                err_set(err, errsz, "invalid UTF-8 at offset %zu", i);
                return -EBADMSG;
            }
            i += n;
            continue;
        }
        if (in_string) {
            if (c == '"') {
                in_string = false;
            } else if (c < 0x20) {
                err_set(err, errsz, "an unescaped control character in a string at offset %zu",
                          i);
                return -EBADMSG;
            } else if (c == '\\') {
                if (len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0) {
                    err_set(err, errsz, "a NUL (\\u0000) in a string at offset %zu", i);
                    return -EBADMSG;
                }
                /* Skips the escaped character, which may be a quote. */
                i++;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_string = true;
            i++;
            continue;
        }
        if (c == '-' || is_digit(c)) {
            n = number_length(s + i, len - i);
            if (n == 0) {
                err_set(err, errsz, "a malformed number at offset %zu", i);
                return -EBADMSG;
            }
            i += n;
            continue;
        }
        i++;
    }
    return 0;
}
