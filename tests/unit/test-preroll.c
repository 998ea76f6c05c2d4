/* Tests for the pre-roll ring: wrap-around, clamping, clearing. */
#include <stdio.h>
#include <stdlib.h>

#include "audio-preroll.h"

#include "check.h"

static void push_sequence(struct audio_preroll *p, int16_t first, size_t n, size_t chunk)
{
    int16_t buf[64];
    size_t done = 0;

    while (done < n) {
        size_t k = n - done < chunk ? n - done : chunk;
        for (size_t i = 0; i < k; i++) {
            buf[i] = (int16_t)(first + (int16_t)(done + i));
        }
        audio_preroll_push(p, buf, k);
        done += k;
    }
}

int main(void)
{
    struct audio_preroll *p = NULL;
    int16_t out[256];
    uint64_t from = 0;
    size_t n;

    CHECK(audio_preroll_new(0, &p) < 0);
    CHECK(audio_preroll_new(100, &p) == 0);

    /* Less than capacity: everything is kept. */
    push_sequence(p, 0, 40, 7);
    CHECK(audio_preroll_position(p) == 40);
    n = audio_preroll_copy(p, 0, out, 256, &from);
    CHECK(n == 40 && from == 0 && out[0] == 0 && out[39] == 39);

    /* Wrap around several times with odd chunk sizes: the last 100 are kept. */
    push_sequence(p, 40, 1000, 33);
    CHECK(audio_preroll_position(p) == 1040);
    n = audio_preroll_copy(p, 0, out, 256, &from);
    CHECK(n == 100 && from == 940);
    for (size_t i = 0; i < n; i++) {
        CHECK(out[i] == (int16_t)(940 + i));
    }

    /* A window in the middle, limited by max. */
    n = audio_preroll_copy(p, 1000, out, 10, &from);
    CHECK(n == 10 && from == 1000 && out[0] == 1000 && out[9] == 1009);

    /* A push larger than the ring keeps only its tail. */
    push_sequence(p, 2000, 250, 64);
    n = audio_preroll_copy(p, 0, out, 256, &from);
    CHECK(n == 100 && from == 1190 && out[0] == 2150 && out[99] == 2249);

    /* From beyond the newest sample: nothing. */
    CHECK(audio_preroll_copy(p, 5000, out, 256, &from) == 0);

    /* Clear: nothing before it can be copied out, the position stays. */
    audio_preroll_clear(p);
    CHECK(audio_preroll_position(p) == 1290);
    CHECK(audio_preroll_copy(p, 0, out, 256, &from) == 0);
    push_sequence(p, 7, 5, 5);
    n = audio_preroll_copy(p, 0, out, 256, &from);
    CHECK(n == 5 && from == 1290 && out[0] == 7);

    audio_preroll_free(p);
    audio_preroll_free(NULL);

    return check_status();
}
