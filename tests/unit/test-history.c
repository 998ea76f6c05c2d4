/* The encrypted history store: round trips, deletion, passphrase mode,
 * permissions, retention and key destruction, tamper evidence, torn tails,
 * two handles on one directory, and that no plaintext ever reaches a file. */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "history.h"
#include "testdir.h"

#define T0 1700000000000LL /* a fixed "now", ms */
#define CANARY "CANARY-PLAINTEXT"
#define HEADER_SIZE 1024 /* doc/privacy.md */
#define REC_OVERHEAD 72

static char err[512];
static int subdir_count;

/* A fresh, empty 0700 directory under the test directory. */
static const char *new_dir(void)
{
    static char dirs[64][4200];
    char *d = dirs[subdir_count % 64];

    snprintf(d, sizeof(dirs[0]), "%s/d%d", testdir, subdir_count++);
    if (mkdir(d, 0700) < 0) {
        perror(d);
        exit(1);
    }
    return d;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)) {
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    rmdir(dir);
}

static char *path_in(const char *dir, const char *name)
{
    static char paths[8][4300];
    static int next;
    char *p = paths[next++ % 8];

    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static bool path_exists_(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *buf;
    long n;

    if (!f) {
        *ret_len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        n = 0;
    }
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* Writes in place (keeping the inode and mode) and truncates to len. */
static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
        perror(path);
        exit(1);
    }
    close(fd);
}

static void write_new_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        exit(1);
    }
    fchmod(fd, mode);
    close(fd);
}

/* No file in dir holds the canary: plaintext never reaches the disk. */
static void check_no_canary(const char *dir, int line)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        return;
    }
    while ((e = readdir(d))) {
        size_t len;
        uint8_t *buf;

        if (e->d_type != DT_REG) {
            continue;
        }
        buf = read_file(path_in(dir, e->d_name), &len);
        CHECKF(!buf || !memmem(buf, len, CANARY, strlen(CANARY)), "line %d: %s/%s holds plaintext",
               line, dir, e->d_name);
        free(buf);
    }
    closedir(d);
}
#define NO_CANARY(dir) check_no_canary(dir, __LINE__)

static struct history_params params_for(const char *dir)
{
    return (struct history_params){
        .dir = dir, .retention_s = 7 * 86400, .max_entries = 0, .create = true};
}

static struct history *open_ok(const struct history_params *p, int64_t now,
                               struct history_report *rep)
{
    struct history *h = NULL;
    struct history_report local;
    int r = history_open(p, now, err, sizeof(err), rep ? rep : &local, &h);

    CHECKF(r == 0, "history_open %s: %d %s", p->dir, r, err);
    return h;
}

/* What a walk saw. */
struct seen {
    size_t n;
    uint64_t ids[4096];
    int types[4096];
    size_t lens[4096];
    char text[4096][80];
};

static int on_entry(void *userdata, const struct history_entry *e)
{
    struct seen *s = userdata;

    if (s->n < 4096) {
        s->ids[s->n] = e->id;
        s->types[s->n] = (int)e->type;
        s->lens[s->n] = e->len;
        snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s", (int)(e->len < 79 ? e->len : 79),
                 (const char *)e->data);
        s->n++;
    }
    return 0;
}

static struct seen *walk(struct history *h, struct history_report *rep)
{
    static struct seen s;
    struct history_report local;
    int r;

    memset(&s, 0, sizeof(s));
    r = history_foreach(h, on_entry, &s, err, sizeof(err), rep ? rep : &local);
    CHECKF(r == 0, "history_foreach: %d %s", r, err);
    return &s;
}

static uint64_t append_text(struct history *h, enum history_type type, int64_t now, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));
static uint64_t append_text(struct history *h, enum history_type type, int64_t now, const char *fmt,
                            ...)
{
    char text[128];
    uint64_t id = 0;
    va_list ap;
    int len, r;

    va_start(ap, fmt);
    len = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    r = history_append(h, type, now, text, (size_t)len, err, sizeof(err), &id);
    CHECKF(r == 0, "history_append: %d %s", r, err);
    return id;
}

/* Offsets of the records in a well-formed history file. */
static size_t record_offsets(const uint8_t *buf, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, off = HEADER_SIZE;

    while (off + 32 <= len && n < max) {
        uint32_t plen = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 |
                        (uint32_t)buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
        offs[n++] = off;
        off += REC_OVERHEAD + plen;
    }
    offs[n] = off;
    return n;
}

