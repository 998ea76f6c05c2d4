/* hark-devcloud's speech synthesis: flite's slt voice, as 16 kHz mono, cut
 * into 20 ms Opus packets for the downlink. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct tts;

/* 20 ms Opus packets, back to back in data; packet i is
 * data[offsets[i]] .. data[offsets[i + 1]]. */
struct tts_packets {
    uint8_t *data;
    size_t *offsets;
    size_t n;
};

/* Initialises flite and its voice (once per process). */
int tts_new(char *err, size_t errsz, struct tts **ret_tts);
void tts_free(struct tts *tts);

/* Synthesises text as 16 kHz mono; *ret_pcm is malloc'd. Not thread-safe. */
int tts_synthesize(struct tts *tts, const char *text, int16_t **ret_pcm, size_t *ret_n);

/* Encodes 16 kHz mono as 20 ms Opus packets (the last padded with silence),
 * at most max_packets of them (the rest is dropped). */
int tts_encode(const int16_t *pcm, size_t n, size_t max_packets, struct tts_packets *ret_packets);
void tts_packets_finish(struct tts_packets *packets);
