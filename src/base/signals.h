/* SIGINT and SIGTERM ask hark to stop: a flag that loops check. Installed
 * without SA_RESTART so that a blocking read returns EINTR and its loop sees
 * the flag. SIGUSR1 does nothing but interrupt a thread's wait (see
 * signals_interrupt). */
#pragma once

#include <pthread.h>
#include <stdbool.h>

void signals_install(void);
bool signals_stop_requested(void);
/* Asks hark to stop, as SIGTERM would (for a thread that decided to). */
void signals_request_stop(void);
/* Interrupts a blocking system call in thread. */
void signals_interrupt(pthread_t thread);
