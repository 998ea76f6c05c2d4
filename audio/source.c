/* Audio sources: opening a spec, decoding files and stdin to 16 kHz mono, pacing. */
#include "audio-source.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "source-internal.h"

/* Frames decoded per libsndfile call when the samples need mixing or
 * resampling before they reach the caller. */
#define CHUNK_FRAMES 4096

/* Below 8 kHz the speech band the wake word needs (up to 4 kHz) is gone:
 * such a file would be heard and never wake anything. Above the maximum,
 * and beyond the channel limit, a broken header is far more likely than
 * real audio. */
#define MIN_RATE 8000
#define MAX_RATE 384000
#define MAX_CHANNELS 32

/* Streaming writers that cannot seek back put a placeholder data size near
 * 2^31 or 2^32 in the header; such a size says "unknown", not "truncated". */
#define PLACEHOLDER_DATA_SIZE 0x7fff0000LL

#define NSEC_PER_SEC 1000000000L

enum source_kind {
    SOURCE_FILE,
    SOURCE_STDIN,
    SOURCE_MIC,
};

struct audio_source {
    enum source_kind kind;
    /* What messages call the source: the path, "stdin" or the mic spec. */
    char *name;
    char *description;

    bool realtime;
    bool started;
    struct timespec start;
    uint64_t delivered;

    int fd;
    SNDFILE *sf;
    SF_INFO info;
    sf_count_t frames_read;
    /* Set once the input has ended; a failure found at that point is kept in
     * end_error/end_message and reported after the samples already decoded. */
    bool input_done;
    int end_error;
    char *end_message;

    /* Every file is decoded as floats (CHUNK_FRAMES frames), then mixed and
     * converted here; the mono result is resampled when the rate is not
     * 16 kHz (mono, rs). */
    float *frames;
    int16_t *mono;
    size_t mono_len;
    size_t mono_pos;
    struct audio_resampler *rs;

    /* stdin: a byte of a sample split across two reads. */
    bool have_odd_byte;
    uint8_t odd_byte;

    /* NULL after a reopen that failed, until one succeeds. */
    struct audio_mic *mic;
    unsigned ring_ms;
    /* Overruns of the devices that were closed by a reopen. */
    uint64_t past_overruns;
    /* A stream PortAudio could not close: no reopen can help. */
    bool wedged;
    /* Paused by the caller: kept across reopens, even failed ones. */
    bool paused;
};

static int errno_from_sf(int sf_err)
{
    switch (sf_err) {
    case SF_ERR_UNRECOGNISED_FORMAT:
    case SF_ERR_UNSUPPORTED_ENCODING:
        return -ENOTSUP;
    case SF_ERR_SYSTEM:
        return -EIO;
    case SF_ERR_MALFORMED_FILE:
        return -EBADMSG;
    default:
        return -EINVAL;
    }
}

/* libsndfile's own name for a format code, cut before any " (...)" detail. */
static void format_name(int format, char *buf, size_t size)
{
    SF_FORMAT_INFO fi = {.format = format};
    size_t len;

    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) != 0 || !fi.name) {
        snprintf(buf, size, "format 0x%x", (unsigned)format);
        return;
    }
    len = strcspn(fi.name, "(");
    while (len > 0 && fi.name[len - 1] == ' ') {
        len--;
    }
    snprintf(buf, size, "%.*s", (int)len, fi.name);
}

/* libsndfile copes with a data chunk that claims more bytes than the file
 * holds by shortening it, and only says so in its log ("data : 32000 (should
 * be 15978)"); a WAV or AIFF cut off in a copy would otherwise decode as a
 * shorter file without complaint. */
