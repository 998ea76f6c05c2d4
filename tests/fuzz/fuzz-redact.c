/* Fuzz harness for the redactor: any text comes back, unchanged when nothing
 * was counted, with as many markers as counts, still valid UTF-8 if it was,
 * the same on a second call, and with no card-length run of digits left,
 * whether in digits or in words. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Digits anywhere in a payment card's range: the redactor leaves no run
 * this long, however it is spelled. */
#define CARD_MIN 13

static unsigned count_markers(const char *text)
{
    unsigned count = 0;

    for (int k = 0; k < REDACT_KINDS; k++) {
        const char *m = redact_marker(k);

        for (const char *p = text; (p = strstr(p, m)); p += strlen(m)) {
            count++;
        }
    }
    return count;
}

static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;

        if (s[0] < 0x80) {
            s++;
            continue;
        }
        if (s[0] >= 0xC2 && s[0] <= 0xDF) {
            n = 2;
        } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
            n = 3;
            lo = s[0] == 0xE0 ? 0xA0 : 0x80;
            hi = s[0] == 0xED ? 0x9F : 0xBF;
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
            n = 4;
            lo = s[0] == 0xF0 ? 0x90 : 0x80;
            hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (s[1] < lo || s[1] > hi) {
            return false;
        }
        for (size_t i = 2; i < n; i++) {
            if (s[i] < 0x80 || s[i] > 0xBF) {
                return false;
            }
        }
        s += n;
    }
    return true;
}

/* The longest run of ASCII digits with single spaces or hyphens between. */
static size_t longest_digit_run(const char *s)
{
    size_t best = 0, run = 0;

    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            run++;
        } else if (!((*p == ' ' || *p == '-') && run && p[1] >= '0' && p[1] <= '9')) {
            run = 0;
        }
        if (run > best) {
            best = run;
        }
    }
    return best;
}

/* The longest run of digit words ("four five three two ...") separated by
 * single spaces, each a whole space-separated word. */
static size_t longest_word_run(const char *s)
{
    static const char *const units[] = {"zero", "one", "two",   "three", "four",
                                        "five", "six", "seven", "eight", "nine"};
    size_t best = 0, run = 0;
    const char *p = s;

    while (*p) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        bool unit = false;

        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
            if (len == strlen(units[k]) && strncmp(p, units[k], len) == 0) {
                unit = true;
            }
        }
        run = unit ? run + 1 : 0;
        if (run > best) {
            best = run;
        }
        if (!e) {
            break;
        }
        p = e + 1;
    }
    return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned counts[REDACT_KINDS], again_counts[REDACT_KINDS], total = 0, in_markers, out_markers;
    char *text, *out, *again;

    text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0'; /* the redactor reads up to the first NUL */

    out = redact_text(text, counts);
    again = redact_text(text, again_counts);
    if (!out || !again) {
        fprintf(stderr, "redact_text returned NULL for %zu bytes\n", size);
        abort();
    }
    if (strcmp(out, again) != 0 || memcmp(counts, again_counts, sizeof(counts)) != 0) {
        fprintf(stderr, "two calls disagree\n");
        abort();
    }
    for (int k = 0; k < REDACT_KINDS; k++) {
        total += counts[k];
    }
    if (total == 0 && strcmp(out, text) != 0) {
        fprintf(stderr, "nothing counted but the text changed\n");
        abort();
    }
    /* Every replacement leaves one marker; markers already in the text may
     * stay or be swallowed by a replacement. */
    in_markers = count_markers(text);
    out_markers = count_markers(out);
    if (out_markers < total || out_markers > total + in_markers) {
        fprintf(stderr, "%u markers out, %u counted, %u in\n", out_markers, total, in_markers);
        abort();
    }
    if (utf8_valid((const unsigned char *)text) && !utf8_valid((const unsigned char *)out)) {
        fprintf(stderr, "a replacement cut a UTF-8 sequence\n");
        abort();
    }
    if (longest_digit_run(out) >= CARD_MIN || longest_word_run(out) >= CARD_MIN) {
        fprintf(stderr, "a card-length run survived: \"%s\"\n", out);
        abort();
    }
    free(again);
    free(out);
    free(text);
    return 0;
}
