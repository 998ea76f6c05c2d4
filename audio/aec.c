/* The echo canceller's front: keeps the reference by position, finds the echo's
 * delay by cross-correlation (GCC-PHAT), follows the clock drift from how that
 * delay moves, aligns the reference to the microphone by reading it at
 * fractional positions (windowed-sinc interpolation) and hands both to a back
 * end (aec-speex.c, aec-webrtc.cc).
 *
 * Why estimate the delay rather than give the filter a long enough tail: the
 * delay is tens to hundreds of ms (sound server, device buffers), the room's
 * tail a few hundred. A filter spanning 500 ms of delay as well would cost
 * twice as much per frame and adapt twice as slowly (an NLMS filter converges in
 * proportion to its length), missing the 1 s target; WebRTC's filter cannot be
 * made that long at all. One correlation a second costs less than the filter.
 *
 * Why read the reference at fractional positions rather than resample it with
 * speexdsp's resampler: the delay tracking says which reference position each
 * microphone sample hears; an interpolator reads exactly there, with no state,
 * while a streaming resampler's position must be inferred from what it has
 * consumed, and each change of its ratio rebuilds its filter. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aec-internal.h"
#include "audio-aec.h"

/* Reference and microphone history, in samples: a power of two above the
 * longest look back (window + delay + resampler) and look ahead. */
#define HIST 65536
#define HIST_MASK (HIST - 1)
/* The correlation runs at 8 kHz (speech's energy is below 4 kHz) over a
 * window of 1.024 s of the microphone. */
#define DECIM 2
#define WIN 16384
#define WIN_D (WIN / DECIM)
#define FFT_N 16384
/* The search starts this much before the position: a reference given a little
 * late must still be found. */
#define EARLY (20 * AUDIO_AEC_RATE / 1000)
/* The back end's filter sees the reference this much ahead of the echo's
 * direct path, so that an estimate a few samples late still leaves the
 * echo causal. */
#define LEAD (4 * AUDIO_AEC_RATE / 1000)
/* Measurements: every 250 ms until the delay is known, then every second. */
#define HOP_SEARCH (AUDIO_AEC_RATE / 4)
#define HOP_LOCKED AUDIO_AEC_RATE
/* A measurement within this of the prediction follows it (drift); two in a
 * row that agree with each other but not with it move the delay (a new path). */
#define AGREE 24.0
#define FIT_MAX 32
/* The interpolator: TAPS-tap windowed sinc at PHASES fractional positions
 * (a timing error of at most 1/256 sample: -44 dB at 4 kHz). */
#define TAPS 16
#define PHASES 128

struct aec_fit {
    double c;   /* capture position of the window's centre */
    double lag; /* echo delay measured there, in samples */
};

struct audio_aec {
    enum audio_aec_backend backend_kind;
    const struct aec_backend_ops *ops;
    struct aec_backend *backend;
    unsigned max_delay; /* samples */

    /* The reference by position (zero where nothing was given) and the
     * microphone by capture position. */
    int16_t ref[HIST];
    int16_t mic[HIST];
    uint64_t ref_end; /* one past the last reference sample given */
    uint64_t pos;     /* capture position: samples processed */

    /* Delay tracking: lag(c) = lag + drift * (c - lag_c). */
    bool locked;
    double lag, lag_c, drift;
    struct aec_fit fit[FIT_MAX];
    size_t fit_n;
    bool have_outlier;
    double outlier;
    uint64_t next_estimate;
    uint64_t estimates;


    /* Statistics. */
    double e_mic, e_out;
    bool have_erle;

    /* GCC-PHAT work space, the interpolator's table. */
    float *fre, *fim, *cs, *sn;
    float sinc[PHASES + 1][TAPS];
};

