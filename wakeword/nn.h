/* The neural wake-word detector: the model's network evaluated streaming
 * over the log-mel front end, one score per hop, and the rule that turns
 * scores into a wake. Owned by one thread (the ear's); no allocation after
 * nn_detector_new. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nn-model.h"

struct nn_net;
struct nn_detector;

/* The network alone, frame by frame (for tools and tests). The model must
 * outlive it. */
int nn_net_new(const struct nn_model *model, struct nn_net **ret_net);
void nn_net_free(struct nn_net *net);
/* Pushes one frame of n_mels features. Returns 1 and writes the score (0 to
 * 1) once the network has seen model->context frames since the last reset,
 * 0 before. */
int nn_net_push(struct nn_net *net, const float *frame, float *ret_score);
void nn_net_reset(struct nn_net *net);

struct nn_detection {
    float score;          /* the highest score of the frames that woke it */
    uint64_t end;         /* one past the last sample of the frame that woke it */
    uint64_t detected_at; /* samples fed when the detection came */
};

/* threshold: the score to wake (0 < t < 1; the model's own default with
 * NAN). The model is the detector's own from here on (freed with it). */
int nn_detector_new(struct nn_model *model, float threshold, struct nn_detector **ret_det);
void nn_detector_free(struct nn_detector *det);
const struct nn_model *nn_detector_model(const struct nn_detector *det);

/* Feeds 16 kHz mono samples. Returns NN_WAKE and fills *ret_detection when
 * trigger_frames frames in a row scored at or above the threshold (the
 * detector then starts afresh and the rest of these samples is not
 * heard), else 0. */
#define NN_WAKE 1
int nn_detector_feed(struct nn_detector *det, const int16_t *samples, size_t n,
                     struct nn_detection *ret_detection);

/* Samples the detector did not hear: advances its clock and starts afresh. */
void nn_detector_skip(struct nn_detector *det, uint64_t n);
