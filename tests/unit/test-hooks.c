/* The state hooks: each state's command runs with $HARK_STATE, one at a
 * time in the order of the states; one that runs past [hooks] timeout is
 * killed; a missing program is reported, not fatal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "check.h"
#include "config.h"
#include "hooks.h"
#include "testdir.h"

/* Polls until every hook has finished, or at most max_s. */
static double drain(struct hooks *h, const char *done_file, int lines, double max_s)
{
    double start = now_mono_s();

    while (now_mono_s() - start < max_s) {
        FILE *f = fopen(done_file, "r");
        int n = 0, c;

        if (f) {
            while ((c = fgetc(f)) != EOF) {
                n += c == '\n';
            }
            fclose(f);
        }
        hooks_poll(h);
        if (n >= lines) {
            break;
        }
        usleep(10 * 1000);
    }
    return now_mono_s() - start;
}

int main(void)
{
    struct hark_config cfg;
    struct hooks *h = NULL;
    /* Short enough for a hook command (CONFIG_STRING_MAX). */
    char script[160], log[4200], text[256] = "";
    FILE *f;
    double t;

    testdir_make("hooks");
    snprintf(script, sizeof(script), "%.159s", testdir_path("hook"));
    CHECKF(strlen(testdir_path("hook")) < sizeof(script), "TMPDIR is too long for this test");
    snprintf(log, sizeof(log), "%s", testdir_path("states"));
    f = fopen(script, "w");
    CHECK(f);
    if (!f) {
        return check_status();
    }
    /* The first hook is slow: the second must still come after it. */
    fprintf(f, "#!/bin/sh\n[ \"$1\" = listening ] && sleep 0.2\necho \"$1 $HARK_STATE\" >>%s\n",
            log);
    fclose(f);
    chmod(script, 0700);

    config_init_defaults(&cfg);
    snprintf(cfg.hooks.on_listening, sizeof(cfg.hooks.on_listening), "%s listening", script);
    snprintf(cfg.hooks.on_thinking, sizeof(cfg.hooks.on_thinking), "\"%s\" thinking", script);
    snprintf(cfg.hooks.on_idle, sizeof(cfg.hooks.on_idle), "/bin/sleep 10");
    snprintf(cfg.hooks.on_error, sizeof(cfg.hooks.on_error), "/no/such/program");
    cfg.hooks.timeout_ms = 1000;
    CHECK(hooks_new(&cfg, &h) == 0);
    if (!h) {
        return check_status();
    }

    /* In order, one at a time, with $HARK_STATE; a state without a hook
     * (speaking) is skipped. */
    hooks_run(h, "listening");
    hooks_run(h, "speaking");
    hooks_run(h, "thinking");
    drain(h, log, 2, 5.0);
    f = fopen(log, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);

        text[n] = '\0';
        fclose(f);
    }
    CHECKF(strcmp(text, "listening listening\nthinking thinking\n") == 0, "hooks wrote '%s'", text);

    /* A hook past its timeout is killed: sleep 10 ends within about 1 s. */
    t = now_mono_s();
    hooks_run(h, "idle");
    while (now_mono_s() - t < 5.0) {
        hooks_poll(h);
        usleep(10 * 1000);
        /* Killed and reaped: a further hook starts at once. */
        if (now_mono_s() - t > 1.1) {
            break;
        }
    }
    hooks_run(h, "thinking");
    drain(h, log, 3, 5.0);
    t = now_mono_s() - t;
    CHECKF(t < 3.0, "the idle hook (sleep 10) held the next one for %.1f s", t);

    /* A program that does not exist: a warning, and hark goes on. */
    hooks_run(h, "error");
    hooks_poll(h);

    hooks_free(h);
    testdir_remove();
    return check_status();
}
