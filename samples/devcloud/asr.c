/* Speech recognition for hark-devcloud (see asr.h). The decoder is loaded
 * once; each utterance is decoded in one call with the full-utterance flag,
 * so cepstral mean normalisation sees the whole request. */
#define _GNU_SOURCE
#include "asr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

struct asr {
    cmd_ln_t *config;
    ps_decoder_t *ps;
};

static int check_readable(const char *what, const char *path, char *err, size_t errsz)
{
    int r;

    if (!path || !*path) {
        snprintf(err, errsz, "no %s given", what);
        return -EINVAL;
    }
    if (access(path, R_OK) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s %s: %s", what, path, strerror(errno));
        return r;
    }
    return 0;
}

int asr_default_lm(const char *hmm, char *out, size_t outsz)
{
    const char *slash = strrchr(hmm, '/');
    int n;

    if (!slash) {
        n = snprintf(out, outsz, "%s.lm.bin", hmm);
    } else {
        n = snprintf(out, outsz, "%.*s/%s.lm.bin", (int)(slash - hmm), hmm, slash + 1);
    }
    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

int asr_new(const struct asr_params *params, char *err, size_t errsz, struct asr **ret_asr)
{
    struct asr *asr;
    int r;

    r = check_readable("acoustic model", params->hmm, err, errsz);
    if (r >= 0) {
        r = check_readable("language model", params->lm, err, errsz);
    }
    if (r >= 0) {
        r = check_readable("dictionary", params->dict, err, errsz);
    }
    if (r < 0) {
        return r;
    }
    asr = calloc(1, sizeof(*asr));
    if (!asr) {
        return -ENOMEM;
    }
    /* PocketSphinx logs pages at start and a line per utterance, transcripts
     * included: silent unless asked for. */
    err_set_logfp(params->decoder_log ? stderr : NULL);
    asr->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", params->hmm, "-lm", params->lm,
                              "-dict", params->dict, NULL);
    if (!asr->config) {
        snprintf(err, errsz, "cannot configure the recogniser");
        r = -EINVAL;
        goto fail;
    }
    asr->ps = ps_init(asr->config);
    if (!asr->ps) {
        snprintf(err, errsz, "cannot load the recogniser's models (%s, %s, %s)", params->hmm,
                 params->lm, params->dict);
        r = -EINVAL;
        goto fail;
    }
    *ret_asr = asr;
    return 0;

fail:
    asr_free(asr);
    return r;
}

void asr_free(struct asr *asr)
{
    if (!asr) {
        return;
    }
    if (asr->ps) {
        ps_free(asr->ps);
    }
    if (asr->config) {
        cmd_ln_free_r(asr->config);
    }
    free(asr);
}

int asr_decode(struct asr *asr, const int16_t *pcm, size_t n, char **ret_text)
{
    const char *hyp;
    int32 score;
    char *text;

    if (ps_start_utt(asr->ps) < 0) {
        return -EIO;
    }
    if (n > 0 && ps_process_raw(asr->ps, pcm, n, FALSE, TRUE) < 0) {
        ps_end_utt(asr->ps);
        return -EIO;
    }
    if (ps_end_utt(asr->ps) < 0) {
        return -EIO;
    }
    hyp = ps_get_hyp(asr->ps, &score);
    text = strdup(hyp ? hyp : "");
    if (!text) {
        return -ENOMEM;
    }
    *ret_text = text;
    return 0;
}