static const struct aec_backend_ops *backend_ops(enum audio_aec_backend backend)
{
    switch (backend) {
    case AUDIO_AEC_SPEEX:
        return &aec_speex_ops;
    case AUDIO_AEC_WEBRTC:
#ifdef HARK_HAVE_WEBRTC_AEC
        return &aec_webrtc_ops;
#else
        return NULL;
#endif
    }
    return NULL;
}

bool audio_aec_backend_available(enum audio_aec_backend backend)
{
    return backend_ops(backend) != NULL;
}

const char *audio_aec_backend_to_string(enum audio_aec_backend backend)
{
    switch (backend) {
    case AUDIO_AEC_SPEEX:
        return "speex";
    case AUDIO_AEC_WEBRTC:
        return "webrtc";
    }
    return "?";
}

int audio_aec_backend_from_string(const char *s, enum audio_aec_backend *ret_backend)
{
    if (!s || !ret_backend) {
        return -EINVAL;
    }
    if (strcmp(s, "speex") == 0) {
        *ret_backend = AUDIO_AEC_SPEEX;
    } else if (strcmp(s, "webrtc") == 0) {
        *ret_backend = AUDIO_AEC_WEBRTC;
    } else {
        return -EINVAL;
    }
    return 0;
}

void audio_aec_free(struct audio_aec *aec)
{
    if (!aec) {
        return;
    }
    if (aec->backend) {
        aec->ops->destroy(aec->backend);
    }
    free(aec->fre);
    free(aec->fim);
    free(aec->cs);
    free(aec->sn);
    free(aec);
}

int audio_aec_new(const struct audio_aec_params *params, struct audio_aec **ret_aec)
{
    struct audio_aec *aec = NULL;
    unsigned max_delay_ms, tail_ms;
    int r;

    if (!params || !ret_aec) {
        return -EINVAL;
    }
    max_delay_ms = params->max_delay_ms ? params->max_delay_ms : 300;
    tail_ms = params->tail_ms ? params->tail_ms : 320;
    if (max_delay_ms > AUDIO_AEC_MAX_DELAY_MS || tail_ms < 10 || tail_ms > AUDIO_AEC_MAX_TAIL_MS) {
        return -EINVAL;
    }
    if (params->backend != AUDIO_AEC_SPEEX && params->backend != AUDIO_AEC_WEBRTC) {
        return -EINVAL;
    }
    if (!backend_ops(params->backend)) {
        return -EOPNOTSUPP;
    }
    aec = calloc(1, sizeof(*aec));
    if (!aec) {
        return -ENOMEM;
    }
    aec->backend_kind = params->backend;
    aec->ops = backend_ops(params->backend);
    aec->max_delay = max_delay_ms * AUDIO_AEC_RATE / 1000;
    aec->fre = calloc(FFT_N, sizeof(float));
    aec->fim = calloc(FFT_N, sizeof(float));
    aec->cs = calloc(FFT_N / 2, sizeof(float));
    aec->sn = calloc(FFT_N / 2, sizeof(float));
    if (!aec->fre || !aec->fim || !aec->cs || !aec->sn) {
        r = -ENOMEM;
        goto cleanup;
    }
    for (size_t k = 0; k < FFT_N / 2; k++) {
        aec->cs[k] = (float)cos(2.0 * M_PI * (double)k / FFT_N);
        aec->sn[k] = (float)-sin(2.0 * M_PI * (double)k / FFT_N);
    }
    /* Tap j of phase f weighs the sample at offset j - TAPS/2 + 1 for a read
     * f/PHASES past a sample; cut off a little below Nyquist. */
    for (size_t f = 0; f <= PHASES; f++) {
        for (size_t j = 0; j < TAPS; j++) {
            double x = (double)j - (TAPS / 2 - 1) - (double)f / PHASES;
            double w = 0.5 + 0.5 * cos(M_PI * x / (TAPS / 2));
            double y = 0.95 * M_PI * x;
            aec->sinc[f][j] = (float)(0.95 * w * (fabs(y) < 1e-9 ? 1.0 : sin(y) / y));
        }
    }
    r = aec->ops->create(tail_ms * AUDIO_AEC_RATE / 1000, &aec->backend);
    if (r < 0) {
        goto cleanup;
    }
    aec->next_estimate = HOP_SEARCH;
    *ret_aec = aec;
    aec = NULL;
    r = 0;
cleanup:
    audio_aec_free(aec);
    return r;
}

