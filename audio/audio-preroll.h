/* The pre-roll ring: the last few seconds of 16 kHz audio, kept in RAM only and
 * overwritten continuously, so the request can start before the wake phrase. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct audio_preroll;

/* Keeps the last capacity samples. Returns 0 or a negative errno. */
int audio_preroll_new(size_t capacity, struct audio_preroll **ret_preroll);
/* Zeroes the samples before freeing them. Accepts NULL. */
void audio_preroll_free(struct audio_preroll *preroll);

/* Appends samples; the oldest are overwritten. */
void audio_preroll_push(struct audio_preroll *preroll, const int16_t *samples, size_t n);

/* Absolute position (samples since creation) one past the newest sample. */
uint64_t audio_preroll_position(const struct audio_preroll *preroll);

/* Copies the samples from absolute position from up to the newest into out
 * (at most max). A from older than what is kept is clamped to the oldest
 * sample kept. Returns the number copied; *ret_from gets the position of the
 * first sample copied. */
size_t audio_preroll_copy(const struct audio_preroll *preroll, uint64_t from, int16_t *out,
                          size_t max, uint64_t *ret_from);

/* Zeroes everything kept (mute, end of a request). The position stays. */
void audio_preroll_clear(struct audio_preroll *preroll);
