/* Log-mel features: Hann window, radix-2 FFT, power spectrum, triangular
 * mel filters (HTK mel scale), natural log with a floor. Samples are scaled
 * to [-1, 1). Every table is made once, in nn_mel_new. */
#include "nn-mel.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nn_mel {
    struct nn_features f;
    uint32_t fill;        /* samples in buf */
    float *buf;           /* win samples: the frame being filled */
    float *window;        /* Hann, win */
    float *re, *im;       /* n_fft */
    float *cos_t, *sin_t; /* twiddles, n_fft / 2 */
    uint32_t *bitrev;     /* n_fft */
    float *power;         /* n_fft / 2 + 1 */
    uint32_t *band_start, *band_len; /* per mel band, in bins */
    float *band_w;        /* the bands' weights, one after another */
};

static double hz_to_mel(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

static double mel_to_hz(double mel)
{
    return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

static int make_bands(struct nn_mel *m)
{
    uint32_t bins = m->f.n_fft / 2 + 1, total = 0;
    double lo = hz_to_mel(m->f.fmin), hi = hz_to_mel(m->f.fmax);
    double bin_hz = (double)m->f.sample_rate / m->f.n_fft;

    m->band_start = calloc(m->f.n_mels, sizeof(uint32_t));
    m->band_len = calloc(m->f.n_mels, sizeof(uint32_t));
    m->band_w = calloc((size_t)m->f.n_mels * bins, sizeof(float));
    if (!m->band_start || !m->band_len || !m->band_w) {
        return -ENOMEM;
    }
    for (uint32_t b = 0; b < m->f.n_mels; b++) {
        double left = mel_to_hz(lo + (hi - lo) * b / (m->f.n_mels + 1));
        double centre = mel_to_hz(lo + (hi - lo) * (b + 1) / (m->f.n_mels + 1));
        double right = mel_to_hz(lo + (hi - lo) * (b + 2) / (m->f.n_mels + 1));
        uint32_t first = bins, last = 0;

        for (uint32_t k = 0; k < bins; k++) {
            double hz = k * bin_hz, w;

            if (hz <= left || hz >= right) {
                continue;
            }
            w = hz < centre ? (hz - left) / (centre - left) : (right - hz) / (right - centre);
            if (first == bins) {
                first = k;
            }
            last = k;
            m->band_w[total + (k - first)] = (float)w;
        }
        if (first == bins) {
            /* A band narrower than a bin: the nearest bin, whole. */
            first = last = (uint32_t)lrint(centre / bin_hz);
            if (first >= bins) {
                first = last = bins - 1;
            }
            m->band_w[total] = 1.0f;
        }
        m->band_start[b] = first;
        m->band_len[b] = last - first + 1;
        total += m->band_len[b];
    }
    return 0;
}

int nn_mel_new(const struct nn_features *f, struct nn_mel **ret_mel)
{
    struct nn_mel *m;
    uint32_t bits = 0;
    int r = -ENOMEM;

    if (f->n_fft < NN_FFT_MIN || f->n_fft > NN_FFT_MAX || (f->n_fft & (f->n_fft - 1)) ||
        f->win < 1 || f->win > f->n_fft || f->hop < 1 || f->hop > f->win || f->n_mels < 1 ||
        f->n_mels > NN_MELS_MAX || !(f->fmax > f->fmin) || !(f->log_floor > 0.0f)) {
        return -EINVAL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        return -ENOMEM;
    }
    m->f = *f;
    m->buf = calloc(f->win, sizeof(float));
    m->window = calloc(f->win, sizeof(float));
    m->re = calloc(f->n_fft, sizeof(float));
    m->im = calloc(f->n_fft, sizeof(float));
    m->cos_t = calloc(f->n_fft / 2, sizeof(float));
    m->sin_t = calloc(f->n_fft / 2, sizeof(float));
    m->bitrev = calloc(f->n_fft, sizeof(uint32_t));
    m->power = calloc(f->n_fft / 2 + 1, sizeof(float));
    if (!m->buf || !m->window || !m->re || !m->im || !m->cos_t || !m->sin_t || !m->bitrev ||
        !m->power) {
        goto out_free;
    }
    /* The periodic Hann window, as torch.hann_window gives it. */
    for (uint32_t i = 0; i < f->win; i++) {
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / f->win));
    }
    for (uint32_t i = 0; i < f->n_fft / 2; i++) {
        m->cos_t[i] = (float)cos(2.0 * M_PI * i / f->n_fft);
        m->sin_t[i] = (float)-sin(2.0 * M_PI * i / f->n_fft);
    }
    while ((1u << bits) < f->n_fft) {
        bits++;
    }
    for (uint32_t i = 0; i < f->n_fft; i++) {
        uint32_t rev = 0;

        for (uint32_t b = 0; b < bits; b++) {
            rev |= ((i >> b) & 1u) << (bits - 1 - b);
        }
        m->bitrev[i] = rev;
    }
    r = make_bands(m);
    if (r < 0) {
        goto out_free;
    }
    *ret_mel = m;
    return 0;

out_free:
    nn_mel_free(m);
    return r;
}