uint64_t audio_aec_position(const struct audio_aec *aec)
{
    return aec->pos;
}

int audio_aec_play(struct audio_aec *aec, uint64_t position, const int16_t *samples, size_t n)
{
    if (!aec || (!samples && n > 0) || position < aec->ref_end) {
        return -EINVAL;
    }
    if (position + n > aec->pos + (uint64_t)AUDIO_AEC_MAX_AHEAD_MS * AUDIO_AEC_RATE / 1000) {
        return -ENOBUFS;
    }
    /* A gap is silence: clear what an older lap of the ring left there. */
    for (uint64_t p = aec->ref_end; p < position; p++) {
        aec->ref[p & HIST_MASK] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        aec->ref[(position + i) & HIST_MASK] = samples[i];
    }
    aec->ref_end = position + n;
    return 0;
}

/* The reference at position p, silence where none was given (yet). Positions
 * older than the ring are never asked for: the delay is bounded. */
static int16_t ref_at(const struct audio_aec *aec, int64_t p)
{
    if (p < 0 || (uint64_t)p >= aec->ref_end || (uint64_t)p + HIST <= aec->ref_end) {
        return 0;
    }
    return aec->ref[(uint64_t)p & HIST_MASK];
}

/* In-place radix-2 FFT of FFT_N points; inverse when inv. */
static void fft(const struct audio_aec *aec, float *re, float *im, bool inv)
{
    for (size_t i = 1, j = 0; i < FFT_N; i++) {
        size_t bit = FFT_N >> 1;
        for (; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j |= bit;
        if (i < j) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (size_t len = 2; len <= FFT_N; len <<= 1) {
        size_t step = FFT_N / len;
        for (size_t i = 0; i < FFT_N; i += len) {
            for (size_t k = 0; k < len / 2; k++) {
                float wr = aec->cs[k * step];
                float wi = inv ? -aec->sn[k * step] : aec->sn[k * step];
                size_t a = i + k, b = i + k + len / 2;
                float xr = re[b] * wr - im[b] * wi;
                float xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
    }
}

/* One GCC-PHAT measurement of the delay over the last WIN samples of the
 * microphone. Returns true with the lag (samples) when the peak stands out. */
static bool measure(struct audio_aec *aec, double *ret_lag)
{
    float *re = aec->fre, *im = aec->fim;
    const int64_t lo = -EARLY;
    const int64_t hi = (int64_t)aec->max_delay + EARLY;
    const int64_t start = (int64_t)aec->pos - WIN; /* first mic sample */
    const size_t range_d = (size_t)(hi - lo) / DECIM;
    double e_ref = 0.0, e_mic = 0.0;
    double peak = 0.0, sum2 = 0.0;
    size_t best = 0;

    /* Packed: the reference segment (from start - hi on) in the real part,
     * the microphone window in the imaginary part, both at 8 kHz. */
    for (size_t j = 0; j < FFT_N; j++) {
        re[j] = 0.0f;
        im[j] = 0.0f;
        if (j < WIN_D + range_d) {
            int64_t p = start - hi + (int64_t)j * DECIM;
            re[j] = (float)ref_at(aec, p) + (float)ref_at(aec, p + 1);
            e_ref += (double)re[j] * re[j];
        }
        if (j < WIN_D) {
            int64_t c = start + (int64_t)j * DECIM;
            im[j] = (float)aec->mic[(uint64_t)c & HIST_MASK] +
                    (float)aec->mic[(uint64_t)(c + 1) & HIST_MASK];
            e_mic += (double)im[j] * im[j];
        }
    }
    aec->estimates++;
    /* Too quiet to say anything: about -50 dBFS on average. */
    if (e_ref < (double)WIN_D * 400.0 || e_mic < (double)WIN_D * 40.0) {
        return false;
    }
    fft(aec, re, im, false);
    /* Split the two spectra, cross-spectrum R * conj(M), phase only. */
    for (size_t k = 0; k <= FFT_N / 2; k++) {
        size_t nk = (FFT_N - k) & (FFT_N - 1);
        float zr = re[k], zi = im[k], wr = re[nk], wi = im[nk];
        float rr = 0.5f * (zr + wr), ri = 0.5f * (zi - wi);   /* reference */
        float mr = 0.5f * (zi + wi), mi = -0.5f * (zr - wr);  /* microphone */
        float cr = rr * mr + ri * mi, ci = ri * mr - rr * mi; /* R * conj(M) */
        float mag = sqrtf(cr * cr + ci * ci) + 1e-3f;
        re[k] = cr / mag;
        im[k] = ci / mag;
        re[nk] = re[k];
        im[nk] = -im[k];
    }
    fft(aec, re, im, true);
    /* re[s]: correlation of the reference shifted by s against the window;
     * the lag is hi - s*DECIM. */
    for (size_t s = 0; s <= range_d; s++) {
        double v = re[s];
        sum2 += v * v;
        if (v > peak) {
            peak = v;
            best = s;
        }
    }
    /* A real echo stands far above the correlation of unrelated sounds. */
    if (peak * peak < 40.0 * sum2 / (double)(range_d + 1)) {
        return false;
    }
    double off = 0.0;
    if (best > 0 && best < range_d) {
        double a = re[best - 1], b = re[best], c = re[best + 1];
        double den = a - 2.0 * b + c;
        if (den < 0.0) {
            off = 0.5 * (a - c) / den;
        }
    }
    *ret_lag = (double)hi - ((double)best + off) * DECIM;
    return true;
}

/* Least squares over the kept measurements: the delay's slope is the drift. */
static void refit(struct audio_aec *aec)
{
    double mc = 0.0, ml = 0.0, scc = 0.0, scl = 0.0;
    double n = (double)aec->fit_n;

    for (size_t i = 0; i < aec->fit_n; i++) {
        mc += aec->fit[i].c;
        ml += aec->fit[i].lag;
    }
    mc /= n;
    ml /= n;
    for (size_t i = 0; i < aec->fit_n; i++) {
        double dc = aec->fit[i].c - mc;
        scc += dc * dc;
        scl += dc * (aec->fit[i].lag - ml);
    }
    /* Two seconds apart before a slope means anything. */
    if (aec->fit_n >= 3 && aec->fit[aec->fit_n - 1].c - aec->fit[0].c >= 2.0 * AUDIO_AEC_RATE) {
        aec->drift = scl / scc;
        /* Clocks of real devices are not off by more than 0.1 %. */
        if (aec->drift > 1e-3) {
            aec->drift = 1e-3;
        } else if (aec->drift < -1e-3) {
            aec->drift = -1e-3;
        }
    }
    aec->lag = ml;
    aec->lag_c = mc;
}

static void relock(struct audio_aec *aec, double c, double lag)
{
    aec->locked = true;
    aec->lag = lag;
    aec->lag_c = c;
    aec->fit[0] = (struct aec_fit){.c = c, .lag = lag};
    aec->fit_n = 1;
    aec->have_outlier = false;
}

static void track(struct audio_aec *aec)
{
    double c = (double)aec->pos - WIN / 2.0;
    double lag;

    if (!measure(aec, &lag)) {
        return;
    }
    if (!aec->locked) {
        relock(aec, c, lag);
        aec->drift = 0.0;
        return;
    }
    if (fabs(lag - (aec->lag + aec->drift * (c - aec->lag_c))) <= AGREE) {
        if (aec->fit_n == FIT_MAX) {
            memmove(aec->fit, aec->fit + 1, (FIT_MAX - 1) * sizeof(aec->fit[0]));
            aec->fit_n--;
        }
        aec->fit[aec->fit_n++] = (struct aec_fit){.c = c, .lag = lag};
        aec->have_outlier = false;
        refit(aec);
        return;
    }
    /* The path changed (or one measurement was wrong): move on the second. */
    if (aec->have_outlier && fabs(lag - aec->outlier) <= AGREE) {
        relock(aec, c, lag);
        return;
    }
    aec->have_outlier = true;
    aec->outlier = lag;
}

/* The frame of reference aligned to the microphone frame at the capture
 * position: sample c reads the reference at c - lag(c) + LEAD. */
static void align(const struct audio_aec *aec, int16_t *out)
{
    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        double c = (double)(aec->pos + i);
        double p = aec->locked ? c - (aec->lag + aec->drift * (c - aec->lag_c)) + LEAD : c;
        double base = floor(p);
        size_t f = (size_t)lround((p - base) * PHASES);
        int64_t first = (int64_t)base - (TAPS / 2 - 1);
        float acc = 0.0f;

        for (size_t j = 0; j < TAPS; j++) {
            acc += aec->sinc[f][j] * (float)ref_at(aec, first + (int64_t)j);
        }
        out[i] = (int16_t)(acc > 32767.0f ? 32767.0f : acc < -32768.0f ? -32768.0f : acc);
    }
}

int audio_aec_process(struct audio_aec *aec, const int16_t *mic, size_t n, int16_t *out)
{
    int16_t ref[AUDIO_AEC_FRAME];
    int16_t in[AUDIO_AEC_FRAME];
    double e_ref = 0.0, e_mic = 0.0, e_out = 0.0;
    int r;

    if (!aec || !mic || !out || n != AUDIO_AEC_FRAME) {
        return -EINVAL;
    }
    memcpy(in, mic, sizeof(in));
    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        aec->mic[(aec->pos + i) & HIST_MASK] = in[i];
    }
    align(aec, ref);
    r = aec->ops->process(aec->backend, in, ref, out);
    if (r < 0) {
        memcpy(out, in, sizeof(in));
    }
    aec->pos += AUDIO_AEC_FRAME;
    if (aec->pos >= aec->next_estimate) {
        track(aec);
        aec->next_estimate = aec->pos + (aec->locked ? HOP_LOCKED : HOP_SEARCH);
    }
    for (size_t i = 0; i < AUDIO_AEC_FRAME; i++) {
        e_ref += (double)ref[i] * ref[i];
        e_mic += (double)in[i] * in[i];
        e_out += (double)out[i] * out[i];
    }
    /* About -50 dBFS: a reference that can leave an echo. */
    if (e_ref > AUDIO_AEC_FRAME * 100.0) {
        const double a = 0.01; /* 100 frames: about a second */
        aec->e_mic = aec->have_erle ? (1.0 - a) * aec->e_mic + a * e_mic : e_mic;
        aec->e_out = aec->have_erle ? (1.0 - a) * aec->e_out + a * e_out : e_out;
        aec->have_erle = true;
    }
    return r < 0 ? r : 0;
}

void audio_aec_get_stats(const struct audio_aec *aec, struct audio_aec_stats *ret_stats)
{
    *ret_stats = (struct audio_aec_stats){
        .locked = aec->locked,
        .delay_ms = aec->locked ? (aec->lag + aec->drift * ((double)aec->pos - aec->lag_c)) *
                                      1000.0 / AUDIO_AEC_RATE
                                : NAN,
        .drift_ppm = aec->drift * 1e6,
        .erle_db = aec->have_erle ? 10.0 * log10((aec->e_mic + 1.0) / (aec->e_out + 1.0)) : NAN,
        .estimates = aec->estimates,
    };
}
