/* Tests for the Opus wrapper: synthetic voice and noise through the codec (SNR
 * after the codec delay, bytes/s), concealment, corrupt packets, bad arguments. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio-opus.h"

#include "check.h"

#define RATE 16000
#define SECONDS 5
#define N_SAMPLES (RATE * SECONDS)
#define N_FRAMES (N_SAMPLES / AUDIO_OPUS_FRAME)
/* Opus at 16 kHz delays by its 2.5 ms lookahead plus 4 ms of delay
 * compensation: 104 samples. The search allows for far more. */
#define MAX_LAG 480
/* The first frames are the codec settling in; they are not scored. */
#define SKIP (RATE / 10)

static const double pi = 3.14159265358979323846;

/* A voice-like signal: a glottal pitch gliding between 100 and 180 Hz, its
 * harmonics up to 4 kHz shaped by two formants, in syllables (3 a second)
 * with a short pause every second. */
static void make_voiced(int16_t *out)
{
    double phase = 0;

    for (int i = 0; i < N_SAMPLES; i++) {
        double t = (double)i / RATE;
        double f0 = 140 + 40 * sin(2 * pi * 0.7 * t);
        double env = 0.5 - 0.5 * cos(2 * pi * 3 * t);
        double v = 0;

        phase += 2 * pi * f0 / RATE;
        for (int k = 1; k * f0 < 4000; k++) {
            double f = k * f0;
            double a = (1.0 / k) *
                       (1 + 3 * exp(-pow((f - 600) / 250, 2)) + 2 * exp(-pow((f - 1700) / 300, 2)));

            v += a * sin(k * phase);
        }
        if (fmod(t, 1.0) > 0.85) {
            env = 0;
        }
        out[i] = (int16_t)lrint(2500 * env * v);
    }
}

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Near-Gaussian white noise (a sum of four uniforms), RMS about 2000. */
static void make_noise(int16_t *out)
{
    uint32_t state = 12345;

    for (int i = 0; i < N_SAMPLES; i++) {
        double s = 0;

        for (int k = 0; k < 4; k++) {
            s += (double)next_random(&state) / 4294967296.0 - 0.5;
        }
        out[i] = (int16_t)lrint(s * 2000 / 0.5774);
    }
}

struct result {
    int lag;
    double corr; /* normalised, at the lag */
    double snr_db;
    double level_db; /* output energy over input energy */
    double bytes_per_s;
    bool constant_size;
};

