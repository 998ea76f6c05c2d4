/* Tests for the audio sources: files of many rates, channel counts and
 * formats generated at run time, broken files, stdin, pacing, devices. */
#define _GNU_SOURCE /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio-source.h"
#include "source-internal.h"

#include "check.h"
#include "testdir.h"

/* Like CHECK, with the measured values in the report. */
/* The test signal: silence, then a tone from ONSET to the very end, so both
 * the start of the audio (timing) and its last samples (the resampler's
 * flushed tail) are checked. */
#define DURATION 2.0
#define ONSET 1.0
#define TONE_HZ 1000.0
#define AMPLITUDE 16000.0

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum layout {
    SAME,      /* every channel carries the tone */
    LEFT_ONLY, /* the first channel carries it, the rest are silent */
    OPPOSITE,  /* the second channel is the first inverted */
};

/* Writes the test signal; returns false (and fails) if libsndfile cannot. */
static bool write_signal(const char *path, int format, int rate, int channels, double duration,
                         enum layout layout)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    sf_count_t frames = (sf_count_t)lround(duration * rate);
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    short *buf;

    if (!sf) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
        check_failures++;
        return false;
    }
    /* A float file holds full scale as 1.0, as every other program writes it
     * (without this libsndfile would store the shorts' values unscaled). */
    sf_command(sf, SFC_SET_SCALE_INT_FLOAT_WRITE, NULL, SF_TRUE);
    buf = calloc((size_t)frames * (size_t)channels, sizeof(*buf));
    if (!buf) {
        abort();
    }
    for (sf_count_t i = 0; i < frames; i++) {
        double t = (double)i / rate;
        short v = 0;

        if (t >= ONSET) {
            v = (short)lrint(AMPLITUDE * sin(2.0 * M_PI * TONE_HZ * (t - ONSET)));
        }
        for (int c = 0; c < channels; c++) {
            short *s = &buf[i * channels + c];

            if (layout == SAME || c == 0) {
                *s = v;
            } else if (layout == OPPOSITE && c == 1) {
                *s = (short)-v;
            }
        }
    }
    if (sf_writef_short(sf, buf, frames) != frames) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(sf));
        check_failures++;
    }
    free(buf);
    sf_close(sf);
    return true;
}

struct decoded {
    int16_t *s;
    size_t n;
    int rc;         /* 0, or the negative errno of open or read */
    char err[1024]; /* its message */
};

/* Decodes a whole source, reading in awkward chunk sizes. */
static struct decoded decode(const char *spec, bool realtime)
{
    struct audio_source_options opts = {.realtime = realtime};
    struct audio_source *src = NULL;
    struct decoded d = {0};
    size_t cap = 0;
    size_t sizes[] = {1, 777, 4096, 160, 20000};

    d.rc = audio_source_open(spec, &opts, d.err, sizeof(d.err), &src);
    if (d.rc < 0) {
        return d;
    }
    CHECK(audio_source_overruns(src) == 0);
    for (unsigned k = 0;; k++) {
        size_t want = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
        ssize_t got;

        if (d.n + want > cap) {
            cap = (d.n + want) * 2;
            d.s = realloc(d.s, cap * sizeof(*d.s));
            if (!d.s) {
                abort();
            }
        }
        got = audio_source_read(src, d.s + d.n, want, d.err, sizeof(d.err));
        if (got < 0) {
            d.rc = (int)got;
            break;
        }
        if (got == 0) {
            break;
        }
        CHECK((size_t)got <= want);
        d.n += (size_t)got;
    }
    audio_source_free(src);
    return d;
}

/* The first sample loud enough to be the tone, in seconds. */
static double onset_of(const struct decoded *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (abs(d->s[i]) >= AMPLITUDE * 0.3) {
            return (double)i / AUDIO_RATE;
        }
    }
    return -1.0;
}

static double rms_of(const struct decoded *d, double from, double to)
{
    size_t a = (size_t)(from * AUDIO_RATE);
    size_t b = (size_t)(to * AUDIO_RATE);
    double sum = 0.0;

    if (b > d->n) {
        b = d->n;
    }
    if (b <= a) {
        return 0.0;
    }
    for (size_t i = a; i < b; i++) {
        sum += (double)d->s[i] * d->s[i];
    }
    return sqrt(sum / (double)(b - a));
}

static int peak_of(const struct decoded *d)
{
    int peak = 0;

    for (size_t i = 0; i < d->n; i++) {
        if (abs(d->s[i]) > peak) {
            peak = abs(d->s[i]);
        }
    }
    return peak;
}

/* Frequency from rising zero crossings, with hysteresis so that coding
 * noise around zero cannot add crossings. */
