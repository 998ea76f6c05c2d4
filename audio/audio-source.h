/* Audio sources: a file in any format libsndfile reads, raw s16le 16 kHz mono
 * on stdin, or a PortAudio capture device; all delivered as 16 kHz mono. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AUDIO_RATE 16000

struct audio_source;

struct audio_source_options {
    /* Pace file and stdin input like a live microphone. */
    bool realtime;
    /* Microphone only: capture ring size in milliseconds (0: default 2000). */
    unsigned ring_ms;
};

/* Opens a source from its spec:
 *   "-"           raw signed 16-bit little-endian 16 kHz mono on stdin
 *   "mic"         the default PortAudio input device
 *   "mic:NAME"    the input device whose name contains NAME, or index NAME
 *   "mic@RATE", "mic:NAME@RATE"
 *                 the same, captured at RATE Hz (8000 to 384000) and
 *                 resampled here; without @RATE a device is captured at
 *                 16 kHz if it can, else at its default rate
 *   anything else a file path (at 8 kHz or more: below, the speech band
 *                 is gone and nothing could wake)
 * On failure returns a negative errno and writes a message that names the file
 * or device into err (which the caller logs). */
int audio_source_open(const char *spec, const struct audio_source_options *opts, char *err,
                      size_t errsz, struct audio_source **ret_source);

/* Checks a spec without opening anything (for the config file): a
 * microphone spec's form and rate. A file is not looked at. Returns 0, or
 * -EINVAL with a message in err. */
int audio_source_check_spec(const char *spec, char *err, size_t errsz);

/* Reads up to n samples of 16 kHz mono. Returns the number read (> 0), 0 at
 * the end of the input, or a negative errno with a message in err (for
 * example a file that turns out to be truncated or corrupt). A microphone
 * blocks until samples arrive. -EINTR: a signal interrupted a wait for stdin;
 * read again unless the caller is stopping. -ENODEV: the capture device
 * failed, stopped, or delivered nothing for 3 s (it vanished, or its sound
 * server went away); the message names it, and audio_source_reopen() may
 * bring it back. -EAGAIN: the microphone is paused. -ENOTRECOVERABLE: see
 * audio_source_reopen(). */
ssize_t audio_source_read(struct audio_source *source, int16_t *samples, size_t n, char *err,
                          size_t errsz);

/* A short description such as "speech.flac: 44100 Hz, 2 channels, FLAC". */
const char *audio_source_describe(const struct audio_source *source);

/* Samples lost to capture overruns (microphone only; 0 for files). */
uint64_t audio_source_overruns(const struct audio_source *source);

/* Stops capture, zeroes buffers. Accepts NULL. */
void audio_source_free(struct audio_source *source);

/* A capture device (it never ends by itself), not a recording or stdin. */
bool audio_source_is_live(const struct audio_source *source);

/* After -ENODEV: closes the device and opens the same spec again, with
 * PortAudio terminated and initialised anew so that it looks for devices
 * again (unless the playback sink keeps it initialised). One attempt: the
 * caller retries with backoff. A paused microphone stays paused. Returns 0,
 * -ENOTSUP for a file or stdin, or the negative errno of the open with a
 * message in err; until it succeeds, reads return -ENODEV.
 * -ENOTRECOVERABLE: PortAudio could not stop the old stream within 2 s (its
 * ALSA capture thread can hang in a loop when a device fails early); it is
 * abandoned, and only restarting hark helps. */
int audio_source_reopen(struct audio_source *source, char *err, size_t errsz);

/* Microphone only (files and stdin: 0, nothing done). Pause closes the
 * capture stream, so nothing is captured at all and the sound server has no
 * stream of ours, and zeroes the capture ring and the resampler's memory;
 * resume opens the device again.
 * Both return 0 when already so. Pause returns 0 even when the device has
 * failed (it is stopped either way), -ENOTRECOVERABLE when PortAudio cannot
 * stop it (see audio_source_reopen); resume returns -ENODEV with a message
 * when the stream cannot start. Reading a paused microphone returns -EAGAIN.
 * Not thread-safe: call from the thread that reads. */
int audio_source_pause(struct audio_source *source);
int audio_source_resume(struct audio_source *source, char *err, size_t errsz);

/* ALSA and JACK print pages of probing chatter on stderr while PortAudio
 * looks for devices; it is hidden unless shown here (hark -vv). */
void audio_set_backend_messages(bool show);

struct audio_device_info {
    int index;
    const char *name;
    const char *host_api;
    int max_input_channels;  /* 0: not a capture device */
    int max_output_channels; /* 0: not a playback device */
    double default_rate;
    bool input_16k;  /* captures 16-bit mono at 16 kHz (else hark resamples) */
    bool output_16k; /* plays 16-bit mono at 16 kHz (else the sink refuses it) */
    bool is_default_input;
    bool is_default_output;
};

/* Calls fn once per device that can capture or play, or both. Returns 0 or
 * a negative errno with a message in err. */
int audio_devices_enumerate(void (*fn)(const struct audio_device_info *info, void *userdata),
                            void *userdata, char *err, size_t errsz);
