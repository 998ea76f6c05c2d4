/* The link's reconnect backoff and the jitter that keeps devices out of step
 * (doc/architecture.md, "The cloud link"). */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "link-internal.h"

#define BACKOFF_FIRST_S 0.25
#define BACKOFF_CAP_S 20.0

double link_backoff_delay_s(unsigned attempt, double u)
{
    double base = BACKOFF_FIRST_S;

    for (unsigned i = 0; i < attempt && base < BACKOFF_CAP_S; i++) {
        base *= 2;
    }
    if (base > BACKOFF_CAP_S) {
        base = BACKOFF_CAP_S;
    }
    return base * (0.5 + u);
}

/* xorshift64*: jitter needs spread, not secrecy. */
double link_rng_uniform01(struct link *link)
{
    uint64_t x = link->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    link->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

void link_rng_seed(struct link *link)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid() ^
               (uint64_t)(uintptr_t)link;
    }
    link->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}
