/* Keeping a live capture going (src/listen/capture.c) with a fake device:
 * the backoff retries what may work later and gives up at once on what
 * cannot, each failed attempt goes back to the caller and nothing is logged
 * (even at debug level), and a stop request ends the wait promptly. (The
 * stop flag cannot be taken back, so the stop comes last.) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "base-err.h"
#include "capture.h"
#include "check.h"
#include "log.h"
#include "signals.h"

/* A device that fails `fails` times with `error` before it opens. */
struct fake {
    unsigned fails;
    int error;
    unsigned calls;
    double at[8]; /* when each attempt came, from the start */
    double start;
    unsigned reported;    /* failed attempts reported back */
    unsigned last_number; /* the last one's number */
    char last_why[128];   /* and its reason */
};

static void on_failed(void *userdata, unsigned attempt_number, const char *why)
{
    struct fake *f = userdata;

    f->reported++;
    f->last_number = attempt_number;
    snprintf(f->last_why, sizeof(f->last_why), "%s", why);
}

static int attempt(void *userdata, char *why, size_t whysz)
{
    struct fake *f = userdata;

    if (f->calls < 8) {
        f->at[f->calls] = now_mono_s() - f->start;
    }
    f->calls++;
    if (f->calls <= f->fails) {
        snprintf(why, whysz, "fake device: %s", strerror(-f->error));
        return f->error;
    }
    return 0;
}

static void *stop_later(void *arg)
{
    const struct timespec t = {.tv_sec = 0, .tv_nsec = 600 * 1000 * 1000L};

    (void)arg;
    nanosleep(&t, NULL);
    signals_request_stop();
    return NULL;
}

int main(void)
{
    struct fake f = {.fails = 2, .error = -ENODEV};
    char err[ERRSZ] = "";
    char logged[256] = "";
    unsigned attempts = 0;
    double took;
    pthread_t stopper;
    FILE *log_file = tmpfile();
    int saved_stderr = dup(STDERR_FILENO);
    int r;

    /* Two failures that may pass later, then the device is back: after
     * 0.25 s, 0.5 s more and 1 s more (the backoff doubles). Each failure
     * is the caller's to log: stderr stays empty even at debug level. */
    CHECK(log_file && saved_stderr >= 0);
    if (!log_file || saved_stderr < 0) {
        return 1;
    }
    log_set_level(LOG_LEVEL_DEBUG);
    fflush(stderr);
    dup2(fileno(log_file), STDERR_FILENO);
    f.start = now_mono_s();
    r = capture_retry(attempt, on_failed, &f, err, sizeof(err), &attempts);
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    rewind(log_file);
    CHECKF(!fgets(logged, sizeof(logged), log_file), "capture_retry logged: %s", logged);
    fclose(log_file);
    log_set_level(LOG_LEVEL_WARNING);
    CHECKF(r == 0 && attempts == 3 && f.calls == 3, "r %d, %u attempts, %u calls", r, attempts,
           f.calls);
    CHECKF(f.reported == 2 && f.last_number == 2 && strstr(f.last_why, "fake device"),
           "%u failures reported, the last #%u: '%s'", f.reported, f.last_number, f.last_why);
    CHECKF(f.at[0] >= 0.24 && f.at[1] - f.at[0] >= 0.49 && f.at[2] - f.at[1] >= 0.99,
           "attempts at %.3f, %.3f, %.3f s: not backing off", f.at[0], f.at[1], f.at[2]);

    /* What cannot get better is not retried, and says why. */
    f = (struct fake){.fails = 5, .error = -ENOTRECOVERABLE, .start = now_mono_s()};
    r = capture_retry(attempt, on_failed, &f, err, sizeof(err), &attempts);
    CHECKF(r == -ENOTRECOVERABLE && f.calls == 1 && f.reported == 0, "r %d after %u calls", r,
           f.calls);
    CHECKF(strstr(err, "fake device"), "the reason is not passed on: '%s'", err);

    /* A device that never comes back: a stop request ends the wait (at 0.6
     * s, during the wait before the second attempt at 0.75 s), within 50
     * ms; 0.3 s of slack for a loaded machine. */
    f = (struct fake){.fails = 1000, .error = -EIO, .start = now_mono_s()};
    CHECK(pthread_create(&stopper, NULL, stop_later, NULL) == 0);
    r = capture_retry(attempt, NULL, &f, err, sizeof(err), &attempts);
    took = now_mono_s() - f.start;
    pthread_join(stopper, NULL);
    CHECKF(r == -EINTR && f.calls == 1, "r %d after %u calls", r, f.calls);
    CHECKF(took >= 0.6 && took < 0.9, "stopped after %.3f s", took);
    return check_status();
}
