/* The listener loop, see listen-loop.h. */
#include "listen-loop.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "capture.h"
#include "signals.h"

int listen_loop_run(struct audio_source *source, struct ear *ear,
                    const struct listen_loop_callbacks *cb, void *userdata, char *err,
                    size_t errsz)
{
    int16_t buf[2048];
    unsigned attempts;
    int r = 0;

    while (r == 0) {
        ssize_t n;

        if (signals_stop_requested()) {
            r = LISTEN_LOOP_STOPPED;
            break;
        }
        if (cb->on_before_read && !cb->on_before_read(userdata)) {
            continue;
        }
        n = audio_source_read(source, buf, sizeof(buf) / sizeof(buf[0]), err, errsz);
        if (n == -EINTR) {
            continue;
        }
        if (n == -ENODEV) {
            if (cb->on_capture_lost) {
                cb->on_capture_lost(userdata, err);
            }
            r = capture_reopen(source, cb->on_capture_retry, userdata, err, errsz, &attempts);
            if (r == -EINTR) {
                r = LISTEN_LOOP_STOPPED;
            } else if (r == 0 && cb->on_capture_restored) {
                cb->on_capture_restored(userdata, audio_source_describe(source), attempts);
            }
            continue;
        }
        if (n <= 0) {
            /* 0: the input ended. */
            r = (int)n;
            break;
        }
        if (cb->on_read) {
            cb->on_read(userdata, buf, (size_t)n);
        }
        r = ear_feed(ear, buf, (size_t)n, err, errsz);
    }
    explicit_bzero(buf, sizeof(buf));
    return r;
}