static double frequency_of(const struct decoded *d, double from, double to)
{
    size_t a = (size_t)(from * AUDIO_RATE);
    size_t b = (size_t)(to * AUDIO_RATE);
    double threshold = AMPLITUDE * 0.1;
    bool below = false;
    size_t first = 0;
    size_t last = 0;
    unsigned rises = 0;

    if (b > d->n) {
        b = d->n;
    }
    for (size_t i = a; i < b; i++) {
        if (d->s[i] < -threshold) {
            below = true;
        } else if (below && d->s[i] > threshold) {
            below = false;
            if (rises++ == 0) {
                first = i;
            }
            last = i;
        }
    }
    if (rises < 2) {
        return 0.0;
    }
    return (double)(rises - 1) * AUDIO_RATE / (double)(last - first);
}

struct format_case {
    const char *name;
    int format;
    int rate;
    int channels;
    /* Lossy codecs get looser amplitude limits. */
    bool lossy;
};

static const struct format_case formats[] = {
    {"mono-8000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, false},
    {"mono-16000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, false},
    {"mono-44100.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, false},
    {"mono-48000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, false},
    {"stereo-8000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, false},
    {"stereo-16000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, false},
    {"stereo-44100.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, false},
    {"stereo-48000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, false},
    {"float-22050.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1, false},
    {"six-96000.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 96000, 6, false},
    {"mono-16000.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, false},
    {"stereo-44100.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, false},
    {"mono-16000.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, false},
    {"stereo-48000.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 2, true},
    {"mono-44100.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 1, true},
};

/* Length, timing, pitch and level of the tone survive decoding. */
static void check_signal(const char *what, const struct decoded *d, double expect_rms, bool lossy)
{
    size_t expect_n = (size_t)(DURATION * AUDIO_RATE);
    double onset = onset_of(d);
    double freq = frequency_of(d, ONSET + 0.05, DURATION - 0.05);
    double rms = rms_of(d, ONSET + 0.05, DURATION - 0.05);
    /* The last 10 ms but the final 2, where a resampler without its tail
     * flushed would have lost or faded the audio. */
    double tail_rms = rms_of(d, DURATION - 0.012, DURATION - 0.002);
    double tolerance = lossy ? 0.10 : 0.03;

    printf("  %-20s %6zu samples, onset %.4f s, %7.2f Hz, level %.0f, end level %.0f\n", what, d->n,
           onset, freq, rms, tail_rms);
    CHECKF(d->rc == 0, "%s: %s", what, d->err);
    CHECKF(labs((long)d->n - (long)expect_n) <= 2, "%s: %zu samples, expected %zu", what, d->n,
           expect_n);
    /* Tighter than the 5 ms a listener would notice: the resampler's own
     * delay is only 2 to 4 ms here, and dropping its compensation must fail. */
    CHECKF(fabs(onset - ONSET) <= 0.001, "%s: tone starts at %.4f s, expected %.4f s", what, onset,
           ONSET);
    CHECKF(fabs(freq - TONE_HZ) <= 2.0, "%s: tone at %.2f Hz, expected %.0f Hz", what, freq,
           TONE_HZ);
    CHECKF(fabs(rms / expect_rms - 1.0) <= tolerance, "%s: level %.1f, expected %.1f", what, rms,
           expect_rms);
    CHECKF(fabs(tail_rms / expect_rms - 1.0) <= tolerance + 0.02,
           "%s: level at the end %.1f, expected %.1f", what, tail_rms, expect_rms);
    /* Silence before the tone stays silent (no pre-ringing more than 5 ms early). */
    CHECKF(rms_of(d, 0.0, ONSET - 0.005) < (lossy ? 100.0 : 2.0), "%s: noise before the onset",
           what);
}

static void test_formats(void)
{
    double full_rms = AMPLITUDE / sqrt(2.0);

    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        const struct format_case *f = &formats[i];
        char *path = testdir_path(f->name);
        struct decoded d;

        if (!write_signal(path, f->format, f->rate, f->channels, DURATION, SAME)) {
            continue;
        }
        d = decode(path, false);
        check_signal(f->name, &d, full_rms, f->lossy);
        free(d.s);
    }
}

/* A tone at amplitude amp (1.0: full scale) as floats, the same tone as
 * 16-bit samples (clipped where amp > 1), or the one as the other would
 * hold it: sample i of the 16-bit version is clip(round(x * 32768)). */
static double float_tone(sf_count_t i, int rate, double amp)
{
    return amp * sin(2.0 * M_PI * TONE_HZ * (double)i / rate);
}

/* Writes the tone as doubles into a float format, or, for PCM_16, as the
 * 16-bit samples a correct conversion gives: clip(round(x * 32768)). */
static bool write_float_tone(const char *path, int format, int rate, int channels, double amp)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    sf_count_t frames = (sf_count_t)lround(0.5 * rate);
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    bool pcm16 = (format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16;
    size_t n = (size_t)frames * (size_t)channels;
    double *buf;
    short *shorts;
    bool ok;

    if (!sf) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
        check_failures++;
        return false;
    }
    buf = calloc(n, sizeof(*buf));
    shorts = calloc(n, sizeof(*shorts));
    if (!buf || !shorts) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = float_tone((sf_count_t)(i / (size_t)channels), rate, amp);
        shorts[i] = (short)fmin(fmax(round(buf[i] * 32768.0), -32768.0), 32767.0);
    }
    ok = (pcm16 ? sf_writef_short(sf, shorts, frames) : sf_writef_double(sf, buf, frames)) ==
         frames;
    CHECKF(ok, "cannot write %s: %s", path, sf_strerror(sf));
    free(shorts);
    free(buf);
    sf_close(sf);
    return ok;
}

/* 32- and 64-bit float files, in each container that has them, read as the
 * 16-bit file of the same audio does: at -20 dBFS, at full scale, and with
 * samples at +-1.5, which are clipped to full scale rather than wrapped.
 * (libsndfile reads float files as shorts without scaling: silence.) */
static void test_float_levels(void)
{
    static const struct {
        const char *ext;
        int major;
    } containers[] = {{"wav", SF_FORMAT_WAV}, {"caf", SF_FORMAT_CAF}, {"w64", SF_FORMAT_W64}};
    static const struct {
        const char *name;
        int sub;
    } subs[] = {{"float", SF_FORMAT_FLOAT}, {"double", SF_FORMAT_DOUBLE}};
    static const double levels[] = {0.1, 32767.0 / 32768.0, 1.5};

    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
        for (int channels = 1; channels <= 2; channels++) {
            char name[96];
            char *ref_path;
            struct decoded ref;

            snprintf(name, sizeof(name), "level-%g-%dch-pcm16.wav", levels[l], channels);
            ref_path = testdir_path(name);
            if (!write_float_tone(ref_path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, AUDIO_RATE,
                                  channels, levels[l])) {
                continue;
            }
            ref = decode(ref_path, false);
            CHECKF(ref.rc == 0, "%s: %s", name, ref.err);
            for (size_t c = 0; c < sizeof(containers) / sizeof(containers[0]); c++) {
                for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
                    struct decoded d;
                    size_t differ = 0;
                    int worst = 0;

                    snprintf(name, sizeof(name), "level-%g-%dch-%s.%s", levels[l], channels,
                             subs[k].name, containers[c].ext);
                    if (!write_float_tone(testdir_path(name), containers[c].major | subs[k].sub,
                                          AUDIO_RATE, channels, levels[l])) {
                        continue;
                    }
                    d = decode(testdir_path(name), false);
                    CHECKF(d.rc == 0, "%s: %s", name, d.err);
                    CHECKF(d.n == ref.n, "%s: %zu samples, the 16-bit file %zu", name, d.n,
                           ref.n);
                    for (size_t i = 0; i < d.n && i < ref.n; i++) {
                        int diff = abs(d.s[i] - ref.s[i]);

                        differ += diff > 1;
                        worst = diff > worst ? diff : worst;
                    }
                    CHECKF(differ == 0,
                           "%s: %zu samples differ from the 16-bit file by more than 1 (up to %d)",
                           name, differ, worst);
                    CHECKF(peak_of(&d) == peak_of(&ref), "%s: peak %d, the 16-bit file %d", name,
                           peak_of(&d), peak_of(&ref));
                    if (levels[l] > 1.0) {
                        int16_t lo = 0;
                        int16_t hi = 0;

                        for (size_t i = 0; i < d.n; i++) {
                            lo = d.s[i] < lo ? d.s[i] : lo;
                            hi = d.s[i] > hi ? d.s[i] : hi;
                        }
                        CHECKF(lo == INT16_MIN && hi == INT16_MAX, "%s: %d..%d, not clipped",
                               name, lo, hi);
                    }
                    free(d.s);
                }
            }
            printf("  level %-9g %d ch: float and double in WAV, CAF, W64 read as 16-bit "
                   "(peak %d)\n",
                   levels[l], channels, peak_of(&ref));
            free(ref.s);
        }
    }
}

static void test_description(void)
{
    char *path = testdir_path("describe-44100.wav");
    struct audio_source *src = NULL;
    char err[512] = "";
    const char *desc;

    if (!write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 0.1, SAME)) {
        return;
    }
    CHECK(audio_source_open(path, NULL, err, sizeof(err), &src) == 0);
    if (!src) {
        fprintf(stderr, "describe: %s\n", err);
        return;
    }
    desc = audio_source_describe(src);
    CHECKF(strstr(desc, "describe-44100.wav") && strstr(desc, "44100 Hz") &&
               strstr(desc, "2 channels") && strstr(desc, "WAV"),
           "description \"%s\"", desc);
    CHECK(audio_source_overruns(src) == 0);
    {
        int16_t one;
        CHECK(audio_source_read(src, &one, 0, err, sizeof(err)) == -EINVAL);
    }
    audio_source_free(src);
    audio_source_free(NULL);
}

/* Mixing averages the channels: one silent channel halves the level, and
 * channels in opposite phase cancel. */
static void test_mixing(void)
{
    static const struct {
        int rate;
        int channels;
    } cases[] = {{16000, 2}, {48000, 2}, {44100, 4}};
    double full_rms = AMPLITUDE / sqrt(2.0);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[64];
        char *path;
        struct decoded d;

        snprintf(name, sizeof(name), "left-only-%d-%d.wav", cases[i].rate, cases[i].channels);
        path = testdir_path(name);
        if (write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, cases[i].rate, cases[i].channels,
                         DURATION, LEFT_ONLY)) {
            d = decode(path, false);
            CHECKF(d.rc == 0, "%s: %s", name, d.err);
            double rms = rms_of(&d, ONSET + 0.05, DURATION - 0.05);
            double want = full_rms / cases[i].channels;
            CHECKF(fabs(rms / want - 1.0) < 0.03, "%s: level %.1f, expected %.1f", name, rms, want);
            free(d.s);
        }

        snprintf(name, sizeof(name), "opposite-%d-%d.wav", cases[i].rate, cases[i].channels);
        path = testdir_path(name);
        if (write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, cases[i].rate, cases[i].channels,
                         DURATION, OPPOSITE)) {
            d = decode(path, false);
            CHECKF(d.rc == 0, "%s: %s", name, d.err);
            CHECKF(labs((long)d.n - (long)(DURATION * AUDIO_RATE)) <= 2, "%s: %zu samples", name,
                   d.n);
            CHECKF(peak_of(&d) <= 1, "%s: peak %d, expected silence", name, peak_of(&d));
            free(d.s);
        }
    }
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
        fprintf(stderr, "cannot write %s\n", path);
        check_failures++;
    }
    if (fd >= 0) {
        close(fd);
    }
}

/* Copies the first `keep` (a fraction) of src to dst. */
static void write_truncated(const char *src, const char *dst, double keep)
{
    FILE *f = fopen(src, "rbe");
    char *buf;
    long size;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0) {
        fprintf(stderr, "cannot read %s\n", src);
        check_failures++;
        if (f) {
            fclose(f);
        }
        return;
    }
    rewind(f);
    buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        abort();
    }
    fclose(f);
    write_bytes(dst, buf, (size_t)(size * keep));
    free(buf);
}

/* The file's name must be in the message, whether open or a later read
 * found the problem. */
static void expect_failure(const char *path, const char *why)
{
    struct decoded d = decode(path, false);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    CHECKF(d.rc < 0, "%s (%s) was accepted: %zu samples", base, why, d.n);
    CHECKF(d.rc >= 0 || strstr(d.err, path), "%s (%s): message \"%s\" does not name the file", base,
           why, d.err);
    if (d.rc < 0) {
        printf("  %-22s -> %s\n", why, d.err);
    }
    free(d.s);
}

static void test_bad_inputs(void)
{
    char *good_wav = testdir_path("good.wav");
    char *good_flac = testdir_path("good.flac");
    char *good_aiff = testdir_path("good.aiff");
    char *path;
    struct decoded d;
    unsigned char noise[4096];
    uint32_t state = 12345;
    char text[3000];

    path = testdir_path("missing.wav");
    d = decode(path, false);
    CHECK(d.rc == -ENOENT);
    free(d.s);
    expect_failure(path, "missing");

    path = testdir_path("empty.wav");
    write_bytes(path, "", 0);
    expect_failure(path, "empty");

    path = testdir_path("header-only.wav");
    write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.0, SAME);
    expect_failure(path, "header, no frames");

    path = testdir_path("noise.bin");
    for (size_t i = 0; i < sizeof(noise); i++) {
        state = state * 1664525u + 1013904223u;
        noise[i] = (unsigned char)(state >> 24);
    }
    write_bytes(path, noise, sizeof(noise));
    expect_failure(path, "random bytes");

    path = testdir_path("notes.txt");
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = "Not audio at all, just a text file.\n"[i % 36];
    }
    write_bytes(path, text, sizeof(text));
    expect_failure(path, "text");

    expect_failure(testdir, "a directory");

    if (write_signal(good_wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 1.0, SAME)) {
        path = testdir_path("cut.wav");
        write_truncated(good_wav, path, 0.5);
        expect_failure(path, "truncated WAV");
    }
    if (write_signal(good_aiff, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 44100, 2, 1.0, SAME)) {
        path = testdir_path("cut.aiff");
        write_truncated(good_aiff, path, 0.5);
        expect_failure(path, "truncated AIFF");
    }
    if (write_signal(good_flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, DURATION, SAME)) {
        path = testdir_path("cut.flac");
        write_truncated(good_flac, path, 0.5);
        expect_failure(path, "truncated FLAC");
    }

    /* Rates and channel counts refused, each named: below 8 kHz the speech
     * band is gone. */
    static const struct {
        const char *file;
        int rate, channels;
        double seconds;
        const char *why;
    } refused[] = {
        {"rate-2000.wav", 2000, 1, 0.5, "2000 Hz"},
        {"rate-4000.wav", 4000, 1, 0.5, "4000 Hz"},
        {"rate-7999.wav", 7999, 2, 0.5, "7999 Hz"},
        {"channels-40.wav", 16000, 40, 0.1, "40 channels"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        path = testdir_path(refused[i].file);
        write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, refused[i].rate, refused[i].channels,
                     refused[i].seconds, SAME);
        expect_failure(path, refused[i].why);
    }
    /* The refusal of 4000 Hz also says what the least rate is. */
    d = decode(testdir_path("rate-4000.wav"), false);
    CHECKF(strstr(d.err, "4000 Hz") && strstr(d.err, "8000 Hz"), "message \"%s\"", d.err);
    free(d.s);
}

/* A WAV streamed by a writer that could not seek back carries a placeholder
 * data size; that is not a truncated file. */
static void test_streamed_wav(void)
{
    char *path = testdir_path("streamed.wav");
    unsigned char header[44];
    struct decoded d;
    int fd;

    if (!write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, DURATION, SAME)) {
        return;
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    CHECK(pread(fd, header, sizeof(header), 0) == (ssize_t)sizeof(header));
    CHECK(memcmp(header + 36, "data", 4) == 0);
    memset(header + 4, 0xff, 4);
    memset(header + 40, 0xff, 4);
    CHECK(pwrite(fd, header, sizeof(header), 0) == (ssize_t)sizeof(header));
    close(fd);

    d = decode(path, false);
    check_signal("streamed.wav", &d, AMPLITUDE / sqrt(2.0), false);
    free(d.s);
}

struct feeder {
    int fd;
    const uint8_t *bytes;
    size_t n;
};

/* Writes in small, odd-sized pieces so that samples are split across reads. */
static void *feed(void *userdata)
{
    struct feeder *f = userdata;
    static const size_t pieces[] = {1, 3, 2, 7, 1, 1001, 5, 4096, 13};
    size_t off = 0;

    for (unsigned k = 0; off < f->n; k++) {
        size_t len = pieces[k % (sizeof(pieces) / sizeof(pieces[0]))];
        ssize_t w;

        if (len > f->n - off) {
            len = f->n - off;
        }
        w = write(f->fd, f->bytes + off, len);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

static int16_t stdin_sample(size_t i)
{
    return (int16_t)(uint16_t)(i * 2654435761u >> 7);
}

/* Feeds n samples (plus a stray byte if odd) through a pipe on fd 0. */
static struct decoded decode_stdin(size_t n, bool odd, bool realtime)
{
    size_t len = n * 2 + (odd ? 1 : 0);
    uint8_t *bytes = malloc(len);
    struct feeder f;
    pthread_t thread;
    struct decoded d;
    int saved = dup(STDIN_FILENO);
    int p[2];

    if (!bytes || saved < 0 || pipe2(p, O_CLOEXEC) < 0) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)stdin_sample(i);

        bytes[2 * i] = (uint8_t)(v & 0xff);
        bytes[2 * i + 1] = (uint8_t)(v >> 8);
    }
    if (odd) {
        bytes[len - 1] = 0x5a;
    }
    if (dup2(p[0], STDIN_FILENO) < 0) {
        abort();
    }
    close(p[0]);
    f = (struct feeder){.fd = p[1], .bytes = bytes, .n = len};
    if (pthread_create(&thread, NULL, feed, &f) != 0) {
        abort();
    }
    d = decode("-", realtime);
    pthread_join(thread, NULL);
    dup2(saved, STDIN_FILENO);
    close(saved);
    free(bytes);
    return d;
}

static void test_stdin(void)
{
    for (int odd = 0; odd <= 1; odd++) {
        size_t n = 20011;
        struct decoded d = decode_stdin(n, odd, false);
        size_t wrong = 0;

        CHECKF(d.rc == 0, "stdin: %s", d.err);
        CHECKF(d.n == n, "stdin%s: %zu samples, expected %zu", odd ? " + odd byte" : "", d.n, n);
        for (size_t i = 0; i < d.n && i < n; i++) {
            wrong += d.s[i] != stdin_sample(i);
        }
        CHECKF(wrong == 0, "stdin: %zu samples differ", wrong);
        free(d.s);
    }
}

/* Real-time pacing never hands out audio faster than it would have been
 * spoken. Only lower bounds: an upper bound on wall time flakes on a busy
 * machine. */
static void test_realtime(void)
{
    char *path = testdir_path("half-second.wav");
    double t0;
    double paced;
    double unpaced;
    struct decoded d;

    if (!write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 0.5, SAME)) {
        return;
    }
    t0 = now_seconds();
    d = decode(path, true);
    paced = now_seconds() - t0;
    CHECKF(d.rc == 0, "realtime: %s", d.err);
    CHECKF(d.n == 8000, "realtime: %zu samples", d.n);
    CHECKF(paced >= 0.45, "0.5 s of audio delivered in %.3f s", paced);
    free(d.s);

    t0 = now_seconds();
    d = decode(path, false);
    unpaced = now_seconds() - t0;
    free(d.s);

    t0 = now_seconds();
    d = decode_stdin(8000, false, true);
    CHECKF(d.n == 8000, "realtime stdin: %zu samples", d.n);
    double stdin_paced = now_seconds() - t0;
    CHECKF(stdin_paced >= 0.45, "0.5 s of stdin delivered in %.3f s", stdin_paced);
    free(d.s);
    printf("realtime: 0.5 s file in %.3f s paced, %.4f s unpaced; stdin paced %.3f s\n", paced,
           unpaced, stdin_paced);
}

