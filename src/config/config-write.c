/* Changing keys in a configuration file as a person would: each changed
 * key's line replaced in its section, every other line and comment kept,
 * and the file replaced atomically (a crash leaves the old file or the new
 * one). `hark tune` writes what it measured through here. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base-file.h"
#include "config-internal.h"

/* A line's section header name ("[wakeword] ; x" gives "wakeword"), or
 * NULL when the line is no header. */
static const char *header_name(const char *line, size_t len, size_t *ret_len)
{
    const char *end;

    if (len == 0 || line[0] != '[') {
        return NULL;
    }
    end = memchr(line, ']', len);
    if (!end) {
        return NULL;
    }
    *ret_len = (size_t)(end - line - 1);
    return line + 1;
}

static bool same(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(s, name, len) == 0;
}

/* Whether the line sets a key that one of the changes of section sets. */
static bool line_changed(const char *line, size_t len, const char *section,
                         const struct config_change *changes, size_t n)
{
    size_t klen = 0;

    while (klen < len && line[klen] != '=' && line[klen] != ' ' && line[klen] != '\t') {
        klen++;
    }
    for (size_t i = 0; section && klen < len && i < n; i++) {
        if (strcmp(changes[i].section, section) == 0 && same(line, klen, changes[i].name)) {
            return true;
        }
    }
    return false;
}

/* The comment, then every change of section, each on a line of its own. */
static void write_section_keys(FILE *out, const char *section, const struct config_change *changes,
                               size_t n, const char *comment)
{
    if (comment) {
        fprintf(out, "# %s\n", comment);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(changes[i].section, section) == 0) {
            fprintf(out, "%s = %s\n", changes[i].name, changes[i].value);
        }
    }
}

/* Every change names a key of the table once, with a value it reads. */
static int check_changes(const struct config_change *changes, size_t n, char *msg, size_t msgsz)
{
    struct hark_config *scratch = malloc(sizeof(*scratch));
    locale_t old, c;
    int r = 0;

    if (!scratch) {
        snprintf(msg, msgsz, "out of memory");
        return -ENOMEM;
    }
    c = config_locale_enter(&old);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct key *k = config_key_find(changes[i].section, changes[i].name);

        if (!k) {
            snprintf(msg, msgsz, "unknown key '%s' in [%s]", changes[i].name, changes[i].section);
            r = -EINVAL;
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (config_key_find(changes[j].section, changes[j].name) == k) {
                snprintf(msg, msgsz, "key '%s' in [%s] changed twice", k->name, k->section);
                r = -EINVAL;
            }
        }
        if (r == 0 && strchr(changes[i].value, '\n')) {
            snprintf(msg, msgsz, "value for %s holds a line break", k->name);
            r = -EINVAL;
        }
        if (r == 0) {
            r = config_value_parse(k, changes[i].value, scratch, msg, msgsz);
        }
    }
    config_locale_leave(c, old);
    free(scratch);
    return r;
}

/* The text with the changes made: each section that has changes gets them
 * right after its first header, its old lines of those keys are dropped,
 * and a section the text lacks is added at its end. */
static char *apply_changes(const char *text, size_t len, const struct config_change *changes,
                           size_t n, const char *comment, size_t *ret_len)
{
    bool written[CONFIG_KEYS_MAX] = {false};
    char section[64] = "", *out_buf = NULL;
    FILE *out = open_memstream(&out_buf, ret_len);

    if (!out) {
        return NULL;
    }
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        size_t hlen;
        const char *h = header_name(line, llen, &hlen);

        pos += llen + (nl ? 1 : 0);
        if (h) {
            snprintf(section, sizeof(section), "%.*s", (int)hlen, h);
        }
        if (!h && line_changed(line, llen, section[0] ? section : NULL, changes, n)) {
            continue;
        }
        fwrite(line, 1, llen + (nl ? 1 : 0), out);
        if (!nl) {
            fputc('\n', out);
        }
        for (size_t i = 0; h && i < n; i++) {
            if (!written[i] && strcmp(changes[i].section, section) == 0) {
                write_section_keys(out, section, changes, n, comment);
                for (size_t j = i; j < n; j++) {
                    written[j] |= strcmp(changes[j].section, section) == 0;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!written[i]) {
            fprintf(out, "%s[%s]\n", ftell(out) > 0 ? "\n" : "", changes[i].section);
            write_section_keys(out, changes[i].section, changes, n, comment);
            for (size_t j = i; j < n; j++) {
                written[j] |= strcmp(changes[j].section, changes[i].section) == 0;
            }
        }
    }
    if (fclose(out) != 0) {
        free(out_buf);
        return NULL;
    }
    return out_buf;
}

int config_write_changes(const char *path, const struct config_change *changes, size_t n,
                         const char *comment, char *err, size_t errsz)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], msg[MSG_MAX];
    char *text = NULL, *out = NULL;
    size_t len = 0, out_len = 0;
    mode_t mode = 0644;
    struct stat st;
    int r;

    if (n > CONFIG_KEYS_MAX) {
        snprintf(err, errsz, "%s: too many changes", path);
        return -E2BIG;
    }
    r = check_changes(changes, n, msg, sizeof(msg));
    if (r < 0) {
        snprintf(err, errsz, "%s: not written: %s", path, msg);
        return r;
    }
    if (!slash) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    }
    r = file_read_alloc(path, CONFIG_FILE_MAX, &text, &len);
    if (r < 0 && r != -ENOENT) {
        snprintf(err, errsz, "%s: cannot read: %s", path, strerror(-r));
        return r;
    }
    /* The file keeps the mode it had. */
    if (r == 0 && stat(path, &st) == 0) {
        mode = st.st_mode & 07777;
    }
    out = apply_changes(text ? text : "", len, changes, n, comment, &out_len);
    r = out ? file_write_atomic(dir, slash ? slash + 1 : path, ".hark-new", out, out_len, mode)
            : -ENOMEM;
    if (r == 0) {
        r = file_sync_dir(dir);
    }
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot write: %s", path, strerror(-r));
    }
    free(text);
    free(out);
    return r;
}
