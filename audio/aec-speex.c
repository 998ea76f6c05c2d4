/* The speexdsp back end of the echo canceller: the MDF adaptive filter, then
 * the preprocessor's residual-echo suppressor (denoising, gain and the rest
 * of the preprocessor off: that is issue 16's noise suppression, not this). */
#include <errno.h>
#include <stdlib.h>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#include "aec-internal.h"
#include "audio-aec.h"

struct aec_backend {
    SpeexEchoState *echo;
    SpeexPreprocessState *pre;
};

static void speex_destroy(struct aec_backend *b)
{
    if (!b) {
        return;
    }
    if (b->pre) {
        speex_preprocess_state_destroy(b->pre);
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
    int off = 0;

    if (tail < AUDIO_AEC_FRAME) {
        return -EINVAL;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        return -ENOMEM;
    }
    b->echo = speex_echo_state_init(AUDIO_AEC_FRAME, (int)tail);
    b->pre = speex_preprocess_state_init(AUDIO_AEC_FRAME, AUDIO_AEC_RATE);
    if (!b->echo || !b->pre) {
        speex_destroy(b);
        return -ENOMEM;
    }
    speex_echo_ctl(b->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    speex_preprocess_ctl(b->pre, SPEEX_PREPROCESS_SET_ECHO_STATE, b->echo);
    speex_preprocess_ctl(b->pre, SPEEX_PREPROCESS_SET_DENOISE, &off);
    speex_preprocess_ctl(b->pre, SPEEX_PREPROCESS_SET_AGC, &off);
    speex_preprocess_ctl(b->pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);
    *ret_backend = b;
    return 0;
}

static int speex_process(struct aec_backend *b, const int16_t *mic, const int16_t *ref,
                         int16_t *out)
{
    int16_t tmp[AUDIO_AEC_FRAME];

    speex_echo_cancellation(b->echo, mic, ref, tmp);
    speex_preprocess_run(b->pre, tmp);
    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        out[i] = tmp[i];
    }
    return 0;
}

const struct aec_backend_ops aec_speex_ops = {
    .create = speex_create,
    .destroy = speex_destroy,
    .process = speex_process,
};
