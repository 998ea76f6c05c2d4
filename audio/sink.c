/* Where the answer's speech goes: a PortAudio output device ("speaker",
 * "speaker:NAME"), fed from a ring by the real-time callback, or a 16 kHz
 * mono WAV file. */
#include "audio-sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <portaudio.h>
#include <sndfile.h>

#include "audio-ring.h"
#include "base-clock.h"
#include "audio-source.h"
#include "source-internal.h"

/* The longest answer the protocol sends is 60 s (3000 downlink frames); the
 * ring holds all of it, so a response that arrives faster than it plays is
 * never cut short. */
#define RING_SECONDS 60
/* How long a write waits for room in a full ring before it drops the rest:
 * the writer is the thread that services the cloud link, which must not stall. */
#define WRITE_WAIT_MS 100
#define NAP_MS 5

struct audio_sink {
    /* A WAV file. */
    char *path;
    int fd;
    SNDFILE *sf;

    /* The output device: its spec, and how it is described. */
    char *spec;
    char *description;
    bool pa_initialized;
    PaStream *stream;
    struct audio_ring *ring;
    double latency_s;
};

static void nap_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int open_file(struct audio_sink *sink, const char *path, char *err, size_t errsz)
{
    SF_INFO info = {
        .samplerate = AUDIO_RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    struct stat st;

    sink->path = strdup(path);
    if (!sink->path) {
        err_set(err, errsz, "%s: out of memory", path);
        return -ENOMEM;
    }
    /* Our own open() rather than sf_open(): the file holds what the
     * assistant said, so it is created 0600 (sf_open would use 0666 less
     * the umask), and it is not inherited by anything hark runs. */
    sink->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
    if (sink->fd < 0) {
        int e = errno;

        err_set(err, errsz, "%s: %s", path, strerror(e));
        return -e;
    }
    /* A file that already existed keeps its mode through O_CREAT; one that
     * others may read gets ours. Not for devices or pipes, whose modes are
     * not ours to change. */
    if (fstat(sink->fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
        fchmod(sink->fd, 0600) < 0) {
        int e = errno;

        err_set(err, errsz, "%s: cannot make it private (0600): %s", path, strerror(e));
        return -e;
    }
    /* libsndfile does not close the descriptor: on failure it might or might
     * not have, so this file keeps the one owner. */
    sink->sf = sf_open_fd(sink->fd, SFM_WRITE, &info, SF_FALSE);
    if (!sink->sf) {
        err_set(err, errsz, "%s: cannot write a WAV file: %s", path, sf_strerror(NULL));
        return -EIO;
    }
    return 0;
}

/* Runs on PortAudio's real-time thread: no allocation, locks, system calls or
 * logging; what the ring does not have is played as silence. */
static int playback_callback(const void *input, void *output, unsigned long frames,
                             const PaStreamCallbackTimeInfo *time_info,
                             PaStreamCallbackFlags status, void *userdata)
{
    struct audio_ring *ring = userdata;
    int16_t *out = output;
    size_t got = audio_ring_read(ring, out, frames);

    if (got < frames) {
        memset(out + got, 0, (frames - got) * sizeof(*out));
    }
    return paContinue;
}

/* "speaker" or "speaker:NAME": *ret_want is NULL (the default device) or
 * points into spec. */
static int parse_spec(const char *spec, char *err, size_t errsz, const char **ret_want)
{
    if (strcmp(spec, "speaker") == 0) {
        *ret_want = NULL;
        return 0;
    }
    if (strncmp(spec, "speaker:", 8) == 0) {
        if (spec[8] == '\0') {
            err_set(err, errsz, "%s: names no device (speaker, or speaker:NAME)", spec);
            return -EINVAL;
        }
        *ret_want = spec + 8;
        return 0;
    }
    err_set(err, errsz, "%s: not an output device (speaker, or speaker:NAME)", spec);
    return -EINVAL;
}

static int open_device(struct audio_sink *sink, const char *spec, char *err, size_t errsz)
{
    const PaStreamInfo *stream_info;
    const PaDeviceInfo *info;
    const PaHostApiInfo *api;
    PaStreamParameters params;
    const char *want;
    PaError pe;
    int idx;
    int r;

    sink->spec = strdup(spec);
    if (!sink->spec) {
        err_set(err, errsz, "%s: out of memory", spec);
        return -ENOMEM;
    }
    r = parse_spec(spec, err, errsz, &want);
    if (r < 0) {
        return r;
    }
    r = audio_pa_open_device(spec, want, true, err, errsz, &idx);
    if (r < 0) {
        return r;
    }
    sink->pa_initialized = true;
    info = Pa_GetDeviceInfo(idx);
    api = Pa_GetHostApiInfo(info->hostApi);
    params = audio_output_params(idx);
    /* 16 kHz mono straight to the device: where the hardware cannot, ALSA's
     * plug layer (behind "default") converts; a device that refuses even
     * that is reported rather than resampled here. */
    if (Pa_IsFormatSupported(NULL, &params, AUDIO_RATE) != paFormatIsSupported) {
        err_set(err, errsz,
                        "%s: output device \"%s\" cannot play 16-bit mono at %d Hz (its own rate "
                        "is %.0f Hz); use a plug/dmix device or write to a file",
                        spec, info->name, AUDIO_RATE, info->defaultSampleRate);
        return -ENOTSUP;
    }
    sink->description = fmt_alloc("%s: \"%s\" via %s", spec, info->name,
                                            api && api->name ? api->name : "?");
    if (!sink->description) {
        err_set(err, errsz, "%s: out of memory", spec);
        return -ENOMEM;
    }

    r = audio_ring_new((size_t)RING_SECONDS * AUDIO_RATE, &sink->ring);
    if (r < 0) {
        err_set(err, errsz, "%s: cannot allocate the playback ring: %s", spec,
                        strerror(-r));
        return r;
    }
    pe = Pa_OpenStream(&sink->stream, NULL, &params, AUDIO_RATE, paFramesPerBufferUnspecified,
                       paNoFlag, playback_callback, sink->ring);
    if (pe != paNoError) {
        sink->stream = NULL;
        err_set(err, errsz, "%s: cannot open \"%s\": %s", spec, info->name,
                        audio_pa_error_text(pe));
        return -EIO;
    }
    stream_info = Pa_GetStreamInfo(sink->stream);
    sink->latency_s = stream_info ? stream_info->outputLatency : params.suggestedLatency;
    pe = Pa_StartStream(sink->stream);
    if (pe != paNoError) {
        err_set(err, errsz, "%s: cannot start playback on \"%s\": %s", spec, info->name,
                        audio_pa_error_text(pe));
        return -EIO;
    }
    return 0;
}

static int sink_open(const char *path, const char *spec, char *err, size_t errsz,
                     struct audio_sink **ret_sink)
{
    struct audio_sink *sink = NULL;
    int r;

    if (!ret_sink || (!path && !spec)) {
        err_set(err, errsz, "audio_sink_open: no file or device, or nowhere to return it");
        return -EINVAL;
    }
    sink = calloc(1, sizeof(*sink));
    if (!sink) {
        err_set(err, errsz, "%s: out of memory", path ? path : spec);
        r = -ENOMEM;
        goto cleanup;
    }
    sink->fd = -1;
    r = path ? open_file(sink, path, err, errsz) : open_device(sink, spec, err, errsz);
    if (r < 0) {
        goto cleanup;
    }

    *ret_sink = sink;
    sink = NULL;
    r = 0;
cleanup:
    audio_sink_free(sink);
    return r;
}

int audio_sink_open(const char *path, char *err, size_t errsz, struct audio_sink **ret_sink)
{
    return sink_open(path, NULL, err, errsz, ret_sink);
}

int audio_sink_open_device(const char *spec, char *err, size_t errsz,
                           struct audio_sink **ret_sink)
{
    return sink_open(NULL, spec, err, errsz, ret_sink);
}

const char *audio_sink_describe(const struct audio_sink *sink)
{
    if (!sink) {
        return "(none)";
    }
    return sink->description ? sink->description : sink->path;
}

static int write_device(struct audio_sink *sink, const int16_t *samples, size_t n, char *err,
                        size_t errsz)
{
    double deadline = 1000.0 * now_mono_s() + WRITE_WAIT_MS;

    for (;;) {
        size_t done = audio_ring_write(sink->ring, samples, n);

        samples += done;
        n -= done;
        if (n == 0) {
            return 0;
        }
        /* Only when RING_SECONDS of speech are queued and the device does not
         * take them: a stalled device, or more than the protocol allows. */
        if (1000.0 * now_mono_s() >= deadline || Pa_IsStreamActive(sink->stream) != 1) {
            err_set(err, errsz, "%s: playback is %d s behind; %zu samples dropped",
                            sink->spec, RING_SECONDS, n);
            return -ENOBUFS;
        }
        nap_ms(NAP_MS);
    }
}

int audio_sink_write(struct audio_sink *sink, const int16_t *samples, size_t n, char *err,
                     size_t errsz)
{
    if (!sink || (!samples && n > 0)) {
        err_set(err, errsz, "audio_sink_write: no sink or no samples");
        return -EINVAL;
    }
    if (n == 0) {
        return 0;
    }
    if (sink->ring) {
        return write_device(sink, samples, n, err, errsz);
    }
    if (sf_write_short(sink->sf, samples, (sf_count_t)n) != (sf_count_t)n) {
        err_set(err, errsz, "%s: cannot write: %s", sink->path, sf_strerror(sink->sf));
        return -EIO;
    }
    return 0;
}

int audio_sink_drain(struct audio_sink *sink, unsigned timeout_ms)
{
    double start;
    double left;

    if (!sink) {
        return -EINVAL;
    }
    if (sink->sf) {
        /* The header's sizes too, so that the file is complete up to here
         * for whoever reads it while hark runs on. */
        sf_command(sink->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
        sf_write_sync(sink->sf);
        return sf_error(sink->sf) == SF_ERR_NO_ERROR ? 0 : -EIO;
    }
    start = 1000.0 * now_mono_s();
    while (audio_ring_available(sink->ring) > 0) {
        if (Pa_IsStreamActive(sink->stream) != 1) {
            return -EIO;
        }
        if (1000.0 * now_mono_s() - start >= timeout_ms) {
            return -ETIMEDOUT;
        }
        nap_ms(NAP_MS);
    }
    /* The last samples left the ring; they still pass the device's buffer. */
    left = timeout_ms - (1000.0 * now_mono_s() - start);
    if (sink->latency_s * 1000.0 > left) {
        if (left > 0) {
            nap_ms((unsigned)left);
        }
        return -ETIMEDOUT;
    }
    nap_ms((unsigned)(sink->latency_s * 1000.0 + 0.5));
    return 0;
}

size_t audio_sink_pending(const struct audio_sink *sink)
{
    if (!sink || sink->sf || !sink->ring) {
        return 0;
    }
    return audio_ring_available(sink->ring);
}

void audio_sink_free(struct audio_sink *sink)
{
    if (!sink) {
        return;
    }
    if (sink->sf) {
        sf_close(sink->sf);
    }
    if (sink->fd >= 0) {
        close(sink->fd);
    }
    /* Closing a running stream aborts it: the callback has finished once
     * this returns, so the ring can go (zeroed: it held speech). */
    if (sink->stream) {
        Pa_CloseStream(sink->stream);
    }
    audio_ring_free(sink->ring);
    if (sink->pa_initialized) {
        Pa_Terminate();
    }
    free(sink->description);
    free(sink->spec);
    free(sink->path);
    free(sink);
}
