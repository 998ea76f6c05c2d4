/* Keeping a live capture going: a lost capture device is reopened with
 * backoff, for `hark listen` and the ear thread of `hark run` alike. */
#pragma once

#include <stddef.h>

#include "audio-source.h"

/* After audio_source_read() returned -ENODEV with its message in err: logs a
 * warning naming the device, then tries audio_source_reopen() after 0.25 s,
 * 0.5 s, ... up to every 5 s until it opens (0) or SIGINT/SIGTERM asks hark
 * to stop (-EINTR, within 50 ms; an attempt itself may take longer while a
 * sound server hangs). Each failed attempt is logged at debug level only.
 * -ENOTRECOVERABLE, with the reason in err: PortAudio cannot let go of the
 * old stream, and hark has to exit (a service manager restarts it). */
int capture_reopen(struct audio_source *source, char *err, size_t errsz);

/* capture_reopen()'s backoff, for any attempt: calls attempt after 0.25 s,
 * 0.5 s, ... up to every 5 s until it returns 0 (0, *ret_attempts: how many
 * it took), -ENOTRECOVERABLE (returned, with attempt's reason in err), or a
 * stop is requested (-EINTR, within 50 ms of the request outside an
 * attempt). Any other failure is retried. */
int capture_retry(int (*attempt)(void *userdata, char *why, size_t whysz), void *userdata,
                  char *err, size_t errsz, unsigned *ret_attempts);
