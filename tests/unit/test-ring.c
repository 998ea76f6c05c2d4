/* Tests for the SPSC sample ring: sizing, overruns, clear, and two threads
 * streaming millions of samples through it in random-sized chunks. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio-ring.h"

#include "check.h"

/* Enough to wrap the ring's free-running indices over many times and to
 * make an ordering bug show up, yet a few seconds under ASan. */
#define STRESS_SAMPLES (8u * 1000u * 1000u)
#define STRESS_CAPACITY 1000 /* rounds to 1024: small, so it is often full */
#define MAX_CHUNK 200

/* The value the i-th sample of the stream must have. */
static int16_t sample_at(uint64_t i)
{
    return (int16_t)(uint16_t)(i * 40503u + (i >> 16));
}

/* A deterministic generator per thread, so a failure can be replayed. */
static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_capacity(void)
{
    static const struct {
        size_t asked;
        size_t got;
    } cases[] = {{1, 1}, {2, 2}, {3, 4}, {1000, 1024}, {1024, 1024}, {1025, 2048}, {32000, 32768}};
    struct audio_ring *ring = NULL;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(audio_ring_new(cases[i].asked, &ring) == 0);
        if (!ring) {
            continue;
        }
        if (audio_ring_capacity(ring) != cases[i].got) {
            fprintf(stderr, "capacity %zu rounded to %zu, expected %zu\n", cases[i].asked,
                    audio_ring_capacity(ring), cases[i].got);
            check_failures++;
        }
        CHECK(audio_ring_available(ring) == 0);
        CHECK(audio_ring_overruns(ring) == 0);
        audio_ring_free(ring);
        ring = NULL;
    }

    CHECK(audio_ring_new(0, &ring) == -EINVAL);
    CHECK(ring == NULL);
    CHECK(audio_ring_new(SIZE_MAX, &ring) == -EINVAL);
    CHECK(ring == NULL);
    audio_ring_free(NULL);
}

static void test_overrun(void)
{
    struct audio_ring *ring = NULL;
    int16_t in[16];
    int16_t out[16];

    for (int i = 0; i < 16; i++) {
        in[i] = (int16_t)(100 + i);
    }
    CHECK(audio_ring_new(8, &ring) == 0);
    if (!ring) {
        return;
    }
    CHECK(audio_ring_write(ring, in, 5) == 5);
    CHECK(audio_ring_overruns(ring) == 0);
    /* Only 3 fit: those are kept, the other 2 are dropped and counted. */
    CHECK(audio_ring_write(ring, in + 5, 5) == 3);
    CHECK(audio_ring_overruns(ring) == 2);
    CHECK(audio_ring_available(ring) == 8);
    CHECK(audio_ring_write(ring, in, 1) == 0);
    CHECK(audio_ring_overruns(ring) == 3);

    /* What was kept is the oldest audio, in order. */
    CHECK(audio_ring_read(ring, out, 16) == 8);
    for (int i = 0; i < 8; i++) {
        CHECK(out[i] == 100 + i);
    }
    CHECK(audio_ring_read(ring, out, 16) == 0);
    CHECK(audio_ring_available(ring) == 0);

    /* Space again after reading; the counter is a total and stays. */
    CHECK(audio_ring_write(ring, in, 6) == 6);
    CHECK(audio_ring_overruns(ring) == 3);
    CHECK(audio_ring_read(ring, out, 6) == 6);
    CHECK(memcmp(in, out, 6 * sizeof(int16_t)) == 0);
    audio_ring_free(ring);
}

/* Writes and reads that straddle the end of the buffer come out whole. */
static void test_wrap(void)
{
    struct audio_ring *ring = NULL;
    int16_t in[8];
    int16_t out[8];
    uint64_t written = 0;
    uint64_t read = 0;

    CHECK(audio_ring_new(8, &ring) == 0);
    if (!ring) {
        return;
    }
    for (int round = 0; round < 100; round++) {
        size_t w = (size_t)(round % 7) + 1;
        size_t space = audio_ring_capacity(ring) - audio_ring_available(ring);
        size_t r;

        if (w > space) {
            w = space;
        }

        for (size_t i = 0; i < w; i++) {
            in[i] = sample_at(written + i);
        }
        CHECK(audio_ring_write(ring, in, w) == w);
        written += w;
        r = audio_ring_read(ring, out, (size_t)(round % 5) + 4);
        for (size_t i = 0; i < r; i++) {
            if (out[i] != sample_at(read + i)) {
                fprintf(stderr, "wrap: sample %llu is %d, expected %d\n",
                        (unsigned long long)(read + i), out[i], sample_at(read + i));
                check_failures++;
            }
        }
        read += r;
        CHECK(audio_ring_available(ring) == written - read);
    }
    CHECK(audio_ring_overruns(ring) == 0);
    audio_ring_free(ring);
}

