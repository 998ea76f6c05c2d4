/* `hark run`: the whole pipeline. The ear thread listens and encodes; the
 * loop thread (the caller's) owns the cloud link, the answers and the events. */
#pragma once

#include <stdbool.h>

#include "config.h"

struct run_options {
    const char *input;  /* source spec; NULL: [audio] input */
    const char *output; /* answers to this WAV file; NULL: the default output device */
    bool realtime;      /* pace file input like a microphone */
};

/* Runs until the input ends and the last request has finished (file or
 * stdin), or until SIGINT/SIGTERM (microphone). Returns the exit code: 0, or 1
 * on an error and when the link could never be established. Logs errors. */
int run_main(const struct hark_config *cfg, const struct run_options *opts);