static void count_device(const struct audio_device_info *info, void *userdata)
{
    int *count = userdata;

    (*count)++;
    CHECKF(info->max_input_channels > 0 || info->max_output_channels > 0,
           "%s: neither input nor output", info->name);
    printf("  device %d: %s (%s), %d in, %d out, %.0f Hz%s%s%s%s\n", info->index, info->name,
           info->host_api, info->max_input_channels, info->max_output_channels, info->default_rate,
           info->input_16k ? ", captures 16 kHz" : "", info->output_16k ? ", plays 16 kHz" : "",
           info->is_default_input ? ", default input" : "",
           info->is_default_output ? ", default output" : "");
}

/* CI machines may have no sound device: listing must still work, and a
 * device that is not there must be named in the error. */
static void test_devices(void)
{
    struct audio_source *src = NULL;
    char err[512] = "";
    int count = 0;
    int r = audio_devices_enumerate(count_device, &count, err, sizeof(err));

    CHECKF(r == 0, "enumerate: %s", err);
    printf("devices: %d input device(s)\n", count);

    r = audio_source_open("mic:nonexistent-device-name", NULL, err, sizeof(err), &src);
    CHECK(r < 0);
    CHECK(src == NULL);
    CHECKF(strstr(err, "nonexistent-device-name") != NULL, "message \"%s\"", err);
    audio_source_free(src);
}