static double dot(const int16_t *a, const int16_t *b, int n)
{
    double s = 0;

    for (int i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

static struct result code(const int16_t *in, int bitrate, int complexity)
{
    struct audio_opus_encoder *enc = NULL;
    struct audio_opus_decoder *dec = NULL;
    struct result res = {.lag = -1, .constant_size = true};
    int16_t *out = calloc(N_SAMPLES, sizeof(*out));
    size_t bytes = 0;
    ssize_t first_len = -1;
    double best = -1e300;
    double err = 0;
    int n;

    CHECK(out != NULL);
    CHECK(audio_opus_encoder_new(bitrate, complexity, &enc) == 0);
    CHECK(audio_opus_decoder_new(&dec) == 0);
    if (!out || !enc || !dec) {
        goto cleanup;
    }
    for (int f = 0; f < N_FRAMES; f++) {
        uint8_t packet[1500];
        ssize_t len = audio_opus_encode(enc, in + f * AUDIO_OPUS_FRAME, packet, sizeof(packet));
        ssize_t got;

        CHECKF(len > 0, "encode: %zd", len);
        if (len <= 0) {
            goto cleanup;
        }
        if (first_len < 0) {
            first_len = len;
        }
        res.constant_size = res.constant_size && len == first_len;
        bytes += (size_t)len;
        got = audio_opus_decode(dec, packet, (size_t)len, out + f * AUDIO_OPUS_FRAME,
                                AUDIO_OPUS_FRAME);
        CHECKF(got == AUDIO_OPUS_FRAME, "decode: %zd", got);
    }
    res.bytes_per_s = (double)bytes / SECONDS;

    /* The lag at which the output best matches the input. */
    n = N_SAMPLES - MAX_LAG - SKIP;
    for (int lag = 0; lag <= MAX_LAG; lag++) {
        double c = dot(in + SKIP, out + SKIP + lag, n);

        if (c > best) {
            best = c;
            res.lag = lag;
        }
    }
    res.corr = best / sqrt(dot(in + SKIP, in + SKIP, n) *
                           dot(out + SKIP + res.lag, out + SKIP + res.lag, n));
    for (int i = SKIP; i < SKIP + n; i++) {
        double d = (double)in[i] - out[i + res.lag];

        err += d * d;
    }
    res.snr_db = 10 * log10(dot(in + SKIP, in + SKIP, n) / (err > 0 ? err : 1e-9));
    res.level_db = 10 * log10(dot(out + SKIP + res.lag, out + SKIP + res.lag, n) /
                              dot(in + SKIP, in + SKIP, n));
cleanup:
    audio_opus_encoder_free(enc);
    audio_opus_decoder_free(dec);
    free(out);
    return res;
}

static void test_quality(void)
{
    static const struct {
        int bitrate;
        int complexity;
        double min_snr_db; /* voiced */
        double min_corr;   /* voiced */
    } cases[] = {
        {24000, 5, 7.0, 0.90}, {6000, 5, 5.0, 0.85},   {64000, 5, 7.0, 0.90},
        {24000, 0, 7.0, 0.90}, {24000, 10, 7.0, 0.90},
    };
    /* The waveform SNR of the voiced signal stays near 8.5 dB at any bitrate
     * and complexity: OPUS_APPLICATION_VOIP runs the input through a high-pass
     * filter whose cutoff follows the pitch (60 to 100 Hz), and its phase
     * shift on a 100 to 180 Hz fundamental and its first harmonics dominates
     * the error: OPUS_APPLICATION_AUDIO, which only removes DC, gives 31 dB on
     * the same signal at 24 kbit/s, while VOIP with CELT forced still gives
     * 8.7 dB. Speech recognition works on magnitude spectra and does not see
     * that phase. The bounds are there to catch a broken path (a wrong rate,
     * channel count, byte order or alignment gives about 0 dB and no
     * correlation), not to grade Opus. */
    int16_t *voiced = calloc(N_SAMPLES, sizeof(*voiced));
    int16_t *noise = calloc(N_SAMPLES, sizeof(*noise));

    if (!voiced || !noise) {
        abort();
    }
    make_voiced(voiced);
    make_noise(noise);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct result v = code(voiced, cases[i].bitrate, cases[i].complexity);
        struct result z = code(noise, cases[i].bitrate, cases[i].complexity);
        double cbr = cases[i].bitrate / 8.0;

        printf("opus %2d kbit/s complexity %2d: voiced: lag %d, corr %.4f, SNR %5.2f dB, "
               "%.0f B/s; noise: corr %.3f, SNR %5.2f dB, level %+.1f dB, %.0f B/s\n",
               cases[i].bitrate / 1000, cases[i].complexity, v.lag, v.corr, v.snr_db, v.bytes_per_s,
               z.corr, z.snr_db, z.level_db, z.bytes_per_s);
        /* The codec delay at 16 kHz is 6.5 ms, give or take a sample. */
        CHECKF(v.lag >= 100 && v.lag <= 108, "voiced lag %d", v.lag);
        CHECKF(v.snr_db >= cases[i].min_snr_db, "voiced SNR %.2f dB", v.snr_db);
        CHECKF(v.corr >= cases[i].min_corr, "voiced correlation %.4f", v.corr);
        /* Noise is coded by its spectrum, not its waveform: what must hold is
         * that it comes out about as loud as it went in (a little less: SILK
         * shapes it, and at 6 kbit/s it is cut to narrowband, 4 kHz). */
        CHECKF(z.level_db > -8.0 && z.level_db < 2.0, "noise level %+.1f dB", z.level_db);
        /* Hard CBR: every packet as long as the bitrate says, for any input. */
        CHECK(v.constant_size && z.constant_size);
        CHECKF(fabs(v.bytes_per_s - cbr) < 1 && fabs(z.bytes_per_s - cbr) < 1,
               "%.0f and %.0f B/s, expected %.0f", v.bytes_per_s, z.bytes_per_s, cbr);
        if (cases[i].bitrate == 24000) {
            CHECK(v.bytes_per_s <= 3000 && z.bytes_per_s <= 3000);
        }
    }
    free(voiced);
    free(noise);
}

static void test_decoder_edges(void)
{
    struct audio_opus_encoder *enc = NULL;
    struct audio_opus_decoder *dec = NULL;
    static const uint8_t corrupt[][4] = {
        /* code 3, frame count 0 */
        {0x03, 0x00},
        /* code 1 (two equal frames) with an odd length left */
        {0x01, 0xAA},
        /* code 2: the first frame's length runs past the end */
        {0x02, 0xFB, 0x00},
        /* code 3, 49 frames: more than 120 ms */
        {0x03, 0x31, 0x00},
    };
    static const size_t corrupt_len[] = {2, 2, 3, 3};
    int16_t pcm[AUDIO_OPUS_FRAME * 6];
    int16_t in[AUDIO_OPUS_FRAME];
    uint8_t packet[400];
    ssize_t len;

    CHECK(audio_opus_encoder_new(24000, 5, &enc) == 0);
    CHECK(audio_opus_decoder_new(&dec) == 0);
    if (!enc || !dec) {
        goto cleanup;
    }

    /* Concealment before anything was decoded, and after. */
    CHECK(audio_opus_decode(dec, NULL, 0, pcm, AUDIO_OPUS_FRAME) == AUDIO_OPUS_FRAME);
    for (int i = 0; i < AUDIO_OPUS_FRAME; i++) {
        in[i] = (int16_t)lrint(8000 * sin(2 * pi * 440 * i / RATE));
    }
    for (int f = 0; f < 10; f++) {
        len = audio_opus_encode(enc, in, packet, sizeof(packet));
        CHECK(len == 60);
        CHECK(audio_opus_decode(dec, packet, (size_t)len, pcm, sizeof(pcm) / sizeof(pcm[0])) ==
              AUDIO_OPUS_FRAME);
    }
    CHECK(audio_opus_decode(dec, NULL, 0, pcm, sizeof(pcm) / sizeof(pcm[0])) == AUDIO_OPUS_FRAME);
    {
        double e = 0;

        for (int i = 0; i < AUDIO_OPUS_FRAME; i++) {
            e += (double)pcm[i] * pcm[i];
        }
        /* It continues the tone rather than going silent. */
        printf("concealment: RMS %.0f after a tone of RMS %.0f\n", sqrt(e / AUDIO_OPUS_FRAME),
               8000 / sqrt(2));
        CHECK(e > 0);
    }
    CHECK(audio_opus_decode(dec, NULL, 0, pcm, AUDIO_OPUS_FRAME - 1) == -ENOBUFS);

    /* Corrupt packets. */
    for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        ssize_t r =
            audio_opus_decode(dec, corrupt[i], corrupt_len[i], pcm, sizeof(pcm) / sizeof(pcm[0]));

        CHECKF(r == -EBADMSG, "corrupt packet %zu: %zd", i, r);
        /* Also when pcm would be too small for a sound packet. */
        r = audio_opus_decode(dec, corrupt[i], corrupt_len[i], pcm, 10);
        CHECKF(r == -EBADMSG, "corrupt packet %zu into a small buffer: %zd", i, r);
    }
    CHECK(audio_opus_decode(dec, packet, 0, pcm, AUDIO_OPUS_FRAME) == -EBADMSG);
    /* A sound packet that does not fit. */
    len = audio_opus_encode(enc, in, packet, sizeof(packet));
    CHECK(len > 0);
    CHECK(audio_opus_decode(dec, packet, (size_t)len, pcm, AUDIO_OPUS_FRAME / 2) == -ENOBUFS);
    /* The decoder recovers after all that. */
    CHECK(audio_opus_decode(dec, packet, (size_t)len, pcm, AUDIO_OPUS_FRAME) == AUDIO_OPUS_FRAME);

    /* Arguments. */
    CHECK(audio_opus_encode(enc, in, packet, 0) == -EINVAL);
    CHECK(audio_opus_encode(enc, NULL, packet, sizeof(packet)) == -EINVAL);
    CHECK(audio_opus_encode(enc, in, NULL, sizeof(packet)) == -EINVAL);
    CHECK(audio_opus_decode(dec, packet, (size_t)len, NULL, AUDIO_OPUS_FRAME) == -EINVAL);

cleanup:
    audio_opus_encoder_free(enc);
    audio_opus_decoder_free(dec);
}

