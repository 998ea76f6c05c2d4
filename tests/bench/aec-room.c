/* aec-room: the echo canceller's benchmark room. Plays a far end (an answer,
 * already through a room's reverberation) into a microphone with a delay and
 * a clock drift, mixes in the user's speech and some noise, runs the
 * canceller (audio/aec.c) and measures it: ERLE on the far end alone, its
 * convergence time, and how much of the user's speech survives double talk.
 * tests/bench/bench-aec.sh drives it; see there for the figures.
 *
 * aec-room --backend speex|webrtc|off --far FAR.wav --ref REF.wav
 *          --near NEAR.wav [--delay-ms D] [--drift-ppm P] [--echo-db L]
 *          [--near-db L] [--noise-db L] [--out DIR] [--cost]
 *
 * FAR is what the microphone would hear of the answer (reverberated), REF
 * what hark plays (the dry answer), both 16 kHz mono and the same length;
 * NEAR the user's speech (silence elsewhere), as long or shorter. With --out,
 * writes DIR/mix.wav (what the microphone hears), DIR/out.wav (cancelled) and
 * DIR/near.wav (the user's speech alone, with the same noise). With --cost,
 * runs the double-talk pass only (for callgrind). Prints key=value lines. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>
#include <speex/speex_resampler.h>

#include "audio-aec.h"

#define RATE AUDIO_AEC_RATE
#define FRAME AUDIO_AEC_FRAME
#define WIN (RATE / 4) /* ERLE windows: 250 ms */

struct sig {
    double *s;
    size_t n;
};

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "aec-room: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static struct sig sig_new(size_t n)
{
    struct sig g = {.s = calloc(n ? n : 1, sizeof(double)), .n = n};
    if (!g.s) {
        die("out of memory", NULL);
    }
    return g;
}

static struct sig load(const char *path)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    struct sig g;

    if (!f) {
        die("cannot read", path);
    }
    if (info.samplerate != RATE || info.channels != 1) {
        die("not 16 kHz mono", path);
    }
    g = sig_new((size_t)info.frames);
    if (sf_read_double(f, g.s, (sf_count_t)g.n) != (sf_count_t)g.n) {
        die("short read", path);
    }
    sf_close(f);
    for (size_t i = 0; i < g.n; i++) {
        g.s[i] *= 32768.0;
    }
    return g;
}

static int16_t clip(double v)
{
    return (int16_t)lrint(v > 32767.0 ? 32767.0 : v < -32768.0 ? -32768.0 : v);
}