static void test_clear(void)
{
    struct audio_ring *ring = NULL;
    int16_t in[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    int16_t out[10];

    CHECK(audio_ring_new(8, &ring) == 0);
    if (!ring) {
        return;
    }
    CHECK(audio_ring_write(ring, in, 10) == 8);
    audio_ring_clear(ring);
    CHECK(audio_ring_available(ring) == 0);
    CHECK(audio_ring_read(ring, out, 10) == 0);
    CHECK(audio_ring_overruns(ring) == 2);
    /* Usable again, with the full capacity. */
    CHECK(audio_ring_write(ring, in + 2, 8) == 8);
    CHECK(audio_ring_read(ring, out, 10) == 8);
    CHECK(memcmp(out, in + 2, 8 * sizeof(int16_t)) == 0);
    audio_ring_free(ring);
}

struct stress {
    struct audio_ring *ring;
    uint64_t mismatches;
    uint64_t first_bad;
    bool producer_failed;
    /* How often each side found the ring full or empty: proof that the
     * test really made the threads contend. */
    uint64_t full;
    uint64_t empty;
};

static void *producer(void *userdata)
{
    struct stress *s = userdata;
    int16_t chunk[MAX_CHUNK];
    uint32_t rng = 0x9e3779b9u;
    uint64_t sent = 0;

    while (sent < STRESS_SAMPLES) {
        size_t want = next_random(&rng) % MAX_CHUNK + 1;
        size_t space = audio_ring_capacity(s->ring) - audio_ring_available(s->ring);
        size_t n;

        if (want > STRESS_SAMPLES - sent) {
            want = (size_t)(STRESS_SAMPLES - sent);
        }
        /* Never write more than fits: this test wants every sample through,
         * so the ring must count no overrun at all. */
        if (want > space) {
            want = space;
        }
        if (want == 0) {
            s->full++;
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < want; i++) {
            chunk[i] = sample_at(sent + i);
        }
        n = audio_ring_write(s->ring, chunk, want);
        if (n != want) {
            fprintf(stderr, "producer: wrote %zu of %zu with %zu free\n", n, want, space);
            s->producer_failed = true;
            return NULL;
        }
        sent += n;
    }
    return NULL;
}

static void *consumer(void *userdata)
{
    struct stress *s = userdata;
    int16_t chunk[MAX_CHUNK];
    uint32_t rng = 0x85ebca6bu;
    uint64_t got = 0;

    while (got < STRESS_SAMPLES) {
        size_t want = next_random(&rng) % MAX_CHUNK + 1;
        size_t n = audio_ring_read(s->ring, chunk, want);

        if (n == 0) {
            s->empty++;
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] != sample_at(got + i)) {
                if (s->mismatches++ == 0) {
                    s->first_bad = got + i;
                }
            }
        }
        got += n;
    }
    return NULL;
}

static void test_stress(void)
{
    struct stress s = {0};
    pthread_t prod;
    pthread_t cons;
    double t0;
    double elapsed;

    CHECK(audio_ring_new(STRESS_CAPACITY, &s.ring) == 0);
    if (!s.ring) {
        return;
    }
    t0 = now_seconds();
    CHECK(pthread_create(&cons, NULL, consumer, &s) == 0);
    CHECK(pthread_create(&prod, NULL, producer, &s) == 0);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    elapsed = now_seconds() - t0;

    if (s.mismatches) {
        fprintf(stderr, "stress: %llu samples wrong, the first at %llu\n",
                (unsigned long long)s.mismatches, (unsigned long long)s.first_bad);
        check_failures++;
    }
    CHECK(!s.producer_failed);
    CHECK(audio_ring_available(s.ring) == 0);
    CHECK(audio_ring_overruns(s.ring) == 0);
    printf("stress: %u samples through a %zu-sample ring in %.2f s (found full %llu times, "
           "empty %llu times)\n",
           STRESS_SAMPLES, audio_ring_capacity(s.ring), elapsed, (unsigned long long)s.full,
           (unsigned long long)s.empty);
    audio_ring_free(s.ring);
}

int main(void)
{
    test_capacity();
    test_overrun();
    test_wrap();
    test_clear();
    test_stress();

    return check_status();
}
