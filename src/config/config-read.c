/* Reading a configuration file: the file's own checks (owner, mode, size),
 * its lines cut into sections and keys, each value through the key table
 * over the defaults, and the values that need the whole file resolved. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base-file.h"
#include "config-internal.h"
#include "nn-builtin.h"

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* One parse of one text. */
struct parser {
    struct hark_config cfg; /* the file over the defaults; the caller's only on success */
    const char *section;    /* the latest [section] header's name, in the text; NULL: none */
    unsigned line;          /* the line being parsed */
    size_t section_len;
    bool seen[CONFIG_KEYS_MAX];
    char msg[MSG_MAX];
};

/* A relative model path is taken from the folder of the file that names
 * it, made absolute, so that a sample config can name the model beside it
 * and the dump reads the same from anywhere. */
/* The entry "builtin" becomes the built-in model of the first phrase that
 * has one, and goes when none has: the default config hears "hey computer"
 * with the neural detector and a phrase of the user's own with PocketSphinx,
 * without a change to `model`. */
static void resolve_builtin(struct hark_config *cfg)
{
    const char *entry = NULL;
    size_t n = 0;

    for (size_t i = 0; i < cfg->wakeword.n_phrases && !entry; i++) {
        entry = nn_builtin_for_phrase(cfg->wakeword.phrases[i].text);
    }
    for (size_t i = 0; i < cfg->wakeword.n_models; i++) {
        char *m = cfg->wakeword.models[i];

        if (strcmp(m, NN_BUILTIN_ANY) != 0) {
            memmove(cfg->wakeword.models[n++], m, strlen(m) + 1);
        } else if (entry) {
            snprintf(cfg->wakeword.models[n++], CONFIG_STRING_MAX, "%s", entry);
        }
    }
    cfg->wakeword.n_models = n;
}

static int resolve_models(struct hark_config *cfg, const char *name, char *msg, size_t msgsz)
{
    const char *slash = strrchr(name, '/');
    char dir[PATH_MAX], *real = NULL;
    const char *base;

    if (slash == name) {
        snprintf(dir, sizeof(dir), "/");
    } else if (slash) {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    resolve_builtin(cfg);
    for (size_t i = 0; i < cfg->wakeword.n_models; i++) {
        char *m = cfg->wakeword.models[i];
        char full[2 * PATH_MAX];

        if (m[0] == '/' || nn_builtin_named(m)) {
            continue;
        }
        if (!real) {
            real = realpath(dir, NULL);
        }
        base = real ? real : dir;
        snprintf(full, sizeof(full), "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", m);
        if (strlen(full) >= CONFIG_STRING_MAX) {
            snprintf(msg, msgsz, "model '%s' is too long once taken from the folder %.128s%s "
                                 "(at most %d bytes)",
                     m, base, strlen(base) > 128 ? "..." : "", CONFIG_STRING_MAX - 1);
            free(real);
            return -EINVAL;
        }
        memcpy(m, full, strlen(full) + 1);
    }
    free(real);
    return 0;
}

static void resolve_thresholds(struct hark_config *cfg)
{
    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        if (cfg->wakeword.phrases[i].threshold == 0) {
            cfg->wakeword.phrases[i].threshold = cfg->wakeword.threshold;
        }
        if (!cfg->wakeword.phrases[i].has_verify_threshold) {
            cfg->wakeword.phrases[i].verify_threshold = cfg->wakeword.verify_threshold;
        }
    }
}

/* Every key's default, read from the table as a file would be. The phrases'
 * thresholds stay unresolved: a file may set [wakeword] threshold and the
 * default phrase must follow it. */
static void parse_defaults(struct hark_config *cfg)
{
    char msg[MSG_MAX];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < config_n_keys; i++) {
        /* Cannot fail: test-config checks every default. */
        (void)config_value_parse(&config_keys[i], config_keys[i].def, cfg, msg, sizeof(msg));
    }
}

static void init_defaults(struct hark_config *cfg)
{
    parse_defaults(cfg);
    resolve_builtin(cfg);
    resolve_thresholds(cfg);
}

void config_init_defaults(struct hark_config *cfg)
{
    locale_t old, c = config_locale_enter(&old);

    init_defaults(cfg);
    config_locale_leave(c, old);
}

