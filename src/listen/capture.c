/* Reopening a lost capture device with backoff, see capture.h. */
#include "capture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "base-clock.h"
#include "base-err.h"
#include "signals.h"

#define FIRST_DELAY_S 0.25
#define MAX_DELAY_S 5.0
/* How often a backoff wait looks whether hark is asked to stop. */
#define STOP_CHECK_NSEC (50 * 1000 * 1000L)

/* Returns false when a stop was requested meanwhile. */
static bool wait_unless_stopped(double seconds)
{
    const struct timespec slice = {.tv_sec = 0, .tv_nsec = STOP_CHECK_NSEC};
    double until = now_mono_s() + seconds;

    while (!signals_stop_requested() && now_mono_s() < until) {
        nanosleep(&slice, NULL);
    }
    return !signals_stop_requested();
}

int capture_retry(int (*attempt)(void *userdata, char *why, size_t whysz),
                  capture_failed_fn *on_failed, void *userdata, char *err, size_t errsz,
                  unsigned *ret_attempts)
{
    char why[ERRSZ];
    double delay = FIRST_DELAY_S;
    unsigned attempts = 0;

    while (wait_unless_stopped(delay)) {
        int r = attempt(userdata, why, sizeof(why));

        attempts++;
        if (r == 0) {
            *ret_attempts = attempts;
            return 0;
        }
        if (r == -ENOTRECOVERABLE) {
            snprintf(err, errsz, "%s", why);
            return r;
        }
        /* Whatever else failed (no device yet, or one that cannot capture
         * while its sound server is down) may work on the next attempt. */
        if (on_failed) {
            on_failed(userdata, attempts, why);
        }
        delay = delay * 2 > MAX_DELAY_S ? MAX_DELAY_S : delay * 2;
    }
    return -EINTR;
}

/* capture_reopen()'s attempt and the caller's report of the failed ones. */
struct reopen {
    struct audio_source *source;
    capture_failed_fn *on_failed;
    void *userdata;
};

static int reopen_source(void *userdata, char *why, size_t whysz)
{
    struct reopen *ro = userdata;

    return audio_source_reopen(ro->source, why, whysz);
}

static void reopen_failed(void *userdata, unsigned attempt, const char *why)
{
    struct reopen *ro = userdata;

    if (ro->on_failed) {
        ro->on_failed(ro->userdata, attempt, why);
    }
}

int capture_reopen(struct audio_source *source, capture_failed_fn *on_failed, void *userdata,
                   char *err, size_t errsz, unsigned *ret_attempts)
{
    struct reopen ro = {.source = source, .on_failed = on_failed, .userdata = userdata};

    return capture_retry(reopen_source, reopen_failed, &ro, err, errsz, ret_attempts);
}
