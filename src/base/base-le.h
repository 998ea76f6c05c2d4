/* Little-endian integers in byte buffers, for the file and wire formats
 * that are defined byte by byte (history records, WAV headers). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The low n bytes of v (n at most 8), least significant first. */
static inline void le_put(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* n bytes (at most 8), least significant first. */
static inline uint64_t le_get(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

static inline void le_put16(uint8_t *p, uint16_t v)
{
    le_put(p, v, 2);
}

static inline void le_put32(uint8_t *p, uint32_t v)
{
    le_put(p, v, 4);
}

static inline void le_put64(uint8_t *p, uint64_t v)
{
    le_put(p, v, 8);
}

static inline uint16_t le_get16(const uint8_t *p)
{
    return (uint16_t)le_get(p, 2);
}

static inline uint32_t le_get32(const uint8_t *p)
{
    return (uint32_t)le_get(p, 4);
}

static inline uint64_t le_get64(const uint8_t *p)
{
    return le_get(p, 8);
}
