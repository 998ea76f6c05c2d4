/* Events on stdout, one JSON object per line (JSON Lines): the interface that
 * scripts, tests and the demo read. Nothing else is written to stdout. */
#pragma once

#include <stdio.h>

void events_set_output(FILE *out);

void events_wake(double t, const char *phrase, double score);
void events_utterance_end(double t, const char *reason, double duration_s);
