/* The speexdsp back end of the echo canceller: the MDF adaptive filter alone.
 * Not its preprocessor's residual-echo suppressor: on the benchmark room it
 * added almost nothing to the echo's loss but took 17 dB off the user's
 * speech under double talk, which is what the wake word needs to hear
 * (doc/benchmarks.md). */
#include <errno.h>
#include <stdlib.h>

#include <speex/speex_echo.h>

#include "aec-internal.h"
#include "audio-aec.h"

struct aec_backend {
    SpeexEchoState *echo;
};

static void speex_destroy(struct aec_backend *b)
{
    if (!b) {
        return;
    }
    if (b->echo) {
        speex_echo_state_destroy(b->echo);
    }
    free(b);
}

static int speex_create(unsigned tail, struct aec_backend **ret_backend)
{
    struct aec_backend *b;
    int rate = AUDIO_AEC_RATE;

    if (tail < AUDIO_AEC_FRAME) {
        return -EINVAL;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        return -ENOMEM;
    }
    b->echo = speex_echo_state_init(AUDIO_AEC_FRAME, (int)tail);
    if (!b->echo) {
        speex_destroy(b);
        return -ENOMEM;
    }
    speex_echo_ctl(b->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    *ret_backend = b;
    return 0;
}

static int speex_process(struct aec_backend *b, const int16_t *mic, const int16_t *ref,
                         int16_t *out)
{
    speex_echo_cancellation(b->echo, mic, ref, out);
    return 0;
}

const struct aec_backend_ops aec_speex_ops = {
    .create = speex_create,
    .destroy = speex_destroy,
    .process = speex_process,
};
