/* Fuzz harness for the history reader: the input is a keys file and a
 * history file ([u16 LE length of the keys file][keys file][history file]),
 * put in a directory next to a key file with a fixed master key. Whatever
 * they hold, open, walk, verify and last must not crash; when a file is
 * accepted and verifies clean, an append and a delete must work and read
 * back after a reopen. The seeds in corpus/history were made by the real
 * store under this key file (the master key is bytes 1..32). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "history.h"

#define NOW_MS 1700000100000LL /* just after the seeds were made */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void put_file(const char *name, const uint8_t *buf, size_t len)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
        abort();
    }
    close(fd);
}

static void drop_file(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

/* The key file of doc/privacy.md for the master key 1, 2, ..., 32. */
static void put_key_file(void)
{
    uint8_t kf[112] = "HARK-KEY";
    uint8_t master[32], sub[32];

    for (int i = 0; i < 32; i++) {
        master[i] = (uint8_t)(i + 1);
    }
    kf[8] = 1;  /* version */
    kf[10] = 1; /* the key itself is in the file */
    crypto_kdf_derive_from_key(sub, sizeof(sub), 1, "harkhist", master);
    crypto_generichash(kf + 48, 32, kf, 48, sub, sizeof(sub));
    memcpy(kf + 80, master, 32);
    put_file("history.key", kf, sizeof(kf));
}

/* The directory goes with the process (the replay runs in every test run). */
static void teardown(void)
{
    char err[256];

    history_wipe(dir, err, sizeof(err));
    rmdir(dir);
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    snprintf(dir, sizeof(dir), "%s/fuzz-history-XXXXXX", base);
    if (!mkdtemp(dir) || sodium_init() < 0) {
        abort();
    }
    atexit(teardown);
    put_key_file();
}

/* Touches every byte handed out, so that ASan sees a bad length. */
static int count(void *userdata, const struct history_entry *e)
{
    volatile uint8_t sink = 0;

    for (size_t i = 0; i < e->len; i++) {
        sink ^= e->data[i];
    }
    (*(size_t *)userdata)++;
    return sink & 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct history_params p = {.dir = dir, .retention_s = 30 * 86400, .create = false};
    struct history_report rep;
    struct history *h = NULL;
    char err[512];
    size_t keys_len, walked = 0;
    uint64_t id = 0, last = 0;
    int r;

    if (!dir[0]) {
        setup();
    }
    if (size < 2) {
        return 0;
    }
    keys_len = (size_t)(data[0] | data[1] << 8);
    if (keys_len > size - 2) {
        keys_len = size - 2;
    }
    drop_file(".history.dat.tmp");
    drop_file(".history.keys.tmp");
    drop_file("history.keys");
    if (keys_len > 0) {
        put_file("history.keys", data + 2, keys_len);
    }
    put_file("history.dat", data + 2 + keys_len, size - 2 - keys_len);

    if (history_open(&p, NOW_MS, err, sizeof(err), &rep, &h) < 0) {
        if (h || err[0] == '\0') {
            fprintf(stderr, "refused without a message\n");
            abort();
        }
        return 0;
    }
    history_foreach(h, count, &walked, err, sizeof(err), &rep);
    if (walked > rep.readable) {
        fprintf(stderr, "walked %zu of %zu readable\n", walked, rep.readable);
        abort();
    }
    history_last(h, HISTORY_INTERACTION, &last);
    r = history_verify(h, err, sizeof(err), &rep);
    if (r == 0) {
        /* A clean history takes an append and a delete, durably. */
        if (history_append(h, HISTORY_INTERACTION, NOW_MS, "fuzz", 4, err, sizeof(err), &id) < 0 ||
            history_delete(h, id, err, sizeof(err)) < 0) {
            fprintf(stderr, "a clean history refused a change: %s\n", err);
            abort();
        }
        history_free(h);
        h = NULL;
        if (history_open(&p, NOW_MS, err, sizeof(err), &rep, &h) < 0 ||
            history_verify(h, err, sizeof(err), &rep) != 0 || rep.deleted < 1 ||
            history_append(h, HISTORY_AUDIO, NOW_MS, "x", 1, err, sizeof(err), &last) < 0 ||
            last != id + 1) {
            fprintf(stderr, "a clean history did not survive an append and a delete: %s\n", err);
            abort();
        }
    }
    history_free(h);
    return 0;
}
