/* The clocks: monotonic for timeouts and pacing (it never jumps), real time
 * only for what is shown to people or stored with a date. */
#pragma once

#include <stdint.h>

/* Seconds on CLOCK_MONOTONIC. */
double now_mono_s(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_mono_ms(void);
/* Milliseconds since the epoch on CLOCK_REALTIME. */
int64_t now_real_ms(void);
