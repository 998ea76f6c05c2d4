/* Opus for the cloud link: 16 kHz mono, 20 ms frames, VOIP application. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AUDIO_OPUS_FRAME 320 /* samples in 20 ms at 16 kHz */

struct audio_opus_encoder;
struct audio_opus_decoder;

/* bitrate in bit/s (6000 to 64000), complexity 0 to 10. */
int audio_opus_encoder_new(int bitrate, int complexity, struct audio_opus_encoder **ret_encoder);
void audio_opus_encoder_free(struct audio_opus_encoder *encoder);
/* Encodes exactly AUDIO_OPUS_FRAME samples; returns the packet length
 * (1 to outsz) or a negative errno. */
ssize_t audio_opus_encode(struct audio_opus_encoder *encoder, const int16_t *pcm, uint8_t *out,
                          size_t outsz);

int audio_opus_decoder_new(struct audio_opus_decoder **ret_decoder);
void audio_opus_decoder_free(struct audio_opus_decoder *decoder);
/* Decodes one packet into pcm (room for AUDIO_OPUS_FRAME * 6 samples: a
 * packet may hold up to 120 ms); packet NULL conceals one lost 20 ms frame.
 * Returns the number of samples or a negative errno (-EBADMSG for a corrupt
 * packet). */
ssize_t audio_opus_decode(struct audio_opus_decoder *decoder, const uint8_t *packet, size_t len,
                          int16_t *pcm, size_t max_samples);
