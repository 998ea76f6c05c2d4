/* The neural detector's streaming: a hand-made model that scores a 1 kHz
 * tone high and anything else low wakes on the tone after trigger_frames
 * frames, not on silence or noise, the same whatever the chunk size, and
 * starts afresh after a wake and after a skip. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn-mel.h"
#include "nn.h"

#define RATE 16000
static float w0[40 * 3], b0[1];

/* One conv layer of kernel 3: the log energy of the band holding 1 kHz,
 * minus that of the two bands each side, over three frames. */
static struct nn_model *make_model(uint32_t trigger)
{
    struct nn_model desc = {
        .phrase = "tone",
        .features = {.sample_rate = RATE, .win = 400, .hop = 160, .n_fft = 512, .n_mels = 40,
                     .fmin = 60.0f, .fmax = 7600.0f, .log_floor = 1e-6f},
        .threshold = 0.5f,
        .trigger_frames = trigger,
        .n_layers = 1,
    };
    struct nn_model *m = NULL;
    float frame[40];
    int16_t tone[400];
    const int16_t *p = tone;
    size_t n = 400;
    struct nn_mel *mel;
    uint32_t best = 0;
    uint8_t *buf;
    size_t size;
    char err[256];

    /* Find the band of 1 kHz with the front end itself. */
    for (int i = 0; i < 400; i++) {
        tone[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * i / RATE));
    }
    nn_mel_new(&desc.features, &mel);
    nn_mel_next(mel, &p, &n, frame);
    nn_mel_free(mel);
    for (uint32_t b = 1; b < 40; b++) {
        best = frame[b] > frame[best] ? b : best;
    }
    memset(w0, 0, sizeof(w0));
    for (int t = 0; t < 3; t++) {
        w0[t * 40 + best] = 0.1f;
        w0[t * 40 + best - 3] = w0[t * 40 + best + 3] = -0.05f;
    }
    b0[0] = -3 * 0.8f; /* 0.5 when the band stands 8 nats above its neighbours */
    desc.layers[0] = (struct nn_layer){NN_LAYER_CONV, NN_ACT_SIGMOID, 40, 1, 3, 1, w0, b0};
    if (nn_model_serialise(&desc, &buf, &size) < 0 ||
        nn_model_parse(buf, size, "tone.hwm", err, sizeof(err), &m) < 0) {
        fprintf(stderr, "cannot make the model: %s\n", err);
        exit(1);
    }
    free(buf);
    return m;
}

/* noise 0.5 s at a tenth of the tone's level, silence 0.5 s, tone 0.3 s, silence 0.5 s */
static int16_t *make_audio(size_t *ret_n)
{
    size_t n = RATE * 18 / 10;
    int16_t *a = calloc(n, sizeof(int16_t));

    srand(1);
    for (size_t i = 0; i < RATE / 2; i++) {
        a[i] = (int16_t)(rand() % 1600 - 800);
    }
    for (size_t i = RATE; i < RATE * 13 / 10; i++) {
        a[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)i / RATE));
    }
    *ret_n = n;
    return a;
}

/* Feeds the audio in chunks of chunk samples; returns the wakes. */
static int feed(struct nn_detector *d, const int16_t *a, size_t n, size_t chunk,
                struct nn_detection *ret_first)
{
    struct nn_detection det;
    int wakes = 0;

    for (size_t at = 0; at < n; at += chunk) {
        size_t len = n - at < chunk ? n - at : chunk;

        if (nn_detector_feed(d, a + at, len, &det) == NN_WAKE) {
            if (wakes++ == 0) {
                *ret_first = det;
            }
        }
    }
    return wakes;
}

int main(void)
{
    size_t n, chunks[] = {1, 7, 160, 1000, 30000};
    int16_t *audio = make_audio(&n);
    struct nn_detection first = {0}, det;
    struct nn_detector *d;

    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct nn_detection got = {0};
        int wakes;

        CHECK(nn_detector_new(make_model(3), NAN, &d) == 0);
        wakes = feed(d, audio, n, chunks[c], &got);
        /* A wake ends the chunk, so in one big chunk there can be only one. */
        CHECKF(wakes >= 1, "chunk %zu: %d wakes", chunks[c], wakes);
        /* The third frame wholly in the tone: frames end at 400 + 160 i. */
        CHECKF(got.end > RATE && got.end <= RATE + 400 + 3 * 160, "chunk %zu: end %llu",
               chunks[c], (unsigned long long)got.end);
        if (c == 0) {
            first = got;
        }
        CHECKF(got.end == first.end && got.score == first.score,
               "chunk %zu: end %llu score %g, chunk 1: %llu %g", chunks[c],
               (unsigned long long)got.end, (double)got.score, (unsigned long long)first.end,
               (double)first.score);
        nn_detector_free(d);
    }
    CHECKF(first.score > 0.5f && first.score < 0.999f, "%g", (double)first.score);

    /* A trigger of 30 frames (0.3 s) is longer than the tone holds them. */
    CHECK(nn_detector_new(make_model(30), NAN, &d) == 0);
    CHECK(feed(d, audio, n, 160, &det) == 0);
    nn_detector_free(d);
    /* Nor does the tone wake it at a threshold above its score. */
    CHECK(nn_detector_new(make_model(1), 0.999999f, &d) == 0);
    CHECK(feed(d, audio, n, 160, &det) == 0);
    nn_detector_free(d);
    {
        struct nn_model *m = make_model(1);

        /* Refused: the model stays the caller's. */
        CHECK(nn_detector_new(m, 1.5f, &d) == -EINVAL);
        nn_model_free(m);
    }

    /* Without the tone: nothing. Skipped samples move the clock on. */
    CHECK(nn_detector_new(make_model(3), NAN, &d) == 0);
    CHECK(feed(d, audio, RATE, 160, &det) == 0);
    nn_detector_skip(d, 12345);
    CHECK(feed(d, audio + RATE, n - RATE, 160, &det) >= 1);
    /* Afresh: frames from the tone's first sample, 3 for the context and 2
     * more for the trigger. */
    CHECKF(det.end == RATE + 12345 + 400 + 4 * 160, "%llu", (unsigned long long)det.end);
    CHECK(det.detected_at > det.end);
    nn_detector_free(d);
    nn_detector_free(NULL);
    free(audio);
    return check_status();
}
