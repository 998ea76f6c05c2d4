/* Energy voice-activity detector with a minimum-statistics noise floor, and the
 * end-of-speech detector that reads its decisions. Cheap on purpose: it runs on
 * every 10 ms of audio the device hears. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio-vad.h"

/* The floor is the minimum of the smoothed frame energy over the last
 * SUBWINDOWS * SUBWINDOW_FRAMES frames (3.2 s): long enough to span the pauses
 * between words, short enough to follow a fan that is switched on. */
#define SUBWINDOWS 8
#define SUBWINDOW_FRAMES 40
/* Below this floor a signal is digital silence; clamp so that a whisper of
 * noise after silence is not taken for speech. */
#define FLOOR_MIN_DB -60.0

struct audio_vad {
    double threshold_db;

    /* High-pass state: rumble and DC carry energy but no speech. */
    double hp_x1, hp_y1;

    double frame_sum; /* energy of the frame being filled */
    size_t frame_fill;

    double smoothed_db;
    double sub_min[SUBWINDOWS];
    size_t sub_index;
    size_t sub_fill;
    double floor_db;

    uint64_t frames;
    uint8_t history[AUDIO_VAD_HISTORY / 8];
};

int audio_vad_new(const struct audio_vad_params *params, struct audio_vad **ret_vad)
{
    struct audio_vad *vad;

    if (!params || !(params->threshold_db > 0.0)) {
        return -EINVAL;
    }
    vad = calloc(1, sizeof(*vad));
    if (!vad) {
        return -ENOMEM;
    }
    vad->threshold_db = params->threshold_db;
    vad->smoothed_db = NAN;
    for (size_t i = 0; i < SUBWINDOWS; i++) {
        vad->sub_min[i] = INFINITY;
    }
    vad->floor_db = FLOOR_MIN_DB;
    *ret_vad = vad;
    return 0;
}

void audio_vad_free(struct audio_vad *vad)
{
    free(vad);
}

static void update_floor(struct audio_vad *vad, double db)
{
    double floor = INFINITY;

    if (db < vad->sub_min[vad->sub_index]) {
        vad->sub_min[vad->sub_index] = db;
    }
    if (++vad->sub_fill == SUBWINDOW_FRAMES) {
        vad->sub_fill = 0;
        vad->sub_index = (vad->sub_index + 1) % SUBWINDOWS;
        vad->sub_min[vad->sub_index] = INFINITY;
    }
    for (size_t i = 0; i < SUBWINDOWS; i++) {
        if (vad->sub_min[i] < floor) {
            floor = vad->sub_min[i];
        }
    }
    vad->floor_db = floor < FLOOR_MIN_DB ? FLOOR_MIN_DB : floor;
}

static void finish_frame(struct audio_vad *vad)
{
    double mean = vad->frame_sum / AUDIO_VAD_FRAME;
    double db = 10.0 * log10(mean / (32768.0 * 32768.0) + 1e-12);
    bool speech;
    size_t bit = (size_t)(vad->frames % AUDIO_VAD_HISTORY);

    /* Three-frame smoothing keeps single loud clicks from setting the floor's
     * pace while staying fast enough for word onsets. */
    vad->smoothed_db = isnan(vad->smoothed_db) ? db : 0.6 * vad->smoothed_db + 0.4 * db;
    update_floor(vad, vad->smoothed_db);
    speech = db > vad->floor_db + vad->threshold_db;

    if (speech) {
        vad->history[bit / 8] |= (uint8_t)(1u << (bit % 8));
    } else {
        vad->history[bit / 8] &= (uint8_t) ~(1u << (bit % 8));
    }
    vad->frames++;
    vad->frame_sum = 0.0;
    vad->frame_fill = 0;
}

void audio_vad_feed(struct audio_vad *vad, const int16_t *samples, size_t n)
{
    /* Runs on every sample the device hears: the state lives in locals so
     * the loop stays in registers. */
    double x1 = vad->hp_x1, y1 = vad->hp_y1, sum = vad->frame_sum;

    while (n > 0) {
        size_t k = AUDIO_VAD_FRAME - vad->frame_fill;

        if (k > n) {
            k = n;
        }
        for (size_t i = 0; i < k; i++) {
            double x = samples[i];
            /* One-pole high-pass, corner near 120 Hz. */
            double y = 0.955 * (y1 + x - x1);

            x1 = x;
            y1 = y;
            sum += y * y;
        }
        samples += k;
        n -= k;
        vad->frame_fill += k;
        if (vad->frame_fill == AUDIO_VAD_FRAME) {
            vad->frame_sum = sum;
            finish_frame(vad);
            sum = 0.0;
        }
    }
    vad->hp_x1 = x1;
    vad->hp_y1 = y1;
    vad->frame_sum = sum;
}

