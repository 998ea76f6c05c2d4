/* hark-devcloud's speech loop without the network: a spoken request (a WAV
 * made with flite by devcloud-voice.sh) goes through Opus and back as it
 * would over the link, is recognised and mapped to an intent; the response is
 * synthesised, encoded, decoded and recognised again. Prints the speeds.
 * usage: test-devcloud-voice REQUEST.WAV INTENTS.CONF */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sndfile.h>

#include "base-clock.h"
#include "asr.h"
#include "audio-opus.h"
#include "hark-build.h"
#include "intents.h"
#include "tts.h"

#include "check.h"

static int16_t *read_wav(const char *path, size_t *ret_n)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    int16_t *pcm;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
        exit(1);
    }
    if (info.samplerate != 16000 || info.channels != 1) {
        fprintf(stderr, "%s: want 16 kHz mono\n", path);
        exit(1);
    }
    pcm = calloc((size_t)info.frames + 1, sizeof(*pcm));
    *ret_n = (size_t)sf_read_short(f, pcm, info.frames);
    sf_close(f);
    return pcm;
}

/* Encodes in 20 ms packets and decodes them again, as the link does. */
static int16_t *opus_round_trip(const int16_t *pcm, size_t n, size_t *ret_n, size_t *ret_bytes)
{
    struct audio_opus_encoder *enc;
    struct audio_opus_decoder *dec;
    size_t frames = (n + AUDIO_OPUS_FRAME - 1) / AUDIO_OPUS_FRAME, out_n = 0, bytes = 0;
    int16_t *out = calloc(frames * AUDIO_OPUS_FRAME, sizeof(*out));

    if (!out || audio_opus_encoder_new(24000, 5, &enc) < 0 || audio_opus_decoder_new(&dec) < 0) {
        fprintf(stderr, "cannot set up Opus\n");
        exit(1);
    }
    for (size_t f = 0; f < frames; f++) {
        int16_t frame[AUDIO_OPUS_FRAME] = {0};
        int16_t decoded[AUDIO_OPUS_FRAME * 6];
        uint8_t packet[1275];
        size_t len = n - f * AUDIO_OPUS_FRAME;
        ssize_t w, d;

        memcpy(frame, pcm + f * AUDIO_OPUS_FRAME,
               (len < AUDIO_OPUS_FRAME ? len : AUDIO_OPUS_FRAME) * sizeof(*frame));
        w = audio_opus_encode(enc, frame, packet, sizeof(packet));
        CHECKF(w > 0, "encode: %zd", w);
        if (w <= 0) {
            break;
        }
        bytes += (size_t)w;
        d = audio_opus_decode(dec, packet, (size_t)w, decoded, AUDIO_OPUS_FRAME * 6);
        CHECKF(d == AUDIO_OPUS_FRAME, "decode: %zd", d);
        if (d != AUDIO_OPUS_FRAME) {
            break;
        }
        memcpy(out + out_n, decoded, sizeof(decoded[0]) * AUDIO_OPUS_FRAME);
        out_n += AUDIO_OPUS_FRAME;
    }
    audio_opus_encoder_free(enc);
    audio_opus_decoder_free(dec);
    *ret_n = out_n;
    *ret_bytes = bytes;
    return out;
}

static int16_t *decode_packets(const struct tts_packets *p, size_t *ret_n)
{
    struct audio_opus_decoder *dec;
    int16_t *out = calloc(p->n * AUDIO_OPUS_FRAME * 6 + 1, sizeof(*out));
    size_t n = 0;

    if (!out || audio_opus_decoder_new(&dec) < 0) {
        exit(1);
    }
    for (size_t i = 0; i < p->n; i++) {
        ssize_t d =
            audio_opus_decode(dec, p->data + p->offsets[i], p->offsets[i + 1] - p->offsets[i],
                              out + n, AUDIO_OPUS_FRAME * 6);
        CHECKF(d == AUDIO_OPUS_FRAME, "downlink packet %zu decodes to %zd samples", i, d);
        if (d > 0) {
            n += (size_t)d;
        }
    }
    audio_opus_decoder_free(dec);
    *ret_n = n;
    return out;
}

