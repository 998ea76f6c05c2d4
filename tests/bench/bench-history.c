/* Benchmark of the history store: append latency with fsync, purge of 10k
 * and 100k records, open of 100k records, and the file sizes. Run it on the
 * storage's real filesystem, not a tmpfs (it says which it is on).
 * usage: bench-history [PARENT-DIR]   (default: the current directory) */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "history.h"

#define T0 1700000000000LL
#define TMPFS_MAGIC 0x01021994

/* Building 100k records with an fsync each would take minutes and measure
 * nothing new: while `syncing` is off, the library's flushes are skipped
 * (these definitions take the place of libc's in this program). Every
 * figure printed is measured with it on. */
static int syncing = 1;

int fsync(int fd)
{
    return syncing ? (int)syscall(SYS_fsync, fd) : 0;
}

int fdatasync(int fd)
{
    return syncing ? (int)syscall(SYS_fdatasync, fd) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static long file_size(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench-history: %s: %s\n", what, err);
    exit(1);
}

static struct history *open_at(const char *dir, int64_t now, struct history_report *rep)
{
    struct history_params p = {.dir = dir, .retention_s = 7 * 86400, .create = true};
    struct history *h = NULL;
    char err[512];

    if (history_open(&p, now, err, sizeof(err), rep, &h) < 0) {
        die("open", err);
    }
    return h;
}

static void append(struct history *h, int64_t now, const uint8_t *payload, size_t len)
{
    char err[512];

    if (history_append(h, HISTORY_INTERACTION, now, payload, len, err, sizeof(err), NULL) < 0) {
        die("append", err);
    }
}

static void make_dir(char *out, size_t outsz, const char *parent, const char *name)
{
    snprintf(out, outsz, "%s/bench-history-%s-XXXXXX", parent, name);
    if (!mkdtemp(out)) {
        perror(out);
        exit(1);
    }
}

static void wipe(const char *dir)
{
    char err[512];

    history_wipe(dir, err, sizeof(err));
    rmdir(dir);
}

/* n records a second apart, from T0; then purges that expire 1% (the
 * header moves) and then half of them (with the rewrite that follows). */
static void purge_bench(const char *parent, size_t n, const uint8_t *payload, size_t len)
{
    char dir[4200], err[512], name[32];
    struct history_report rep;
    struct history *h;
    int64_t week = 7 * 86400000LL;
    double t;

    snprintf(name, sizeof(name), "%zu", n);
    make_dir(dir, sizeof(dir), parent, name);
    h = open_at(dir, T0, NULL);
    syncing = 0;
    for (size_t i = 0; i < n; i++) {
        append(h, T0 + (int64_t)i * 1000, payload, len);
    }
    syncing = 1;
    history_free(h);
    printf("%zu records: history %ld bytes, keys %ld bytes\n", n, file_size(dir, "history.dat"),
           file_size(dir, "history.keys"));

    sync();
    t = now_mono_s();
    h = open_at(dir, T0 + (int64_t)n * 1000, &rep);
    printf("  open: %.1f ms (%zu readable, page cache warm)\n", (now_mono_s() - t) * 1e3, rep.readable);

    t = now_mono_s();
    if (history_purge(h, T0 + (int64_t)(n / 100) * 1000 - 1000 + week, err, sizeof(err), &rep) <
        0) {
        die("purge", err);
    }
    printf("  purge of 1%%: %.2f ms (%zu expired, %zu keys destroyed; header moved)\n",
           (now_mono_s() - t) * 1e3, rep.expired, rep.keys_destroyed);

    t = now_mono_s();
    if (history_purge(h, T0 + (int64_t)(n / 2) * 1000 - 1000 + week, err, sizeof(err), &rep) < 0) {
        die("purge", err);
    }
    printf("  purge to half: %.1f ms (%zu expired, %zu keys destroyed; file rewritten to %ld "
           "bytes)\n",
           (now_mono_s() - t) * 1e3, rep.expired, rep.keys_destroyed, file_size(dir, "history.dat"));
    history_free(h);
    wipe(dir);
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : ".";
    uint8_t payload[300];
    char dir[4200];
    struct statfs sf;
    struct history *h;
    double lat[2000];
    const size_t n = sizeof(lat) / sizeof(lat[0]);
    double sum = 0;

    memset(payload, '{', sizeof(payload));
    if (statfs(parent, &sf) == 0) {
        printf("filesystem of %s: type 0x%lx%s\n", parent, (unsigned long)sf.f_type,
               sf.f_type == TMPFS_MAGIC ? " (tmpfs: these figures say nothing about a disk)" : "");
    }

    make_dir(dir, sizeof(dir), parent, "append");
    h = open_at(dir, T0, NULL);
    for (size_t i = 0; i < n; i++) {
        double t = now_mono_s();
        append(h, T0 + (int64_t)i, payload, sizeof(payload));
        lat[i] = now_mono_s() - t;
        sum += lat[i];
    }
    history_free(h);
    qsort(lat, n, sizeof(lat[0]), cmp_double);
    printf("append of %zu bytes with fdatasync, %zu times: p50 %.3f ms, p99 %.3f ms, max %.3f "
           "ms, mean %.3f ms\n",
           sizeof(payload), n, lat[n / 2] * 1e3, lat[n * 99 / 100] * 1e3, lat[n - 1] * 1e3,
           sum / (double)n * 1e3);
    printf("  history %ld bytes for %zu records (%ld per record)\n", file_size(dir, "history.dat"),
           n, (file_size(dir, "history.dat") - 1024) / (long)n);
    wipe(dir);

    purge_bench(parent, 10000, payload, sizeof(payload));
    purge_bench(parent, 100000, payload, sizeof(payload));
    return 0;
}
