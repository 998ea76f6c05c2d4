/* The lock-free SPSC sample ring between the capture callback and the reader. */
#include "audio-ring.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the producer's and the consumer's index on separate cache lines so
 * the two threads do not bounce one line between their cores. */
#define CACHE_LINE 64

struct audio_ring {
    int16_t *data;
    size_t capacity;
    size_t mask;

    /* Free-running counters: they only ever grow and wrap at SIZE_MAX, which a
     * power-of-two capacity divides, so head - tail is the fill level even
     * across the wrap and a full ring is told apart from an empty one without
     * wasting a slot. */
    _Alignas(CACHE_LINE) _Atomic size_t head; /* written by the producer only */
    /* Written by the producer only; a plain load and store would do, but the
     * consumer reads it from another thread. */
    _Atomic uint64_t overruns;

    _Alignas(CACHE_LINE) _Atomic size_t tail; /* written by the consumer only */
};

static size_t round_up_pow2(size_t n)
{
    size_t p = 1;

    while (p < n) {
        p <<= 1;
    }
    return p;
}

int audio_ring_new(size_t capacity, struct audio_ring **ret_ring)
{
    struct audio_ring *ring = NULL;
    void *mem = NULL;
    int r;

    if (capacity == 0 || capacity > (SIZE_MAX / 2 + 1) / sizeof(int16_t) || !ret_ring) {
        return -EINVAL;
    }

    /* malloc only promises alignof(max_align_t), less than the struct asks. */
    if (posix_memalign(&mem, CACHE_LINE, sizeof(*ring)) != 0) {
        r = -ENOMEM;
        goto cleanup;
    }
    ring = mem;
    memset(ring, 0, sizeof(*ring));
    ring->capacity = round_up_pow2(capacity);
    ring->mask = ring->capacity - 1;
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    atomic_init(&ring->overruns, 0);
    /* calloc so a reader can never see stale heap contents. */
    ring->data = calloc(ring->capacity, sizeof(*ring->data));
    if (!ring->data) {
        r = -ENOMEM;
        goto cleanup;
    }

    *ret_ring = ring;
    ring = NULL;
    r = 0;
cleanup:
    audio_ring_free(ring);
    return r;
}

void audio_ring_free(struct audio_ring *ring)
{
    if (!ring) {
        return;
    }
    if (ring->data) {
        explicit_bzero(ring->data, ring->capacity * sizeof(*ring->data));
        free(ring->data);
    }
    free(ring);
}

size_t audio_ring_write(struct audio_ring *ring, const int16_t *samples, size_t n)
{
    /* Our own index: nobody else writes it. */
    size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    /* Acquire pairs with the consumer's release: the slots it has given back
     * are really done being read before we overwrite them. */
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    size_t space = ring->capacity - (head - tail);
    size_t todo = n < space ? n : space;
    size_t offset = head & ring->mask;
    size_t first = ring->capacity - offset;

    if (todo > 0) {
        if (first > todo) {
            first = todo;
        }
        memcpy(ring->data + offset, samples, first * sizeof(*samples));
        memcpy(ring->data, samples + first, (todo - first) * sizeof(*samples));
        /* Release publishes the samples before the index that covers them. */
        atomic_store_explicit(&ring->head, head + todo, memory_order_release);
    }
    if (todo < n) {
        uint64_t lost = atomic_load_explicit(&ring->overruns, memory_order_relaxed);
        atomic_store_explicit(&ring->overruns, lost + (n - todo), memory_order_relaxed);
    }
    return todo;
}

size_t audio_ring_read(struct audio_ring *ring, int16_t *samples, size_t n)
{
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    /* Acquire pairs with the producer's release: the samples up to head are
     * visible once head is. */
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    size_t avail = head - tail;
    size_t todo = n < avail ? n : avail;
    size_t offset = tail & ring->mask;
    size_t first = ring->capacity - offset;

    if (todo == 0) {
        return 0;
    }
    if (first > todo) {
        first = todo;
    }
    memcpy(samples, ring->data + offset, first * sizeof(*samples));
    memcpy(samples + first, ring->data, (todo - first) * sizeof(*samples));
    /* Release: our copies are finished before the producer may reuse the slots. */
    atomic_store_explicit(&ring->tail, tail + todo, memory_order_release);
    return todo;
}

size_t audio_ring_available(const struct audio_ring *ring)
{
    /* Tail first: both only grow, so a head read afterwards is never behind
     * it; a stale tail can only overstate the fill, hence the clamp. */
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    size_t avail = head - tail;

    return avail < ring->capacity ? avail : ring->capacity;
}

size_t audio_ring_capacity(const struct audio_ring *ring)
{
    return ring->capacity;
}

uint64_t audio_ring_overruns(const struct audio_ring *ring)
{
    return atomic_load_explicit(&ring->overruns, memory_order_relaxed);
}

void audio_ring_clear(struct audio_ring *ring)
{
    /* The overrun count is kept: it is a lifetime statistic, not content. */
    explicit_bzero(ring->data, ring->capacity * sizeof(*ring->data));
    atomic_store_explicit(&ring->head, 0, memory_order_release);
    atomic_store_explicit(&ring->tail, 0, memory_order_release);
}
