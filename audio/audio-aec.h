/* Acoustic echo cancellation of the capture path: takes what hark plays (the
 * reference) out of what the microphone hears, so the wake word works while
 * an answer or a chime plays. Two back ends behind one interface.
 *
 * Owned by the ear thread: every call comes from the thread that reads the
 * capture ring, never from an audio callback (the canceller allocates only in
 * audio_aec_new, but a 10 ms frame costs far more than a callback may take).
 * Not thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIO_AEC_RATE 16000
#define AUDIO_AEC_FRAME 160 /* samples per call to audio_aec_process: 10 ms */
/* The longest delay from the reference's position to its echo it searches. */
#define AUDIO_AEC_MAX_DELAY_MS 500
/* The longest echo tail (room reverberation after the direct path) modelled. */
#define AUDIO_AEC_MAX_TAIL_MS 500
/* How far ahead of the capture position the reference may be given. */
#define AUDIO_AEC_MAX_AHEAD_MS 2000

enum audio_aec_backend {
    AUDIO_AEC_SPEEX,  /* speexdsp's MDF canceller (the default: doc/benchmarks.md) */
    AUDIO_AEC_WEBRTC, /* WebRTC AudioProcessing 0.3's canceller (AEC with NLP) */
};

struct audio_aec_params {
    enum audio_aec_backend backend;
    /* The echo may come 0..max_delay_ms after the reference's position
     * (sound server and device buffers, the air). At most
     * AUDIO_AEC_MAX_DELAY_MS; 0 means 300. */
    unsigned max_delay_ms;
    /* The echo tail the speex filter models after the direct path (a room's
     * reverberation lasts a few hundred ms); WebRTC's is fixed (its extended
     * filter, 128 ms). 0 means 320. */
    unsigned tail_ms;
};

struct audio_aec_stats {
    bool locked;       /* the delay is known (the reference was heard) */
    double delay_ms;   /* echo delay after the reference's position, if locked */
    double drift_ppm;  /* playback clock against capture clock: + plays slow */
    double erle_db;    /* echo return loss enhancement, smoothed over about 1 s
                        * of frames with a reference; NAN before any */
    uint64_t estimates; /* delay measurements taken, confident or not */
};

struct audio_aec;

/* Whether this build has the back end. */
bool audio_aec_backend_available(enum audio_aec_backend backend);
const char *audio_aec_backend_to_string(enum audio_aec_backend backend);
/* "speex" or "webrtc". Returns 0, or -EINVAL. */
int audio_aec_backend_from_string(const char *s, enum audio_aec_backend *ret_backend);

/* Returns 0, -EINVAL (a parameter out of range), -EOPNOTSUPP (the back end
 * is not in this build) or -ENOMEM. */
int audio_aec_new(const struct audio_aec_params *params, struct audio_aec **ret_aec);
/* Accepts NULL. */
void audio_aec_free(struct audio_aec *aec);

/* Hands the canceller n samples of the reference (16 kHz mono, what goes to
 * the speaker), the first of which is meant to sound at capture position
 * `position` (in samples of the capture clock, as counted by
 * audio_aec_position). Give it when it is written to the sink, before it
 * sounds: the echo is searched 0..max_delay_ms after the position. Positions
 * only go forward; a gap is silence. Returns 0, -EINVAL (NULL, a position
 * before the end of the reference given so far) or -ENOBUFS (more than
 * AUDIO_AEC_MAX_AHEAD_MS ahead of the capture position). */
int audio_aec_play(struct audio_aec *aec, uint64_t position, const int16_t *samples, size_t n);

/* Cancels the echo from one frame of the microphone: n must be
 * AUDIO_AEC_FRAME. out may be mic. Returns 0, -EINVAL, or -EIO when the back
 * end failed (out then holds the microphone's frame as it was). */
int audio_aec_process(struct audio_aec *aec, const int16_t *mic, size_t n, int16_t *out);

/* Capture position: samples processed so far. */
uint64_t audio_aec_position(const struct audio_aec *aec);

void audio_aec_get_stats(const struct audio_aec *aec, struct audio_aec_stats *ret_stats);
