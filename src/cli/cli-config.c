/* The config every subcommand starts from (cli.h): main.c, tune.c and
 * history-cmd.c all load it here, so none of them calls back into another. */
#include "base-err.h"
#include "cli.h"
#include "log.h"


int cli_load_config(const char *path, struct hark_config *cfg)
{
    char err[ERRSZ];
    int r;

    config_init_defaults(cfg);
    if (!path) {
        path = config_default_path();
        if (!path) {
            log_info("no config file, using built-in defaults");
            return 0;
        }
    }
    r = config_load(cfg, path, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("config: %s", path);
    return 0;
}
