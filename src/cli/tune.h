/* hark tune: sweeps the wake-word spotter's threshold and the second pass's
 * cut-off over recordings with and without the phrase, prints miss rate
 * against false alarms per hour, and writes the best setting that meets a
 * false-alarm target into a config file. */
#pragma once

/* Returns the exit status: 0, 1, 2 (usage), or 128 + the signal that
 * stopped it (SIGINT, SIGTERM; nothing is written then). */
int tune_main(int argc, char **argv);