int main(int argc, char **argv)
{
    struct asr_params ap = {.hmm = HARK_MODEL_DIR, .dict = HARK_DICT};
    struct asr *asr = NULL;
    struct tts *tts = NULL;
    struct intents *intents = NULL;
    struct intent_result res;
    struct tts_packets packets = {0};
    char lm[PATH_MAX], err[1024];
    int16_t *req, *heard, *speech, *answer;
    size_t n_req, n_heard, bytes, n_speech, n_answer;
    char *text = NULL, *text2 = NULL;
    double t0, t_load, t_asr, t_tts, t_asr2;
    bool has_city = false;

    if (argc != 3) {
        fprintf(stderr, "usage: %s REQUEST.WAV INTENTS.CONF\n", argv[0]);
        return 2;
    }
    if (intents_load(argv[2], err, sizeof(err), &intents) < 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    asr_default_lm(HARK_MODEL_DIR, lm, sizeof(lm));
    ap.lm = lm;
    t0 = now_mono_s();
    if (asr_new(&ap, err, sizeof(err), &asr) < 0 || tts_new(err, sizeof(err), &tts) < 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    t_load = now_mono_s() - t0;

    /* The request, as the server would receive it. */
    req = read_wav(argv[1], &n_req);
    heard = opus_round_trip(req, n_req, &n_heard, &bytes);
    CHECKF(n_heard >= n_req && n_heard < n_req + AUDIO_OPUS_FRAME, "%zu samples back for %zu",
          n_heard, n_req);
    t0 = now_mono_s();
    CHECKF(asr_decode(asr, heard, n_heard, &text) == 0, "asr_decode");
    t_asr = now_mono_s() - t0;
    printf("request: %.2f s of audio, %zu Opus bytes; transcript \"%s\"\n", n_heard / 16000.0,
           bytes, text ? text : "");
    printf("ASR: %.2f s, %.3f s per second of audio; models loaded in %.2f s\n", t_asr,
           t_asr / (n_heard / 16000.0), t_load);
    CHECKF(text && strstr(text, "weather"), "the transcript lacks 'weather'");
    intents_match(intents, text ? text : "", &res);
    CHECKF(strcmp(res.name, "weather") == 0, "intent %s, expected weather", res.name);
    CHECKF(!res.sensitive, "weather is not sensitive");
    for (size_t i = 0; i < res.n_slots; i++) {
        printf("slot %s = %s\n", res.slots[i].name, res.slots[i].value);
        has_city = has_city || (strcmp(res.slots[i].name, "city") == 0 &&
                                strcmp(res.slots[i].value, "paris") == 0);
    }
    if (text && strstr(text, "paris")) {
        CHECKF(has_city, "'paris' heard but no city slot");
    } else {
        printf("note: 'paris' was not recognised\n");
    }
    printf("intent %s; request \"%s\"; response \"%s\"\n", res.name, res.request, res.response);

    /* The response: synthesised, 20 ms Opus packets, heard again. */
    t0 = now_mono_s();
    CHECKF(tts_synthesize(tts, res.response, &speech, &n_speech) == 0, "tts_synthesize");
    CHECKF(tts_encode(speech, n_speech, 3000, &packets) == 0, "tts_encode");
    t_tts = now_mono_s() - t0;
    CHECKF(packets.n == (n_speech + AUDIO_OPUS_FRAME - 1) / AUDIO_OPUS_FRAME,
          "%zu packets for %zu samples", packets.n, n_speech);
    CHECKF(n_speech > 16000, "only %zu samples of speech", n_speech);
    printf("TTS: %.2f s of speech in %zu packets (%zu bytes), made in %.3f s (%.3f s per "
           "second of speech)\n",
           n_speech / 16000.0, packets.n, packets.offsets[packets.n], t_tts,
           t_tts / (n_speech / 16000.0));
    answer = decode_packets(&packets, &n_answer);
    t0 = now_mono_s();
    CHECKF(asr_decode(asr, answer, n_answer, &text2) == 0, "asr_decode of the answer");
    t_asr2 = now_mono_s() - t0;
    printf("the answer heard back: \"%s\" (%.2f s)\n", text2 ? text2 : "", t_asr2);
    CHECKF(text2 && (strstr(text2, "sunny") || strstr(text2, "degrees") || strstr(text2, "twenty")),
          "the synthesised answer is not recognisable");

    /* The cap on downlink packets holds. */
    tts_packets_finish(&packets);
    CHECKF(tts_encode(speech, n_speech, 10, &packets) == 0 && packets.n == 10, "cap: %zu",
          packets.n);
    tts_packets_finish(&packets);
    tts_packets_finish(NULL);

    free(req);
    free(heard);
    free(speech);
    free(answer);
    free(text);
    free(text2);
    asr_free(asr);
    tts_free(tts);
    intents_free(intents);
    return check_status();
}
