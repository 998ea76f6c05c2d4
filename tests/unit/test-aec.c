/* Tests for the echo canceller on generated signals: a known echo path with a
 * delay, a playback clock off by 200 ppm, a near end alone, bad arguments;
 * each with every back end of the build. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_resampler.h>

#include "audio-aec.h"

#include "check.h"

#define RATE AUDIO_AEC_RATE
#define FRAME AUDIO_AEC_FRAME

static uint32_t rng_state = 12345;
static double uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / (double)(1u << 24) * 2.0 - 1.0;
}

static int16_t *alloc16(size_t n)
{
    int16_t *s = calloc(n, sizeof(*s));
    if (!s) {
        abort();
    }
    return s;
}

static int16_t clip(double v)
{
    return (int16_t)(v > 32767.0 ? 32767.0 : v < -32768.0 ? -32768.0 : v);
}

/* Speech-like far end: bursts of low-passed noise under a syllable envelope,
 * with short pauses, about -15 dBFS while it sounds. */
static int16_t *far_end(size_t n)
{
    int16_t *s = alloc16(n);
    double lp = 0.0, lp2 = 0.0;

    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        double env = 0.5 + 0.5 * sin(2.0 * M_PI * 4.0 * t); /* syllables */
        double phrase = fmod(t, 2.0) < 1.7 ? 1.0 : 0.0;     /* pauses */
        lp = 0.6 * lp + 0.4 * uniform();
        lp2 = 0.7 * lp2 + 0.3 * lp;
        s[i] = clip(12000.0 * env * phrase * lp2 * 3.0);
    }
    return s;
}

/* The room: the direct path after delay samples at gain 0.5, then a decaying
 * tail of reflections for 60 ms; played by a clock drift_ppm slow. */
static int16_t *room(const int16_t *far, size_t n, size_t delay, double drift_ppm)
{
    enum { TAIL = RATE * 60 / 1000 };
    static double h[TAIL];
    int16_t *played = alloc16(n);
    int16_t *echo = alloc16(n);
    uint32_t saved = rng_state;

    rng_state = 777;
    for (size_t k = 0; k < TAIL; k++) {
        h[k] = k == 0 ? 0.5 : (k > 40 && k % 7 == 0 ? 0.15 * uniform() * exp(-(double)k / 300.0) : 0.0);
    }
    rng_state = saved;
    if (drift_ppm != 0.0) {
        int err = 0;
        SpeexResamplerState *rs = speex_resampler_init(1, RATE, RATE, 5, &err);
        spx_uint32_t in_len = (spx_uint32_t)n, out_len = (spx_uint32_t)n;
        /* A slow playback clock: each reference sample lasts longer. */
        speex_resampler_set_rate_frac(rs, 1000000, (spx_uint32_t)lround(1e6 + drift_ppm), RATE, RATE);
        speex_resampler_skip_zeros(rs);
        speex_resampler_process_int(rs, 0, far, &in_len, played, &out_len);
        speex_resampler_destroy(rs);
    } else {
        memcpy(played, far, n * sizeof(*far));
    }
    for (size_t i = delay; i < n; i++) {
        double acc = 0.0;
        for (size_t k = 0; k < TAIL && k <= i - delay; k++) {
            if (h[k] != 0.0) {
                acc += h[k] * played[i - delay - k];
            }
        }
        echo[i] = clip(acc);
    }
    free(played);
    return echo;
}

/* Runs the canceller over mic with far as the reference (given 100 ms ahead,
 * as hark writes into the sink's buffer); returns the output. */
static int16_t *run(struct audio_aec *aec, const int16_t *far, const int16_t *mic, size_t n)
{
    int16_t *out = alloc16(n);
    size_t given = 0;

    for (size_t i = 0; i + FRAME <= n; i += FRAME) {
        size_t ahead = i + RATE / 10 < n ? i + RATE / 10 : n;
        if (far && ahead > given) {
            CHECK(audio_aec_play(aec, given, far + given, ahead - given) == 0);
            given = ahead;
        }
        CHECK(audio_aec_process(aec, mic + i, FRAME, out + i) == 0);
    }
    return out;
}

static double energy(const int16_t *s, size_t from, size_t to)
{
    double e = 0.0;
    for (size_t i = from; i < to; i++) {
        e += (double)s[i] * s[i];
    }
    return e;
}

