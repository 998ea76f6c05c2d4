/* hark tune's inside, shared by tune.c (the options, the sweep, the report
 * and the config) and tune-pass.c (the passes over the recordings). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define MAX_FILES 4096
#define MAX_THRESHOLDS 16
/* The cut-off that turns every detection down (the config's upper bound, VERIFY_MAX). */
#define REJECT_ALL 20.0

/* What a recording holds: the phrase once, no phrase, or something close
 * to it (counted and shown apart, not in the target). */
enum kind {
    POSITIVE,
    NEGATIVE,
    NEAR_MISS,
};

struct file {
    char *path;
    enum kind kind;
};

/* What one threshold's pass found in one file. */
struct result {
    double seconds;
    size_t n;       /* candidates */
    double *scores; /* their second-pass scores, -INFINITY when unaligned */
};

struct tune {
    /* The phrase has a neural model (this file): the thresholds are the
     * neural detector's, and the cut-offs are swept only when PocketSphinx's
     * second pass checks its proposals (combine = verify). */
    const char *model;
    bool cutoffs;
    struct file files[MAX_FILES];
    size_t n_files;
    double thresholds[MAX_THRESHOLDS];
    size_t n_thresholds;
    struct result *results[MAX_THRESHOLDS]; /* [threshold][file] */
    double neg_hours;
    size_t n_pos;
    size_t n_near_files;
};

/* Blocks SIGINT, SIGTERM and SIGCHLD for the whole of tune, before any pass
 * starts; their action the default one. */
void tune_block_stop_signals(void);

/* SIGINT or SIGTERM if one is waiting (taken), else 0. */
int tune_stop_signal_pending(void);

/* Runs the pass of every threshold, up to jobs at a time, each in a child
 * process, and reads their results into t->results. A stop signal kills
 * the passes: -EINTR and the signal in *ret_signal. Logs its errors. */
int tune_run_passes(struct tune *t, const struct hark_config *cfg, const char *phrase,
                    unsigned jobs, int *ret_signal);
