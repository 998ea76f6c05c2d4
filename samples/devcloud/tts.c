/* Speech synthesis for hark-devcloud (see tts.h). flite is small, needs no
 * model download, and its slt voice is 16 kHz already; any other rate is
 * resampled with speexdsp so the downlink is always 16 kHz. */
#include "tts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flite/flite.h>
#include <speex/speex_resampler.h>

#include "audio-opus.h"

#define TTS_RATE 16000
#define TTS_BITRATE 24000 /* speech at 16 kHz; comfortably intelligible */
#define TTS_COMPLEXITY 5
#define RESAMPLE_QUALITY 5
#define OPUS_PACKET_MAX 1275 /* the largest Opus packet (RFC 6716) */

/* flite's voices register through functions its headers do not declare. */
cst_voice *register_cmu_us_slt(const char *voxdir);
void unregister_cmu_us_slt(cst_voice *voice);

struct tts {
    cst_voice *voice;
};

int tts_new(char *err, size_t errsz, struct tts **ret_tts)
{
    struct tts *tts = calloc(1, sizeof(*tts));

    if (!tts) {
        return -ENOMEM;
    }
    flite_init();
    tts->voice = register_cmu_us_slt(NULL);
    if (!tts->voice) {
        snprintf(err, errsz, "cannot load flite's slt voice");
        free(tts);
        return -ENOENT;
    }
    *ret_tts = tts;
    return 0;
}

void tts_free(struct tts *tts)
{
    if (!tts) {
        return;
    }
    if (tts->voice) {
        unregister_cmu_us_slt(tts->voice);
    }
    free(tts);
}

static int resample(const int16_t *in, size_t n, int rate, int16_t **ret_pcm, size_t *ret_n)
{
    SpeexResamplerState *st;
    spx_uint32_t in_len, out_len, lat;
    int16_t *out = NULL, *zeros = NULL;
    size_t cap, done;
    int e, r = 0;

    if (n > UINT32_MAX / 2) {
        return -E2BIG;
    }
    st = speex_resampler_init(1, (spx_uint32_t)rate, TTS_RATE, RESAMPLE_QUALITY, &e);
    if (!st) {
        return -EINVAL;
    }
    /* Without the filter's delay at the start; flushed with zeros at the end. */
    speex_resampler_skip_zeros(st);
    lat = (spx_uint32_t)speex_resampler_get_input_latency(st);
    cap = (n + lat) * TTS_RATE / (size_t)rate + 64;
    out = malloc(cap * sizeof(*out));
    zeros = calloc(lat + 1, sizeof(*zeros));
    if (!out || !zeros) {
        r = -ENOMEM;
        goto finish;
    }
    in_len = (spx_uint32_t)n;
    out_len = (spx_uint32_t)cap;
    speex_resampler_process_int(st, 0, in, &in_len, out, &out_len);
    done = out_len;
    in_len = lat;
    out_len = (spx_uint32_t)(cap - done);
    speex_resampler_process_int(st, 0, zeros, &in_len, out + done, &out_len);
    done += out_len;
    *ret_pcm = out;
    *ret_n = done;
    out = NULL;
finish:
    free(out);
    free(zeros);
    speex_resampler_destroy(st);
    return r;
}

int tts_synthesize(struct tts *tts, const char *text, int16_t **ret_pcm, size_t *ret_n)
{
    cst_wave *wave;
    int16_t *pcm = NULL;
    size_t n;
    int r = 0;

    wave = flite_text_to_wave(text, tts->voice);
    if (!wave) {
        return -EIO;
    }
    n = (size_t)(cst_wave_num_samples(wave) > 0 ? cst_wave_num_samples(wave) : 0);
    if (cst_wave_num_channels(wave) != 1 || cst_wave_sample_rate(wave) <= 0) {
        r = -EINVAL;
        goto finish;
    }
    if (cst_wave_sample_rate(wave) == TTS_RATE) {
        pcm = malloc((n ? n : 1) * sizeof(*pcm));
        if (!pcm) {
            r = -ENOMEM;
            goto finish;
        }
        memcpy(pcm, cst_wave_samples(wave), n * sizeof(*pcm));
    } else {
        r = resample(cst_wave_samples(wave), n, cst_wave_sample_rate(wave), &pcm, &n);
        if (r < 0) {
            goto finish;
        }
    }
    *ret_pcm = pcm;
    *ret_n = n;
finish:
    delete_wave(wave);
    return r;
}

void tts_packets_finish(struct tts_packets *packets)
{
    if (!packets) {
        return;
    }
    free(packets->data);
    free(packets->offsets);
    *packets = (struct tts_packets){0};
}

int tts_encode(const int16_t *pcm, size_t n, size_t max_packets, struct tts_packets *ret_packets)
{
    struct audio_opus_encoder *enc = NULL;
    struct tts_packets p = {0};
    size_t frames = (n + AUDIO_OPUS_FRAME - 1) / AUDIO_OPUS_FRAME;
    size_t used = 0;
    int r;

    if (frames > max_packets) {
        frames = max_packets;
    }
    r = audio_opus_encoder_new(TTS_BITRATE, TTS_COMPLEXITY, &enc);
    if (r < 0) {
        return r;
    }
    /* A packet at 24 kbit/s is ~60 bytes; room for the largest one each. */
    p.data = malloc((frames ? frames : 1) * OPUS_PACKET_MAX);
    p.offsets = calloc(frames + 1, sizeof(*p.offsets));
    if (!p.data || !p.offsets) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t f = 0; f < frames; f++) {
        int16_t frame[AUDIO_OPUS_FRAME] = {0};
        size_t from = f * AUDIO_OPUS_FRAME;
        size_t len = n - from < AUDIO_OPUS_FRAME ? n - from : AUDIO_OPUS_FRAME;
        ssize_t w;

        memcpy(frame, pcm + from, len * sizeof(*frame));
        w = audio_opus_encode(enc, frame, p.data + used, OPUS_PACKET_MAX);
        if (w < 0) {
            r = (int)w;
            goto fail;
        }
        used += (size_t)w;
        p.offsets[f + 1] = used;
    }
    p.n = frames;
    audio_opus_encoder_free(enc);
    *ret_packets = p;
    return 0;

fail:
    audio_opus_encoder_free(enc);
    tts_packets_finish(&p);
    return r;
}