static void test_ranges(void)
{
    static const struct {
        int bitrate;
        int complexity;
        bool ok;
    } cases[] = {
        {6000, 0, true},    {64000, 10, true},  {24000, 5, true},   {5999, 5, false},
        {64001, 5, false},  {0, 5, false},      {-24000, 5, false}, {24000, -1, false},
        {24000, 11, false}, {500000, 5, false},
    };
    static char sentinel;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct audio_opus_encoder *enc = (struct audio_opus_encoder *)&sentinel;
        int r = audio_opus_encoder_new(cases[i].bitrate, cases[i].complexity, &enc);

        if (cases[i].ok) {
            CHECKF(r == 0, "bitrate %d complexity %d: %d", cases[i].bitrate, cases[i].complexity,
                   r);
            audio_opus_encoder_free(enc);
        } else {
            CHECKF(r == -EINVAL, "bitrate %d complexity %d: %d", cases[i].bitrate,
                   cases[i].complexity, r);
            /* Not written on failure. */
            CHECK(enc == (struct audio_opus_encoder *)&sentinel);
        }
    }
    CHECK(audio_opus_encoder_new(24000, 5, NULL) == -EINVAL);
    CHECK(audio_opus_decoder_new(NULL) == -EINVAL);
    audio_opus_encoder_free(NULL);
    audio_opus_decoder_free(NULL);
}

int main(void)
{
    test_quality();
    test_decoder_edges();
    test_ranges();
    return check_status();
}
