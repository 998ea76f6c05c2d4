/* Tests for log_escape and log_msg: text from outside (the cloud, a file)
 * reaches a terminal or the journal with nothing it could act on. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#include "check.h"

/* in escaped is want; the length returned is the whole of it. */
static void expect(const char *in, const char *want, int line)
{
    char out[256];
    size_t n = log_escape(out, sizeof(out), in);

    CHECKF(n == strlen(want) && strcmp(out, want) == 0, "line %d: '%s' (%zu), not '%s'", line,
           out, n, want);
}

static void test_escape(void)
{
    expect("plain text, UTF-8 é ü 中 😀", "plain text, UTF-8 é ü 中 😀", __LINE__);
    expect("", "", __LINE__);
    expect("red \x1b[31mtext\x07", "red \\x1b[31mtext\\x07", __LINE__);
    expect("a\nb\rc\td", "a\\nb\\rc\\td", __LINE__);
    expect("del \x7f", "del \\x7f", __LINE__);
    /* A backslash doubled: "\x1b" in the text cannot pass for an escape. */
    expect("\\x1b", "\\\\x1b", __LINE__);
    /* C1 as UTF-8 (CSI is U+009B), byte by byte; U+00A0 is text. */
    expect("\xc2\x9b" "31m \xc2\xa0", "\\xc2\\x9b31m \xc2\xa0", __LINE__);
    /* Bytes that are not UTF-8: a lone continuation, a cut sequence, an
     * overlong form, a surrogate, past U+10FFFF. */
    expect("\x80", "\\x80", __LINE__);
    expect("\xe4\xb8", "\\xe4\\xb8", __LINE__);
    expect("\xc0\xaf", "\\xc0\\xaf", __LINE__);
    expect("\xed\xa0\x80", "\\xed\\xa0\\x80", __LINE__);
    expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", __LINE__);
    /* What reorders or breaks a line: overrides, isolates, marks,
     * separators. */
    expect("\xe2\x80\xae" "evil", "\\u202eevil", __LINE__);
    expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069", __LINE__);
    expect("\xe2\x80\x8f\xd8\x9c", "\\u200f\\u061c", __LINE__);
    expect("a\xe2\x80\xa8" "b", "a\\u2028b", __LINE__);
}

/* Like snprintf: the length it needs, whatever fits, always terminated. */
static void test_truncation(void)
{
    char out[8];
    size_t n;

    CHECK(log_escape(NULL, 0, "\x1b\x1b") == 8);
    memset(out, 'Z', sizeof(out));
    n = log_escape(out, 6, "\x1b\x1b");
    CHECK(n == 8 && strcmp(out, "\\x1b\\") == 0);
    memset(out, 'Z', sizeof(out));
    n = log_escape(out, 1, "abc");
    CHECK(n == 3 && out[0] == '\0' && out[1] == 'Z');
}

/* What log_msg writes to stderr, s the argument of "error: %s". */
static char *logged(const char *s)
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    char *text = NULL;
    long len;

    if (!f || saved < 0) {
        abort();
    }
    fflush(stderr);
    dup2(fileno(f), STDERR_FILENO);
    log_error("error: %s", s);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    len = ftell(f);
    if (len >= 0 && (text = calloc(1, (size_t)len + 1)) != NULL) {
        rewind(f);
        if (fread(text, 1, (size_t)len, f) != (size_t)len) {
            text[0] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* One line, whatever the message carries, even past the stack buffers. */
static void test_log_msg(void)
{
    size_t big = 5000;
    char *s = malloc(big + 1);
    char *want = malloc(4 * big + 64);
    char *got, *p;

    if (!s || !want) {
        abort();
    }
    unsetenv("JOURNAL_STREAM");
    log_set_program("test-log");
    got = logged("the cloud said\n<3>forged\x1b[2J");
    CHECKF(got && strcmp(got, "test-log: error: error: the cloud said\\n<3>forged\\x1b[2J\n") == 0,
           "'%s'", got ? got : "(null)");
    free(got);

    memset(s, '\x07', big);
    s[big] = '\0';
    p = want + sprintf(want, "test-log: error: error: ");
    for (size_t i = 0; i < big; i++) {
        p += sprintf(p, "\\x07");
    }
    strcpy(p, "\n");
    got = logged(s);
    CHECKF(got && strcmp(got, want) == 0, "%zu bytes", got ? strlen(got) : 0);
    free(got);
    free(s);
    free(want);
}

int main(void)
{
    test_escape();
    test_truncation();
    test_log_msg();
    return check_status();
}
