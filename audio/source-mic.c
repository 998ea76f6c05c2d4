/* Microphone capture through PortAudio. A device that fails or stops
 * delivering is reported as -ENODEV; reopening it is the caller's
 * (audio_source_reopen). Finding the device is device.c's. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <portaudio.h>

#include "audio-ring.h"
#include "base-clock.h"
#include "audio-source.h"
#include "source-internal.h"

#define DEFAULT_RING_MS 2000
#define MAX_RING_MS 60000
/* Below 8 kHz the speech band the wake word needs is gone (source.c). */
#define MIN_RATE 8000
#define MAX_RATE 384000
/* Samples taken from the ring per resampler call at the device rate. */
#define MIC_CHUNK 4096
/* How long the reader naps when the ring is empty: short against the 10 to
 * 100 ms a capture period lasts, long enough not to burn a core. */
#define POLL_NSEC (5 * 1000 * 1000L)
/* A stream that is running but has delivered nothing for this long is stuck
 * (a suspended or vanished device, a sound server that died under the ALSA
 * plugin); saying so beats blocking forever. Long against a capture period
 * (10 to 100 ms) and against the 2 s a PulseAudio null sink's monitor takes
 * to deliver its first audio. */
#define STALL_S 3
/* How long stopping or closing a stream may take before it counts as wedged. */
#define STOP_TIMEOUT_S 2

struct audio_mic {
    bool pa_initialized;
    PaStream *stream;
    bool paused; /* the stream is stopped and the buffers zeroed */
    bool wedged; /* PortAudio's capture thread does not stop: see stop_stream */
    struct audio_ring *ring;
    unsigned rate;
    struct audio_resampler *rs;
    int16_t *in;
    size_t in_len;
    size_t in_pos;
    char *spec;
    char *device; /* the device's name, for messages */
    char *description;
};

/* Runs on PortAudio's real-time thread: it only copies into the ring, which
 * neither allocates, locks nor makes system calls; a full ring drops and
 * counts the samples instead of waiting for the reader. */
static int capture_callback(const void *input, void *output, unsigned long frames,
                            const PaStreamCallbackTimeInfo *time_info, PaStreamCallbackFlags status,
                            void *userdata)
{
    struct audio_ring *ring = userdata;

    if (input) {
        audio_ring_write(ring, input, frames);
    }
    return paContinue;
}

/* PortAudio 19.6's ALSA host API has error paths that loop forever in its
 * capture thread, with thread cancellation disabled: a device that fails
 * before its first period is handled with an uninitialised frame count. Pa_
 * AbortStream and Pa_CloseStream join that thread and would never return, so
 * they run on a helper thread; after STOP_TIMEOUT_S the stream is given up as
 * wedged, and it, its ring and PortAudio are left alone for good. */
