/* The paths hark takes from the config and its environment (the storage
 * directory, the control socket, the default file), and the values as
 * their users take them: the pins split, the [privacy] rules, a hook's
 * command split into arguments, [wakeword] combine. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "hark-build.h"

size_t config_cloud_pins(const struct hark_config *cfg, char ret_pins[][PIN_STRING_MAX], size_t max)
{
    const char *s = cfg->cloud.pins;
    size_t n = 0;

    while (*s && n < max) {
        size_t len;

        s += strspn(s, " ,");
        len = strcspn(s, ", ");
        if (len == 0 || len >= PIN_STRING_MAX) {
            break;
        }
        memcpy(ret_pins[n], s, len);
        ret_pins[n][len] = '\0';
        n++;
        s += len;
    }
    return n;
}

int config_storage_dir(const struct hark_config *cfg, char *ret_dir, size_t size)
{
    const char *env;
    int n;

    if (cfg->storage.dir[0]) {
        n = snprintf(ret_dir, size, "%s", cfg->storage.dir);
    } else if ((env = getenv("STATE_DIRECTORY")) && env[0] == '/') {
        /* systemd may give several, separated by ':'; the first is ours. */
        n = snprintf(ret_dir, size, "%.*s", (int)strcspn(env, ":"), env);
    } else if ((env = getenv("XDG_STATE_HOME")) && env[0] == '/') {
        n = snprintf(ret_dir, size, "%s/hark", env);
    } else if ((env = getenv("HOME")) && env[0] == '/') {
        n = snprintf(ret_dir, size, "%s/.local/state/hark", env);
    } else {
        return -ENOENT;
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int config_split_command(const char *command, char *buf, size_t size, char **ret_argv,
                         size_t max)
{
    size_t n = 0, o = 0;
    const char *p = command;

    while (*p) {
        bool quoted = false;

        while (is_blank(*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        if (n + 1 >= max) {
            return -E2BIG;
        }
        ret_argv[n++] = buf + o;
        for (; *p && (quoted || !is_blank(*p)); p++) {
            if (*p == '"') {
                quoted = !quoted;
                continue;
            }
            if (o + 1 >= size) {
                return -E2BIG;
            }
            buf[o++] = *p;
        }
        if (quoted) {
            return -EINVAL;
        }
        if (o + 1 >= size) {
            return -E2BIG;
        }
        buf[o++] = '\0';
    }
    if (n == 0) {
        return -ENOENT;
    }
    ret_argv[n] = NULL;
    return (int)n;
}

int config_control_socket(const struct hark_config *cfg, char *ret_path, size_t size)
{
    const char *env;
    int n;

    if (cfg->control.socket[0]) {
        n = snprintf(ret_path, size, "%s", cfg->control.socket);
    } else if ((env = getenv("RUNTIME_DIRECTORY")) && env[0] == '/') {
        n = snprintf(ret_path, size, "%.*s/control", (int)strcspn(env, ":"), env);
    } else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0] == '/') {
        n = snprintf(ret_path, size, "%s/hark/control", env);
    } else {
        n = snprintf(ret_path, size, "/tmp/hark-%u/control", (unsigned)getuid());
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void config_policy_rules(const struct hark_config *cfg, struct policy_rules *ret)
{
    *ret = (struct policy_rules){
        .drop_intents = cfg->privacy.drop_intents,
        .drop_words = cfg->privacy.drop_words,
        .redact_intents = cfg->privacy.redact_intents,
        .redact_words = cfg->privacy.redact_words,
        .allow_intents = cfg->privacy.allow_intents,
    };
    /* Checked when the file was read; drop is the safe side regardless. */
    if (policy_action_parse(cfg->privacy.default_action, &ret->default_action) < 0) {
        ret->default_action = POLICY_DROP;
    }
}

enum config_combine config_combine(const struct hark_config *cfg)
{
    /* Checked when the file was read. */
    return strcmp(cfg->wakeword.combine, "verify") == 0   ? CONFIG_COMBINE_VERIFY
           : strcmp(cfg->wakeword.combine, "either") == 0 ? CONFIG_COMBINE_EITHER
                                                          : CONFIG_COMBINE_NEURAL;
}

const char *config_combine_to_string(enum config_combine c)
{
    switch (c) {
    case CONFIG_COMBINE_VERIFY:
        return "verify";
    case CONFIG_COMBINE_EITHER:
        return "either";
    case CONFIG_COMBINE_NEURAL:
        break;
    }
    return "neural";
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

const char *config_default_path(void)
{
    static char path[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n = -1;

    /* The XDG base directory spec says to ignore a relative XDG_CONFIG_HOME. */
    if (xdg && xdg[0] == '/') {
        n = snprintf(path, sizeof(path), "%s/hark/hark.conf", xdg);
    } else if (home && home[0] != '\0') {
        n = snprintf(path, sizeof(path), "%s/.config/hark/hark.conf", home);
    }
    if (n > 0 && (size_t)n < sizeof(path) && file_exists(path)) {
        return path;
    }
    snprintf(path, sizeof(path), "%s", HARK_SYSCONFDIR "/hark/hark.conf");
    if (file_exists(path)) {
        return path;
    }
    return NULL;
}
