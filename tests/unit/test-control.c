/* Tests for the control socket's server as its clients could misbehave: a
 * mute is answered and applied at once while one client dribbles its line a
 * byte at a time and others hold their connections without a word; each of
 * those is cut off at its own deadline; a client past the bound is refused
 * with an answer, not left hanging; a line too long or unknown is an error.
 *
 * With "hold PATH SECONDS" it is the misbehaving clients alone, for the
 * end-to-end test (tests/pipeline/run-control.sh): CONTROL_CLIENTS_MAX - 2 silent
 * connections and one that dribbles a byte every 0.3 s, kept open (and made
 * again when cut off) for SECONDS. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "control.h"

#include "check.h"
#include "testdir.h"

static atomic_int mutes;
static atomic_bool muted;

static void on_mute(void *userdata, bool m)
{
    (void)userdata;
    atomic_store(&muted, m);
    atomic_fetch_add(&mutes, 1);
}

static void status(void *userdata, char *buf, size_t size)
{
    (void)userdata;
    snprintf(buf, size, "{\"muted\":%s}", atomic_load(&muted) ? "true" : "false");
}

static const struct control_callbacks callbacks = {
    .on_mute = on_mute,
    .status = status,
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* A connected client socket, or -1. */
static int connect_to(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* What the server sent before it closed the connection (within timeout_s),
 * and when, in ms since start. */
static void read_all(int fd, char *buf, size_t size, int timeout_s, int64_t start, int64_t *ret_ms)
{
    struct timeval tv = {.tv_sec = timeout_s};
    size_t n = 0;
    ssize_t k;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (n + 1 < size && (k = read(fd, buf + n, size - 1 - n)) > 0) {
        n += (size_t)k;
    }
    buf[n] = '\0';
    *ret_ms = now_mono_ms() - start;
}

struct dribbler {
    const char *path;
    int seconds;
    atomic_bool stop;
    int cut_off; /* connections the server closed */
    int64_t first_cut_ms; /* how long the first one lasted */
};

/* Sends "status" one byte every 300 ms and never the newline: on the old
 * server, every byte bought it another second. Counts the connections the
 * server closes and connects again, until told to stop. */
static void *dribble(void *arg)
{
    struct dribbler *d = arg;
    int64_t start = now_mono_ms(), since = start;
    int fd = connect_to(d->path);
    size_t i = 0;

    while (!atomic_load(&d->stop) && now_mono_ms() - start < d->seconds * 1000) {
        if (fd < 0 || send(fd, &"status"[i % 6], 1, MSG_NOSIGNAL) != 1) {
            if (fd >= 0) {
                close(fd);
                if (d->cut_off++ == 0) {
                    d->first_cut_ms = now_mono_ms() - since;
                }
            }
            fd = connect_to(d->path);
            since = now_mono_ms();
            i = 0;
            continue;
        }
        i++;
        sleep_ms(300);
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

static void test_mute_not_held_up(const char *path)
{
    struct dribbler d = {.path = path, .seconds = 10};
    int idle[CONTROL_CLIENTS_MAX - 2];
    char reply[CONTROL_REPLY_MAX], err[256], buf[512];
    pthread_t t;
    int64_t start, ms;

    atomic_store(&mutes, 0);
    atomic_store(&muted, false);
    CHECK(pthread_create(&t, NULL, dribble, &d) == 0);
    sleep_ms(400); /* the dribbler has connected and sent two bytes */
    start = now_mono_ms();
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX - 2; i++) {
        idle[i] = connect_to(path);
        CHECK(idle[i] >= 0);
    }
    /* `hark ctl mute`, behind one dribbling and six silent clients. */
    CHECK(control_request(path, "mute", reply, sizeof(reply), err, sizeof(err)) == 0);
    ms = now_mono_ms() - start;
    CHECKF(ms < 1000, "the mute took %lld ms", (long long)ms);
    CHECKF(strcmp(reply, "{\"muted\":true}") == 0, "reply: %s (%s)", reply, err);
    CHECK(atomic_load(&mutes) == 1 && atomic_load(&muted));
    fprintf(stderr, "mute answered in %lld ms behind %d silent clients and a dribbling one\n",
            (long long)ms, CONTROL_CLIENTS_MAX - 2);

    /* The silent ones are told off and closed at their deadline, one second
     * after they connected: not later, however many there are. */
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX - 2; i++) {
        read_all(idle[i], buf, sizeof(buf), 5, start, &ms);
        CHECKF(ms >= 900 && ms < 1800, "silent client %zu closed after %lld ms", i,
               (long long)ms);
        CHECKF(strstr(buf, "\"error\"") != NULL, "silent client %zu got '%s'", i, buf);
        close(idle[i]);
    }
    /* So is the dribbler, though it keeps sending. */
    sleep_ms(1500);
    atomic_store(&d.stop, true);
    pthread_join(t, NULL);
    CHECKF(d.cut_off >= 1, "the dribbling client was never cut off");
    CHECKF(d.first_cut_ms < 2000, "the dribbling client lasted %lld ms",
           (long long)d.first_cut_ms);
    /* And the server still answers. */
    CHECK(control_request(path, "unmute", reply, sizeof(reply), err, sizeof(err)) == 0);
    CHECKF(strcmp(reply, "{\"muted\":false}") == 0, "reply: %s (%s)", reply, err);
    CHECK(atomic_load(&mutes) == 2 && !atomic_load(&muted));
}

static void test_bound(const char *path)
{
    int held[CONTROL_CLIENTS_MAX];
    char reply[CONTROL_REPLY_MAX], err[256];
    int64_t start = now_mono_ms(), ms;

    for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
        held[i] = connect_to(path);
        CHECK(held[i] >= 0);
    }
    /* One past the bound: an answer at once, not a hang or a reset. */
    CHECK(control_request(path, "status", reply, sizeof(reply), err, sizeof(err)) == 0);
    ms = now_mono_ms() - start;
    CHECKF(strstr(reply, "busy") != NULL, "past the bound: '%s' (%s)", reply, err);
    CHECKF(ms < 900, "the refusal took %lld ms", (long long)ms);
    CHECK(atomic_load(&mutes) == 2);
    /* A slot that frees is taken again. */
    close(held[0]);
    sleep_ms(100);
    CHECK(control_request(path, "status", reply, sizeof(reply), err, sizeof(err)) == 0);
    CHECKF(strcmp(reply, "{\"muted\":false}") == 0, "after a slot freed: '%s' (%s)", reply, err);
    for (size_t i = 1; i < CONTROL_CLIENTS_MAX; i++) {
        close(held[i]);
    }
}