static void save(const char *dir, const char *name, const int16_t *s, size_t n)
{
    char path[4096];
    SF_INFO info = {.samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = sf_open(path, SFM_WRITE, &info);
    if (!f || sf_write_short(f, s, (sf_count_t)n) != (sf_count_t)n) {
        die("cannot write", path);
    }
    sf_close(f);
}

/* RMS in dBFS over the 50 ms blocks louder than -50 dBFS: speech's level
 * without its pauses. */
static double active_db(const struct sig *g)
{
    const size_t b = RATE / 20;
    double e = 0.0;
    size_t n = 0;

    for (size_t i = 0; i + b <= g->n; i += b) {
        double eb = 0.0;
        for (size_t j = i; j < i + b; j++) {
            eb += g->s[j] * g->s[j];
        }
        if (eb / (double)b > pow(10.0, -50.0 / 10.0) * 32768.0 * 32768.0) {
            e += eb;
            n += b;
        }
    }
    return n ? 10.0 * log10(e / (double)n / (32768.0 * 32768.0)) : -INFINITY;
}

static void set_level(struct sig *g, double db)
{
    double gain = pow(10.0, (db - active_db(g)) / 20.0);
    for (size_t i = 0; i < g->n; i++) {
        g->s[i] *= gain;
    }
}

/* The far end as the microphone's clock hears it: delayed, and played by a
 * clock drift_ppm slow (each of its samples lasts longer). */
static struct sig play(const struct sig *far, size_t n, double delay_ms, double drift_ppm)
{
    struct sig out = sig_new(n);
    size_t delay = (size_t)lround(delay_ms * RATE / 1000.0);
    int16_t *in16 = malloc(far->n * sizeof(int16_t));
    int16_t *out16 = calloc(n, sizeof(int16_t));
    int err = 0;
    SpeexResamplerState *rs = speex_resampler_init(1, RATE, RATE, 10, &err);
    spx_uint32_t in_len = (spx_uint32_t)far->n, out_len;

    if (!in16 || !out16 || !rs) {
        die("out of memory", NULL);
    }
    for (size_t i = 0; i < far->n; i++) {
        in16[i] = clip(far->s[i]);
    }
    out_len = (spx_uint32_t)(n > delay ? n - delay : 0);
    speex_resampler_set_rate_frac(rs, 1000000, (spx_uint32_t)lround(1e6 + drift_ppm), RATE, RATE);
    speex_resampler_skip_zeros(rs);
    speex_resampler_process_int(rs, 0, in16, &in_len, out16 + delay, &out_len);
    speex_resampler_destroy(rs);
    for (size_t i = 0; i < n; i++) {
        out.s[i] = out16[i];
    }
    free(in16);
    free(out16);
    return out;
}

/* Runs the canceller (or none) over mic with ref as what is played, given
 * 100 ms ahead of the capture as hark writes into the sink's buffer. */
static void cancel(enum audio_aec_backend backend, bool off, const int16_t *ref, const int16_t *mic,
                   size_t n, int16_t *out, struct audio_aec_stats *ret_stats)
{
    struct audio_aec *aec = NULL;
    struct audio_aec_params params = {.backend = backend, .max_delay_ms = 300};
    size_t given = 0;
    int r;

    if (off) {
        memcpy(out, mic, n * sizeof(*mic));
        *ret_stats = (struct audio_aec_stats){.erle_db = NAN, .delay_ms = NAN};
        return;
    }
    r = audio_aec_new(&params, &aec);
    if (r < 0) {
        die("audio_aec_new failed", strerror(-r));
    }
    for (size_t i = 0; i + FRAME <= n; i += FRAME) {
        size_t ahead = i + RATE / 10 < n ? i + RATE / 10 : n;
        if (ahead > given) {
            r = audio_aec_play(aec, given, ref + given, ahead - given);
            if (r < 0) {
                die("audio_aec_play failed", strerror(-r));
            }
            given = ahead;
        }
        r = audio_aec_process(aec, mic + i, FRAME, out + i);
        if (r < 0) {
            die("audio_aec_process failed", strerror(-r));
        }
    }
    audio_aec_get_stats(aec, ret_stats);
    audio_aec_free(aec);
}

static double win_energy(const int16_t *s, size_t from, size_t to)
{
    double e = 0.0;
    for (size_t i = from; i < to; i++) {
        e += (double)s[i] * s[i];
    }
    return e;
}

int main(int argc, char **argv)
{
    const char *backend_name = NULL, *far_path = NULL, *ref_path = NULL, *near_path = NULL;
    const char *out_dir = NULL;
    double delay_ms = 0.0, drift_ppm = 0.0, echo_db = -15.0, near_db = -25.0, noise_db = -65.0;
    bool cost = false, off = false;
    enum audio_aec_backend backend = AUDIO_AEC_SPEEX;
    struct audio_aec_stats st;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--cost") == 0) {
            cost = true;
            continue;
        }
        if (!v) {
            die("missing value of", a);
        }
        i++;
        if (strcmp(a, "--backend") == 0) {
            backend_name = v;
        } else if (strcmp(a, "--far") == 0) {
            far_path = v;
        } else if (strcmp(a, "--ref") == 0) {
            ref_path = v;
        } else if (strcmp(a, "--near") == 0) {
            near_path = v;
        } else if (strcmp(a, "--out") == 0) {
            out_dir = v;
        } else if (strcmp(a, "--delay-ms") == 0) {
            delay_ms = atof(v);
        } else if (strcmp(a, "--drift-ppm") == 0) {
            drift_ppm = atof(v);
        } else if (strcmp(a, "--echo-db") == 0) {
            echo_db = atof(v);
        } else if (strcmp(a, "--near-db") == 0) {
            near_db = atof(v);
        } else if (strcmp(a, "--noise-db") == 0) {
            noise_db = atof(v);
        } else {
            die("unknown option", a);
        }
    }
    if (!backend_name || !far_path || !ref_path || !near_path) {
        die("usage: aec-room --backend speex|webrtc|off --far F --ref R --near N [options]", NULL);
    }
    if (strcmp(backend_name, "off") == 0) {
        off = true;
    } else if (audio_aec_backend_from_string(backend_name, &backend) < 0) {
        die("unknown back end", backend_name);
    } else if (!audio_aec_backend_available(backend)) {
        die("back end not in this build", backend_name);
    }

    struct sig far = load(far_path), ref = load(ref_path), near = load(near_path);
    const size_t n = far.n / FRAME * FRAME;
    if (ref.n < n || near.n > far.n) {
        die("REF must be as long as FAR, NEAR not longer", NULL);
    }
    /* The echo's level is set on the dry answer's scale: the room's gain. */
    double room_gain = pow(10.0, (echo_db - active_db(&far)) / 20.0);
    for (size_t i = 0; i < far.n; i++) {
        far.s[i] *= room_gain;
    }
    set_level(&near, near_db);
    struct sig echo = play(&far, n, delay_ms, drift_ppm);
    int16_t *ref16 = malloc(n * sizeof(int16_t));
    int16_t *mic_far = malloc(n * sizeof(int16_t));  /* echo and noise */
    int16_t *mic = malloc(n * sizeof(int16_t));      /* echo, user and noise */
    int16_t *near16 = malloc(n * sizeof(int16_t));   /* user and noise */
    int16_t *out_far = malloc(n * sizeof(int16_t));
    int16_t *out = malloc(n * sizeof(int16_t));
    uint32_t rng = 4242;
    if (!ref16 || !mic_far || !mic || !near16 || !out_far || !out) {
        die("out of memory", NULL);
    }
    for (size_t i = 0; i < n; i++) {
        double u = 0.0, nearv = i < near.n ? near.s[i] : 0.0;
        for (int k = 0; k < 3; k++) { /* roughly Gaussian */
            rng = rng * 1664525u + 1013904223u;
            u += (double)(rng >> 8) / (double)(1u << 24) - 0.5;
        }
        double noise = u * 2.0 * 32768.0 * pow(10.0, noise_db / 20.0);
        ref16[i] = clip(ref.s[i]);
        mic_far[i] = clip(echo.s[i] + noise);
        mic[i] = clip(echo.s[i] + nearv + noise);
        near16[i] = clip(nearv + noise);
    }

    if (!cost) {
        /* ERLE: far end alone, 250 ms windows where the echo sounds. */
        double erle[4096];
        double win_t[4096];
        size_t nw = 0;
        double first_echo = -1.0;

        cancel(backend, off, ref16, mic_far, n, out_far, &st);
        for (size_t w = 0; w + WIN <= n && nw < 4096; w += WIN) {
            double e_echo = 0.0;
            for (size_t i = w; i < w + WIN; i++) {
                e_echo += echo.s[i] * echo.s[i];
            }
            /* Within 25 dB of the echo's level: an echo the window is about. */
            if (e_echo / WIN < pow(10.0, (echo_db - 25.0) / 10.0) * 32768.0 * 32768.0) {
                continue;
            }
            if (first_echo < 0.0) {
                first_echo = (double)w / RATE;
            }
            erle[nw] = 10.0 * log10((win_energy(mic_far, w, w + WIN) + 1.0) /
                                    (win_energy(out_far, w, w + WIN) + 1.0));
            win_t[nw++] = (double)w / RATE;
        }
        /* After convergence: the mean (in dB) over the second half of the
         * windows; convergence: the first second whose ERLE is within 3 dB
         * of that. */
        double final = 0.0;
        size_t half = nw / 2;
        for (size_t k = half; k < nw; k++) {
            final += erle[k];
        }
        final = nw > half ? final / (double)(nw - half) : NAN;
        double converge = NAN;
        for (size_t k = 0; k + 4 <= nw; k++) {
            /* The ERLE of the next second (four windows), energies summed. */
            double em = 0.0, eo = 0.0;
            for (size_t j = k; j < k + 4; j++) {
                size_t w = (size_t)lround(win_t[j] * RATE);
                em += win_energy(mic_far, w, w + WIN);
                eo += win_energy(out_far, w, w + WIN);
            }
            if (10.0 * log10((em + 1.0) / (eo + 1.0)) >= final - 3.0) {
                converge = win_t[k] - first_echo;
                break;
            }
        }
        printf("erle_db=%.1f\nconverge_s=%.2f\n", final, converge);
        printf("est_delay_ms=%.1f\nest_drift_ppm=%.0f\nreported_erle_db=%.1f\n", st.delay_ms,
               st.drift_ppm, st.erle_db);
    }

    /* Double talk: the user's speech in the output against the clean one. */
    cancel(backend, off, ref16, mic, n, out, &st);
    if (!cost) {
        double e_near = 0.0, e_err_in = 0.0, e_err_out = 0.0, dot = 0.0;
        const size_t b = RATE / 20;
        for (size_t i = 0; i + b <= n && i + b <= near.n; i += b) {
            double eb = 0.0;
            for (size_t j = i; j < i + b; j++) {
                eb += near.s[j] * near.s[j];
            }
            if (eb / (double)b < pow(10.0, (near_db - 15.0) / 10.0) * 32768.0 * 32768.0) {
                continue;
            }
            for (size_t j = i; j < i + b; j++) {
                e_near += (double)near16[j] * near16[j];
                e_err_in += ((double)mic[j] - near16[j]) * ((double)mic[j] - near16[j]);
                e_err_out += ((double)out[j] - near16[j]) * ((double)out[j] - near16[j]);
                dot += (double)out[j] * near16[j];
            }
        }
        printf("near_sdr_in_db=%.1f\nnear_sdr_out_db=%.1f\nnear_loss_db=%.1f\n",
               10.0 * log10(e_near / e_err_in), 10.0 * log10(e_near / e_err_out),
               -20.0 * log10(fabs(dot) / e_near));
    }
    if (out_dir) {
        save(out_dir, "mix.wav", mic, n);
        save(out_dir, "out.wav", out, n);
        save(out_dir, "near.wav", near16, n);
    }
    printf("seconds=%.2f\n", (double)n / RATE);
    free(ref16);
    free(mic_far);
    free(mic);
    free(near16);
    free(out_far);
    free(out);
    free(far.s);
    free(ref.s);
    free(near.s);
    free(echo.s);
    return 0;
}