static double erle_db(const int16_t *mic, const int16_t *out, size_t from, size_t to)
{
    return 10.0 * log10((energy(mic, from, to) + 1.0) / (energy(out, from, to) + 1.0));
}

static struct audio_aec *make(enum audio_aec_backend backend)
{
    struct audio_aec *aec = NULL;
    struct audio_aec_params params = {.backend = backend, .max_delay_ms = 300};

    CHECK(audio_aec_new(&params, &aec) == 0);
    if (!aec) {
        abort();
    }
    return aec;
}

/* A fixed echo path 60 ms late: the delay is found, and after a few seconds
 * the echo is down by 25 dB. */
static void test_converges(enum audio_aec_backend backend)
{
    const size_t n = 8 * RATE, delay = 60 * RATE / 1000;
    int16_t *far = far_end(n);
    int16_t *mic = room(far, n, delay, 0.0);
    struct audio_aec *aec = make(backend);
    int16_t *out = run(aec, far, mic, n);
    struct audio_aec_stats st;
    double early, late;

    audio_aec_get_stats(aec, &st);
    early = erle_db(mic, out, 0, RATE / 2);
    late = erle_db(mic, out, 5 * RATE, n);
    CHECKF(st.locked && fabs(st.delay_ms - 60.0) < 2.0, "%s: locked %d, delay %.2f ms",
           audio_aec_backend_to_string(backend), st.locked, st.delay_ms);
    /* Issue 16's target; WebRTC's canceller stays below it on this room (its
     * figures are in doc/benchmarks.md), so it is held to less. */
    CHECKF(late >= (backend == AUDIO_AEC_SPEEX ? 25.0 : 20.0), "%s: ERLE %.1f dB after convergence",
           audio_aec_backend_to_string(backend), late);
    CHECKF(late > early + 5.0, "%s: ERLE %.1f dB at first, %.1f dB later",
           audio_aec_backend_to_string(backend), early, late);
    /* The reported figure is smoothed over the last second, onsets included. */
    CHECKF(st.erle_db > 15.0 && st.erle_db < late + 3.0, "%s: reported ERLE %.1f dB, measured %.1f dB",
           audio_aec_backend_to_string(backend), st.erle_db, late);
    printf("%s: converges: delay %.2f ms, ERLE %.1f dB first 0.5 s, %.1f dB from 5 s\n",
           audio_aec_backend_to_string(backend), st.delay_ms, early, late);
    audio_aec_free(aec);
    free(far);
    free(mic);
    free(out);
}

/* The playback clock 200 ppm slow: over 12 s the echo slides by 38 samples,
 * which the drift estimate follows, and the echo stays cancelled. */
static void test_drift(enum audio_aec_backend backend, double ppm)
{
    const size_t n = 12 * RATE, delay = 120 * RATE / 1000;
    int16_t *far = far_end(n);
    int16_t *mic = room(far, n, delay, ppm);
    struct audio_aec *aec = make(backend);
    int16_t *out = run(aec, far, mic, n);
    struct audio_aec_stats st;
    double late;

    audio_aec_get_stats(aec, &st);
    late = erle_db(mic, out, 8 * RATE, n);
    CHECKF(fabs(st.drift_ppm - ppm) < 40.0, "%s: drift %.0f ppm, estimated %.0f ppm",
           audio_aec_backend_to_string(backend), ppm, st.drift_ppm);
    CHECKF(late >= (backend == AUDIO_AEC_SPEEX ? 25.0 : 20.0), "%s: ERLE %.1f dB at %.0f ppm", audio_aec_backend_to_string(backend),
           late, ppm);
    printf("%s: drift %+.0f ppm: estimated %+.0f ppm, ERLE %.1f dB from 8 s\n",
           audio_aec_backend_to_string(backend), ppm, st.drift_ppm, late);
    audio_aec_free(aec);
    free(far);
    free(mic);
    free(out);
}

/* The user speaks and hark plays nothing: what the microphone hears passes
 * (the residual-echo suppressors must not take it for echo). */
static void test_near_alone(enum audio_aec_backend backend)
{
    const size_t n = 3 * RATE;
    int16_t *near = far_end(n); /* the same kind of signal, from the user */
    struct audio_aec *aec = make(backend);
    int16_t *out = run(aec, NULL, near, n);
    struct audio_aec_stats st;
    double loss = erle_db(near, out, RATE / 2, n);

    audio_aec_get_stats(aec, &st);
    CHECKF(fabs(loss) < 1.0, "%s: near end changed by %.2f dB with no far end",
           audio_aec_backend_to_string(backend), loss);
    CHECK(!st.locked);
    printf("%s: near end alone: changed by %.2f dB\n", audio_aec_backend_to_string(backend), loss);
    audio_aec_free(aec);
    free(near);
    free(out);
}

