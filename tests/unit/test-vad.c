/* Tests for the voice-activity and end-of-speech detectors on synthetic audio:
 * noise beds, voiced bursts, each end-of-speech reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio-vad.h"

#include "check.h"

#define RATE 16000

/* A deterministic generator so a failure can be replayed. */
static uint32_t rng_state = 12345;
static double uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / (double)(1u << 24) * 2.0 - 1.0;
}

struct signal {
    int16_t *s;
    size_t n;
};

static struct signal signal_new(double seconds)
{
    struct signal sig = {.n = (size_t)(seconds * RATE)};
    sig.s = calloc(sig.n, sizeof(*sig.s));
    if (!sig.s) {
        abort();
    }
    return sig;
}

static double db_to_amp(double dbfs)
{
    return 32767.0 * pow(10.0, dbfs / 20.0);
}

static void add(struct signal *sig, size_t i, double v)
{
    double x = sig->s[i] + v;
    sig->s[i] = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x);
}

/* White noise at an RMS level in dBFS. */
static void add_noise(struct signal *sig, double from, double to, double dbfs)
{
    double a = db_to_amp(dbfs) * sqrt(3.0);
    for (size_t i = (size_t)(from * RATE); i < (size_t)(to * RATE) && i < sig->n; i++) {
        add(sig, i, a * uniform());
    }
}

/* A voiced, vowel-like sound: harmonics of 140 Hz with a syllable-rate
 * envelope (4 Hz, 6 dB deep), at a peak level in dBFS. */
static void add_voice(struct signal *sig, double from, double to, double dbfs)
{
    double a = db_to_amp(dbfs) / 3.0;
    for (size_t i = (size_t)(from * RATE); i < (size_t)(to * RATE) && i < sig->n; i++) {
        double t = (double)i / RATE;
        double env = 0.75 + 0.25 * sin(2 * M_PI * 4.0 * t);
        double v = 0;
        for (int h = 1; h <= 6; h++) {
            v += sin(2 * M_PI * 140.0 * h * t) / h;
        }
        add(sig, i, a * env * v);
    }
}

static struct audio_vad *vad_over(const struct signal *sig, size_t chunk)
{
    struct audio_vad *vad = NULL;
    struct audio_vad_params p = {.threshold_db = 9.0};

    if (audio_vad_new(&p, &vad) < 0) {
        abort();
    }
    for (size_t i = 0; i < sig->n; i += chunk) {
        audio_vad_feed(vad, sig->s + i, sig->n - i < chunk ? sig->n - i : chunk);
    }
    return vad;
}

static double speech_fraction(const struct audio_vad *vad, double from, double to)
{
    uint64_t a = (uint64_t)(from * 100), b = (uint64_t)(to * 100), k = 0;
    for (uint64_t f = a; f < b; f++) {
        k += audio_vad_is_speech(vad, f);
    }
    return (double)k / (double)(b - a);
}

static void test_vad_levels(void)
{
    struct signal sig = signal_new(10.0);
    struct audio_vad *vad;

    /* Digital silence, then a noise bed, then a voice over it, then a much
     * louder noise bed that the floor has to follow. The floor follows a
     * rising bed within its window (3.2 s). */
    add_noise(&sig, 1.0, 10.0, -45);
    add_voice(&sig, 4.5, 5.5, -20);
    add_noise(&sig, 6.0, 10.0, -25);
    vad = vad_over(&sig, 317);

    CHECK(audio_vad_frames(vad) == 1000);
    CHECK(speech_fraction(vad, 0.0, 1.0) == 0.0);
    CHECK(speech_fraction(vad, 4.3, 4.5) < 0.02);
    CHECK(speech_fraction(vad, 4.55, 5.45) > 0.7);
    /* After the floor has caught up with the louder bed: silence again. */
    CHECK(speech_fraction(vad, 9.3, 10.0) < 0.02);
    CHECK(fabs(audio_vad_noise_floor_db(vad) - -25.0) < 4.0);
    /* History: frames older than it are unknown, frames not yet heard too. */
    CHECK(!audio_vad_is_speech(vad, 1000));
    audio_vad_free(vad);
    free(sig.s);
}

/* A voice 10 dB over white noise is still found (5 dB SNR over the whole
 * band, as in the corpus, is harder; that is measured by the benchmark). */
static void test_vad_noisy(void)
{
    struct signal sig = signal_new(6.0);
    struct audio_vad *vad;

    add_noise(&sig, 0.0, 6.0, -30);
    add_voice(&sig, 4.0, 5.0, -5); /* about -20 dBFS RMS */
    vad = vad_over(&sig, 160);
    CHECK(speech_fraction(vad, 0.5, 3.9) < 0.02);
    CHECK(speech_fraction(vad, 4.05, 4.95) > 0.5);
    audio_vad_free(vad);
    free(sig.s);
}

static const struct audio_endpoint_params defaults = {
    .silence_ms = 700, .max_length_ms = 10000, .no_speech_ms = 5000, .min_speech_ms = 150};

static enum audio_endpoint_result run_endpoint_tail(const struct signal *sig, double scan_from,
                                                    double wake, unsigned tail,
                                                    struct audio_endpoint *ep)
{
    struct audio_vad *vad = NULL;
    struct audio_vad_params p = {.threshold_db = 9.0};
    enum audio_endpoint_result r = AUDIO_ENDPOINT_CONTINUE;
    bool started = false;

