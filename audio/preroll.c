/* Pre-roll ring: a single-threaded overwrite ring in RAM, see audio-preroll.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audio-preroll.h"

struct audio_preroll {
    int16_t *samples;
    size_t capacity;
    uint64_t position;   /* samples pushed since creation */
    uint64_t valid_from; /* nothing older than this may be copied out (cleared) */
};

int audio_preroll_new(size_t capacity, struct audio_preroll **ret_preroll)
{
    struct audio_preroll *p;

    if (capacity == 0) {
        return -EINVAL;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    p->samples = calloc(capacity, sizeof(*p->samples));
    if (!p->samples) {
        free(p);
        return -ENOMEM;
    }
    p->capacity = capacity;
    *ret_preroll = p;
    return 0;
}

void audio_preroll_free(struct audio_preroll *preroll)
{
    if (!preroll) {
        return;
    }
    if (preroll->samples) {
        explicit_bzero(preroll->samples, preroll->capacity * sizeof(*preroll->samples));
    }
    free(preroll->samples);
    free(preroll);
}

void audio_preroll_push(struct audio_preroll *preroll, const int16_t *samples, size_t n)
{
    /* Only the last capacity samples of a long push can survive it. */
    if (n > preroll->capacity) {
        preroll->position += n - preroll->capacity;
        samples += n - preroll->capacity;
        n = preroll->capacity;
    }
    while (n > 0) {
        size_t at = (size_t)(preroll->position % preroll->capacity);
        size_t chunk = preroll->capacity - at;

        if (chunk > n) {
            chunk = n;
        }
        memcpy(preroll->samples + at, samples, chunk * sizeof(*samples));
        preroll->position += chunk;
        samples += chunk;
        n -= chunk;
    }
}

uint64_t audio_preroll_position(const struct audio_preroll *preroll)
{
    return preroll->position;
}

size_t audio_preroll_copy(const struct audio_preroll *preroll, uint64_t from, int16_t *out,
                          size_t max, uint64_t *ret_from)
{
    uint64_t oldest =
        preroll->position > preroll->capacity ? preroll->position - preroll->capacity : 0;
    size_t n, done = 0;

    if (oldest < preroll->valid_from) {
        oldest = preroll->valid_from;
    }
    if (from < oldest) {
        from = oldest;
    }
    if (from > preroll->position) {
        from = preroll->position;
    }
    n = (size_t)(preroll->position - from);
    if (n > max) {
        n = max;
    }
    while (done < n) {
        size_t at = (size_t)((from + done) % preroll->capacity);
        size_t chunk = preroll->capacity - at;

        if (chunk > n - done) {
            chunk = n - done;
        }
        memcpy(out + done, preroll->samples + at, chunk * sizeof(*out));
        done += chunk;
    }
    if (ret_from) {
        *ret_from = from;
    }
    return n;
}

void audio_preroll_clear(struct audio_preroll *preroll)
{
    explicit_bzero(preroll->samples, preroll->capacity * sizeof(*preroll->samples));
    preroll->valid_from = preroll->position;
}