struct stopper {
    PaStream *stream;
    bool close; /* Pa_CloseStream, else Pa_AbortStream */
    PaError result;
    bool done;
    bool abandoned; /* the caller gave up waiting: the helper frees this */
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void stopper_free(struct stopper *st)
{
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static void *stopper_main(void *userdata)
{
    struct stopper *st = userdata;
    PaError pe = st->close ? Pa_CloseStream(st->stream) : Pa_AbortStream(st->stream);
    bool abandoned;

    pthread_mutex_lock(&st->lock);
    st->result = pe;
    st->done = true;
    abandoned = st->abandoned;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    if (abandoned) {
        stopper_free(st);
    }
    return NULL;
}

/* Aborts or closes stream. Returns 0 with PortAudio's result in
 * *ret_result, or -ETIMEDOUT when the stream is wedged. */
static int stop_stream(PaStream *stream, bool close, PaError *ret_result)
{
    struct stopper *st = calloc(1, sizeof(*st));
    pthread_condattr_t cattr;
    pthread_attr_t attr;
    struct timespec until;
    pthread_t thread;
    int r = 0;

    if (!st) {
        *ret_result = close ? Pa_CloseStream(stream) : Pa_AbortStream(stream);
        return 0;
    }
    *st = (struct stopper){.stream = stream, .close = close};
    pthread_mutex_init(&st->lock, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, stopper_main, st) != 0) {
        pthread_attr_destroy(&attr);
        stopper_free(st);
        *ret_result = close ? Pa_CloseStream(stream) : Pa_AbortStream(stream);
        return 0;
    }
    pthread_attr_destroy(&attr);

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += STOP_TIMEOUT_S;
    pthread_mutex_lock(&st->lock);
    while (!st->done && r == 0) {
        r = pthread_cond_timedwait(&st->cond, &st->lock, &until);
    }
    if (!st->done) {
        st->abandoned = true;
        pthread_mutex_unlock(&st->lock);
        return -ETIMEDOUT;
    }
    *ret_result = st->result;
    pthread_mutex_unlock(&st->lock);
    stopper_free(st);
    return 0;
}

/* Splits "mic[:NAME][@RATE]" into the wanted device (NULL for the default;
 * malloc'd) and the rate (0: choose). Returns 0, -EINVAL or -ENOMEM. */
static int parse_spec(const char *spec, char *err, size_t errsz, char **ret_want,
                      unsigned *ret_rate)
{
    const char *name = strncmp(spec, "mic:", 4) == 0 ? spec + 4 : NULL;
    const char *at = strrchr(spec, '@');
    size_t name_len;
    unsigned long rate = 0;
    char *want = NULL;

    /* A name may hold an '@' itself; only a number at the very end is a rate. */
    if (at && at[1] && strspn(at + 1, "0123456789") == strlen(at + 1)) {
        rate = strlen(at + 1) > 6 ? ULONG_MAX : strtoul(at + 1, NULL, 10);
        if (rate < MIN_RATE) {
            err_set(err, errsz,
                            "%s: capture rate %s Hz is too low for speech: hark needs at least "
                            "%d Hz",
                            spec, at + 1, MIN_RATE);
            return -EINVAL;
        }
        if (rate > MAX_RATE) {
            err_set(err, errsz, "%s: capture rate %s Hz is above %d Hz", spec, at + 1,
                            MAX_RATE);
            return -EINVAL;
        }
    } else {
        at = NULL;
    }
    if (!name && strcmp(spec, "mic") != 0 && at != spec + 3) {
        err_set(err, errsz, "%s: not a microphone spec (mic, mic:NAME, mic@RATE)", spec);
        return -EINVAL;
    }
    if (name) {
        name_len = at ? (size_t)(at - name) : strlen(name);
        want = strndup(name, name_len);
        if (!want) {
            err_set(err, errsz, "%s: out of memory", spec);
            return -ENOMEM;
        }
    }
    *ret_want = want;
    *ret_rate = (unsigned)rate;
    return 0;
}

int audio_mic_check_spec(const char *spec, char *err, size_t errsz)
{
    unsigned rate;
    char *want = NULL;
    int r = parse_spec(spec, err, errsz, &want, &rate);

    free(want);
    return r;
}

/* Capturing at 16 kHz spares us resampling; many devices only do 44.1 or
 * 48 kHz natively, and then we convert in the reader, off the real-time
 * thread. @RATE (want_rate) asks for our converter even where a plugin
 * (ALSA's plug, a sound server) would convert: theirs may be worse. */
static int choose_rate(const char *spec, const PaDeviceInfo *info,
                       const PaStreamParameters *params, unsigned want_rate, char *err,
                       size_t errsz, unsigned *ret_rate)
{
    if (want_rate != 0) {
        if (Pa_IsFormatSupported(params, NULL, want_rate) != paFormatIsSupported) {
            err_set(err, errsz, "%s: device \"%s\" cannot capture 16-bit mono at %u Hz",
                            spec, info->name, want_rate);
            return -ENOTSUP;
        }
        *ret_rate = want_rate;
        return 0;
    }
    if (Pa_IsFormatSupported(params, NULL, AUDIO_RATE) == paFormatIsSupported) {
        *ret_rate = AUDIO_RATE;
        return 0;
    }
    double rate = info->defaultSampleRate;

    if (rate < MIN_RATE || rate > MAX_RATE ||
        Pa_IsFormatSupported(params, NULL, rate) != paFormatIsSupported) {
        err_set(err, errsz,
                        "%s: device \"%s\" can capture 16-bit mono at neither %d Hz nor "
                        "its default %.0f Hz",
                        spec, info->name, AUDIO_RATE, rate);
        return -ENOTSUP;
    }
    *ret_rate = (unsigned)lround(rate);
    return 0;
}

/* The capture ring for ring_ms (0: the default) at mic->rate and, when that
 * is not 16 kHz, the reader's resampler and its input chunk. */
static int make_buffers(struct audio_mic *mic, unsigned ring_ms, char *err, size_t errsz)
{
    uint64_t ring_samples;
    int r;

    if (ring_ms == 0) {
        ring_ms = DEFAULT_RING_MS;
    }
    if (ring_ms > MAX_RING_MS) {
        ring_ms = MAX_RING_MS;
    }
    ring_samples = (uint64_t)ring_ms * mic->rate / 1000;
    r = audio_ring_new((size_t)ring_samples, &mic->ring);
    if (r < 0) {
        err_set(err, errsz, "%s: cannot allocate the capture ring: %s", mic->spec,
                        strerror(-r));
        return r;
    }
    if (mic->rate == AUDIO_RATE) {
        return 0;
    }
    mic->in = calloc(MIC_CHUNK, sizeof(*mic->in));
    if (!mic->in) {
        err_set(err, errsz, "%s: out of memory", mic->spec);
        return -ENOMEM;
    }
    r = audio_resampler_new(mic->rate, &mic->rs);
    if (r < 0) {
        err_set(err, errsz, "%s: cannot resample from %u Hz: %s", mic->spec, mic->rate,
                        strerror(-r));
        return r;
    }
    return 0;
}

/* Opens the stream on the device into mic->ring and starts it. */
static int start_capture(struct audio_mic *mic, const PaDeviceInfo *info,
                         const PaStreamParameters *params, char *err, size_t errsz)
{
    PaError pe;

    pe = Pa_OpenStream(&mic->stream, params, NULL, mic->rate, paFramesPerBufferUnspecified,
                       paNoFlag, capture_callback, mic->ring);
    if (pe != paNoError) {
        mic->stream = NULL;
        err_set(err, errsz, "%s: cannot open \"%s\": %s", mic->spec, info->name,
                        audio_pa_error_text(pe));
        return -EIO;
    }
    pe = Pa_StartStream(mic->stream);
    if (pe != paNoError) {
        err_set(err, errsz, "%s: cannot start capture on \"%s\": %s", mic->spec, info->name,
                        audio_pa_error_text(pe));
        return -EIO;
    }
    return 0;
}

int audio_mic_open(const char *spec, unsigned ring_ms, char *err, size_t errsz,
                   struct audio_mic **ret_mic)
{
    struct audio_mic *mic = NULL;
    char *want = NULL;
    unsigned want_rate = 0;
    const PaDeviceInfo *info;
    const PaHostApiInfo *api;
    PaStreamParameters params;
    int idx = paNoDevice;
    int r;

