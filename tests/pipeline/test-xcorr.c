/* test-xcorr: where a decoded uplink lies in the recording it came from, by
 * normalised cross-correlation (for tests/pipeline/run-uplink.sh).
 *
 * usage: test-xcorr REFERENCE.wav UPLINK.wav   (both 16 kHz mono)
 * prints: lag_samples=L lag_s=S corr=C snr_db=D ref_samples=N up_samples=M
 * where uplink[i] best matches reference[i + L]; corr is the normalised
 * correlation at that lag, snr_db the reference's energy over that of the
 * difference (unit gain) there. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#define RATE 16000
/* Ten minutes: far more than any request (30 s at most), and it bounds the
 * memory the FFT needs. */
#define MAX_SAMPLES ((sf_count_t)RATE * 600)

struct signal {
    double *x;
    size_t n;
};

/* Reads a 16 kHz mono file as samples in [-1, 1]. */
static int read_wav(const char *path, struct signal *s)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    sf_count_t got;

    if (!f) {
        fprintf(stderr, "test-xcorr: %s: %s\n", path, sf_strerror(NULL));
        return -EIO;
    }
    if (info.samplerate != RATE || info.channels != 1 || info.frames <= 0 ||
        info.frames > MAX_SAMPLES) {
        fprintf(stderr,
                "test-xcorr: %s: %d Hz, %d channel(s), %lld samples: want %d Hz mono, "
                "1 to %lld samples\n",
                path, info.samplerate, info.channels, (long long)info.frames, RATE,
                (long long)MAX_SAMPLES);
        sf_close(f);
        return -EINVAL;
    }
    s->x = calloc((size_t)info.frames, sizeof(*s->x));
    if (!s->x) {
        sf_close(f);
        return -ENOMEM;
    }
    got = sf_readf_double(f, s->x, info.frames);
    sf_close(f);
    if (got != info.frames) {
        fprintf(stderr, "test-xcorr: %s: short read\n", path);
        return -EIO;
    }
    s->n = (size_t)info.frames;
    return 0;
}

/* In-place iterative radix-2 FFT of n (a power of two) complex values,
 * interleaved re/im; inverse without the 1/n scaling. */
static void fft(double *a, size_t n, int inverse)
{
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;

        for (; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j ^= bit;
        if (i < j) {
            double re = a[2 * i], im = a[2 * i + 1];

            a[2 * i] = a[2 * j];
            a[2 * i + 1] = a[2 * j + 1];
            a[2 * j] = re;
            a[2 * j + 1] = im;
        }
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        double angle = (inverse ? 2.0 : -2.0) * M_PI / (double)len;
        double wr = cos(angle), wi = sin(angle);

        for (size_t i = 0; i < n; i += len) {
            double cr = 1.0, ci = 0.0;

            for (size_t k = 0; k < len / 2; k++) {
                double *u = a + 2 * (i + k), *v = a + 2 * (i + k + len / 2);
                double tr = v[0] * cr - v[1] * ci, ti = v[0] * ci + v[1] * cr;
                double next = cr * wr - ci * wi;

                v[0] = u[0] - tr;
                v[1] = u[1] - ti;
                u[0] += tr;
                u[1] += ti;
                ci = cr * wi + ci * wr;
                cr = next;
            }
        }
    }
}

/* Energy of ref over [from, from + m), clipped to the signal: prefix sums. */
static double window_energy(const double *prefix, size_t n, long from, size_t m)
{
    long lo = from < 0 ? 0 : from;
    long hi = from + (long)m;

    if (hi > (long)n) {
        hi = (long)n;
    }
    return hi > lo ? prefix[hi] - prefix[lo] : 0.0;
}

static int correlate(const struct signal *ref, const struct signal *up)
{
    size_t n = 1, m = up->n;
    double *a, *b, *prefix, e_up = 0.0;
    double best = -2.0, signal = 0.0, noise = 0.0;
    long best_lag = 0;

    while (n < ref->n + up->n) {
        n <<= 1;
    }
    a = calloc(2 * n, sizeof(*a));
    b = calloc(2 * n, sizeof(*b));
    prefix = calloc(ref->n + 1, sizeof(*prefix));
    if (!a || !b || !prefix) {
        free(a);
        free(b);
        free(prefix);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ref->n; i++) {
        a[2 * i] = ref->x[i];
        prefix[i + 1] = prefix[i] + ref->x[i] * ref->x[i];
    }
    for (size_t i = 0; i < m; i++) {
        b[2 * i] = up->x[i];
        e_up += up->x[i] * up->x[i];
    }
    /* c[L] = sum_i up[i] ref[i + L]: ifft(fft(ref) * conj(fft(up))), with
     * negative lags wrapped to the end. */
    fft(a, n, 0);
    fft(b, n, 0);
    for (size_t k = 0; k < n; k++) {
        double re = a[2 * k] * b[2 * k] + a[2 * k + 1] * b[2 * k + 1];
        double im = a[2 * k + 1] * b[2 * k] - a[2 * k] * b[2 * k + 1];

        a[2 * k] = re;
        a[2 * k + 1] = im;
    }
    fft(a, n, 1);
    /* Lags where at least half the uplink overlaps the reference: a sliver
     * of overlap could correlate well by chance. */
    for (long lag = -(long)(m / 2); lag <= (long)ref->n - (long)(m / 2); lag++) {
        double c = a[2 * (size_t)(lag < 0 ? lag + (long)n : lag)] / (double)n;
        double e = window_energy(prefix, ref->n, lag, m);
        double r = e > 0.0 && e_up > 0.0 ? c / sqrt(e * e_up) : 0.0;

        if (r > best) {
            best = r;
            best_lag = lag;
        }
    }
    for (size_t i = 0; i < m; i++) {
        long j = best_lag + (long)i;
        double x = j >= 0 && j < (long)ref->n ? ref->x[j] : 0.0;
        double d = up->x[i] - x;

        signal += x * x;
        noise += d * d;
    }
    printf("lag_samples=%ld lag_s=%.4f corr=%.4f snr_db=%.2f ref_samples=%zu up_samples=%zu\n",
           best_lag, (double)best_lag / RATE, best,
           noise > 0.0 ? 10.0 * log10(signal / noise) : 999.0, ref->n, m);
    free(a);
    free(b);
    free(prefix);
    return 0;
}

int main(int argc, char **argv)
{
    struct signal ref = {0}, up = {0};
    int r;

    if (argc != 3) {
        fprintf(stderr, "usage: test-xcorr REFERENCE.wav UPLINK.wav\n");
        return 2;
    }
    r = read_wav(argv[1], &ref);
    if (r == 0) {
        r = read_wav(argv[2], &up);
    }
    if (r == 0) {
        r = correlate(&ref, &up);
        if (r < 0) {
            fprintf(stderr, "test-xcorr: %s\n", strerror(-r));
        }
    }
    free(ref.x);
    free(up.x);
    return r == 0 ? 0 : 1;
}
