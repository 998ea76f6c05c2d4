/* Where the answer's speech goes: a PortAudio output device, or a WAV file
 * (tests, headless machines). 16 kHz mono in. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct audio_sink;

/* A 16 kHz mono 16-bit WAV file, created or truncated (0600: it holds what
 * the assistant said). */
int audio_sink_open(const char *path, char *err, size_t errsz, struct audio_sink **ret_sink);
/* An output device from its spec, named as capture devices are:
 *   "speaker"       the default PortAudio output device
 *   "speaker:NAME"  the output device whose name is NAME, else the first
 *                   whose name contains NAME (case-insensitive), or whose
 *                   index (hark devices) is NAME
 * It must play 16-bit mono at 16 kHz (ALSA's plug devices convert). On
 * failure a negative errno and a message naming spec and the device. */
int audio_sink_open_device(const char *spec, char *err, size_t errsz,
                           struct audio_sink **ret_sink);
/* Files: the path; devices: such as speaker:USB: "USB Audio" via ALSA. */
const char *audio_sink_describe(const struct audio_sink *sink);
/* Queues samples for playback (never blocks the caller for long: a device
 * sink buffers up to 60 s and drops beyond), or appends them to the file. */
int audio_sink_write(struct audio_sink *sink, const int16_t *samples, size_t n, char *err,
                     size_t errsz);
/* Playback sinks: waits until what was written has been played (at most
 * timeout_ms). Files: flushes. */
int audio_sink_drain(struct audio_sink *sink, unsigned timeout_ms);
/* Samples written but not yet handed to the device (0 for files): lets an
 * event loop wait for playback without blocking. */
size_t audio_sink_pending(const struct audio_sink *sink);
/* Finishes the file (header sizes) or stops the device. Accepts NULL. */
void audio_sink_free(struct audio_sink *sink);