static void test_bad_arguments(enum audio_aec_backend backend)
{
    struct audio_aec *aec = NULL;
    struct audio_aec_params params = {.backend = backend};
    int16_t frame[FRAME + 1] = {0};
    int16_t ref[4] = {0};

    CHECK(audio_aec_new(NULL, &aec) == -EINVAL);
    CHECK(audio_aec_new(&params, NULL) == -EINVAL);
    params.max_delay_ms = AUDIO_AEC_MAX_DELAY_MS + 1;
    CHECK(audio_aec_new(&params, &aec) == -EINVAL);
    params.max_delay_ms = 0;
    params.tail_ms = AUDIO_AEC_MAX_TAIL_MS + 1;
    CHECK(audio_aec_new(&params, &aec) == -EINVAL);
    params.tail_ms = 0;
    params.backend = (enum audio_aec_backend)7;
    CHECK(audio_aec_new(&params, &aec) == -EINVAL);
    CHECK(aec == NULL);

    aec = make(backend);
    CHECK(audio_aec_process(aec, frame, FRAME - 1, frame) == -EINVAL);
    CHECK(audio_aec_process(aec, frame, FRAME + 1, frame) == -EINVAL);
    CHECK(audio_aec_process(aec, NULL, FRAME, frame) == -EINVAL);
    CHECK(audio_aec_process(aec, frame, FRAME, NULL) == -EINVAL);
    CHECK(audio_aec_process(NULL, frame, FRAME, frame) == -EINVAL);
    CHECK(audio_aec_position(aec) == 0);
    CHECK(audio_aec_process(aec, frame, FRAME, frame) == 0); /* in place */
    CHECK(audio_aec_position(aec) == FRAME);

    CHECK(audio_aec_play(NULL, 0, ref, 4) == -EINVAL);
    CHECK(audio_aec_play(aec, 0, NULL, 4) == -EINVAL);
    CHECK(audio_aec_play(aec, 100, ref, 4) == 0);
    CHECK(audio_aec_play(aec, 103, ref, 4) == -EINVAL); /* goes back */
    CHECK(audio_aec_play(aec, 104, ref, 4) == 0);
    CHECK(audio_aec_play(aec, 200, NULL, 0) == 0);
    /* The limit of how far ahead: exactly at it, then one past it. */
    {
        uint64_t limit = FRAME + (uint64_t)AUDIO_AEC_MAX_AHEAD_MS * RATE / 1000;
        CHECK(audio_aec_play(aec, limit - 4, ref, 4) == 0);
        CHECK(audio_aec_play(aec, limit, ref, 1) == -ENOBUFS);
    }
    audio_aec_free(aec);
    audio_aec_free(NULL);
}

int main(void)
{
    static const enum audio_aec_backend backends[] = {AUDIO_AEC_SPEEX, AUDIO_AEC_WEBRTC};
    enum audio_aec_backend b;
    struct audio_aec *aec = NULL;

    CHECK(audio_aec_backend_from_string("speex", &b) == 0 && b == AUDIO_AEC_SPEEX);
    CHECK(audio_aec_backend_from_string("webrtc", &b) == 0 && b == AUDIO_AEC_WEBRTC);
    CHECK(audio_aec_backend_from_string("off", &b) == -EINVAL);
    CHECK(audio_aec_backend_available(AUDIO_AEC_SPEEX));
#ifdef HARK_HAVE_WEBRTC_AEC
    CHECK(audio_aec_backend_available(AUDIO_AEC_WEBRTC));
#else
    CHECK(audio_aec_new(&(struct audio_aec_params){.backend = AUDIO_AEC_WEBRTC}, &aec) ==
          -EOPNOTSUPP);
#endif
    (void)aec;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (!audio_aec_backend_available(backends[i])) {
            printf("%s: not in this build\n", audio_aec_backend_to_string(backends[i]));
            continue;
        }
        test_bad_arguments(backends[i]);
        test_near_alone(backends[i]);
        test_converges(backends[i]);
        test_drift(backends[i], 200.0);
        test_drift(backends[i], -200.0);
    }
    return check_status();
}