static void test_bad_lines(const char *path)
{
    char reply[CONTROL_REPLY_MAX], err[256], buf[512], line[200];
    int64_t ms;
    int fd;

    CHECK(control_request(path, "frob", reply, sizeof(reply), err, sizeof(err)) == 0);
    CHECKF(strstr(reply, "unknown command") != NULL, "frob: '%s'", reply);
    /* "mute" and then more than a line holds, without a newline: an error,
     * not a mute. */
    memset(line, 'x', sizeof(line));
    memcpy(line, "mute", 4);
    fd = connect_to(path);
    CHECK(fd >= 0 && send(fd, line, sizeof(line), MSG_NOSIGNAL) == (ssize_t)sizeof(line));
    read_all(fd, buf, sizeof(buf), 5, now_mono_ms(), &ms);
    close(fd);
    CHECKF(strstr(buf, "line too long") != NULL, "a long line: '%s'", buf);
    CHECK(atomic_load(&mutes) == 2 && !atomic_load(&muted));
}

/* "hold PATH SECONDS": the misbehaving clients for tests/pipeline/run-control.sh. */
static int hold(const char *path, int seconds)
{
    struct dribbler d = {.path = path, .seconds = seconds};
    int idle[CONTROL_CLIENTS_MAX - 2];
    int64_t start = now_mono_ms();
    pthread_t t;

    if (pthread_create(&t, NULL, dribble, &d) != 0) {
        return 1;
    }
    while (now_mono_ms() - start < seconds * 1000) {
        /* Connected again as soon as the server cuts them off. */
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX - 2; i++) {
            idle[i] = connect_to(path);
        }
        sleep_ms(1100);
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX - 2; i++) {
            if (idle[i] >= 0) {
                close(idle[i]);
            }
        }
    }
    pthread_join(t, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    struct control *c = NULL;
    char err[256];
    const char *path;

    /* As hark does (signals.c): a peer that went away is an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && strcmp(argv[1], "hold") == 0) {
        return hold(argv[2], atoi(argv[3]));
    }
    testdir_make("control");
    path = testdir_path("control");
    CHECKF(control_new(path, &callbacks, NULL, err, sizeof(err), &c) == 0, "%s", err);
    if (c) {
        test_mute_not_held_up(path);
        test_bound(path);
        test_bad_lines(path);
    }
    control_free(c);
    testdir_remove();
    return check_status();
}
