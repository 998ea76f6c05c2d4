/* Keeping a live capture going: a lost capture device is reopened with
 * backoff, for `hark listen` and the ear thread of `hark run` alike. It
 * logs nothing: what happened goes back to the caller, who logs it. */
#pragma once

#include <stddef.h>

#include "audio-source.h"

/* Each failed attempt that will be retried: its number (from 1) and why it
 * failed. Runs on the calling thread, between the attempts. */
typedef void capture_failed_fn(void *userdata, unsigned attempt, const char *why);

/* After audio_source_read() returned -ENODEV: tries audio_source_reopen()
 * after 0.25 s, 0.5 s, ... up to every 5 s until it opens (0, *ret_attempts:
 * how many it took) or SIGINT/SIGTERM asks hark to stop (-EINTR, within 50
 * ms; an attempt itself may take longer while a sound server hangs). Each
 * failed attempt goes to on_failed (optional) with userdata.
 * -ENOTRECOVERABLE, with the reason in err: PortAudio cannot let go of the
 * old stream, and hark has to exit (a service manager restarts it). */
int capture_reopen(struct audio_source *source, capture_failed_fn *on_failed, void *userdata,
                   char *err, size_t errsz, unsigned *ret_attempts);

/* capture_reopen()'s backoff, for any attempt: calls attempt after 0.25 s,
 * 0.5 s, ... up to every 5 s until it returns 0 (0, *ret_attempts: how many
 * it took), -ENOTRECOVERABLE (returned, with attempt's reason in err), or a
 * stop is requested (-EINTR, within 50 ms of the request outside an
 * attempt). Any other failure goes to on_failed (optional) and is retried. */
int capture_retry(int (*attempt)(void *userdata, char *why, size_t whysz),
                  capture_failed_fn *on_failed, void *userdata, char *err, size_t errsz,
                  unsigned *ret_attempts);