/* A capture device without sound hardware: ALSA's file plugin over its null
 * device, declared in an .asoundrc under a HOME of our own. The null device
 * is not paced like a real one (it delivers as fast as it is asked), so the
 * sample values mean nothing; what this proves is the capture path itself:
 * the PortAudio callback filling the ring, the reader draining it, overruns
 * counted when nobody reads, and teardown of a running stream. Runs in a
 * child so that ALSA reads that configuration before anything else. */
static void find_harktest(const struct audio_device_info *info, void *userdata)
{
    int *index = userdata;

    if (strcmp(info->name, "harktest") == 0) {
        CHECK(info->input_16k);
        CHECK(info->max_input_channels >= 1);
        *index = info->index;
    }
}

/* Declares the harktest device; returns false if it cannot. */
static bool write_asoundrc(void)
{
    char *rc_path = testdir_path(".asoundrc");
    char *raw_path = testdir_path("capture.raw");
    FILE *f;

    write_bytes(raw_path, "", 0);
    f = fopen(rc_path, "we");
    if (!f) {
        return false;
    }
    fprintf(f,
            "pcm.harktest {\n"
            "    type file\n"
            "    slave.pcm \"null\"\n"
            "    file \"/dev/null\"\n"
            "    infile \"%s\"\n"
            "    format \"raw\"\n"
            "}\n",
            raw_path);
    fclose(f);
    setenv("HOME", testdir, 1);
    return true;
}

