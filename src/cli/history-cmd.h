/* `hark history`: list, show, delete, purge, export, verify and wipe the
 * utterance history; see doc/cli.md. */
#pragma once

/* argv[0] is "history". Returns the exit code. */
int history_cmd_main(int argc, char **argv);
