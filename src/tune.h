/* hark tune: sweeps the wake-word spotter's threshold and the second pass's
 * cut-off over recordings with and without the phrase, prints miss rate
 * against false alarms per hour, and writes the best setting that meets a
 * false-alarm target into a config file. */
#pragma once

int tune_main(int argc, char **argv);