static int mic_smoke_child(void)
{
    struct audio_source_options opts = {.ring_ms = 100};
    struct audio_source *src = NULL;
    char err[512] = "";
    int16_t buf[1000];
    size_t got = 0;
    int index = -1;
    char spec[32];
    int r;

    if (!write_asoundrc()) {
        return 1;
    }
    r = audio_devices_enumerate(find_harktest, &index, err, sizeof(err));
    CHECKF(r == 0, "enumerate: %s", err);
    if (index < 0) {
        printf("mic: PortAudio lists no ALSA test device here; skipped\n");
        return 77;
    }
    /* By index, then by a part of the name in another case. */
    snprintf(spec, sizeof(spec), "mic:%d", index);
    r = audio_source_open(spec, &opts, err, sizeof(err), &src);
    CHECKF(r == 0, "open %s: %s", spec, err);
    if (src) {
        CHECKF(strstr(audio_source_describe(src), "harktest") != NULL, "%s is \"%s\"", spec,
               audio_source_describe(src));
        CHECKF(audio_source_read(src, buf, 10, err, sizeof(err)) > 0, "read: %s", err);
        audio_source_free(src);
        src = NULL;
    }

    r = audio_source_open("mic:HARKTES", &opts, err, sizeof(err), &src);
    CHECKF(r == 0, "open: %s", err);
    if (r < 0) {
        return 1;
    }
    CHECKF(strstr(audio_source_describe(src), "harktest") != NULL, "description \"%s\"",
           audio_source_describe(src));
    while (got < 16000) {
        ssize_t n = audio_source_read(src, buf, sizeof(buf) / sizeof(buf[0]), err, sizeof(err));

        CHECKF(n > 0, "read: %zd: %s", n, err);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    /* Nobody reads for three times the ring's length. */
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 300 * 1000 * 1000L}, NULL);
    CHECKF(audio_source_overruns(src) > 0, "no overruns counted");
    printf("mic: %s: %zu samples read, %llu overrun\n", audio_source_describe(src), got,
           (unsigned long long)audio_source_overruns(src));
    audio_source_free(src);
    return check_failures ? 1 : 0;
}

