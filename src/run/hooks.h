/* [hooks]: commands run on the state changes of `hark run`, without a shell,
 * each killed after the timeout. Owned by the loop thread: start and poll
 * never block. */
#pragma once

#include "config.h"

struct hooks;

int hooks_new(const struct hark_config *cfg, struct hooks **ret);
/* Kills and reaps what still runs. Accepts NULL. */
void hooks_free(struct hooks *hooks);

/* Runs the hook of state ("idle", "listening", ...), if one is set, after
 * the hooks before it; state must be a static string. */
void hooks_run(struct hooks *hooks, const char *state);

/* Reaps hooks that have finished and kills those past their timeout. */
void hooks_poll(struct hooks *hooks);
