/* The neural detector's front end: log-mel features of 16 kHz audio, one
 * frame per hop, streaming. The one implementation: the trainer computes
 * its features with hark-features, which calls this. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nn-model.h"

struct nn_mel;

/* The settings must have passed the model loader's checks. Returns 0,
 * -EINVAL for settings out of range, or -ENOMEM. */
int nn_mel_new(const struct nn_features *features, struct nn_mel **ret_mel);
void nn_mel_free(struct nn_mel *mel);

/* Takes samples from *samples (advancing it and *n) until a frame is
 * complete, then writes its n_mels features to ret_frame and returns 1;
 * returns 0 when the samples ran out first (they are kept for the next
 * call). Frame i covers samples [i * hop, i * hop + win). No allocation. */
int nn_mel_next(struct nn_mel *mel, const int16_t **samples, size_t *n, float *ret_frame);

/* Forgets the samples of an incomplete frame: the next frame starts with
 * the next sample fed. */
void nn_mel_reset(struct nn_mel *mel);