static void nap_ms(long ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000 * 1000L},
              NULL);
}

/* Pause must really stop capturing: with a 100 ms ring and nobody reading,
 * a running stream counts overruns within 300 ms, a paused one none. Then
 * resume, and reopen (which keeps a pause). At 48 kHz, so the resampler is
 * reset too. */
static int mic_pause_child(void)
{
    struct audio_source_options opts = {.ring_ms = 100};
    struct audio_source *src = NULL;
    char err[512] = "";
    int16_t buf[1000];
    uint64_t before;
    ssize_t n;
    int r;

    if (!write_asoundrc()) {
        return 1;
    }
    r = audio_source_open("mic:harktest@48000", &opts, err, sizeof(err), &src);
    if (r < 0 && strstr(err, "no input device")) {
        printf("mic pause: PortAudio lists no ALSA test device here; skipped\n");
        return 77;
    }
    CHECKF(r == 0, "open: %s", err);
    if (r < 0) {
        return 1;
    }
    CHECK(audio_source_is_live(src));
    CHECKF(strstr(audio_source_describe(src), "48000 Hz resampled to 16000 Hz") != NULL,
           "description \"%s\"", audio_source_describe(src));
    CHECKF(audio_source_read(src, buf, 1000, err, sizeof(err)) > 0, "read: %s", err);

    CHECK(audio_source_pause(src) == 0);
    CHECK(audio_source_pause(src) == 0);
    before = audio_source_overruns(src);
    nap_ms(300);
    CHECKF(audio_source_overruns(src) == before, "captured while paused: %llu overruns",
           (unsigned long long)(audio_source_overruns(src) - before));
    n = audio_source_read(src, buf, 1000, err, sizeof(err));
    CHECKF(n == -EAGAIN, "read while paused: %zd", n);
    CHECKF(strstr(err, "paused") != NULL, "message \"%s\"", err);

    CHECKF(audio_source_resume(src, err, sizeof(err)) == 0, "resume: %s", err);
    CHECK(audio_source_resume(src, err, sizeof(err)) == 0);
    CHECKF(audio_source_read(src, buf, 1000, err, sizeof(err)) > 0, "read: %s", err);
    nap_ms(300);
    CHECKF(audio_source_overruns(src) > before, "no capture after resume");

    /* A reopen keeps the overrun count, and a pause. */
    before = audio_source_overruns(src);
    CHECKF(audio_source_reopen(src, err, sizeof(err)) == 0, "reopen: %s", err);
    CHECK(audio_source_overruns(src) >= before);
    CHECKF(strstr(audio_source_describe(src), "harktest") != NULL, "after reopen: \"%s\"",
           audio_source_describe(src));
    CHECKF(audio_source_read(src, buf, 1000, err, sizeof(err)) > 0, "read: %s", err);
    CHECK(audio_source_pause(src) == 0);
    CHECKF(audio_source_reopen(src, err, sizeof(err)) == 0, "reopen: %s", err);
    before = audio_source_overruns(src);
    nap_ms(300);
    CHECKF(audio_source_overruns(src) == before, "a reopen while paused captures");
    CHECK(audio_source_read(src, buf, 1000, err, sizeof(err)) == -EAGAIN);
    CHECKF(audio_source_resume(src, err, sizeof(err)) == 0, "resume: %s", err);
    CHECKF(audio_source_read(src, buf, 1000, err, sizeof(err)) > 0, "read: %s", err);
    printf("mic pause: %s: nothing captured while paused; resumed, reopened\n",
           audio_source_describe(src));
    audio_source_free(src);
    return check_failures ? 1 : 0;
}

