/* hark-devcloud's speech recognition: PocketSphinx with its general US
 * English language model, one whole utterance at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct asr;

struct asr_params {
    const char *hmm;  /* acoustic model directory */
    const char *lm;   /* language model (en-us.lm.bin) */
    const char *dict; /* pronunciation dictionary */
    bool decoder_log; /* let PocketSphinx log to stderr */
};

/* The language model Debian installs next to the acoustic model directory:
 * .../model/en-us/en-us -> .../model/en-us/en-us.lm.bin. */
int asr_default_lm(const char *hmm, char *out, size_t outsz);

/* Loads the models (a few seconds, ~100 MB). Errors name the file. */
int asr_new(const struct asr_params *params, char *err, size_t errsz, struct asr **ret_asr);
void asr_free(struct asr *asr);

/* Recognises one utterance of 16 kHz mono. *ret_text is malloc'd, lower
 * case, words separated by single spaces, and may be empty. Not thread-safe:
 * one caller at a time. */
int asr_decode(struct asr *asr, const int16_t *pcm, size_t n, char **ret_text);