/* One "key = value" line; the value without its comment and outer blanks. */
static int handle_key(struct parser *p, const char *name, const char *value)
{
    const struct key *k;
    char section[64];

    if (!p->section) {
        snprintf(p->msg, sizeof(p->msg), "key outside any section: '%s'", name);
        return -EINVAL;
    }
    snprintf(section, sizeof(section), "%.*s", (int)p->section_len, p->section);
    if (*name == '\0') {
        snprintf(p->msg, sizeof(p->msg), "missing key before '=' in [%s]", section);
        return -EINVAL;
    }
    k = config_key_find(section, name);
    if (!k) {
        snprintf(p->msg, sizeof(p->msg), "unknown key '%s' in [%s]", name, section);
        return -EINVAL;
    }
    if (p->seen[k - config_keys]) {
        snprintf(p->msg, sizeof(p->msg), "duplicate key '%s' in [%s]", name, section);
        return -EINVAL;
    }
    p->seen[k - config_keys] = true;
    p->cfg.origin.lines[k - config_keys] = p->line;
    return config_value_parse(k, value, &p->cfg, p->msg, sizeof(p->msg));
}

/* "[name]", then nothing but blanks and a comment. */
static int handle_section(struct parser *p, char *s)
{
    char *end = strchr(s, ']');
    char *rest;
    size_t n;

    if (!end) {
        snprintf(p->msg, sizeof(p->msg), "section header without closing ']'");
        return -EINVAL;
    }
    rest = end + 1;
    n = strspn(rest, " \t");
    if (rest[n] != '\0' && !(n > 0 && rest[n] == ';')) {
        snprintf(p->msg, sizeof(p->msg),
                 "text after ']' in a section header: '%s' (a key goes on a line of its own)",
                 rest + n);
        return -EINVAL;
    }
    *end = '\0';
    if (!config_section_known(s + 1)) {
        snprintf(p->msg, sizeof(p->msg), "unknown section [%s]", s + 1);
        return -EINVAL;
    }
    p->section = s + 1;
    p->section_len = (size_t)(end - (s + 1));
    return 0;
}

/* One line, without its line ending, NUL-terminated in a buffer of its own
 * (the section name stays pointing into it until the next header). */
static int parse_line(struct parser *p, char *s, unsigned line)
{
    char *eq, *value, *name_end;

    if (line == 1 && strncmp(s, utf8_bom, 3) == 0) {
        s += 3;
    }
    if (is_blank(*s)) {
        s += strspn(s, " \t");
        if (*s == '\0' || *s == ';' || *s == '#') {
            return 0;
        }
        snprintf(p->msg, sizeof(p->msg),
                 "indented line (keys and [section] headers start in the first column; "
                 "values do not continue on the next line)");
        return -EINVAL;
    }
    if (*s == '\0' || *s == ';' || *s == '#') {
        return 0;
    }
    if (*s == '[') {
        return handle_section(p, s);
    }
    eq = strchr(s, '=');
    if (!eq) {
        snprintf(p->msg, sizeof(p->msg),
                 "expected 'key = value', a [section] header or a comment");
        return -EINVAL;
    }
    name_end = eq;
    while (name_end > s && is_blank(name_end[-1])) {
        name_end--;
    }
    *name_end = '\0';
    /* A comment is a ';' after a blank; the blank may be the one after '='. */
    value = eq + 1;
    for (char *c = value; *c; c++) {
        if (*c == ';' && c > value && is_blank(c[-1])) {
            *c = '\0';
            break;
        }
    }
    return handle_key(p, s, config_strip(value));
}