static bool data_chunk_truncated(SNDFILE *sf, long long *ret_declared, long long *ret_present)
{
    char log[8192];
    const char *line = log;

    log[0] = '\0';
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof(log));
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        char chunk[5];
        long long declared;
        long long present;

        line += strspn(line, " ");
        if (sscanf(line, "%4s : %lld (should be %lld)", chunk, &declared, &present) == 3 &&
            (strcmp(chunk, "data") == 0 || strcmp(chunk, "SSND") == 0) && declared > present &&
            declared < PLACEHOLDER_DATA_SIZE) {
            *ret_declared = declared;
            *ret_present = present;
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static int file_open(struct audio_source *src, const char *path, char *err, size_t errsz)
{
    char major[64];
    char minor[64];
    long long declared;
    long long present;
    struct stat st;

    src->kind = SOURCE_FILE;
    src->name = strdup(path);
    if (!src->name) {
        err_set(err, errsz, "%s: out of memory", path);
        return -ENOMEM;
    }

    src->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (src->fd < 0) {
        int e = errno;
        err_set(err, errsz, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(src->fd, &st) < 0) {
        int e = errno;
        err_set(err, errsz, "%s: %s", path, strerror(e));
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        err_set(err, errsz, "%s: is a directory, not an audio file", path);
        return -EISDIR;
    }
    /* libsndfile would call an empty file an unrecognised format. */
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        err_set(err, errsz, "%s: empty file (0 bytes)", path);
        return -ENODATA;
    }

    /* We keep the descriptor (opened with O_CLOEXEC) and close it ourselves,
     * so there is no doubt about who owns it when sf_open_fd fails. */
    src->sf = sf_open_fd(src->fd, SFM_READ, &src->info, SF_FALSE);
    if (!src->sf) {
        err_set(err, errsz, "%s: not a readable audio file: %s", path, sf_strerror(NULL));
        return errno_from_sf(sf_error(NULL));
    }
    if (src->info.samplerate < MIN_RATE) {
        err_set(err, errsz,
                        "%s: sample rate %d Hz is too low for speech: hark needs at least %d Hz",
                        path, src->info.samplerate, MIN_RATE);
        return -ENOTSUP;
    }
    if (src->info.samplerate > MAX_RATE) {
        err_set(err, errsz, "%s: sample rate %d Hz is above %d Hz", path,
                        src->info.samplerate, MAX_RATE);
        return -ENOTSUP;
    }
    if (src->info.channels < 1 || src->info.channels > MAX_CHANNELS) {
        err_set(err, errsz, "%s: %d channels is outside 1..%d", path, src->info.channels,
                        MAX_CHANNELS);
        return -ENOTSUP;
    }
    if (src->info.frames == 0) {
        err_set(err, errsz, "%s: no audio in the file (0 frames)", path);
        return -ENODATA;
    }
    if (data_chunk_truncated(src->sf, &declared, &present)) {
        err_set(err, errsz,
                        "%s: truncated file: the header declares %lld bytes of audio but only "
                        "%lld are present",
                        path, declared, present);
        return -EBADMSG;
    }
    src->frames = calloc((size_t)CHUNK_FRAMES * (size_t)src->info.channels, sizeof(*src->frames));
    if (!src->frames) {
        err_set(err, errsz, "%s: out of memory", path);
        return -ENOMEM;
    }
    /* 16 kHz input goes straight to the caller, without the resampler. */
    if (src->info.samplerate != AUDIO_RATE) {
        int r;

        src->mono = calloc(CHUNK_FRAMES, sizeof(*src->mono));
        if (!src->mono) {
            err_set(err, errsz, "%s: out of memory", path);
            return -ENOMEM;
        }
        r = audio_resampler_new((unsigned)src->info.samplerate, &src->rs);
        if (r < 0) {
            err_set(err, errsz, "%s: cannot resample from %d Hz: %s", path,
                            src->info.samplerate, strerror(-r));
            return r;
        }
    }

    format_name(src->info.format & SF_FORMAT_TYPEMASK, major, sizeof(major));
    format_name(src->info.format & SF_FORMAT_SUBMASK, minor, sizeof(minor));
    src->description =
        fmt_alloc("%s: %d Hz, %d channel%s, %s (%s)", path, src->info.samplerate,
                            src->info.channels, src->info.channels == 1 ? "" : "s", major, minor);
    if (!src->description) {
        err_set(err, errsz, "%s: out of memory", path);
        return -ENOMEM;
    }
    return 0;
}

/* Runs when libsndfile returns fewer frames than asked: either the end of
 * the audio or a failure, which libsndfile only tells apart through
 * sf_error() right now (the next read clears it) and the frame count. */
static void file_check_end(struct audio_source *src)
{
    int e = sf_error(src->sf);
    double at = (double)src->frames_read / src->info.samplerate;

    src->input_done = true;
    if (e != SF_ERR_NO_ERROR) {
        src->end_error = -EIO;
        src->end_message = fmt_alloc("%s: read error at %.3f s: %s", src->name, at,
                                               sf_strerror(src->sf));
    } else if (src->info.frames != SF_COUNT_MAX && src->frames_read < src->info.frames) {
        src->end_error = -EBADMSG;
        src->end_message = fmt_alloc(
            "%s: truncated file: audio ends at %.3f s of the %.3f s the header declares", src->name,
            at, (double)src->info.frames / src->info.samplerate);
    }
}

/* libsndfile's float scale: a 16-bit sample v reads as v / 32768, so this
 * gives 16-bit files back exactly. Float files may hold samples beyond full
 * scale (and a damaged one NaN): clipped, never wrapped. */
static int16_t to_s16(float x)
{
    x *= 32768.0f;
    if (x >= (float)INT16_MAX) {
        return INT16_MAX;
    }
    if (x <= (float)INT16_MIN) {
        return INT16_MIN;
    }
    if (isnan(x)) {
        return 0;
    }
    return (int16_t)lrintf(x);
}

/* Averaging keeps mono the loudness of one channel and lets channels in
 * opposite phase cancel, as they would in the air. */
static void mix_down(const float *frames, int16_t *mono, size_t n, int channels)
{
    if (channels == 1) {
        for (size_t i = 0; i < n; i++) {
            mono[i] = to_s16(frames[i]);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float sum = 0.0f;

        for (int c = 0; c < channels; c++) {
            sum += frames[i * (size_t)channels + (size_t)c];
        }
        mono[i] = to_s16(sum / (float)channels);
    }
}

/* Decodes up to max frames as mono at the file's rate into dst. Every
 * format is read as floats: libsndfile's own float-to-short conversion does
 * not scale (a float file read as shorts is silence), and its scaling
 * option normalises to the file's peak instead, which changes the level. */
static size_t file_read_mono(struct audio_source *src, int16_t *dst, size_t max)
{
    sf_count_t got;

    if (max > CHUNK_FRAMES) {
        max = CHUNK_FRAMES;
    }
    got = sf_readf_float(src->sf, src->frames, (sf_count_t)max);
    if (got < 0) {
        got = 0;
    }
    src->frames_read += got;
    if ((size_t)got < max) {
        file_check_end(src);
    }
    mix_down(src->frames, dst, (size_t)got, src->info.channels);
    return (size_t)got;
}

static ssize_t report_end(struct audio_source *src, char *err, size_t errsz)
{
    if (src->end_error < 0) {
        err_set(err, errsz, "%s",
                        src->end_message ? src->end_message : "audio input failed");
        return src->end_error;
    }
    return 0;
}

static ssize_t file_read(struct audio_source *src, int16_t *out, size_t n, char *err, size_t errsz)
{
    if (!src->rs) {
        size_t got = 0;

        if (!src->input_done) {
            got = file_read_mono(src, out, n);
        }
        return got > 0 ? (ssize_t)got : report_end(src, err, errsz);
    }

    for (;;) {
        ssize_t got;

        if (src->mono_pos == src->mono_len && !src->input_done) {
            src->mono_len = file_read_mono(src, src->mono, CHUNK_FRAMES);
            src->mono_pos = 0;
        }
        if (src->mono_pos == src->mono_len) {
            /* A failed file ends at the failure: no tail of padding after it. */
            if (src->end_error < 0) {
                return report_end(src, err, errsz);
            }
            return (ssize_t)audio_resampler_drain(src->rs, out, n);
        }
        got = audio_resampler_step(src->rs, src->mono, src->mono_len, &src->mono_pos, out, n,
                                   src->name, err, errsz);
        if (got != 0) {
            return got;
        }
    }
}

/* Blocks until stdin is readable again when it was left non-blocking. */
static int wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    /* EINTR goes back to the caller, which may have been asked to stop. */
    return poll(&p, 1, -1) >= 0 ? 0 : -errno;
}

static ssize_t stdin_read(struct audio_source *src, int16_t *out, size_t n, char *err, size_t errsz)
{
    uint8_t *bytes = (uint8_t *)out;
    size_t cap = n > SSIZE_MAX / 2 ? SSIZE_MAX : n * 2;

    cap &= ~(size_t)1;
    for (;;) {
        size_t have = 0;
        size_t total;
        size_t samples;
        ssize_t got;

        if (src->input_done) {
            return 0;
        }
        if (src->have_odd_byte) {
            bytes[0] = src->odd_byte;
            have = 1;
        }
        got = read(STDIN_FILENO, bytes + have, cap - have);
        if (got < 0) {
            int e = errno;
            int r = 0;

            if (e == EAGAIN || e == EWOULDBLOCK) {
                r = wait_readable(STDIN_FILENO);
                if (r == 0) {
                    continue;
                }
                e = -r;
            }
            if (e == EINTR) {
                /* A signal: the caller decides whether to read on. */
                err_set(err, errsz, "stdin: interrupted");
                return -EINTR;
            }
            err_set(err, errsz, "stdin: read failed: %s", strerror(e));
            return -e;
        }
        if (got == 0) {
            /* Half a sample at the very end cannot be audio: drop it. */
            src->input_done = true;
            src->have_odd_byte = false;
            src->odd_byte = 0;
            return 0;
        }
        total = have + (size_t)got;
        samples = total / 2;
        src->have_odd_byte = total % 2 != 0;
        src->odd_byte = src->have_odd_byte ? bytes[total - 1] : 0;
        if (samples == 0) {
            continue;
        }
        for (size_t i = 0; i < samples; i++) {
            uint16_t le;

            memcpy(&le, bytes + 2 * i, sizeof(le));
            out[i] = (int16_t)le16toh(le);
        }
        return (ssize_t)samples;
    }
}

/* Sleeps until the samples delivered so far would have taken that long to
 * arrive from a microphone. */
static void pace(struct audio_source *src)
{
    struct timespec until = src->start;
    uint64_t secs = src->delivered / AUDIO_RATE;
    uint64_t rest = src->delivered % AUDIO_RATE;

    until.tv_sec += (time_t)secs;
    until.tv_nsec += (long)(rest * (NSEC_PER_SEC / AUDIO_RATE));
    if (until.tv_nsec >= NSEC_PER_SEC) {
        until.tv_sec++;
        until.tv_nsec -= NSEC_PER_SEC;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}

static bool is_mic_spec(const char *spec)
{
    return strcmp(spec, "mic") == 0 || strncmp(spec, "mic:", 4) == 0 ||
           strncmp(spec, "mic@", 4) == 0;
}

int audio_source_check_spec(const char *spec, char *err, size_t errsz)
{
    if (spec[0] == '\0') {
        err_set(err, errsz, "empty audio source name");
        return -EINVAL;
    }
    return is_mic_spec(spec) ? audio_mic_check_spec(spec, err, errsz) : 0;
}

int audio_source_open(const char *spec, const struct audio_source_options *opts, char *err,
                      size_t errsz, struct audio_source **ret_source)
{
    struct audio_source *src = NULL;
    int r;

    if (!spec || !ret_source) {
        err_set(err, errsz, "no audio source given");
        return -EINVAL;
    }
    if (spec[0] == '\0') {
        err_set(err, errsz, "empty audio source name");
        return -EINVAL;
    }

    src = calloc(1, sizeof(*src));
    if (!src) {
        err_set(err, errsz, "%s: out of memory", spec);
        r = -ENOMEM;
        goto cleanup;
    }
    src->fd = -1;
    src->realtime = opts && opts->realtime;

    if (strcmp(spec, "-") == 0) {
        src->kind = SOURCE_STDIN;
        src->name = strdup("stdin");
        src->description = strdup("stdin: 16000 Hz, 1 channel, raw signed 16-bit little-endian");
        if (!src->name || !src->description) {
            err_set(err, errsz, "stdin: out of memory");
            r = -ENOMEM;
            goto cleanup;
        }
    } else if (is_mic_spec(spec)) {
        src->kind = SOURCE_MIC;
        /* A microphone paces itself. */
        src->realtime = false;
        src->ring_ms = opts ? opts->ring_ms : 0;
        src->name = strdup(spec);
        if (!src->name) {
            err_set(err, errsz, "%s: out of memory", spec);
            r = -ENOMEM;
            goto cleanup;
        }
        r = audio_mic_open(spec, src->ring_ms, err, errsz, &src->mic);
        if (r < 0) {
            goto cleanup;
        }
    } else {
        r = file_open(src, spec, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }

    *ret_source = src;
    src = NULL;
    r = 0;
cleanup:
    audio_source_free(src);
    return r;
}

ssize_t audio_source_read(struct audio_source *source, int16_t *samples, size_t n, char *err,
                          size_t errsz)
{
    ssize_t r;

    if (!source || !samples || n == 0) {
        err_set(err, errsz, "audio_source_read: no buffer to read into");
        return -EINVAL;
    }
    if (source->realtime && !source->started) {
        clock_gettime(CLOCK_MONOTONIC, &source->start);
        source->started = true;
    }

    switch (source->kind) {
    case SOURCE_FILE:
        r = file_read(source, samples, n, err, errsz);
        break;
    case SOURCE_STDIN:
        r = stdin_read(source, samples, n, err, errsz);
        break;
    case SOURCE_MIC:
        if (source->paused) {
            err_set(err, errsz, "%s: paused", source->name);
            return -EAGAIN;
        }
        if (!source->mic) {
            err_set(err, errsz, "%s: the capture device is not open", source->name);
            return -ENODEV;
        }
        r = audio_mic_read(source->mic, samples, n, err, errsz);
        break;
    default:
        err_set(err, errsz, "unknown audio source");
        return -EINVAL;
    }

    if (r > 0 && source->realtime) {
        source->delivered += (uint64_t)r;
        pace(source);
    }
    return r;
}

const char *audio_source_describe(const struct audio_source *source)
{
    if (!source) {
        return "(none)";
    }
    if (source->kind == SOURCE_MIC) {
        return source->mic ? audio_mic_describe(source->mic) : source->name;
    }
    return source->description ? source->description : source->name;
}

uint64_t audio_source_overruns(const struct audio_source *source)
{
    if (!source || source->kind != SOURCE_MIC) {
        return 0;
    }
    return source->past_overruns + (source->mic ? audio_mic_overruns(source->mic) : 0);
}

bool audio_source_is_live(const struct audio_source *source)
{
    return source && source->kind == SOURCE_MIC;
}

int audio_source_reopen(struct audio_source *source, char *err, size_t errsz)
{
    int r;

    if (!audio_source_is_live(source)) {
        err_set(err, errsz, "%s: only a capture device can be reopened",
                        source ? source->name : "(none)");
        return -ENOTSUP;
    }
    if (source->wedged) {
        err_set(err, errsz, "%s: the capture stream could not be closed; restart hark",
                        source->name);
        return -ENOTRECOVERABLE;
    }
    /* The old stream goes first: the device may take one client only, and
     * PortAudio only looks for devices again once it is terminated. */
    if (source->mic) {
        source->past_overruns += audio_mic_overruns(source->mic);
        r = audio_mic_close(source->mic, err, errsz);
        audio_mic_free(source->mic);
        source->mic = NULL;
        if (r < 0) {
            source->wedged = true;
            return r;
        }
    }
    r = audio_mic_open(source->name, source->ring_ms, err, errsz, &source->mic);
    if (r < 0) {
        return r;
    }
    /* A muted microphone must not start listening because it came back. */
    if (source->paused) {
        return audio_mic_pause(source->mic);
    }
    return 0;
}

int audio_source_pause(struct audio_source *source)
{
    char err[256];
    int r;

    if (!audio_source_is_live(source) || source->paused) {
        return 0;
    }
    source->paused = true;
    if (!source->mic) {
        return 0;
    }
    /* Closed, not only stopped: a stopped stream stays connected to the
     * sound server (PulseAudio keeps it, corked). A mute leaves nothing
     * open that could capture. Closing zeroes the ring and the resampler. */
    source->past_overruns += audio_mic_overruns(source->mic);
    r = audio_mic_close(source->mic, err, sizeof(err));
    audio_mic_free(source->mic);
    source->mic = NULL;
    if (r < 0) {
        source->wedged = true;
    }
    return r;
}

int audio_source_resume(struct audio_source *source, char *err, size_t errsz)
{
    if (!audio_source_is_live(source)) {
        return 0;
    }
    if (!source->paused) {
        return 0;
    }
    source->paused = false;
    if (source->mic) {
        return audio_mic_resume(source->mic, err, errsz);
    }
    if (source->wedged) {
        err_set(err, errsz, "%s: the capture stream could not be closed; restart hark",
                        source->name);
        return -ENOTRECOVERABLE;
    }
    /* A failure is a lost device: reads say so, and it is reopened. */
    return audio_mic_open(source->name, source->ring_ms, err, errsz, &source->mic) < 0 ? -ENODEV
                                                                                       : 0;
}

void audio_source_free(struct audio_source *source)
{
    if (!source) {
        return;
    }
    audio_mic_free(source->mic);
    audio_resampler_free(source->rs);
    if (source->sf) {
        sf_close(source->sf);
    }
    if (source->fd >= 0) {
        close(source->fd);
    }
    if (source->frames) {
        explicit_bzero(source->frames, (size_t)CHUNK_FRAMES * (size_t)source->info.channels *
                                           sizeof(*source->frames));
        free(source->frames);
    }
    if (source->mono) {
        explicit_bzero(source->mono, CHUNK_FRAMES * sizeof(*source->mono));
        free(source->mono);
    }
    explicit_bzero(&source->odd_byte, sizeof(source->odd_byte));
    free(source->end_message);
    free(source->description);
    free(source->name);
    free(source);
}