void nn_mel_free(struct nn_mel *m)
{
    if (!m) {
        return;
    }
    free(m->buf);
    free(m->window);
    free(m->re);
    free(m->im);
    free(m->cos_t);
    free(m->sin_t);
    free(m->bitrev);
    free(m->power);
    free(m->band_start);
    free(m->band_len);
    free(m->band_w);
    free(m);
}

void nn_mel_reset(struct nn_mel *m)
{
    m->fill = 0;
}

/* In-place iterative radix-2 FFT of re/im (already in bit-reversed order). */
static void fft(struct nn_mel *m)
{
    uint32_t n = m->f.n_fft;
    float *restrict re = m->re, *restrict im = m->im;

    for (uint32_t len = 2; len <= n; len <<= 1) {
        uint32_t half = len / 2, step = n / len;

        for (uint32_t i = 0; i < n; i += len) {
            for (uint32_t j = 0; j < half; j++) {
                float wr = m->cos_t[j * step], wi = m->sin_t[j * step];
                uint32_t a = i + j, b = a + half;
                float tr = re[b] * wr - im[b] * wi;
                float ti = re[b] * wi + im[b] * wr;

                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}

static void compute(struct nn_mel *m, float *restrict out)
{
    uint32_t bins = m->f.n_fft / 2 + 1;
    const float *restrict w = m->band_w;

    memset(m->re, 0, m->f.n_fft * sizeof(float));
    memset(m->im, 0, m->f.n_fft * sizeof(float));
    for (uint32_t i = 0; i < m->f.win; i++) {
        m->re[m->bitrev[i]] = m->buf[i] * m->window[i];
    }
    fft(m);
    for (uint32_t k = 0; k < bins; k++) {
        m->power[k] = m->re[k] * m->re[k] + m->im[k] * m->im[k];
    }
    for (uint32_t b = 0; b < m->f.n_mels; b++) {
        const float *restrict p = m->power + m->band_start[b];
        float e = 0.0f;

        for (uint32_t k = 0; k < m->band_len[b]; k++) {
            e += w[k] * p[k];
        }
        w += m->band_len[b];
        out[b] = logf(e > m->f.log_floor ? e : m->f.log_floor);
    }
}

int nn_mel_next(struct nn_mel *m, const int16_t **samples, size_t *n, float *ret_frame)
{
    while (*n > 0 && m->fill < m->f.win) {
        m->buf[m->fill++] = (float)**samples * (1.0f / 32768.0f);
        (*samples)++;
        (*n)--;
    }
    if (m->fill < m->f.win) {
        return 0;
    }
    compute(m, ret_frame);
    memmove(m->buf, m->buf + m->f.hop, (m->f.win - m->f.hop) * sizeof(float));
    m->fill = m->f.win - m->f.hop;
    return 1;
}
