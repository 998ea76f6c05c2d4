/* Single-producer/single-consumer lock-free ring of 16-bit samples: the only
 * thing the real-time capture callback touches. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct audio_ring;

/* Capacity is rounded up to a power of two. Returns 0 or -ENOMEM/-EINVAL. */
int audio_ring_new(size_t capacity, struct audio_ring **ret_ring);
/* Zeroes the samples before freeing them. Accepts NULL. */
void audio_ring_free(struct audio_ring *ring);

/* Producer side. Real-time safe: no allocation, no locks, no system calls.
 * Writes as many samples as fit and returns that number; samples that did not
 * fit are dropped and counted as overrun. */
size_t audio_ring_write(struct audio_ring *ring, const int16_t *samples, size_t n);

/* Consumer side. Reads up to n samples and returns the number read. */
size_t audio_ring_read(struct audio_ring *ring, int16_t *samples, size_t n);

/* Either side: samples ready to read (a snapshot). */
size_t audio_ring_available(const struct audio_ring *ring);
size_t audio_ring_capacity(const struct audio_ring *ring);
/* Samples dropped by the producer because the ring was full. */
uint64_t audio_ring_overruns(const struct audio_ring *ring);

/* Empties the ring and zeroes its memory. Only while neither side runs. */
void audio_ring_clear(struct audio_ring *ring);
