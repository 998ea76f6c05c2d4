/* [hooks], see hooks.h. posix_spawn rather than system(): no shell parses a
 * value from the config file, and the loop thread never waits for a child.
 * One hook runs at a time, in the order of the states, so that an LED
 * script never shows an older state after a newer one. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "hooks.h"
#include "log.h"

/* States waiting for the running hook; beyond that the oldest is dropped. */
#define PENDING_MAX 8

extern char **environ;

struct child {
    pid_t pid; /* 0: free */
    double deadline;
    char state[16];
};

struct hooks {
    const struct hark_config *cfg;
    struct child running;
    const char *pending[PENDING_MAX]; /* state names (static strings) */
    size_t n_pending;
};

int hooks_new(const struct hark_config *cfg, struct hooks **ret)
{
    struct hooks *h = calloc(1, sizeof(*h));

    if (!h) {
        return -ENOMEM;
    }
    h->cfg = cfg;
    *ret = h;
    return 0;
}

void hooks_free(struct hooks *h)
{
    double deadline;

    if (!h) {
        return;
    }
    /* The last state (idle, at the end of a recording) still gets its hook,
     * within one timeout for all. */
    deadline = now_mono_s() + h->cfg->hooks.timeout_ms / 1000.0;
    while ((h->running.pid > 0 || h->n_pending > 0) && now_mono_s() < deadline) {
        struct timespec nap = {.tv_nsec = 10 * 1000 * 1000};

        hooks_poll(h);
        nanosleep(&nap, NULL);
    }
    if (h->running.pid > 0) {
        kill(h->running.pid, SIGKILL);
        waitpid(h->running.pid, NULL, 0);
    }
    free(h);
}

static const char *command_of(const struct hooks *h, const char *state)
{
    const struct {
        const char *state;
        const char *command;
    } table[] = {
        {"idle", h->cfg->hooks.on_idle},
        {"listening", h->cfg->hooks.on_listening},
        {"thinking", h->cfg->hooks.on_thinking},
        {"speaking", h->cfg->hooks.on_speaking},
        {"muted", h->cfg->hooks.on_muted},
        {"error", h->cfg->hooks.on_error},
        {"disconnected", h->cfg->hooks.on_disconnected},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].state, state) == 0) {
            return table[i].command;
        }
    }
    return "";
}

/* environ plus HARK_STATE=state, which replaces one that is there. */
static char **make_env(const char *state, char *entry, size_t size)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n]) {
        n++;
    }
    env = calloc(n + 2, sizeof(*env));
    if (!env) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "HARK_STATE=", 11) != 0) {
            env[k++] = environ[i];
        }
    }
    snprintf(entry, size, "HARK_STATE=%s", state);
    env[k++] = entry;
    env[k] = NULL;
    return env;
}

static void start(struct hooks *h, const char *state)
{
    char *argv[CONFIG_COMMAND_ARGS + 1];
    char buf[CONFIG_STRING_MAX], entry[64];
    const char *command = command_of(h, state);
    posix_spawn_file_actions_t fa;
    struct child *slot = &h->running;
    char **env;
    pid_t pid;
    int r;

    /* Checked when the config was read. */
    if (config_split_command(command, buf, sizeof(buf), argv, CONFIG_COMMAND_ARGS + 1) < 0) {
        return;
    }
    env = make_env(state, entry, sizeof(entry));
    if (!env) {
        log_warning("hook on_%s not run: out of memory", state);
        return;
    }
    /* stdout carries hark's events: the hook writes to stderr instead. */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    r = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (r != 0) {
        log_warning("hook on_%s: cannot run %s: %s", state, argv[0], strerror(r));
        return;
    }
    *slot = (struct child){.pid = pid, .deadline = now_mono_s() + h->cfg->hooks.timeout_ms / 1000.0};
    snprintf(slot->state, sizeof(slot->state), "%s", state);
    log_debug("hook on_%s: started %s (pid %d)", state, argv[0], (int)pid);
}

void hooks_run(struct hooks *h, const char *state)
{
    if (!command_of(h, state)[0]) {
        return;
    }
    if (h->n_pending == PENDING_MAX) {
        log_warning("hook on_%s not run: the hooks fall behind", h->pending[0]);
        memmove(h->pending, h->pending + 1, (PENDING_MAX - 1) * sizeof(h->pending[0]));
        h->n_pending--;
    }
    h->pending[h->n_pending++] = state;
    hooks_poll(h);
}

void hooks_poll(struct hooks *h)
{
    double now = now_mono_s();
    struct child *c = &h->running;

    if (c->pid > 0) {
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);

        if (r == 0 && now < c->deadline) {
            return;
        }
        if (r == 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            log_warning("hook on_%s killed after %.1f s", c->state,
                        h->cfg->hooks.timeout_ms / 1000.0);
        } else if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            log_warning("hook on_%s exited with status %d", c->state, WEXITSTATUS(status));
        } else if (r > 0 && WIFSIGNALED(status)) {
            log_warning("hook on_%s killed by signal %d", c->state, WTERMSIG(status));
        }
        c->pid = 0;
    }
    while (c->pid == 0 && h->n_pending > 0) {
        const char *state = h->pending[0];

        memmove(h->pending, h->pending + 1, (h->n_pending - 1) * sizeof(h->pending[0]));
        h->n_pending--;
        start(h, state);
    }
}
