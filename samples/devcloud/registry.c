/* The device registry (see registry.h). Re-read on every connection, so it
 * stays small and simple: a list of strings scanned linearly. */
#define _GNU_SOURCE
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin.h"

/* A registry of a few thousand devices is well under this; the bound keeps
 * the wrong file from being read into memory on every connection. */
#define REGISTRY_FILE_MAX (4 * 1024 * 1024)
#define REGISTRY_LINE_MAX 1024

struct registry {
    char (*pins)[PIN_STRING_MAX];
    size_t n, cap;
};

void registry_free(struct registry *registry)
{
    if (!registry) {
        return;
    }
    free(registry->pins);
    free(registry);
}

static int registry_add(struct registry *reg, const char *pin)
{
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        char(*pins)[PIN_STRING_MAX] = reallocarray(reg->pins, cap, sizeof(*pins));

        if (!pins) {
            return -ENOMEM;
        }
        reg->pins = pins;
        reg->cap = cap;
    }
    snprintf(reg->pins[reg->n++], PIN_STRING_MAX, "%s", pin);
    return 0;
}

static void report(void (*on_bad_line)(void *, const char *, unsigned, const char *),
                   void *userdata, const char *path, unsigned line, const char *why)
{
    if (on_bad_line) {
        on_bad_line(userdata, path, line, why);
    }
}

/* Trims blanks and a trailing comment in place; returns the entry. */
static char *entry_of(char *line)
{
    char *hash, *end;

    while (*line == ' ' || *line == '\t') {
        line++;
    }
    hash = strchr(line, '#');
    if (hash) {
        *hash = '\0';
    }
    end = line + strlen(line);
    while (end > line &&
           (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) {
        *--end = '\0';
    }
    return line;
}

int registry_load(const char *path,
                  void (*on_bad_line)(void *userdata, const char *path, unsigned line,
                                      const char *why),
                  void *userdata, char *err, size_t errsz, struct registry **ret_registry)
{
    struct registry *reg = NULL;
    struct stat st;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    FILE *f = NULL;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return r;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > REGISTRY_FILE_MAX) {
        snprintf(err, errsz, "%s: not a regular file of at most %d bytes", path, REGISTRY_FILE_MAX);
        close(fd);
        return -EINVAL;
    }
    f = fdopen(fd, "r");
    if (!f) {
        r = -errno;
        close(fd);
        snprintf(err, errsz, "%s: %s", path, strerror(-r));
        return r;
    }
    reg = calloc(1, sizeof(*reg));
    if (!reg) {
        r = -ENOMEM;
        goto finish;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        char *entry;

        lineno++;
        if (len > REGISTRY_LINE_MAX) {
            report(on_bad_line, userdata, path, lineno, "line too long, ignored");
            continue;
        }
        if (strlen(line) != (size_t)len) {
            report(on_bad_line, userdata, path, lineno, "a NUL byte in the line, ignored");
            continue;
        }
        entry = entry_of(line);
        if (*entry == '\0') {
            continue;
        }
        if (!pin_is_valid(entry)) {
            report(on_bad_line, userdata, path, lineno,
                   "not a fingerprint (sha256/ and 44 base64 characters), ignored");
            continue;
        }
        if (!registry_contains(reg, entry)) {
            r = registry_add(reg, entry);
            if (r < 0) {
                snprintf(err, errsz, "%s: out of memory", path);
                goto finish;
            }
        }
    }
    if (ferror(f)) {
        r = -EIO;
        snprintf(err, errsz, "%s: read error", path);
        goto finish;
    }
    *ret_registry = reg;
    reg = NULL;
finish:
    registry_free(reg);
    free(line);
    fclose(f);
    return r;
}

bool registry_contains(const struct registry *registry, const char *fingerprint)
{
    if (!registry || !fingerprint) {
        return false;
    }
    for (size_t i = 0; i < registry->n; i++) {
        if (strcmp(registry->pins[i], fingerprint) == 0) {
            return true;
        }
    }
    return false;
}

size_t registry_count(const struct registry *registry)
{
    return registry ? registry->n : 0;
}

/* Whether the file's last byte is something other than a newline, so an
 * entry appended must start on a line of its own. */
static bool ends_without_newline(int fd)
{
    char c;
    off_t size = lseek(fd, 0, SEEK_END);

    if (size <= 0) {
        return false;
    }
    return pread(fd, &c, 1, size - 1) == 1 && c != '\n';
}

int registry_append(const char *path, const char *fingerprint, char *err, size_t errsz)
{
    struct registry *reg = NULL;
    char line[PIN_STRING_MAX + 3];
    int fd, n, r;

    if (!pin_is_valid(fingerprint)) {
        snprintf(err, errsz,
                 "'%s' is not a fingerprint (sha256/ and 44 base64 characters; "
                 "`hark provision` prints it)",
                 fingerprint);
        return -EINVAL;
    }
    r = registry_load(path, NULL, NULL, err, errsz, &reg);
    if (r < 0 && r != -ENOENT) {
        return r;
    }
    if (registry_contains(reg, fingerprint)) {
        registry_free(reg);
        return 1;
    }
    registry_free(reg);
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return r;
    }
    n = snprintf(line, sizeof(line), "%s%s\n", ends_without_newline(fd) ? "\n" : "", fingerprint);
    errno = 0;
    if (write(fd, line, (size_t)n) != n) {
        r = errno ? -errno : -EIO;
        snprintf(err, errsz, "%s: write failed: %s", path, strerror(-r));
        close(fd);
        return r;
    }
    if (close(fd) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return r;
    }
    return 0;
}