    if (audio_vad_new(&p, &vad) < 0) {
        abort();
    }
    for (size_t i = 0; i < sig->n; i += 320) {
        audio_vad_feed(vad, sig->s + i, sig->n - i < 320 ? sig->n - i : 320);
        if (!started && (double)(i + 320) / RATE >= wake) {
            audio_endpoint_init(ep, &defaults, (uint64_t)(scan_from * 100), (uint64_t)(wake * 100));
            if (tail) {
                audio_endpoint_skip_tail(ep, tail);
            }
            started = true;
        }
        if (started) {
            r = audio_endpoint_update(ep, vad);
            if (r != AUDIO_ENDPOINT_CONTINUE) {
                break;
            }
        }
    }
    audio_vad_free(vad);
    return r;
}

static enum audio_endpoint_result run_endpoint(const struct signal *sig, double scan_from,
                                               double wake, struct audio_endpoint *ep)
{
    return run_endpoint_tail(sig, scan_from, wake, 0, ep);
}

static double end_s(const struct audio_endpoint *ep)
{
    return (double)ep->end_frame / 100.0;
}

static void test_endpoint_reasons(void)
{
    struct audio_endpoint ep;
    struct signal sig;

    /* "hey computer" 1.0-1.8, detection at 1.95, request 2.2-3.5, silence. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 1.8, -18);
    add_voice(&sig, 2.2, 3.5, -18);
    CHECK(run_endpoint(&sig, 1.8, 1.95, &ep) == AUDIO_ENDPOINT_SILENCE);
    CHECK(ep.speech_started);
    CHECK(end_s(&ep) > 3.5 + 0.6 && end_s(&ep) < 3.5 + 0.9);
    /* Running the same request twice gives the same answer. */
    CHECK(audio_endpoint_update(&ep, NULL) == AUDIO_ENDPOINT_SILENCE);
    free(sig.s);

    /* Nothing said after the phrase. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 1.8, -18);
    CHECK(run_endpoint(&sig, 1.8, 1.95, &ep) == AUDIO_ENDPOINT_NO_SPEECH);
    CHECK(fabs(end_s(&ep) - (1.95 + 5.0)) < 0.05);
    free(sig.s);

    /* A click is not speech. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 3.0, 3.06, -10);
    CHECK(run_endpoint(&sig, 1.8, 1.95, &ep) == AUDIO_ENDPOINT_NO_SPEECH);
    free(sig.s);

    /* Talking on and on: cut at the maximum length. */
    sig = signal_new(14.0);
    add_noise(&sig, 0.0, 14.0, -50);
    for (double t = 2.0; t < 14.0; t += 0.5) {
        add_voice(&sig, t, t + 0.4, -18);
    }
    CHECK(run_endpoint(&sig, 1.8, 1.95, &ep) == AUDIO_ENDPOINT_MAX_LENGTH);
    CHECK(fabs(end_s(&ep) - (1.95 + 10.0)) < 0.05);
    free(sig.s);

    /* Words that follow the phrase at once (0.25 s of speech that ends
     * before the detection arrives) are not lost: the scan starts at the
     * phrase's end, not at the detection. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 1.8, -18);
    add_voice(&sig, 1.85, 2.1, -18);
    CHECK(run_endpoint(&sig, 1.8, 2.15, &ep) == AUDIO_ENDPOINT_SILENCE);
    CHECK(end_s(&ep) < 3.0);
    free(sig.s);
}

/* The neural detector may fire before the phrase has ended: its tail is not
 * the request (ear.c skips up to 0.4 s of it). */
static void test_endpoint_tail(void)
{
    struct audio_endpoint ep;
    struct signal sig;

    /* "hey computer" 1.0-1.8, detected at 1.5; a pause of 0.9 s; the
     * request 2.7-4.0. Counted as speech, the tail would end the request
     * in the pause. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 1.8, -18);
    add_voice(&sig, 2.7, 4.0, -18);
    CHECK(run_endpoint(&sig, 1.5, 1.5, &ep) == AUDIO_ENDPOINT_SILENCE);
    CHECK(end_s(&ep) < 2.7);
    CHECK(run_endpoint_tail(&sig, 1.5, 1.5, 40, &ep) == AUDIO_ENDPOINT_SILENCE);
    CHECK(end_s(&ep) > 4.0 + 0.6 && end_s(&ep) < 4.0 + 0.9);
    free(sig.s);

    /* Said without a pause: the speech that goes on past the tail is the
     * request, and ends it on the silence after it. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 3.0, -18);
    CHECK(run_endpoint_tail(&sig, 1.5, 1.5, 40, &ep) == AUDIO_ENDPOINT_SILENCE);
    CHECK(ep.speech_started);
    CHECK(end_s(&ep) > 3.0 + 0.6 && end_s(&ep) < 3.0 + 0.9);
    free(sig.s);

    /* Nothing after the phrase: no speech. */
    sig = signal_new(12.0);
    add_noise(&sig, 0.0, 12.0, -50);
    add_voice(&sig, 1.0, 1.8, -18);
    CHECK(run_endpoint_tail(&sig, 1.5, 1.5, 40, &ep) == AUDIO_ENDPOINT_NO_SPEECH);
    free(sig.s);
}

int main(void)
{
    test_vad_levels();
    test_vad_noisy();
    test_endpoint_reasons();
    test_endpoint_tail();
    return check_status();
}
