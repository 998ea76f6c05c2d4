/* PortAudio's devices, for the microphone (source-mic.c), the playback sink
 * (sink.c) and `hark devices`: starting PortAudio quietly, finding a device
 * by the name or index a spec gives, the stream parameters each direction
 * opens with, and the list. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <portaudio.h>

#include "audio-source.h"
#include "source-internal.h"

static bool backend_messages;

void audio_set_backend_messages(bool show)
{
    backend_messages = show;
}

/* PortAudio's ALSA and JACK back-ends write straight to fd 2 while probing.
 * Point fd 2 at /dev/null for the call; this happens while hark starts or
 * lists devices, before any other thread writes to stderr. Returns the saved
 * fd, or -1 when nothing was redirected. */
static int quiet_begin(void)
{
    int saved, null;

    if (backend_messages) {
        return -1;
    }
    null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0) {
        return -1;
    }
    fflush(stderr);
    saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved >= 0 && dup2(null, STDERR_FILENO) < 0) {
        close(saved);
        saved = -1;
    }
    close(null);
    return saved;
}

static void quiet_end(int saved)
{
    if (saved < 0) {
        return;
    }
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* Pa_Initialize() with fd 2 pointed at /dev/null while ALSA and JACK probe
 * (unless audio_set_backend_messages(true)); returns its PaError. Meant for
 * start-up and for reopening a lost microphone: a message another thread
 * writes meanwhile would be lost. */
static PaError initialize_quietly(void)
{
    int saved = quiet_begin();
    PaError pe = Pa_Initialize();

    quiet_end(saved);
    return pe;
}

const char *audio_pa_error_text(PaError e)
{
    if (e == paUnanticipatedHostError) {
        const PaHostErrorInfo *info = Pa_GetLastHostErrorInfo();

        if (info && info->errorText && info->errorText[0]) {
            return info->errorText;
        }
    }
    return Pa_GetErrorText(e);
}

static bool contains_casefold(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);

    for (; *haystack; haystack++) {
        size_t i = 0;

        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i])) {
            i++;
        }
        if (i == n) {
            return true;
        }
    }
    return n == 0;
}

static bool all_digits(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

static bool is_input(PaDeviceIndex idx)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(idx);

    return info && info->maxInputChannels > 0 && info->name;
}

static bool is_output(PaDeviceIndex idx)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(idx);

    return info && info->maxOutputChannels > 0 && info->name;
}

/* The PortAudio device spec names: want NULL for the default device, else an
 * index or part of a name, an exact name first. */
static int find_device(const char *spec, const char *want, bool output, char *err, size_t errsz,
                       int *ret_index)
{
    bool (*usable)(PaDeviceIndex) = output ? is_output : is_input;
    const char *kind = output ? "output" : "input";
    PaDeviceIndex count = Pa_GetDeviceCount();
    PaDeviceIndex found = paNoDevice;
    int devices = 0;

    if (count < 0) {
        err_set(err, errsz, "%s: cannot list audio devices: %s", spec,
                        audio_pa_error_text(count));
        return -EIO;
    }
    for (PaDeviceIndex i = 0; i < count; i++) {
        devices += usable(i);
    }

    if (!want) {
        found = output ? Pa_GetDefaultOutputDevice() : Pa_GetDefaultInputDevice();
        if (found == paNoDevice || !usable(found)) {
            err_set(err, errsz, "%s: no default %s device (%d %s devices found)", spec,
                            kind, devices, kind);
            return -ENODEV;
        }
        *ret_index = found;
        return 0;
    }
    if (!*want) {
        err_set(err, errsz, "%s: empty device name", spec);
        return -EINVAL;
    }
    if (all_digits(want)) {
        long idx = strtol(want, NULL, 10);

        if (strlen(want) > 9 || idx >= count || !usable((PaDeviceIndex)idx)) {
            err_set(err, errsz, "%s: no %s device with index %s (%d %s devices found)",
                            spec, kind, want, devices, kind);
            return -ENODEV;
        }
        *ret_index = (PaDeviceIndex)idx;
        return 0;
    }
    /* An exact name wins over the first partial match, so a device whose
     * name is contained in another's can still be picked. */
    for (PaDeviceIndex i = 0; i < count && found == paNoDevice; i++) {
        if (usable(i) && strcasecmp(Pa_GetDeviceInfo(i)->name, want) == 0) {
            found = i;
        }
    }
    for (PaDeviceIndex i = 0; i < count && found == paNoDevice; i++) {
        if (usable(i) && contains_casefold(Pa_GetDeviceInfo(i)->name, want)) {
            found = i;
        }
    }
    if (found == paNoDevice) {
        err_set(err, errsz, "%s: no %s device matches \"%s\" (%d %s devices found)", spec,
                        kind, want, devices, kind);
        return -ENODEV;
    }
    *ret_index = found;
    return 0;
}