static int parse_text(struct hark_config *cfg, const char *name, const char *text, size_t len,
                      char *err, size_t errsz)
{
    struct parser *p = NULL;
    char *buf = NULL;
    unsigned line = 0;
    int r = 0;

    if (len > CONFIG_FILE_MAX) {
        snprintf(err, errsz, "%s: file too large (more than %d KiB)", name, CONFIG_FILE_MAX / 1024);
        r = -EFBIG;
        goto out;
    }
    p = calloc(1, sizeof(*p));
    /* A copy of the whole text: the lines are cut in place, and a section
     * name lives until the next header. */
    buf = malloc(len + 1);
    if (!p || !buf) {
        snprintf(err, errsz, "%s: out of memory", name);
        r = -ENOMEM;
        goto out;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    parse_defaults(&p->cfg);
    for (size_t pos = 0; pos < len && r == 0;) {
        char *s = buf + pos;
        char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;

        line++;
        pos += n + 1;
        /* CRLF is a line ending; a CR anywhere else (a file with old Mac
         * line endings is one line) would hide everything after it. */
        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        if (memchr(s, '\0', n)) {
            snprintf(p->msg, sizeof(p->msg), "NUL byte (not a text file?)");
            r = -EINVAL;
        } else if (n > CONFIG_LINE_MAX) {
            snprintf(p->msg, sizeof(p->msg), "line too long (%zu bytes, at most %d)", n,
                     CONFIG_LINE_MAX);
            r = -EINVAL;
        } else if (memchr(s, '\r', n)) {
            snprintf(p->msg, sizeof(p->msg),
                     "carriage return inside a line (line endings must be LF or CRLF)");
            r = -EINVAL;
        } else {
            s[n] = '\0';
            p->line = line;
            r = parse_line(p, s, line);
        }
    }
    if (r == 0) {
        r = resolve_models(&p->cfg, name, p->msg, sizeof(p->msg));
        if (r < 0) {
            line = p->cfg.origin.lines[config_key_find("wakeword", "model") - config_keys];
        }
    }
    if (r < 0) {
        snprintf(err, errsz, "%s:%u: %s", name, line, p->msg);
    } else {
        resolve_thresholds(&p->cfg);
        snprintf(p->cfg.origin.file, sizeof(p->cfg.origin.file), "%s", name);
        *cfg = p->cfg;
    }
out:
    free(buf);
    free(p);
    if (r < 0) {
        init_defaults(cfg);
    }
    return r;
}

int config_load_string(struct hark_config *cfg, const char *name, const char *text, char *err,
                       size_t errsz)
{
    locale_t old, c = config_locale_enter(&old);
    int r = parse_text(cfg, name, text, strnlen(text, CONFIG_FILE_MAX + 1), err, errsz);

    config_locale_leave(c, old);
    return r;
}

/* Whoever may write the file chooses the server hark talks to and the
 * commands it runs: like update.bundle, it must not be writable by group or
 * others; its owner is this user or root (/etc/hark/hark.conf for the hark
 * user of the systemd unit). O_NONBLOCK: a FIFO opens without a writer, and
 * is then refused as what it is instead of hanging. */
static int open_checked(const char *path, char *err, size_t errsz, int *ret_fd)
{
    struct stat st;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot stat: %s", path, strerror(-r));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file (a %s)", path,
                 S_ISDIR(st.st_mode)    ? "directory"
                 : S_ISFIFO(st.st_mode) ? "FIFO"
                 : S_ISSOCK(st.st_mode) ? "socket"
                                        : "device");
        r = -EINVAL;
        goto fail;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errsz, "%s: owned by uid %u, not by this user (uid %u) or root", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        r = -EPERM;
        goto fail;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errsz, "%s: writable by others (mode %03o): chmod go-w %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        r = -EPERM;
        goto fail;
    }
    *ret_fd = fd;
    return 0;
fail:
    close(fd);
    return r;
}

int config_load(struct hark_config *cfg, const char *path, char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;
    int r;

    r = open_checked(path, err, errsz, &fd);
    if (r < 0) {
        goto out;
    }
    buf = malloc(CONFIG_FILE_MAX);
    if (!buf) {
        r = -ENOMEM;
        snprintf(err, errsz, "%s: out of memory", path);
        goto out;
    }
    r = file_read_fd(fd, buf, CONFIG_FILE_MAX, &len);
    if (r == -EFBIG) {
        snprintf(err, errsz, "%s: file too large (more than %d KiB)", path,
                 CONFIG_FILE_MAX / 1024);
        goto out;
    }
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot read: %s", path, strerror(-r));
        goto out;
    }
    {
        locale_t old, c = config_locale_enter(&old);
        r = parse_text(cfg, path, buf, len, err, errsz);
        config_locale_leave(c, old);
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    if (r < 0) {
        config_init_defaults(cfg);
    }
    return r;
}
