/* Rate conversion to 16 kHz with speexdsp, keeping every input sample in time. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <speex/speex_resampler.h>

#include "audio-source.h"
#include "source-internal.h"

struct audio_resampler {
    SpeexResamplerState *st;
    unsigned in_rate;
    /* Real input consumed and output produced: their ratio fixes how long the
     * output must be once the input ends. */
    uint64_t in_total;
    uint64_t out_total;
    /* Padding fed in by drain, bounded so a misbehaving filter cannot spin. */
    uint64_t zeros_fed;
};

/* Silence pushed through the filter at the end to bring its tail out. */
static const spx_int16_t zeros[256];

/* speexdsp counts in 32 bits; callers may hand us more than that. */
static spx_uint32_t clamp_u32(size_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (spx_uint32_t)n;
}

int audio_resampler_new(unsigned in_rate, struct audio_resampler **ret_resampler)
{
    struct audio_resampler *rs = NULL;
    int err = RESAMPLER_ERR_SUCCESS;
    int r;

    if (in_rate == 0 || !ret_resampler) {
        return -EINVAL;
    }
    rs = calloc(1, sizeof(*rs));
    if (!rs) {
        r = -ENOMEM;
        goto cleanup;
    }
    rs->in_rate = in_rate;
    rs->st = speex_resampler_init(1, in_rate, AUDIO_RATE, AUDIO_RESAMPLER_QUALITY, &err);
    if (!rs->st) {
        r = err == RESAMPLER_ERR_ALLOC_FAILED ? -ENOMEM : -EINVAL;
        goto cleanup;
    }
    /* Without this the output starts with the filter's half length of
     * silence and everything after it arrives late by the same amount. */
    speex_resampler_skip_zeros(rs->st);

    *ret_resampler = rs;
    rs = NULL;
    r = 0;
cleanup:
    audio_resampler_free(rs);
    return r;
}

void audio_resampler_free(struct audio_resampler *rs)
{
    if (!rs) {
        return;
    }
    if (rs->st) {
        speex_resampler_reset_mem(rs->st);
        speex_resampler_destroy(rs->st);
    }
    free(rs);
}

void audio_resampler_reset(struct audio_resampler *rs)
{
    speex_resampler_reset_mem(rs->st);
    speex_resampler_skip_zeros(rs->st);
    rs->in_total = 0;
    rs->out_total = 0;
    rs->zeros_fed = 0;
}

int audio_resampler_process(struct audio_resampler *rs, const int16_t *in, size_t *in_len,
                            int16_t *out, size_t *out_len)
{
    spx_uint32_t ilen = clamp_u32(*in_len);
    spx_uint32_t olen = clamp_u32(*out_len);

    if (speex_resampler_process_int(rs->st, 0, in, &ilen, out, &olen) != RESAMPLER_ERR_SUCCESS) {
        return -EIO;
    }
    rs->in_total += ilen;
    rs->out_total += olen;
    *in_len = ilen;
    *out_len = olen;
    return 0;
}

ssize_t audio_resampler_step(struct audio_resampler *rs, const int16_t *in, size_t len, size_t *pos,
                             int16_t *out, size_t n, const char *who, char *err, size_t errsz)
{
    size_t in_len = len - *pos;
    size_t out_len = n;
    int r = audio_resampler_process(rs, in + *pos, &in_len, out, &out_len);

    if (r < 0) {
        err_set(err, errsz, "%s: resampling failed", who);
        return r;
    }
    *pos += in_len;
    return (ssize_t)out_len;
}

size_t audio_resampler_drain(struct audio_resampler *rs, int16_t *out, size_t n)
{
    /* One output sample per 1/16000 s the input lasted, rounded up: the same
     * length a converter with no delay would have produced. */
    uint64_t expected = (rs->in_total * AUDIO_RATE + rs->in_rate - 1) / rs->in_rate;
    /* The filter needs its input latency of padding; allow generously more. */
    uint64_t max_zeros = 2 * (uint64_t)speex_resampler_get_input_latency(rs->st) + rs->in_rate;
    size_t made = 0;

    while (rs->out_total < expected && made < n && rs->zeros_fed < max_zeros) {
        spx_uint32_t ilen = sizeof(zeros) / sizeof(zeros[0]);
        spx_uint32_t olen = clamp_u32(n - made);

        if (olen > expected - rs->out_total) {
            olen = (spx_uint32_t)(expected - rs->out_total);
        }
        if (speex_resampler_process_int(rs->st, 0, zeros, &ilen, out + made, &olen) !=
            RESAMPLER_ERR_SUCCESS) {
            break;
        }
        rs->zeros_fed += ilen;
        rs->out_total += olen;
        made += olen;
    }
    return made;
}
