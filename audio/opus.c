/* Opus for the cloud link (libopus): the request's audio is encoded here, the
 * answer's speech decoded; 16 kHz mono, 20 ms frames. */
#include "audio-opus.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "audio-source.h"

#define MIN_BITRATE 6000
#define MAX_BITRATE 64000
#define MAX_COMPLEXITY 10
/* The longest packet Opus has is 120 ms; more samples than that are never
 * decoded at once, so a larger buffer is simply not used beyond this. */
#define MAX_DECODE_SAMPLES (AUDIO_OPUS_FRAME * 6)

/* The codec states live in memory of our own (opus_*_get_size and _init
 * instead of _create) so that the audio history they keep, the last frames
 * of what was said, can be zeroed before it is freed. */
struct audio_opus_encoder {
    OpusEncoder *enc;
    size_t size;
};

struct audio_opus_decoder {
    OpusDecoder *dec;
    size_t size;
};

static int errno_from_opus(int e)
{
    switch (e) {
    case OPUS_BAD_ARG:
        return -EINVAL;
    case OPUS_BUFFER_TOO_SMALL:
        return -ENOBUFS;
    case OPUS_INVALID_PACKET:
        return -EBADMSG;
    case OPUS_ALLOC_FAIL:
        return -ENOMEM;
    case OPUS_UNIMPLEMENTED:
        return -ENOTSUP;
    default:
        return -EIO;
    }
}

/* Zeroed, then freed: the memory held codec state, that is recent audio. */
static void *alloc_state(size_t size)
{
    return calloc(1, size);
}

static void free_state(void *state, size_t size)
{
    if (!state) {
        return;
    }
    explicit_bzero(state, size);
    free(state);
}

int audio_opus_encoder_new(int bitrate, int complexity, struct audio_opus_encoder **ret_encoder)
{
    struct audio_opus_encoder *e = NULL;
    int size;
    int r;

    if (bitrate < MIN_BITRATE || bitrate > MAX_BITRATE || complexity < 0 ||
        complexity > MAX_COMPLEXITY || !ret_encoder) {
        return -EINVAL;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        r = -ENOMEM;
        goto cleanup;
    }
    size = opus_encoder_get_size(1);
    if (size <= 0) {
        r = -EIO;
        goto cleanup;
    }
    e->size = (size_t)size;
    e->enc = alloc_state(e->size);
    if (!e->enc) {
        r = -ENOMEM;
        goto cleanup;
    }
    r = opus_encoder_init(e->enc, AUDIO_RATE, 1, OPUS_APPLICATION_VOIP);
    if (r != OPUS_OK) {
        r = errno_from_opus(r);
        goto cleanup;
    }
    /* Hard CBR, and no DTX: every 20 ms packet has the same length whatever
     * was said. Over TLS the only thing an observer of the link sees is the
     * size and timing of each record, and with VBR the sizes follow the
     * speech closely enough to recognise phrases and languages in them (as
     * has been shown for encrypted VBR VoIP); with DTX they would at least
     * say when someone spoke. CBR also makes the uplink exactly what the
     * bitrate says (24 kbit/s: 60 bytes a frame, 3000 B/s of Opus), which
     * keeps it within its 3 KB/s budget. What VBR would buy, slightly better
     * quality at the same average rate, a speech recogniser hardly needs.
     * No in-band FEC either: the link is TCP, nothing is ever lost. */
    r = opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(bitrate));
    if (r == OPUS_OK) {
        r = opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(complexity));
    }
    if (r == OPUS_OK) {
        r = opus_encoder_ctl(e->enc, OPUS_SET_VBR(0));
    }
    if (r == OPUS_OK) {
        r = opus_encoder_ctl(e->enc, OPUS_SET_DTX(0));
    }
    if (r == OPUS_OK) {
        r = opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(0));
    }
    if (r == OPUS_OK) {
        r = opus_encoder_ctl(e->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    }
    if (r != OPUS_OK) {
        r = errno_from_opus(r);
        goto cleanup;
    }

    *ret_encoder = e;
    e = NULL;
    r = 0;
cleanup:
    audio_opus_encoder_free(e);
    return r;
}

void audio_opus_encoder_free(struct audio_opus_encoder *encoder)
{
    if (!encoder) {
        return;
    }
    free_state(encoder->enc, encoder->size);
    free(encoder);
}

ssize_t audio_opus_encode(struct audio_opus_encoder *encoder, const int16_t *pcm, uint8_t *out,
                          size_t outsz)
{
    opus_int32 room;
    opus_int32 n;

    if (!encoder || !encoder->enc || !pcm || !out || outsz == 0) {
        return -EINVAL;
    }
    /* An Opus packet is never longer than 1275 bytes; a bigger buffer is
     * fine, it is just not all used. */
    room = outsz > 1275 ? 1275 : (opus_int32)outsz;
    n = opus_encode(encoder->enc, pcm, AUDIO_OPUS_FRAME, out, room);
    if (n < 0) {
        return errno_from_opus(n);
    }
    if (n == 0) {
        return -EIO;
    }
    return n;
}

int audio_opus_decoder_new(struct audio_opus_decoder **ret_decoder)
{
    struct audio_opus_decoder *d = NULL;
    int size;
    int r;

    if (!ret_decoder) {
        return -EINVAL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        r = -ENOMEM;
        goto cleanup;
    }
    size = opus_decoder_get_size(1);
    if (size <= 0) {
        r = -EIO;
        goto cleanup;
    }
    d->size = (size_t)size;
    d->dec = alloc_state(d->size);
    if (!d->dec) {
        r = -ENOMEM;
        goto cleanup;
    }
    r = opus_decoder_init(d->dec, AUDIO_RATE, 1);
    if (r != OPUS_OK) {
        r = errno_from_opus(r);
        goto cleanup;
    }

    *ret_decoder = d;
    d = NULL;
    r = 0;
cleanup:
    audio_opus_decoder_free(d);
    return r;
}

void audio_opus_decoder_free(struct audio_opus_decoder *decoder)
{
    if (!decoder) {
        return;
    }
    free_state(decoder->dec, decoder->size);
    free(decoder);
}

ssize_t audio_opus_decode(struct audio_opus_decoder *decoder, const uint8_t *packet, size_t len,
                          int16_t *pcm, size_t max_samples)
{
    int frame_size;
    int n;

    if (!decoder || !decoder->dec || !pcm) {
        return -EINVAL;
    }
    if (max_samples > MAX_DECODE_SAMPLES) {
        max_samples = MAX_DECODE_SAMPLES;
    }
    if (!packet) {
        /* A lost frame: concealment continues the last one for 20 ms. */
        if (max_samples < AUDIO_OPUS_FRAME) {
            return -ENOBUFS;
        }
        n = opus_decode(decoder->dec, NULL, 0, pcm, AUDIO_OPUS_FRAME, 0);
        return n < 0 ? errno_from_opus(n) : n;
    }
    /* libopus reads an empty packet as a lost one; for us it is a broken
     * one (every Opus packet has at least its TOC byte). */
    if (len == 0 || len > INT32_MAX) {
        return -EBADMSG;
    }
    /* libopus checks the packet's framing before its length against pcm, so
     * a corrupt packet reads as -EBADMSG and only a sound one as -ENOBUFS. */
    frame_size = (int)max_samples;
    n = opus_decode(decoder->dec, packet, (opus_int32)len, pcm, frame_size, 0);
    return n < 0 ? errno_from_opus(n) : n;
}
