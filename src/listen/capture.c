/* Reopening a lost capture device with backoff, see capture.h. */
#include "capture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "base-clock.h"
#include "base-err.h"
#include "log.h"
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

int capture_retry(int (*attempt)(void *userdata, char *why, size_t whysz), void *userdata,
                  char *err, size_t errsz, unsigned *ret_attempts)
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
        log_debug("reopen attempt %u: %s", attempts, why);
        delay = delay * 2 > MAX_DELAY_S ? MAX_DELAY_S : delay * 2;
    }
    return -EINTR;
}

static int reopen_source(void *userdata, char *why, size_t whysz)
{
    return audio_source_reopen(userdata, why, whysz);
}

int capture_reopen(struct audio_source *source, char *err, size_t errsz)
{
    unsigned attempts = 0;
    int r;

    log_warning("%s; reopening it", err);
    r = capture_retry(reopen_source, source, err, errsz, &attempts);
    if (r == 0) {
        log_info("capture restored after %u attempt%s: %s", attempts, attempts == 1 ? "" : "s",
                 audio_source_describe(source));
    }
    return r;
}