    mic = calloc(1, sizeof(*mic));
    if (!mic) {
        err_set(err, errsz, "%s: out of memory", spec);
        r = -ENOMEM;
        goto cleanup;
    }
    mic->spec = strdup(spec);
    if (!mic->spec) {
        err_set(err, errsz, "%s: out of memory", spec);
        r = -ENOMEM;
        goto cleanup;
    }
    r = parse_spec(spec, err, errsz, &want, &want_rate);
    if (r < 0) {
        goto cleanup;
    }

    r = audio_pa_open_device(spec, want, false, err, errsz, &idx);
    if (r < 0) {
        goto cleanup;
    }
    mic->pa_initialized = true;
    info = Pa_GetDeviceInfo(idx);
    api = Pa_GetHostApiInfo(info->hostApi);
    params = audio_input_params(idx, info);
    mic->device = strdup(info->name);
    if (!mic->device) {
        err_set(err, errsz, "%s: out of memory", spec);
        r = -ENOMEM;
        goto cleanup;
    }
    r = choose_rate(spec, info, &params, want_rate, err, errsz, &mic->rate);
    if (r < 0) {
        goto cleanup;
    }
    r = make_buffers(mic, ring_ms, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    mic->description = fmt_alloc("%s: \"%s\" via %s, %u Hz%s", spec, info->name,
                                           api && api->name ? api->name : "?", mic->rate,
                                           mic->rate == AUDIO_RATE ? "" : " resampled to 16000 Hz");
    if (!mic->description) {
        err_set(err, errsz, "%s: out of memory", spec);
        r = -ENOMEM;
        goto cleanup;
    }
    r = start_capture(mic, info, &params, err, errsz);
    if (r < 0) {
        goto cleanup;
    }

    *ret_mic = mic;
    mic = NULL;
cleanup:
    free(want);
    audio_mic_free(mic);
    return r;
}

/* Takes what the ring holds and hands back 16 kHz samples, or 0 if none. */
static ssize_t take(struct audio_mic *mic, int16_t *out, size_t n, char *err, size_t errsz)
{
    if (!mic->rs) {
        return (ssize_t)audio_ring_read(mic->ring, out, n);
    }
    for (;;) {
        ssize_t got;

        if (mic->in_pos == mic->in_len) {
            mic->in_len = audio_ring_read(mic->ring, mic->in, MIC_CHUNK);
            mic->in_pos = 0;
            if (mic->in_len == 0) {
                return 0;
            }
        }
        got = audio_resampler_step(mic->rs, mic->in, mic->in_len, &mic->in_pos, out, n, mic->spec,
                                   err, errsz);
        if (got != 0) {
            return got;
        }
    }
}

ssize_t audio_mic_read(struct audio_mic *mic, int16_t *samples, size_t n, char *err, size_t errsz)
{
    const struct timespec nap = {.tv_sec = 0, .tv_nsec = POLL_NSEC};
    double deadline = 0;

    if (mic->wedged) {
        err_set(err, errsz, "%s: PortAudio's capture thread for \"%s\" is stuck", mic->spec,
                        mic->device);
        return -ENOTRECOVERABLE;
    }
    if (mic->paused) {
        err_set(err, errsz, "%s: paused", mic->spec);
        return -EAGAIN;
    }
    for (;;) {
        ssize_t got = take(mic, samples, n, err, errsz);
        PaError active;

        if (got != 0) {
            return got;
        }
        /* Every way a device goes away ends here: an error from the host
         * API, a stream PortAudio stopped, or one that just went quiet. */
        active = Pa_IsStreamActive(mic->stream);
        if (active < 0) {
            err_set(err, errsz, "%s: capture from \"%s\" failed: %s", mic->spec,
                            mic->device, audio_pa_error_text(active));
            return -ENODEV;
        }
        if (active == 0) {
            err_set(err, errsz, "%s: capture from \"%s\" stopped", mic->spec,
                            mic->device);
            return -ENODEV;
        }
        if (deadline == 0) {
            deadline = now_mono_s() + STALL_S;
        } else if (now_mono_s() >= deadline) {
            err_set(err, errsz, "%s: no audio from \"%s\" for %d s", mic->spec,
                            mic->device, STALL_S);
            return -ENODEV;
        }
        nanosleep(&nap, NULL);
    }
}

const char *audio_mic_describe(const struct audio_mic *mic)
{
    return mic->description;
}

uint64_t audio_mic_overruns(const struct audio_mic *mic)
{
    return audio_ring_overruns(mic->ring);
}

int audio_mic_pause(struct audio_mic *mic)
{
    PaError pe = paNoError;

    if (mic->paused) {
        return 0;
    }
    if (mic->wedged) {
        return -ENOTRECOVERABLE;
    }
    /* Abort, not stop: nothing more is wanted from the device, not even
     * what it has buffered. If that fails the stream is closed, which ends
     * the callback for certain; resume then reports the device lost. */
    if (mic->stream && stop_stream(mic->stream, false, &pe) < 0) {
        mic->wedged = true;
        return -ENOTRECOVERABLE;
    }
    if (mic->stream && pe != paNoError && Pa_IsStreamStopped(mic->stream) != 1) {
        if (stop_stream(mic->stream, true, &pe) < 0) {
            mic->wedged = true;
            return -ENOTRECOVERABLE;
        }
        mic->stream = NULL;
    }
    /* The callback is not running any more: the ring has no producer. */
    audio_ring_clear(mic->ring);
    if (mic->rs) {
        audio_resampler_reset(mic->rs);
        explicit_bzero(mic->in, MIC_CHUNK * sizeof(*mic->in));
    }
    mic->in_len = 0;
    mic->in_pos = 0;
    mic->paused = true;
    return 0;
}

int audio_mic_resume(struct audio_mic *mic, char *err, size_t errsz)
{
    PaError pe;

    if (!mic->paused) {
        return 0;
    }
    /* Not paused any more either way: a failure here is a lost device,
     * and what reopens it should open it running. */
    mic->paused = false;
    if (!mic->stream) {
        err_set(err, errsz, "%s: capture from \"%s\" cannot restart", mic->spec,
                        mic->device);
        return -ENODEV;
    }
    pe = Pa_StartStream(mic->stream);
    if (pe != paNoError) {
        err_set(err, errsz, "%s: cannot restart capture from \"%s\": %s", mic->spec,
                        mic->device, audio_pa_error_text(pe));
        return -ENODEV;
    }
    return 0;
}

int audio_mic_close(struct audio_mic *mic, char *err, size_t errsz)
{
    PaError pe;

    /* Closing an active stream aborts it: the callback is not running any
     * more once this returns. */
    if (mic->stream && !mic->wedged) {
        if (stop_stream(mic->stream, true, &pe) < 0) {
            mic->wedged = true;
        } else {
            mic->stream = NULL;
        }
    }
    if (mic->wedged) {
        err_set(err, errsz,
                        "%s: PortAudio's capture thread for \"%s\" does not stop (a PortAudio "
                        "bug); hark must be restarted",
                        mic->spec, mic->device);
        return -ENOTRECOVERABLE;
    }
    return 0;
}

void audio_mic_free(struct audio_mic *mic)
{
    if (!mic) {
        return;
    }
    audio_mic_close(mic, NULL, 0);
    /* A wedged stream's thread still holds the ring, and PortAudio is still
     * busy with it: both stay (the process is going to be restarted). */
    if (!mic->wedged) {
        audio_ring_free(mic->ring);
    }
    audio_resampler_free(mic->rs);
    if (mic->in) {
        explicit_bzero(mic->in, MIC_CHUNK * sizeof(*mic->in));
        free(mic->in);
    }
    if (mic->pa_initialized && !mic->wedged) {
        Pa_Terminate();
    }
    free(mic->description);
    free(mic->device);
    free(mic->spec);
    free(mic);
}