static void test_round_trip(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *h = open_ok(&p, T0, &rep);
    struct seen *s;
    uint64_t last = 0;
    const int n = 300;

    CHECK(rep.records == 0 && rep.problem[0] == '\0');
    for (int i = 1; i <= n; i++) {
        enum history_type t = i % 3 == 0 ? HISTORY_AUDIO : HISTORY_INTERACTION;
        uint64_t id = append_text(h, t, T0 + i, "{\"n\":%d,\"t\":\"" CANARY "\"}", i);
        CHECK(id == (uint64_t)i);
    }
    NO_CANARY(dir);
    CHECK(history_key_count(h) == 1);
    s = walk(h, &rep);
    CHECK(s->n == (size_t)n && rep.readable == (size_t)n && rep.records == (size_t)n);
    for (int i = 0; i < n && i < (int)s->n; i++) {
        char want[80];
        snprintf(want, sizeof(want), "{\"n\":%d,\"t\":\"" CANARY "\"}", i + 1);
        CHECKF(s->ids[i] == (uint64_t)i + 1 && strcmp(s->text[i], want) == 0 &&
                   s->types[i] == ((i + 1) % 3 == 0 ? HISTORY_AUDIO : HISTORY_INTERACTION),
               "record %d: id %llu '%s'", i + 1, (unsigned long long)s->ids[i], s->text[i]);
    }
    CHECK(history_last(h, HISTORY_AUDIO, &last) == 0 && last == 300);
    CHECK(history_last(h, HISTORY_INTERACTION, &last) == 0 && last == 299);
    CHECK(history_last(h, HISTORY_DELETED, &last) == -ENOENT);
    history_free(h);

    /* Reopened: the same records in the same order, and appends go on. */
    p.create = false;
    h = open_ok(&p, T0 + 1000, &rep);
    CHECK(rep.records == (size_t)n && rep.readable == (size_t)n && rep.problem[0] == '\0');
    s = walk(h, NULL);
    CHECK(s->n == (size_t)n && s->ids[0] == 1 && s->ids[n - 1] == (uint64_t)n);
    CHECK(append_text(h, HISTORY_INTERACTION, T0 + 1001, "after %d", 0) == (uint64_t)n + 1);
    CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && rep.readable == (size_t)n + 1);
    /* An empty payload, and the largest one. */
    {
        uint8_t *big = malloc(HISTORY_PAYLOAD_MAX + 1);
        uint64_t id = 0;
        memset(big, 0x5a, HISTORY_PAYLOAD_MAX + 1);
        CHECK(history_append(h, HISTORY_AUDIO, T0 + 1002, big, HISTORY_PAYLOAD_MAX + 1, err,
                             sizeof(err), &id) == -EMSGSIZE);
        CHECK(history_append(h, HISTORY_AUDIO, T0 + 1002, big, HISTORY_PAYLOAD_MAX, err,
                             sizeof(err), &id) == 0 &&
              id == (uint64_t)n + 2);
        CHECK(history_append(h, HISTORY_AUDIO, T0 + 1003, NULL, 0, err, sizeof(err), &id) == 0 &&
              id == (uint64_t)n + 3);
        CHECK(history_append(h, HISTORY_DELETED, T0 + 1003, "x", 1, err, sizeof(err), &id) ==
              -EINVAL);
        free(big);
    }
    s = walk(h, NULL);
    CHECK(s->n == (size_t)n + 3 && s->lens[n + 1] == HISTORY_PAYLOAD_MAX && s->lens[n + 2] == 0);
    history_free(h);
    remove_dir(dir);
}

static int stop_at_three(void *userdata, const struct history_entry *e)
{
    (*(int *)userdata)++;
    return e->id == 3 ? 42 : 0;
}

static void test_delete(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    struct history_report rep;
    struct seen *s;
    uint8_t *before, *after;
    size_t blen, alen, offs[32];
    uint64_t last = 0;
    int calls = 0;

    for (int i = 1; i <= 10; i++) {
        append_text(h, HISTORY_INTERACTION, T0 + i, CANARY " number %d, a request", i);
    }
    CHECK(history_foreach(h, stop_at_three, &calls, err, sizeof(err), NULL) == 42 && calls == 3);
    before = read_file(path_in(dir, "history.dat"), &blen);
    CHECK(record_offsets(before, blen, offs, 31) == 10);

    CHECKF(history_delete(h, 5, err, sizeof(err)) == 0, "%s", err);
    after = read_file(path_in(dir, "history.dat"), &alen);
    /* Record 5's ciphertext (after its header and nonce) is gone from the file. */
    CHECK(!memmem(after, alen, before + offs[4] + 56, offs[5] - offs[4] - 56));
    CHECK(alen == blen - (offs[5] - offs[4]) + REC_OVERHEAD);
    s = walk(h, &rep);
    CHECK(s->n == 10 && rep.deleted == 1 && rep.readable == 10);
    for (size_t i = 0; i < s->n; i++) {
        CHECK(s->ids[i] == i + 1);
    }
    CHECK(s->types[4] == HISTORY_DELETED && s->lens[4] == 0);
    CHECK(history_delete(h, 5, err, sizeof(err)) == -ENOENT && strstr(err, "already deleted"));
    CHECK(history_delete(h, 99, err, sizeof(err)) == -ENOENT);

    /* delete --last: the newest non-stub, then the one before it. */
    CHECK(history_last(h, HISTORY_INTERACTION, &last) == 0 && last == 10);
    CHECK(history_delete(h, last, err, sizeof(err)) == 0);
    CHECK(history_last(h, HISTORY_INTERACTION, &last) == 0 && last == 9);
    CHECK(append_text(h, HISTORY_INTERACTION, T0 + 20, "next %d", 11) == 11);
    NO_CANARY(dir);
    history_free(h);

    p.create = false;
    h = open_ok(&p, T0 + 30, &rep);
    CHECK(rep.records == 11 && rep.deleted == 2 && rep.readable == 11 && rep.problem[0] == '\0');
    CHECK(history_verify(h, err, sizeof(err), &rep) == 0);
    history_free(h);
    free(before);
    free(after);
    remove_dir(dir);
}

