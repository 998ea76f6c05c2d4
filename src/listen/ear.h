/* The ear: the local listening pipeline's state machine. It owns the pre-roll,
 * the voice-activity and end-of-speech detectors and the wake-word spotter, and
 * turns 16 kHz audio into wake and end-of-request events plus the request's
 * audio. In IDLE the audio exists only in the pre-roll ring. Not thread-safe:
 * one thread (the ear thread) feeds it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ear;

enum ear_state {
    EAR_IDLE,      /* spotting; audio only in the pre-roll ring */
    EAR_STREAMING, /* a request: its audio goes to on_audio */
};

struct ear_wake {
    double t;            /* seconds into the audio at which the wake was detected */
    const char *phrase;
    const char *detector; /* "neural" or "pocketsphinx" (static) */
    double score;        /* the detector's score, 0 to 1: the neural network's, or the
                          * PocketSphinx spotter's confidence */
    double verify;       /* the second pass's score (kws.h), NAN when there was none */
    double phrase_start; /* estimated start of the phrase, seconds */
    double preroll_s;    /* audio before the phrase in the request */
};

struct ear_end {
    double t;          /* seconds into the audio at which the request ended */
    const char *reason; /* "silence", "max_length" or "no_speech" */
    bool no_speech;     /* nothing was said after the wake: nothing to send */
    double duration_s; /* from the wake to the end */
};

struct ear_callbacks {
    void (*on_wake)(void *userdata, const struct ear_wake *wake);
    /* The request's audio, 16 kHz mono: pre-roll and phrase first, then live
     * audio until the end of speech. Only between on_wake and on_end. */
    void (*on_audio)(void *userdata, const int16_t *samples, size_t n);
    void (*on_end)(void *userdata, const struct ear_end *end);
    /* Every detection of either detector, woken on or turned down by the
     * second pass (for `hark tune`; only t, phrase, detector, score and
     * verify are set). Optional. */
    void (*on_candidate)(void *userdata, const struct ear_wake *candidate, bool woke);
};

int ear_new(const struct hark_config *cfg, const struct ear_callbacks *callbacks, void *userdata,
            char *err, size_t errsz, struct ear **ret_ear);
/* Detections the second pass turned down so far. */
uint64_t ear_rejected(const struct ear *ear);
/* Zeroes the pre-roll before freeing it. Accepts NULL. */
void ear_free(struct ear *ear);

/* Feeds 16 kHz mono audio; callbacks run from inside. */
int ear_feed(struct ear *ear, const int16_t *samples, size_t n, char *err, size_t errsz);

/* The input has ended: a request still open is finished as the microphone
 * would finish it, by the silence that follows. */
int ear_finish(struct ear *ear, char *err, size_t errsz);

enum ear_state ear_get_state(const struct ear *ear);

/* While a request is being answered (waiting for the cloud, playing the
 * answer) the ear keeps its pre-roll and VAD current but does not spot, so
 * the answer cannot wake it. Listening is on after ear_new(). */
void ear_set_listening(struct ear *ear, bool listening);

/* For this long after each wake the request hears silence instead of its
 * input: the wake chime plays then, and must be neither sent nor taken for
 * the start of speech. 0 (the default): no chime, nothing replaced. */
void ear_set_chime(struct ear *ear, unsigned ms);

/* For `hark tune`: every detection goes to on_candidate (woke: whether it
 * would have woken hark) and none opens a request. Off after ear_new(). */
void ear_set_candidates_only(struct ear *ear, bool on);

/* Forgets everything heard (mute): a request in progress ends without
 * on_end, the pre-roll is zeroed, the spotter starts afresh. */
int ear_reset(struct ear *ear, char *err, size_t errsz);
