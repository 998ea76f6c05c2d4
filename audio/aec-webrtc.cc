// The WebRTC back end of the echo canceller: AudioProcessing 0.3's AEC (the
// one PulseAudio's and PipeWire's echo-cancel modules drive), through its
// float interface. A thin shim: no exception leaves it (nothrow new), and the
// rest of the processing chain (noise suppression, gain, high-pass) is off.
#include <errno.h>
#include <new>

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>

#include "aec-internal.h"
#include "audio-aec.h"

struct aec_backend {
    webrtc::AudioProcessing *apm;
};

static void webrtc_destroy(struct aec_backend *b)
{
    if (!b) {
        return;
    }
    delete b->apm;
    delete b;
}

static int webrtc_create(unsigned tail, struct aec_backend **ret_backend)
{
    webrtc::Config config;
    struct aec_backend *b;
    webrtc::EchoCancellation *ec;

    (void)tail; // the extended filter's length is fixed (128 ms)
    b = new (std::nothrow) aec_backend();
    if (!b) {
        return -ENOMEM;
    }
    // The extended filter is the one made for long, changing echo paths; the
    // delay is aligned by audio/aec.c already, but its own delay estimation
    // absorbs what is left (a few ms) without our help.
    config.Set<webrtc::ExtendedFilter>(new (std::nothrow) webrtc::ExtendedFilter(true));
    config.Set<webrtc::DelayAgnostic>(new (std::nothrow) webrtc::DelayAgnostic(true));
    b->apm = webrtc::AudioProcessing::Create(config);
    if (!b->apm) {
        webrtc_destroy(b);
        return -ENOMEM;
    }
    if (b->apm->Initialize(AUDIO_AEC_RATE, AUDIO_AEC_RATE, AUDIO_AEC_RATE,
                           webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono,
                           webrtc::AudioProcessing::kMono) != webrtc::AudioProcessing::kNoError) {
        webrtc_destroy(b);
        return -EINVAL;
    }
    ec = b->apm->echo_cancellation();
    if (ec->Enable(true) != webrtc::AudioProcessing::kNoError ||
        ec->set_suppression_level(webrtc::EchoCancellation::kHighSuppression) !=
            webrtc::AudioProcessing::kNoError) {
        webrtc_destroy(b);
        return -EINVAL;
    }
    *ret_backend = b;
    return 0;
}

static int webrtc_process(struct aec_backend *b, const int16_t *mic, const int16_t *ref,
                          int16_t *out)
{
    float far[AUDIO_AEC_FRAME], near[AUDIO_AEC_FRAME];
    const float *far_ch[1] = {far};
    const float *near_ch[1] = {near};
    float *out_ch[1] = {near};

    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        far[i] = (float)ref[i] / 32768.0f;
        near[i] = (float)mic[i] / 32768.0f;
    }
    if (b->apm->AnalyzeReverseStream(far_ch, AUDIO_AEC_FRAME, AUDIO_AEC_RATE,
                                     webrtc::AudioProcessing::kMono) !=
        webrtc::AudioProcessing::kNoError) {
        return -EIO;
    }
    // The reference comes aligned to the echo: no delay left to report.
    b->apm->set_stream_delay_ms(0);
    if (b->apm->ProcessStream(near_ch, AUDIO_AEC_FRAME, AUDIO_AEC_RATE,
                              webrtc::AudioProcessing::kMono, AUDIO_AEC_RATE,
                              webrtc::AudioProcessing::kMono, out_ch) !=
        webrtc::AudioProcessing::kNoError) {
        return -EIO;
    }
    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        float v = near[i] * 32768.0f;
        out[i] = (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
    }
    return 0;
}

extern "C" const struct aec_backend_ops aec_webrtc_ops = {
    webrtc_create,
    webrtc_destroy,
    webrtc_process,
};