static void test_passphrase(void)
{
    const char *dir = new_dir();
    char *pass = path_in(dir, "pass");
    struct history_params p = params_for(dir);
    struct history *h;
    struct seen *s;
    uint8_t *kf;
    size_t len;
    int r;

    write_new_file(pass, "correct horse battery staple\n", 0600);
    p.passphrase_file = pass;
    h = open_ok(&p, T0, NULL);
    append_text(h, HISTORY_INTERACTION, T0 + 1, CANARY " %d", 1);
    history_free(h);

    /* The key file holds the Argon2id parameters and salt, and no key. */
    kf = read_file(path_in(dir, "history.key"), &len);
    CHECK(len == 112 && kf[10] == 2);
    CHECK(kf && kf[12] == 2 && kf[16] == 3); /* ALG_ARGON2ID13, 3 passes */
    CHECK(kf && kf[24] == 0 && kf[25] == 0 && kf[26] == 0 && kf[27] == 4); /* 64 MiB */
    for (size_t i = 80; kf && i < 112; i++) {
        CHECK(kf[i] == 0);
    }
    free(kf);

    p.create = false;
    h = open_ok(&p, T0 + 2, NULL);
    s = walk(h, NULL);
    CHECK(s->n == 1 && strstr(s->text[0], CANARY));
    history_free(h);

    /* With a trailing CRLF the same passphrase. */
    write_new_file(pass, "correct horse battery staple\r\nsecond line\n", 0600);
    h = open_ok(&p, T0 + 2, NULL);
    history_free(h);

    write_new_file(pass, "wrong horse\n", 0600);
    h = NULL;
    r = history_open(&p, T0 + 3, err, sizeof(err), NULL, &h);
    CHECKF(r == -EKEYREJECTED && strstr(err, "wrong passphrase or key") && !h, "%d %s", r, err);

    write_new_file(pass, "correct horse battery staple\n", 0644);
    r = history_open(&p, T0 + 3, err, sizeof(err), NULL, &h);
    CHECKF(r == -EPERM && strstr(err, "pass: readable by others (mode 0644)"), "%d %s", r, err);

    write_new_file(pass, "\n", 0600);
    r = history_open(&p, T0 + 3, err, sizeof(err), NULL, &h);
    CHECKF(r == -EINVAL && strstr(err, "empty"), "%d %s", r, err);

    /* A passphrase history opened without one, and the other way round. */
    p.passphrase_file = NULL;
    r = history_open(&p, T0 + 3, err, sizeof(err), NULL, &h);
    CHECKF(r == -EINVAL && strstr(err, "passphrase"), "%d %s", r, err);
    NO_CANARY(dir);
    remove_dir(dir);
}

static void expect_refusal(const struct history_params *p, const char *what, int line)
{
    struct history *h = NULL;
    int r = history_open(p, T0, err, sizeof(err), NULL, &h);

    CHECKF(r < 0 && !h && strstr(err, what), "line %d: %d '%s' (wanted '%s')", line, r, err, what);
    history_free(h);
}

static void test_permissions(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    char want[4400];
    struct stat st;
    const char *names[] = {"history.key", "history.keys", "history.dat", "history.lock"};

    append_text(h, HISTORY_INTERACTION, T0, "%d", 1);
    history_free(h);
    for (size_t i = 0; i < 4; i++) {
        CHECK(stat(path_in(dir, names[i]), &st) == 0 && (st.st_mode & 07777) == 0600);
    }
    p.create = false;
    chmod(path_in(dir, "history.key"), 0644);
    snprintf(want, sizeof(want),
             "%s/history.key: readable by others (mode 0644): refusing to use it; chmod 600 it",
             dir);
    expect_refusal(&p, want, __LINE__);
    chmod(path_in(dir, "history.key"), 0600);

    chmod(path_in(dir, "history.dat"), 0644);
    snprintf(want, sizeof(want), "%s/history.dat: readable by others (mode 0644)", dir);
    expect_refusal(&p, want, __LINE__);
    chmod(path_in(dir, "history.dat"), 0620);
    expect_refusal(&p, "history.dat: writable or executable by its group (mode 0620)", __LINE__);
    chmod(path_in(dir, "history.dat"), 0600);

    chmod(path_in(dir, "history.keys"), 0640);
    expect_refusal(&p, "history.keys: readable by its group (mode 0640)", __LINE__);
    chmod(path_in(dir, "history.keys"), 0600);

    chmod(dir, 0777);
    expect_refusal(&p, "writable by others (mode 0777)", __LINE__);
    chmod(dir, 0700);

    /* The lock file too, and it is not put right behind the user's back:
     * whoever opened it can hold the lock whatever its mode is now. */
    chmod(path_in(dir, "history.lock"), 0666);
    expect_refusal(&p, "history.lock: readable by others (mode 0666)", __LINE__);
    CHECK(stat(path_in(dir, "history.lock"), &st) == 0 && (st.st_mode & 07777) == 0666);
    chmod(path_in(dir, "history.lock"), 0640);
    expect_refusal(&p, "history.lock: readable by its group (mode 0640)", __LINE__);
    chmod(path_in(dir, "history.lock"), 0600);

    /* Files made with a permissive umask are 0600 all the same. */
    {
        const char *d2 = new_dir();
        struct history_params p2 = params_for(d2);
        mode_t old = umask(0);
        h = open_ok(&p2, T0, NULL);
        umask(old);
        for (size_t i = 0; i < 4; i++) {
            CHECK(stat(path_in(d2, names[i]), &st) == 0 && (st.st_mode & 07777) == 0600);
        }
        history_free(h);
        remove_dir(d2);
    }
    h = open_ok(&p, T0, NULL);
    history_free(h);

    /* No key file but a history: never a new key over old records. */
    unlink(path_in(dir, "history.key"));
    p.create = true;
    expect_refusal(&p, "history.key: missing, but", __LINE__);
    remove_dir(dir);
}

/* Same bytes as before: nothing was written. */
static bool unchanged(const char *path, const uint8_t *before, size_t before_len)
{
    size_t len;
    uint8_t *now = read_file(path, &len);
    bool same = now && len == before_len && memcmp(now, before, len) == 0;

    free(now);
    return same;
}

/* A file of a history missing: an error that names it, never "no history",
 * and nothing is made or changed. */
