/* Tests for hark-devcloud's device registry: comments, blank lines and bad
 * lines (reported with FILE:LINE and skipped), and appending a device. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry.h"

#include "check.h"
#include "testdir.h"

#define PIN_A "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN_B "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN_C "sha256/ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="
#define PIN_D "sha256/PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="

struct bad_lines {
    unsigned lines[16];
    size_t n;
    char first[512];
};

static void on_bad_line(void *userdata, const char *path, unsigned line, const char *why)
{
    struct bad_lines *b = userdata;

    if (b->n == 0) {
        snprintf(b->first, sizeof(b->first), "%s:%u: %s", path, line, why);
    }
    if (b->n < 16) {
        b->lines[b->n++] = line;
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int main(void)
{
    char path[4200], want[4300], err[1024];
    struct registry *reg = NULL;
    struct bad_lines bad = {0};
    struct stat st;
    int r;

    testdir_make("devcloud-registry");
    snprintf(path, sizeof(path), "%s/registry", testdir);

    /* Missing: -ENOENT, named. */
    r = registry_load(path, on_bad_line, &bad, err, sizeof(err), &reg);
    CHECKF(r == -ENOENT && strstr(err, path), "missing registry: %d %s", r, err);

    /* clang-format off */
    write_file(path,
               "# devices allowed to connect\n"                           /* line 1 */
               "\n"
               PIN_A "\n"
               "   " PIN_B "   # the kitchen speaker\n"
               "sha256/not-base64\n"                                      /* line 5 */
               "md5/AAAA\n"                                               /* line 6 */
               PIN_C "extra\n"                                            /* line 7 */
               "\t\n"
               "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n"     /* 9: not canonical */
               PIN_A "\n"                                                 /* a repeat: fine */
               "   # indented comment\n"
               PIN_C "\r\n");                                            /* CRLF */
    /* clang-format on */
    r = registry_load(path, on_bad_line, &bad, err, sizeof(err), &reg);
    CHECKF(r == 0, "load: %s", err);
    CHECKF(registry_count(reg) == 3, "%zu entries, expected 3", registry_count(reg));
    CHECKF(registry_contains(reg, PIN_A), "A");
    CHECKF(registry_contains(reg, PIN_B), "B (with a comment after it)");
    CHECKF(registry_contains(reg, PIN_C), "C (CRLF)");
    CHECKF(!registry_contains(reg, PIN_D), "D is not registered");
    CHECKF(!registry_contains(reg, "sha256/not-base64"), "a bad line is not an entry");
    CHECKF(!registry_contains(reg, NULL), "NULL");
    CHECKF(bad.n == 4, "%zu bad lines reported, expected 4", bad.n);
    CHECKF(bad.n == 4 && bad.lines[0] == 5 && bad.lines[1] == 6 && bad.lines[2] == 7 &&
              bad.lines[3] == 9,
          "bad lines at %u %u %u %u", bad.lines[0], bad.lines[1], bad.lines[2], bad.lines[3]);
    snprintf(want, sizeof(want), "%s:5: ", path);
    CHECKF(strncmp(bad.first, want, strlen(want)) == 0 && strstr(bad.first, "not a fingerprint"),
          "message '%s'", bad.first);
    registry_free(reg);
    registry_free(NULL);

    /* Appending: validated, created 0600, no duplicates, a missing final
     * newline does not glue two entries together. */
    snprintf(path, sizeof(path), "%s/new-registry", testdir);
    r = registry_append(path, "sha256/nope", err, sizeof(err));
    CHECKF(r == -EINVAL && strstr(err, "not a fingerprint"), "bad fingerprint: %d %s", r, err);
    CHECKF(access(path, F_OK) < 0, "a refused fingerprint created the file");
    r = registry_append(path, PIN_A, err, sizeof(err));
    CHECKF(r == 0, "append A: %d %s", r, err);
    CHECKF(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o", st.st_mode & 0777);
    r = registry_append(path, PIN_A, err, sizeof(err));
    CHECKF(r == 1, "append A again: %d", r);
    write_file(path, "# no newline at the end\n" PIN_B);
    r = registry_append(path, PIN_D, err, sizeof(err));
    CHECKF(r == 0, "append D: %d %s", r, err);
    CHECKF(strcmp(read_all(path), "# no newline at the end\n" PIN_B "\n" PIN_D "\n") == 0,
          "file is '%s'", read_all(path));
    bad.n = 0;
    r = registry_load(path, on_bad_line, &bad, err, sizeof(err), &reg);
    CHECKF(r == 0 && registry_count(reg) == 2 && bad.n == 0, "reload: %d, %zu entries, %zu bad", r,
          registry_count(reg), bad.n);
    registry_free(reg);

    /* Not a regular file. */
    r = registry_load(testdir, on_bad_line, &bad, err, sizeof(err), &reg);
    CHECKF(r < 0, "a directory loaded as a registry");

    testdir_remove();
    return check_status();
}
