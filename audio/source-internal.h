/* Pieces shared by the audio source and sink implementation files; not a
 * public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <portaudio.h>

#include "base-err.h"

/* Mono int16 rate conversion to AUDIO_RATE that keeps timing: its filter
 * delay is removed at the start and its tail is flushed at the end. */
struct audio_resampler;

/* The speexdsp quality setting (0..10) every conversion uses. */
#define AUDIO_RESAMPLER_QUALITY 4

int audio_resampler_new(unsigned in_rate, struct audio_resampler **ret_resampler);
/* Zeroes the filter memory (it holds recent audio) before freeing. Accepts NULL. */
void audio_resampler_free(struct audio_resampler *rs);
/* Consumes up to *in_len samples and writes up to *out_len; on return both
 * say how many were actually consumed and written. Returns 0 or -EIO. */
int audio_resampler_process(struct audio_resampler *rs, const int16_t *in, size_t *in_len,
                            int16_t *out, size_t *out_len);
/* One step of a reader that buffers its input: resamples what is left of
 * in[*pos, len) into up to n samples of out and moves *pos past what it
 * used. Returns the samples written (0: it wants more input), or -EIO with a
 * message that names who. */
ssize_t audio_resampler_step(struct audio_resampler *rs, const int16_t *in, size_t len, size_t *pos,
                             int16_t *out, size_t n, const char *who, char *err, size_t errsz);
/* Forgets all input: zeroes the filter memory and starts afresh. */
void audio_resampler_reset(struct audio_resampler *rs);
/* After the last input: writes up to n samples of the tail still inside the
 * filter and returns how many; 0 once the output is exactly as long as the
 * input, in time, was. */
size_t audio_resampler_drain(struct audio_resampler *rs, int16_t *out, size_t n);

/* device.c: PortAudio's devices.
 *
 * Initialises PortAudio with fd 2 pointed at /dev/null while ALSA and JACK
 * probe (unless audio_set_backend_messages(true)), and finds the device the
 * spec names (after "mic:" or "speaker:"): want NULL for the default device,
 * else an index or part of a name, an exact name first. Returns 0 (the
 * caller then owes a Pa_Terminate()), or -EIO, -ENODEV or -EINVAL with a
 * message that names spec (PortAudio is terminated again). Meant for
 * start-up and for reopening a lost microphone: a message another thread
 * writes to stderr meanwhile would be lost. */
int audio_pa_open_device(const char *spec, const char *want, bool output, char *err, size_t errsz,
                         int *ret_index);

/* How the sink opens an output device (16-bit mono, high latency): also
 * what `hark devices` asks whether it can play 16 kHz. */
PaStreamParameters audio_output_params(int index);
/* How the microphone opens an input device (16-bit mono, high latency). */
PaStreamParameters audio_input_params(int index, const PaDeviceInfo *info);
/* Pa_GetErrorText, or the host API's own text when it has one. */
const char *audio_pa_error_text(PaError e);

/* source-mic.c: PortAudio capture behind the "mic" and "mic:NAME" specs. */
struct audio_mic;

int audio_mic_open(const char *spec, unsigned ring_ms, char *err, size_t errsz,
                   struct audio_mic **ret_mic);
/* The form and rate of a "mic..." spec, without PortAudio. */
int audio_mic_check_spec(const char *spec, char *err, size_t errsz);
ssize_t audio_mic_read(struct audio_mic *mic, int16_t *samples, size_t n, char *err, size_t errsz);
const char *audio_mic_describe(const struct audio_mic *mic);
uint64_t audio_mic_overruns(const struct audio_mic *mic);
int audio_mic_pause(struct audio_mic *mic);
int audio_mic_resume(struct audio_mic *mic, char *err, size_t errsz);
/* Closes the stream; -ENOTRECOVERABLE (with a message) if it is wedged. */
int audio_mic_close(struct audio_mic *mic, char *err, size_t errsz);
void audio_mic_free(struct audio_mic *mic);