static void test_missing_files(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    size_t dat_len, keys_len, key_len;
    uint8_t *dat, *keys, *key;

    append_text(h, HISTORY_INTERACTION, T0, "%d", 1);
    history_free(h);
    h = NULL;
    dat = read_file(path_in(dir, "history.dat"), &dat_len);
    keys = read_file(path_in(dir, "history.keys"), &keys_len);
    key = read_file(path_in(dir, "history.key"), &key_len);

    unlink(path_in(dir, "history.key"));
    for (int create = 0; create < 2; create++) {
        for (int ro = 0; ro < 2 - create; ro++) {
            p.create = create;
            p.read_only = ro;
            CHECKF(history_open(&p, T0, err, sizeof(err), NULL, &h) == -ENOKEY && !h &&
                       strstr(err, "history.key: missing, but"),
                   "create %d read_only %d: '%s'", create, ro, err);
        }
    }
    CHECK(!path_exists_(path_in(dir, "history.key")));
    CHECK(unchanged(path_in(dir, "history.dat"), dat, dat_len));
    CHECK(unchanged(path_in(dir, "history.keys"), keys, keys_len));

    /* The key back, the records gone. */
    write_new_file(path_in(dir, "history.key"), "", 0600);
    write_file(path_in(dir, "history.key"), key, key_len);
    rename(path_in(dir, "history.dat"), path_in(dir, "saved.dat"));
    p.create = false;
    p.read_only = false;
    CHECKF(history_open(&p, T0, err, sizeof(err), NULL, &h) == -ENODATA && !h &&
               strstr(err, "history.dat: missing, but"),
           "'%s'", err);
    rename(path_in(dir, "saved.dat"), path_in(dir, "history.dat"));
    h = open_ok(&p, T0, NULL);
    CHECK(walk(h, NULL)->n == 1);
    history_free(h);

    /* Nothing at all: no history, the only -ENOENT. */
    CHECK(history_wipe(dir, err, sizeof(err)) == 4);
    h = NULL;
    CHECK(history_open(&p, T0, err, sizeof(err), NULL, &h) == -ENOENT && !h);
    free(dat);
    free(keys);
    free(key);
    remove_dir(dir);
}

/* read_only: nothing written, nothing expired that is on disk, expired
 * records not handed out, every change refused. */
static void test_read_only(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    struct history_report rep;
    size_t dat_len, keys_len;
    uint8_t *dat, *keys;
    uint64_t id = 0;

    append_text(h, HISTORY_INTERACTION, T0, "%d", 1);
    append_text(h, HISTORY_INTERACTION, T0 + 86400000LL, "%d", 2);
    history_free(h);
    h = NULL;
    dat = read_file(path_in(dir, "history.dat"), &dat_len);
    keys = read_file(path_in(dir, "history.keys"), &keys_len);
    p.read_only = true;
    CHECK(history_open(&p, T0, err, sizeof(err), NULL, &h) == -EINVAL && !h);
    p.create = false;
    /* A week and a half later: record 1 has expired, record 2 not. */
    h = open_ok(&p, T0 + 7 * 86400000LL + 1, &rep);
    CHECK(rep.expired == 0 && rep.keys_destroyed == 0 && rep.records == 2);
    CHECK(walk(h, NULL)->n == 1);
    CHECK(history_append(h, HISTORY_INTERACTION, T0 + 1, "x", 1, err, sizeof(err), &id) ==
          -EROFS);
    CHECK(history_delete(h, 2, err, sizeof(err)) == -EROFS);
    CHECK(history_purge(h, T0 + 7 * 86400000LL + 1, err, sizeof(err), &rep) == -EROFS);
    CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && rep.records == 2);
    history_free(h);
    CHECK(unchanged(path_in(dir, "history.dat"), dat, dat_len));
    CHECK(unchanged(path_in(dir, "history.keys"), keys, keys_len));
    free(dat);
    free(keys);
    remove_dir(dir);
}

/* Every 96-byte wrapped key entry of old_keys is absent from the keys file. */
static size_t entries_gone(const uint8_t *old_keys, size_t old_len, const char *dir)
{
    size_t len, gone = 0;
    uint8_t *now = read_file(path_in(dir, "history.keys"), &len);

    for (size_t off = 16; off + 96 <= old_len; off += 96) {
        if (!now || !memmem(now, len, old_keys + off, 96)) {
            gone++;
        }
    }
    free(now);
    return gone;
}

