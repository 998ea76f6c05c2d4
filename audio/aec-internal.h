/* The echo canceller's back ends (audio/aec.c drives them): each cancels one
 * 10 ms frame of the microphone given the reference already aligned to it. */
#pragma once

#include <stdint.h>

struct aec_backend;

struct aec_backend_ops {
    /* tail: filter length in samples. Returns 0, -EINVAL or -ENOMEM. */
    int (*create)(unsigned tail, struct aec_backend **ret_backend);
    void (*destroy)(struct aec_backend *backend);
    /* mic, ref and out are AUDIO_AEC_FRAME samples; out may be mic. */
    int (*process)(struct aec_backend *backend, const int16_t *mic, const int16_t *ref,
                   int16_t *out);
};

extern const struct aec_backend_ops aec_speex_ops;
#ifdef HARK_HAVE_WEBRTC_AEC
#ifdef __cplusplus
extern "C" {
#endif
extern const struct aec_backend_ops aec_webrtc_ops;
#ifdef __cplusplus
}
#endif
#endif