/* Files and stdin have nothing to pause or reopen; mic specs are checked. */
static void test_pause_and_specs(void)
{
    char *path = testdir_path("pause.wav");
    struct audio_source *src = NULL;
    char err[512] = "";
    const char *bad[] = {"mic@", "mic@abc", "mic@100", "mic:x@999999", "mic@44100x"};
    /* Refused for the rate alone, whatever devices there are. */
    const char *low[] = {"mic@4000", "mic:x@7999"};

    write_signal(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0.5, SAME);
    CHECK(audio_source_open(path, NULL, err, sizeof(err), &src) == 0);
    CHECK(!audio_source_is_live(src));
    CHECK(audio_source_pause(src) == 0);
    CHECK(audio_source_resume(src, err, sizeof(err)) == 0);
    CHECK(audio_source_reopen(src, err, sizeof(err)) == -ENOTSUP);
    CHECKF(strstr(err, "pause.wav") != NULL, "message \"%s\"", err);
    audio_source_free(src);
    CHECK(!audio_source_is_live(NULL));

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        src = NULL;
        CHECKF(audio_source_open(bad[i], NULL, err, sizeof(err), &src) < 0, "%s opened", bad[i]);
        CHECKF(strstr(err, bad[i]) != NULL, "%s: message \"%s\"", bad[i], err);
        audio_source_free(src);
    }
    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
        src = NULL;
        CHECKF(audio_source_open(low[i], NULL, err, sizeof(err), &src) == -EINVAL, "%s opened",
               low[i]);
        CHECKF(strstr(err, low[i]) && strstr(err, "at least 8000 Hz"), "%s: message \"%s\"",
               low[i], err);
        audio_source_free(src);
    }
}

