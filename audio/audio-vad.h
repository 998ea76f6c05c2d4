/* Voice activity (an energy detector over an adaptive noise floor, 10 ms frames)
 * and the end-of-speech detector built on it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIO_VAD_FRAME 160 /* samples per decision: 10 ms at 16 kHz */
#define AUDIO_VAD_HISTORY 1024 /* decisions kept, about 10 s */

struct audio_vad;

struct audio_vad_params {
    /* A frame is speech when its energy is this far above the noise floor. */
    double threshold_db;
};

int audio_vad_new(const struct audio_vad_params *params, struct audio_vad **ret_vad);
void audio_vad_free(struct audio_vad *vad);

/* Feeds 16 kHz samples (any count); each completed frame gets a decision. */
void audio_vad_feed(struct audio_vad *vad, const int16_t *samples, size_t n);

/* Frames decided so far. Frame i covers samples [i*160, (i+1)*160). */
uint64_t audio_vad_frames(const struct audio_vad *vad);

/* The decision for frame i, which must be one of the last AUDIO_VAD_HISTORY. */
bool audio_vad_is_speech(const struct audio_vad *vad, uint64_t frame);

/* The current noise floor estimate in dBFS (for diagnostics and tests). */
double audio_vad_noise_floor_db(const struct audio_vad *vad);

enum audio_endpoint_result {
    AUDIO_ENDPOINT_CONTINUE,
    AUDIO_ENDPOINT_SILENCE,    /* speech, then silence_ms of silence */
    AUDIO_ENDPOINT_MAX_LENGTH, /* the request reached max_length_ms */
    AUDIO_ENDPOINT_NO_SPEECH,  /* no speech within no_speech_ms of the wake */
};

struct audio_endpoint_params {
    unsigned silence_ms;
    unsigned max_length_ms;
    unsigned no_speech_ms;
    unsigned min_speech_ms; /* a shorter burst of speech does not count */
};

/* Caller-owned state of one request's end-of-speech detection. */
struct audio_endpoint {
    struct audio_endpoint_params params;
    uint64_t wake_frame; /* lengths count from here */
    uint64_t next_frame; /* first frame not looked at yet */
    uint64_t end_frame;  /* valid once a result other than CONTINUE came */
    uint64_t tail_until; /* see audio_endpoint_skip_tail() */
    unsigned speech_run;
    unsigned silence_run;
    bool speech_started;
    enum audio_endpoint_result result;
};

/* Starts a request. Speech is looked for from scan_from (the end of the wake
 * phrase, which lies a little before the detection, so that words spoken right
 * after the phrase count); lengths are measured from wake_frame. */
void audio_endpoint_init(struct audio_endpoint *ep, const struct audio_endpoint_params *params,
                         uint64_t scan_from, uint64_t wake_frame);

/* When the end of the phrase is not known: speech right at scan_from, up to
 * `frames` of it without a pause, is taken for the phrase's own tail and
 * not for the request. Speech that goes on longer counts from there. */
void audio_endpoint_skip_tail(struct audio_endpoint *ep, unsigned frames);

/* Looks at the frames the VAD decided since the last call. Returns CONTINUE
 * until the request ends; from then on always the same result. */
enum audio_endpoint_result audio_endpoint_update(struct audio_endpoint *ep,
                                                 const struct audio_vad *vad);

const char *audio_endpoint_result_to_string(enum audio_endpoint_result result);
