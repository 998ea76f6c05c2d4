/* What the subcommands of the hark binary share: the config they load
 * (cli-config.c), their usage and stdout's last check (main.c). */
#pragma once

#include <stdio.h>

#include "config.h"

/* Loads --config PATH, else the default path, else the built-in defaults;
 * logs an error naming the file (and at -v which file was used). */
int cli_load_config(const char *path, struct hark_config *cfg);

/* `hark NAME --help`: the command's own lines of the usage, from main.c's
 * table of subcommands. */
void cli_command_usage(FILE *out, const char *name);

/* Flushes stdout and says once, on stderr, when what it carried was lost: a
 * full disk or a closed pipe must not pass for success. note: what the user
 * should know besides, or NULL. Returns 0 or a negative errno. */
int cli_check_stdout(const char *note);