int audio_pa_open_device(const char *spec, const char *want, bool output, char *err, size_t errsz,
                         int *ret_index)
{
    PaError pe = initialize_quietly();
    int r;

    if (pe != paNoError) {
        err_set(err, errsz, "%s: cannot initialise PortAudio: %s", spec, audio_pa_error_text(pe));
        return -EIO;
    }
    r = find_device(spec, want, output, err, errsz, ret_index);
    if (r < 0) {
        Pa_Terminate();
    }
    return r;
}

PaStreamParameters audio_input_params(int idx, const PaDeviceInfo *info)
{
    /* The high latency setting asks for larger periods: fewer wake-ups and
     * fewer overruns on a busy machine, at a delay a wake word does not mind. */
    return (PaStreamParameters){
        .device = idx,
        .channelCount = 1,
        .sampleFormat = paInt16,
        .suggestedLatency = info->defaultHighInputLatency,
        .hostApiSpecificStreamInfo = NULL,
    };
}

PaStreamParameters audio_output_params(int index)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(index);

    /* The high latency setting asks for large periods: an answer does not
     * mind 100 ms more delay, a stutter would be heard. */
    return (PaStreamParameters){
        .device = index,
        .channelCount = 1,
        .sampleFormat = paInt16,
        .suggestedLatency = info ? info->defaultHighOutputLatency : 0.1,
        .hostApiSpecificStreamInfo = NULL,
    };
}

int audio_devices_enumerate(void (*fn)(const struct audio_device_info *info, void *userdata),
                            void *userdata, char *err, size_t errsz)
{
    PaDeviceIndex count;
    PaDeviceIndex def_in;
    PaDeviceIndex def_out;
    PaError pe;
    int r;

    if (!fn) {
        err_set(err, errsz, "audio_devices_enumerate: no callback");
        return -EINVAL;
    }
    pe = initialize_quietly();
    if (pe != paNoError) {
        err_set(err, errsz, "cannot initialise PortAudio: %s", audio_pa_error_text(pe));
        return -EIO;
    }

    count = Pa_GetDeviceCount();
    if (count < 0) {
        err_set(err, errsz, "cannot list audio devices: %s", audio_pa_error_text(count));
        r = -EIO;
        goto cleanup;
    }
    def_in = Pa_GetDefaultInputDevice();
    def_out = Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        const PaHostApiInfo *api;
        PaStreamParameters in;
        PaStreamParameters out;
        struct audio_device_info d;

        if (!is_input(i) && !is_output(i)) {
            continue;
        }
        api = Pa_GetHostApiInfo(info->hostApi);
        in = audio_input_params(i, info);
        out = audio_output_params(i);
        d = (struct audio_device_info){
            .index = i,
            .name = info->name,
            .host_api = api && api->name ? api->name : "?",
            .max_input_channels = is_input(i) ? info->maxInputChannels : 0,
            .max_output_channels = is_output(i) ? info->maxOutputChannels : 0,
            .default_rate = info->defaultSampleRate,
            .input_16k = is_input(i) &&
                         Pa_IsFormatSupported(&in, NULL, AUDIO_RATE) == paFormatIsSupported,
            .output_16k = is_output(i) &&
                          Pa_IsFormatSupported(NULL, &out, AUDIO_RATE) == paFormatIsSupported,
            .is_default_input = i == def_in,
            .is_default_output = i == def_out,
        };
        fn(&d, userdata);
    }
    r = 0;
cleanup:
    Pa_Terminate();
    return r;
}
