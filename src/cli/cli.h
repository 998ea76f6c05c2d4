/* What the subcommands of the hark binary share (main.c, history-cmd.c,
 * tune.c); cli-config.c. */
#pragma once

#include "config.h"

/* Loads --config PATH, else the default path, else the built-in defaults;
 * logs an error naming the file (and at -v which file was used). */
int cli_load_config(const char *path, struct hark_config *cfg);