static void test_retention(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *h;
    struct seen *s;
    uint8_t *keys;
    size_t klen;

    CHECK(history_epoch_seconds(1) == 1 && history_epoch_seconds(16) == 2 &&
          history_epoch_seconds(8 * 86400 * 10) == 86400);
    /* 3 s of retention: epochs of 1 s. Records every 250 ms for 3 s. */
    p.retention_s = 3;
    h = open_ok(&p, T0, NULL);
    for (int i = 0; i < 12; i++) {
        append_text(h, HISTORY_INTERACTION, T0 + 250 * i, CANARY " %d", i);
    }
    CHECK(history_key_count(h) == 3);
    keys = read_file(path_in(dir, "history.keys"), &klen);
    CHECK(klen == 16 + 3 * 96);

    /* At T0+4.1 s: records up to T0+1.1 s have expired (5 of them, at 0,
     * 250, 500, 750, 1000 ms), and the first epoch [T0, T0+1 s) with them. */
    CHECK(history_purge(h, T0 + 4100, err, sizeof(err), &rep) == 0);
    CHECKF(rep.expired == 5 && rep.keys_destroyed == 1, "expired %zu destroyed %zu", rep.expired,
           rep.keys_destroyed);
    CHECK(history_key_count(h) == 2 && entries_gone(keys, klen, dir) == 1);
    s = walk(h, &rep);
    CHECK(s->n == 7 && s->ids[0] == 6 && rep.readable == 7 && rep.problem[0] == '\0');

    /* Everything gone at T0+10 s, every key with it. */
    CHECK(history_purge(h, T0 + 10000, err, sizeof(err), &rep) == 0);
    CHECK(rep.expired == 7 && rep.keys_destroyed == 2 && history_key_count(h) == 0);
    CHECK(entries_gone(keys, klen, dir) == 3);
    s = walk(h, NULL);
    CHECK(s->n == 0);
    /* Ids are never reused. */
    CHECK(append_text(h, HISTORY_INTERACTION, T0 + 10001, "%d", 13) == 13);
    history_free(h);
    free(keys);

    /* Reopen after all expired: open applies retention. */
    p.create = false;
    h = open_ok(&p, T0 + 20000, &rep);
    CHECK(rep.expired == 1 && rep.keys_destroyed == 1 && rep.records == 0);
    history_free(h);

    /* A clock that went back by more than a day expires nothing, and
     * destroys no key. */
    h = open_ok(&p, T0 + 20000, NULL);
    append_text(h, HISTORY_INTERACTION, T0 + 30000, "%d", 14);
    CHECK(history_purge(h, T0 + 30000 - 2 * 86400000LL, err, sizeof(err), &rep) == 0);
    CHECK(rep.expired == 0 && rep.keys_destroyed == 0 && strstr(rep.problem, "clock"));
    CHECK(history_key_count(h) == 1 && walk(h, NULL)->n == 1);
    /* A record appended with that clock is still kept and readable. */
    append_text(h, HISTORY_INTERACTION, T0 + 30000 - 2 * 86400000LL, "%d", 15);
    CHECK(walk(h, NULL)->n == 2);
    history_free(h);
    NO_CANARY(dir);
    remove_dir(dir);
}

static int64_t real_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_retention_real_time(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *h;

    p.retention_s = 2;
    h = open_ok(&p, real_now_ms(), NULL);
    for (int i = 0; i < 3; i++) {
        append_text(h, HISTORY_INTERACTION, real_now_ms(), CANARY " %d", i);
    }
    CHECK(history_key_count(h) >= 1 && walk(h, NULL)->n == 3);
    sleep(3);
    usleep(200 * 1000);
    CHECK(history_purge(h, real_now_ms(), err, sizeof(err), &rep) == 0);
    CHECK(rep.expired == 3 && history_key_count(h) == 0 && walk(h, NULL)->n == 0);
    history_free(h);
    remove_dir(dir);
}

static void test_max_entries(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *h;
    struct seen *s;

    p.max_entries = 10;
    h = open_ok(&p, T0, NULL);
    for (int i = 1; i <= 25; i++) {
        append_text(h, HISTORY_INTERACTION, T0 + i, "%d", i);
    }
    s = walk(h, &rep);
    /* Applied before each append: 10 old ones and the new one. */
    CHECK(s->n == 11 && s->ids[0] == 15 && s->ids[10] == 25);
    CHECK(history_purge(h, T0 + 100, err, sizeof(err), &rep) == 0 && rep.expired == 1);
    s = walk(h, NULL);
    CHECK(s->n == 10 && s->ids[0] == 16 && s->ids[9] == 25);
    CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && rep.records == 10);
    history_free(h);

    /* Lowered on a later open. */
    p.max_entries = 3;
    h = open_ok(&p, T0 + 200, &rep);
    CHECK(rep.expired == 7 && walk(h, NULL)->n == 3);
    history_free(h);
    remove_dir(dir);
}