uint64_t audio_vad_frames(const struct audio_vad *vad)
{
    return vad->frames;
}

bool audio_vad_is_speech(const struct audio_vad *vad, uint64_t frame)
{
    size_t bit = (size_t)(frame % AUDIO_VAD_HISTORY);

    if (frame >= vad->frames || vad->frames - frame > AUDIO_VAD_HISTORY) {
        return false;
    }
    return (vad->history[bit / 8] >> (bit % 8)) & 1u;
}

double audio_vad_noise_floor_db(const struct audio_vad *vad)
{
    return vad->floor_db;
}

void audio_endpoint_init(struct audio_endpoint *ep, const struct audio_endpoint_params *params,
                         uint64_t scan_from, uint64_t wake_frame)
{
    *ep = (struct audio_endpoint){
        .params = *params,
        .wake_frame = wake_frame,
        .next_frame = scan_from < wake_frame ? scan_from : wake_frame,
        .result = AUDIO_ENDPOINT_CONTINUE,
    };
}

void audio_endpoint_skip_tail(struct audio_endpoint *ep, unsigned frames)
{
    ep->tail_until = ep->next_frame + frames;
}

static unsigned frames_of(unsigned ms)
{
    return (ms + 9) / 10;
}

enum audio_endpoint_result audio_endpoint_update(struct audio_endpoint *ep,
                                                 const struct audio_vad *vad)
{
    unsigned min_speech = frames_of(ep->params.min_speech_ms);
    unsigned silence = frames_of(ep->params.silence_ms);
    uint64_t frames;

    if (ep->result != AUDIO_ENDPOINT_CONTINUE) {
        return ep->result;
    }
    frames = audio_vad_frames(vad);
    /* Decisions older than the history are gone; start at the oldest kept. */
    if (frames > AUDIO_VAD_HISTORY && ep->next_frame < frames - AUDIO_VAD_HISTORY) {
        ep->next_frame = frames - AUDIO_VAD_HISTORY;
    }
    for (; ep->next_frame < frames; ep->next_frame++) {
        uint64_t f = ep->next_frame;
        uint64_t since_wake = f >= ep->wake_frame ? f + 1 - ep->wake_frame : 0;
        bool speech = audio_vad_is_speech(vad, f);

        if (f < ep->tail_until && speech) {
            continue; /* still the phrase's tail */
        }
        ep->tail_until = 0;
        if (speech) {
            ep->speech_run++;
            ep->silence_run = 0;
            if (ep->speech_run >= min_speech) {
                ep->speech_started = true;
            }
        } else {
            ep->speech_run = 0;
            ep->silence_run++;
        }

        if (ep->speech_started && ep->silence_run >= silence) {
            ep->result = AUDIO_ENDPOINT_SILENCE;
        } else if (since_wake * 10 >= ep->params.max_length_ms) {
            ep->result = AUDIO_ENDPOINT_MAX_LENGTH;
        } else if (!ep->speech_started && since_wake * 10 >= ep->params.no_speech_ms) {
            ep->result = AUDIO_ENDPOINT_NO_SPEECH;
        }
        if (ep->result != AUDIO_ENDPOINT_CONTINUE) {
            ep->end_frame = f + 1;
            ep->next_frame++;
            break;
        }
    }
    return ep->result;
}

const char *audio_endpoint_result_to_string(enum audio_endpoint_result result)
{
    switch (result) {
    case AUDIO_ENDPOINT_CONTINUE:
        return "continue";
    case AUDIO_ENDPOINT_SILENCE:
        return "silence";
    case AUDIO_ENDPOINT_MAX_LENGTH:
        return "max_length";
    case AUDIO_ENDPOINT_NO_SPEECH:
        return "no_speech";
    }
    return "unknown";
}