/* A reset resampler remembers nothing: after a loud tone and a reset,
 * silence in gives exact silence out. */
static void test_resampler_reset(void)
{
    struct audio_resampler *rs = NULL;
    int16_t in[4800];
    int16_t out[2000];
    size_t in_len;
    size_t out_len;
    bool silent = true;

    CHECK(audio_resampler_new(48000, &rs) == 0);
    if (!rs) {
        return;
    }
    for (size_t i = 0; i < 4800; i++) {
        in[i] = (int16_t)lrint(AMPLITUDE * sin(2.0 * M_PI * TONE_HZ * (double)i / 48000.0));
    }
    in_len = 4800;
    out_len = 2000;
    CHECK(audio_resampler_process(rs, in, &in_len, out, &out_len) == 0);
    CHECK(out_len > 0);
    audio_resampler_reset(rs);
    memset(in, 0, sizeof(in));
    in_len = 4800;
    out_len = 2000;
    CHECK(audio_resampler_process(rs, in, &in_len, out, &out_len) == 0);
    CHECKF(out_len > 1500, "%zu samples out", out_len);
    for (size_t i = 0; i < out_len; i++) {
        silent = silent && out[i] == 0;
    }
    CHECK(silent);
    audio_resampler_free(rs);
}

int main(void)
{
    testdir_make("source");

    /* First: it needs a process in which ALSA has not read its configuration. */
    check_in_child(mic_smoke_child, "mic smoke test");
    check_in_child(mic_pause_child, "mic pause test");
    test_formats();
    test_float_levels();
    test_description();
    test_mixing();
    test_bad_inputs();
    test_streamed_wav();
    test_stdin();
    test_realtime();
    test_devices();
    test_pause_and_specs();
    test_resampler_reset();

    testdir_remove();
    return check_status();
}