static void test_wipe(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    DIR *d;
    struct dirent *e;
    int left = 0;

    append_text(h, HISTORY_INTERACTION, T0, "%d", 1);
    history_free(h);
    /* A leftover temp file, and a corrupt key file: wipe needs neither. */
    write_new_file(path_in(dir, ".history.keys.tmp"), "x", 0600);
    write_new_file(path_in(dir, "history.key"), "garbage", 0600);
    CHECKF(history_wipe(dir, err, sizeof(err)) == 5, "%s", err);
    d = opendir(dir);
    while (d && (e = readdir(d))) {
        left += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    CHECK(left == 0);
    CHECK(history_wipe(dir, err, sizeof(err)) == 0);
    p.create = false;
    expect_refusal(&p, "no history here", __LINE__);
    remove_dir(dir);
}

/* A history of 10 records (ids 1..10, payloads of 40 to 130 bytes) to
 * damage; returns the file's bytes. */
static uint8_t *make_ten(const char *dir, size_t *ret_len, size_t *offs)
{
    struct history_params p = params_for(dir);
    struct history *h = open_ok(&p, T0, NULL);
    uint8_t *buf;

    for (int i = 1; i <= 10; i++) {
        char text[200];
        memset(text, 'a' + i, sizeof(text));
        memcpy(text, CANARY, strlen(CANARY));
        CHECK(history_append(h, HISTORY_INTERACTION, T0 + i, text, 30 + 10 * (size_t)i, err,
                             sizeof(err), NULL) == 0);
    }
    history_free(h);
    buf = read_file(path_in(dir, "history.dat"), ret_len);
    CHECK(record_offsets(buf, *ret_len, offs, 15) == 10);
    return buf;
}

/* Opens the damaged copy, verifies, walks. */
static void damaged(const char *dir, size_t want_bad, size_t want_misplaced, size_t want_readable,
                    const char *what)
{
    struct history_params p = params_for(dir);
    struct history_report rep, vrep, wrep;
    struct history *h = NULL;
    int r;

    p.create = false;
    r = history_open(&p, T0 + 100, err, sizeof(err), &rep, &h);
    CHECKF(r == 0, "%s: open %d %s", what, r, err);
    if (r < 0) {
        return;
    }
    r = history_verify(h, err, sizeof(err), &vrep);
    /* A flipped epoch number reads as a record whose key is gone. */
    CHECKF(r > 0 && vrep.bad + vrep.no_key == want_bad && vrep.misplaced == want_misplaced &&
               vrep.readable == want_readable && vrep.torn_bytes == 0 && vrep.problem[0] != '\0',
           "%s: verify %d bad %zu misplaced %zu readable %zu torn %llu '%s'", what, r, vrep.bad,
           vrep.misplaced, vrep.readable, (unsigned long long)vrep.torn_bytes, vrep.problem);
    CHECKF(walk(h, &wrep)->n == want_readable && wrep.bad + wrep.no_key == want_bad &&
               wrep.misplaced == want_misplaced,
           "%s: walk", what);
    CHECK(rep.torn_bytes == 0);
    history_free(h);
}

static void test_tamper(void)
{
    const char *dir = new_dir();
    char *dat = path_in(dir, "history.dat");
    size_t len, offs[16];
    uint8_t *orig = make_ten(dir, &len, offs);
    uint8_t *copy = malloc(len);
    size_t rec5 = offs[4], rec5_len = offs[5] - offs[4];
    size_t rec6_len = offs[6] - offs[5];

    /* Every byte of record 5 flipped in turn: that record fails, the other
     * nine stay readable, and nothing is truncated. */
    for (size_t i = 0; i < rec5_len; i++) {
        char what[64];
        size_t now_len;
        uint8_t *now;

        memcpy(copy, orig, len);
        copy[rec5 + i] ^= (uint8_t)(1u << (i % 8));
        write_file(dat, copy, len);
        snprintf(what, sizeof(what), "byte %zu of record 5 flipped", i);
        damaged(dir, 1, 0, 9, what);
        now = read_file(dat, &now_len);
        CHECKF(now_len == len, "%s: file cut to %zu", what, now_len);
        free(now);
    }

    /* Records 5 and 6 swapped. */
    memcpy(copy, orig, offs[4]);
    memcpy(copy + rec5, orig + offs[5], rec6_len);
    memcpy(copy + rec5 + rec6_len, orig + rec5, rec5_len);
    memcpy(copy + offs[6], orig + offs[6], len - offs[6]);
    write_file(dat, copy, len);
    damaged(dir, 0, 2, 8, "records 5 and 6 swapped");

    /* Record 5 removed. */
    memcpy(copy, orig, rec5);
    memcpy(copy + rec5, orig + offs[5], len - offs[5]);
    write_file(dat, copy, len - rec5_len);
    damaged(dir, 0, 1, 8, "record 5 removed");

    /* Record 1 removed: the header's first_id says it is missing. */
    memcpy(copy, orig, offs[0]);
    memcpy(copy + offs[0], orig + offs[1], len - offs[1]);
    write_file(dat, copy, len - (offs[1] - offs[0]));
    damaged(dir, 0, 1, 8, "record 1 removed");

    /* A length field over the limit: corruption, nothing allocated from it. */
    memcpy(copy, orig, len);
    copy[rec5 + 3] = 0x7f;
    write_file(dat, copy, len);
    damaged(dir, 1, 0, 9, "a huge length");

    /* The header: a flipped MAC byte. Read-only, records still there. */
    {
        struct history_params p = params_for(dir);
        struct history_report rep;
        struct history *h = NULL;
        int slot = orig[512] == 'H' ? 512 : 0;
        uint64_t id = 0;
        size_t now_len;
        uint8_t *now;

        p.create = false;
        memcpy(copy, orig, len);
        copy[slot + 50] ^= 1;
        write_file(dat, copy, len);
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        CHECKF(rep.header_bad && strstr(rep.problem, "header fails authentication"), "'%s'",
               rep.problem);
        CHECK(walk(h, NULL)->n == 10);
        CHECK(history_verify(h, err, sizeof(err), &rep) == 1 && rep.header_bad);
        CHECK(history_append(h, HISTORY_INTERACTION, T0 + 101, "x", 1, err, sizeof(err), &id) ==
              -EBADMSG);
        CHECK(history_delete(h, 3, err, sizeof(err)) == -EBADMSG);
        history_free(h);
        now = read_file(dat, &now_len);
        CHECK(now_len == len && memcmp(now, copy, len) == 0);
        free(now);

        /* first_id changed in the only slot: the header fails, and verify
         * says so. */
        memcpy(copy, orig, len);
        copy[slot + 24] ^= 2;
        write_file(dat, copy, len);
        h = NULL;
        p.read_only = true;
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        CHECK(history_verify(h, err, sizeof(err), &rep) == 1 && rep.header_bad &&
              strstr(err, "header fails authentication"));
        history_free(h);
        p.read_only = false;
        CHECK(unchanged(dat, copy, len));

        /* No magic at all: not our file, refused and left alone. */
        memcpy(copy, orig, len);
        memset(copy, 'X', HEADER_SIZE);
        write_file(dat, copy, len);
        expect_refusal(&p, "history.dat: not a hark history file", __LINE__);
        now = read_file(dat, &now_len);
        CHECK(now_len == len && memcmp(now, copy, len) == 0);
        free(now);

        /* A key file from another history: told apart from corruption. */
        write_file(dat, orig, len);
        {
            const char *other = new_dir();
            struct history_params po = params_for(other);
            size_t klen;
            uint8_t *kf;
            history_free(open_ok(&po, T0, NULL));
            kf = read_file(path_in(other, "history.key"), &klen);
            write_file(path_in(dir, "history.key"), kf, klen);
            expect_refusal(&p, "wrong passphrase or key", __LINE__);
            free(kf);
            remove_dir(other);
        }
    }
    NO_CANARY(dir);
    free(copy);
    free(orig);
    remove_dir(dir);
}

/* Two slots in use (a purge wrote the second): either one modified is a
 * problem verify reports, though the other is read. Modifying the newer
 * brings back the older, with the records a purge had dropped. */
static void test_header_slots(void)
{
    const char *dir = new_dir();
    char *dat = path_in(dir, "history.dat");
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *h;
    size_t len;
    uint8_t *orig;

    p.max_entries = 2;
    h = open_ok(&p, T0, NULL);
    for (int i = 1; i <= 4; i++) {
        append_text(h, HISTORY_INTERACTION, T0 + i, "%d", i);
    }
    CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && !rep.slot_bad);
    history_free(h);
    orig = read_file(dat, &len);
    CHECK(orig && len > HEADER_SIZE && orig[0] == 'H' && orig[512] == 'H');
    p.create = false;
    for (int slot = 0; slot < 2; slot++) {
        uint8_t *copy = malloc(len);

        memcpy(copy, orig, len);
        copy[slot * 512 + 24] ^= 1; /* first_id */
        write_file(dat, copy, len);
        /* Read only: a read-write open would expire the records the older
         * slot brings back and write over the modified slot. */
        p.read_only = true;
        h = open_ok(&p, T0 + 100, &rep);
        CHECKF(rep.slot_bad && !rep.header_bad && strstr(rep.problem, "header slot"),
               "slot %d: '%s'", slot, rep.problem);
        CHECKF(history_verify(h, err, sizeof(err), &rep) >= 1 && rep.slot_bad &&
                   strstr(err, "header slot"),
               "slot %d: verify '%s'", slot, err);
        history_free(h);
        CHECK(unchanged(dat, copy, len));
        free(copy);
    }
    write_file(dat, orig, len);
    free(orig);
    remove_dir(dir);
}

