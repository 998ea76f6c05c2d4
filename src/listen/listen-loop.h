/* The listener loop: read the source, feed the ear, reopen a lost capture
 * device; one loop for `hark listen`, `hark run`'s ear thread and the passes
 * of `hark tune`. It runs on the calling thread, which owns the ear. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio-source.h"
#include "ear.h"

/* Every callback is optional and runs on the loop's thread. */
struct listen_loop_callbacks {
    /* Before each read: false skips it (a muted microphone is not read). */
    bool (*on_before_read)(void *userdata);
    /* Each block read, before the ear hears it; it may change the samples
     * (a muted recording is heard as silence). */
    void (*on_read)(void *userdata, int16_t *samples, size_t n);
    /* The capture device went away (why: the source's message), each
     * attempt to reopen it that failed and will be retried, and, once
     * capture_reopen() got it back, which device it is now and after how
     * many attempts. The loop logs none of it: these are the edge's. */
    void (*on_capture_lost)(void *userdata, const char *why);
    void (*on_capture_retry)(void *userdata, unsigned attempt, const char *why);
    void (*on_capture_restored)(void *userdata, const char *device, unsigned attempts);
};

/* The loop ended because SIGINT or SIGTERM asked hark to stop. */
#define LISTEN_LOOP_STOPPED 1

/* Reads source into ear until the input ends (0), a stop is requested
 * (LISTEN_LOOP_STOPPED) or reading, reopening or the ear fails (negative
 * errno, the reason in err). The ear is not finished: at the end of the
 * input the caller calls ear_finish() or feeds what it wants to follow. */
int listen_loop_run(struct audio_source *source, struct ear *ear,
                    const struct listen_loop_callbacks *callbacks, void *userdata, char *err,
                    size_t errsz);
