/* `hark provision` and `hark verify-update` (device-cmd.c); see doc/cli.md. */
#pragma once

/* argv[0] is the command's name. Each returns the exit code. */
int device_cmd_provision(int argc, char **argv);
int device_cmd_verify_update(int argc, char **argv);