static void test_torn_tail(void)
{
    const char *dir = new_dir();
    char *dat = path_in(dir, "history.dat");
    struct history_params p = params_for(dir);
    size_t len, offs[16];
    uint8_t *orig = make_ten(dir, &len, offs);
    size_t last = offs[9];

    p.create = false;
    for (size_t cut = last; cut < len; cut++) {
        struct history_report rep;
        struct history *h = NULL;
        struct seen *s;
        struct stat st;
        uint64_t id = 0;

        write_file(dat, orig, cut);
        if (history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) < 0) {
            CHECKF(0, "cut at %zu: %s", cut, err);
            continue;
        }
        /* Reported once, in torn_bytes: cut off, it is no problem of the
         * history any more (the caller logged it twice from both). */
        CHECKF(rep.torn_bytes == cut - last && rep.problem[0] == '\0',
               "cut at %zu: torn %llu '%s'", cut, (unsigned long long)rep.torn_bytes, rep.problem);
        CHECK(stat(dat, &st) == 0 && (size_t)st.st_size == last);
        s = walk(h, NULL);
        CHECK(s->n == 9 && s->ids[8] == 9);
        CHECK(history_append(h, HISTORY_INTERACTION, T0 + 101, "again", 5, err, sizeof(err), &id) ==
                  0 &&
              id == 10);
        CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && rep.readable == 10);
        history_free(h);
    }

    /* The last record's length on disk, its bytes zeros (a filesystem that
     * extended the file before the data arrived): torn too. */
    {
        struct history_report rep;
        struct history *h = NULL;
        uint8_t *copy = malloc(len);

        memcpy(copy, orig, len);
        memset(copy + last, 0, len - last);
        write_file(dat, copy, len);
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        CHECKF(rep.torn_bytes == len - last, "zeros: torn %llu",
               (unsigned long long)rep.torn_bytes);
        CHECK(walk(h, NULL)->n == 9);
        history_free(h);
        free(copy);
    }

    /* A byte of the last record flipped: a record of full length that
     * fails is modified, not torn. Kept, reported, and verify fails; by a
     * read-only open, a read-write one and verify alike. */
    for (int ro = 0; ro < 2; ro++) {
        struct history_report rep;
        struct history *h = NULL;
        uint8_t *copy = malloc(len);

        memcpy(copy, orig, len);
        copy[len - 1] ^= 0x10;
        write_file(dat, copy, len);
        p.read_only = ro;
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        CHECKF(rep.torn_bytes == 0 && rep.torn_kept == 0 && rep.bad == 1,
               "flipped, read_only %d: torn %llu bad %zu", ro,
               (unsigned long long)rep.torn_bytes, rep.bad);
        CHECK(walk(h, NULL)->n == 9);
        CHECK(history_verify(h, err, sizeof(err), &rep) == 1 && rep.bad == 1 &&
              strstr(err, "fail authentication"));
        history_free(h);
        CHECK(unchanged(dat, copy, len));
        free(copy);
    }
    p.read_only = false;

    /* Verify cuts nothing, not even a torn tail: read only, it reports it
     * as a problem; on a handle opened before the tail appeared, too. The
     * next write removes it. */
    for (int ro = 0; ro < 2; ro++) {
        struct history_report rep;
        struct history *h = NULL;
        uint64_t id = 0;

        write_file(dat, orig, len);
        p.read_only = ro;
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        write_file(dat, orig, len - 5);
        CHECKF(history_verify(h, err, sizeof(err), &rep) == 1 && rep.torn_kept == len - 5 - last &&
                   rep.torn_bytes == 0 && strstr(err, "incomplete last record"),
               "read_only %d: verify '%s' kept %llu", ro, err, (unsigned long long)rep.torn_kept);
        CHECK(unchanged(dat, orig, len - 5));
        if (!ro) {
            CHECK(history_append(h, HISTORY_INTERACTION, T0 + 101, "again", 5, err, sizeof(err),
                                 &id) == 0 &&
                  id == 10);
            CHECK(history_verify(h, err, sizeof(err), &rep) == 0 && rep.readable == 10);
        }
        history_free(h);
    }
    p.read_only = false;

    /* Garbage longer than any record at the end is not a torn append: kept
     * and reported. */
    {
        struct history_report rep;
        struct history *h = NULL;
        size_t big = len + HISTORY_PAYLOAD_MAX + 100;
        uint8_t *copy = calloc(1, big);
        size_t now_len;
        uint8_t *now;

        memcpy(copy, orig, len);
        memset(copy + len, 0xee, big - len);
        write_file(dat, copy, big);
        CHECK(history_open(&p, T0 + 100, err, sizeof(err), &rep, &h) == 0);
        CHECK(rep.torn_bytes == 0 && rep.bad == 1 && rep.readable == 10);
        history_free(h);
        now = read_file(dat, &now_len);
        CHECK(now_len == big);
        free(now);
        free(copy);
    }
    free(orig);
    remove_dir(dir);
}

