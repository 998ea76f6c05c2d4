/* Stop requests by signal, see signals.h. */
#include <signal.h>
#include <stddef.h>

#include "signals.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_interrupt_signal(int sig)
{
    (void)sig;
}

void signals_install(void)
{
    struct sigaction stop = {.sa_handler = on_stop_signal};
    struct sigaction interrupt = {.sa_handler = on_interrupt_signal};

    sigemptyset(&stop.sa_mask);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGTERM, &stop, NULL);
    sigemptyset(&interrupt.sa_mask);
    sigaction(SIGUSR1, &interrupt, NULL);
    /* A peer that goes away mid-write must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
}

bool signals_stop_requested(void)
{
    return stop_requested != 0;
}

void signals_request_stop(void)
{
    stop_requested = 1;
}

void signals_interrupt(pthread_t thread)
{
    pthread_kill(thread, SIGUSR1);
}