static void test_two_handles(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history_report rep;
    struct history *a = open_ok(&p, T0, NULL), *b = open_ok(&p, T0, NULL);
    struct seen *s;
    uint64_t last = 0;

    CHECK(append_text(a, HISTORY_INTERACTION, T0 + 1, "a %d", 1) == 1);
    CHECK(append_text(b, HISTORY_INTERACTION, T0 + 2, "b %d", 2) == 2);
    CHECK(append_text(a, HISTORY_INTERACTION, T0 + 3, "a %d", 3) == 3);
    s = walk(b, NULL);
    CHECK(s->n == 3 && strcmp(s->text[2], "a 3") == 0);

    /* A delete renames a new file in: the other handle follows. */
    CHECK(history_delete(b, 1, err, sizeof(err)) == 0);
    s = walk(a, NULL);
    CHECK(s->n == 3 && s->types[0] == HISTORY_DELETED);
    CHECK(append_text(a, HISTORY_INTERACTION, T0 + 4, "a %d", 4) == 4);
    CHECK(history_last(b, HISTORY_INTERACTION, &last) == 0 && last == 4);

    /* A purge by one moves the start: the other sees it, and appends. */
    CHECK(history_purge(a, T0 + 7 * 86400000LL + 1, err, sizeof(err), &rep) == 0 &&
          rep.expired == 1);
    s = walk(b, &rep);
    CHECK(s->n == 3 && s->ids[0] == 2 && rep.problem[0] == '\0');
    CHECK(append_text(b, HISTORY_INTERACTION, T0 + 5, "b %d", 5) == 5);
    s = walk(a, &rep);
    CHECK(s->n == 4 && s->ids[3] == 5 && rep.problem[0] == '\0');

    /* A new epoch made by one: the other reads the keys file again. */
    CHECK(append_text(a, HISTORY_INTERACTION, T0 + 86400000LL, "a %d", 6) == 6);
    CHECK(history_key_count(a) == 2);
    s = walk(b, &rep);
    CHECK(s->n == 5 && strcmp(s->text[4], "a 6") == 0 && history_key_count(b) == 2);
    CHECK(history_verify(a, err, sizeof(err), &rep) == 0 && rep.records == 5);

    /* Wiped under a handle: it says so instead of writing. */
    CHECK(history_wipe(dir, err, sizeof(err)) == 4);
    CHECK(history_append(b, HISTORY_INTERACTION, T0 + 7, "b", 1, err, sizeof(err), &last) ==
              -ENOENT &&
          strstr(err, "wiped"));
    history_free(a);
    history_free(b);
    remove_dir(dir);
}

/* A walk's callback may not call back into the same handle. */
static int nested(void *userdata, const struct history_entry *e)
{
    uint64_t id;

    (void)e;
    return history_last(userdata, HISTORY_INTERACTION, &id) == -EBUSY ? 0 : 1;
}

static void test_misc(void)
{
    const char *dir = new_dir();
    struct history_params p = params_for(dir);
    struct history *h = NULL;

    p.retention_s = 0;
    CHECK(history_open(&p, T0, err, sizeof(err), NULL, &h) == -EINVAL && !h);
    p.retention_s = HISTORY_RETENTION_MAX_S + 1;
    CHECK(history_open(&p, T0, err, sizeof(err), NULL, &h) == -EINVAL && !h);
    p.retention_s = 60;
    h = open_ok(&p, T0, NULL);
    append_text(h, HISTORY_INTERACTION, T0, "%d", 1);
    CHECK(history_foreach(h, nested, h, err, sizeof(err), NULL) == 0);
    history_free(h);
    history_free(NULL);
    remove_dir(dir);
}

int main(void)
{
    testdir_make("history");
    test_round_trip();
    test_delete();
    test_passphrase();
    test_permissions();
    test_missing_files();
    test_read_only();
    test_header_slots();
    test_retention();
    test_max_entries();
    test_wipe();
    test_tamper();
    test_torn_tail();
    test_two_handles();
    test_misc();
    test_retention_real_time();
    testdir_remove();
    return check_status();
}
