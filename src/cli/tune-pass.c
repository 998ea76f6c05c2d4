/* hark tune's passes: each threshold's pass plays the recordings through
 * the ear `hark listen` uses, in a child process of its own, and sends
 * back each file's length and its candidates' second-pass scores; Ctrl-C
 * and SIGTERM stop them all at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio-source.h"
#include "base-err.h"
#include "ear.h"
#include "listen-loop.h"
#include "log.h"
#include "tune-internal.h"

/* A pass plays the recordings with the phrase through one ear, one after
 * the other with GAP_SECONDS of silence after each, as a device hears one
 * request after another: the decoder's adaptive state (its running cepstral
 * mean) carries over instead of starting cold at every short clip. A
 * candidate belongs to the clip during which or in the silence after which
 * it came. Each recording without the phrase gets an ear of its own, as
 * `hark listen` and the benchmark hear it: that state changes how well
 * things that sound like the phrase score (a near miss scores higher after a
 * cold start than after an hour of other speech), and the cut-off must hold
 * from the start. */
#define GAP_SECONDS 1.5

/* The candidates of the file playing now (and of the silence after it). */
struct collect {
    FILE *out;
    size_t n;
};

static void on_candidate(void *userdata, const struct ear_wake *c, bool woke)
{
    struct collect *col = userdata;

    (void)woke;
    fprintf(col->out, " %.6f", isfinite(c->verify) ? c->verify : -1e9);
    col->n++;
}

static void on_read(void *userdata, int16_t *samples, size_t n)
{
    uint64_t *samples_read = userdata;

    (void)samples;
    *samples_read += n;
}

/* Plays one recording into ear, then the silence after it; *ret_samples:
 * the recording's length. */
static int play_file(struct ear *ear, const struct hark_config *cfg, const char *path,
                     uint64_t *ret_samples)
{
    static const struct listen_loop_callbacks loop_callbacks = {.on_read = on_read};
    struct audio_source_options sopts = {.ring_ms = cfg->audio.ring_ms};
    struct audio_source *src = NULL;
    int16_t buf[2048] = {0};
    uint64_t samples = 0, gap = (uint64_t)(GAP_SECONDS * AUDIO_RATE);
    char err[ERRSZ];
    int r;

    r = audio_source_open(path, &sopts, err, sizeof(err), &src);
    if (r >= 0) {
        r = listen_loop_run(src, ear, &loop_callbacks, &samples, err, sizeof(err));
    }
    audio_source_free(src);
    for (uint64_t k = 0; r == 0 && k < gap; k += sizeof(buf) / sizeof(buf[0])) {
        size_t n = gap - k < sizeof(buf) / sizeof(buf[0]) ? (size_t)(gap - k)
                                                           : sizeof(buf) / sizeof(buf[0]);
        r = ear_feed(ear, buf, n, err, sizeof(err));
    }
    if (r < 0) {
        log_error("tune: %s", err);
        return r;
    }
    *ret_samples = samples;
    return 0;
}

/* The pass of threshold ti over the recordings with the phrase (positive)
 * or without it, in file order; writes "SECONDS N SCORE..." per file. */
static int pass_set(const struct hark_config *base, const char *phrase, const struct tune *t,
                    size_t ti, bool positive, FILE *out)
{
    struct hark_config cfg = *base;
    struct ear_callbacks cb = {.on_candidate = on_candidate};
    struct collect col = {0};
    struct ear *ear = NULL;
    char err[ERRSZ];
    int r = 0;

    cfg.wakeword.n_phrases = 1;
    snprintf(cfg.wakeword.phrases[0].text, sizeof(cfg.wakeword.phrases[0].text), "%s", phrase);
    /* Every candidate is turned down, so no request opens and each is seen
     * with its score. */
    cfg.wakeword.phrases[0].verify_threshold = REJECT_ALL;
    cfg.wakeword.phrases[0].has_verify_threshold = true;
    cfg.wakeword.verify = true;
    cfg.wakeword.n_models = 0;
    if (t->model) {
        /* The neural detector's proposals, checked by the second pass with
         * combine = verify; with neural or either, the neural part alone. */
        cfg.wakeword.n_models = 1;
        snprintf(cfg.wakeword.models[0], sizeof(cfg.wakeword.models[0]), "%s", t->model);
        cfg.wakeword.neural_threshold = t->thresholds[ti];
        snprintf(cfg.wakeword.combine, sizeof(cfg.wakeword.combine), "%s",
                 t->cutoffs ? "verify" : "neural");
    } else {
        cfg.wakeword.phrases[0].threshold = t->thresholds[ti];
    }
    for (size_t i = 0; r >= 0 && i < t->n_files; i++) {
        char *line = NULL;
        size_t len = 0;
        uint64_t samples = 0;

        if ((t->files[i].kind == POSITIVE) != positive) {
            continue;
        }
        if (!ear || !positive) {
            ear_free(ear);
            ear = NULL;
            r = ear_new(&cfg, &cb, &col, err, sizeof(err), &ear);
            if (r < 0) {
                log_error("tune: %s", err);
                return r;
            }
            /* A neural wake opens no request either. */
            ear_set_candidates_only(ear, true);
        }
        col.out = open_memstream(&line, &len);
        if (!col.out) {
            r = -ENOMEM;
            break;
        }
        col.n = 0;
        r = play_file(ear, &cfg, t->files[i].path, &samples);
        fclose(col.out);
        if (r >= 0) {
            fprintf(out, "%.3f %zu%s\n", (double)samples / AUDIO_RATE, col.n, line ? line : "");
        }
        free(line);
    }
    ear_free(ear);
    return r < 0 ? r : 0;
}

/* The pass of one threshold, in a child process: the passes are
 * independent and each keeps a core busy. Output in a memfd, in file
 * order: the positives, then the rest. */
static int run_pass(const struct hark_config *cfg, const char *phrase, const struct tune *t,
                    size_t ti, int fd)
{
    FILE *out = fdopen(dup(fd), "w");
    int r;

    if (!out) {
        return -errno;
    }
    r = pass_set(cfg, phrase, t, ti, true, out);
    if (r >= 0) {
        r = pass_set(cfg, phrase, t, ti, false, out);
    }
    if (fclose(out) != 0 && r >= 0) {
        r = -EIO;
    }
    return r;
}

static int read_pass(struct tune *t, size_t ti, int fd)
{
    FILE *in;
    int r = 0;

    if (lseek(fd, 0, SEEK_SET) < 0 || !(in = fdopen(dup(fd), "r"))) {
        return -errno;
    }
    t->results[ti] = calloc(t->n_files, sizeof(struct result));
    if (!t->results[ti]) {
        fclose(in);
        return -ENOMEM;
    }
    /* In the order run_pass wrote them: the positives, then the rest. */
    for (size_t k = 0; r == 0 && k < 2 * t->n_files; k++) {
        size_t i = k % t->n_files;
        struct result *res = &t->results[ti][i];

        if ((t->files[i].kind == POSITIVE) != (k < t->n_files)) {
            continue;
        }
        if (fscanf(in, "%lf %zu", &res->seconds, &res->n) != 2 || res->n > 100000) {
            r = -EIO;
            break;
        }
        res->scores = calloc(res->n + 1, sizeof(double));
        if (!res->scores) {
            r = -ENOMEM;
            break;
        }
        for (size_t j = 0; j < res->n; j++) {
            if (fscanf(in, "%lf", &res->scores[j]) != 1) {
                r = -EIO;
                break;
            }
        }
    }
    fclose(in);
    return r;
}

/* Ctrl-C and SIGTERM stop tune at once and nothing is written. They are
 * blocked from the start (tune_main) and taken here, at the points where
 * tune can stop: while the passes run, and before anything is written. A
 * handler would race with wait(); a blocked signal waits to be taken. */
int tune_stop_signal_pending(void)
{
    sigset_t pending;

    if (sigpending(&pending) < 0) {
        return 0;
    }
    return sigismember(&pending, SIGINT)    ? SIGINT
           : sigismember(&pending, SIGTERM) ? SIGTERM
                                            : 0;
}

/* The passes still running die with tune: at once, their output unread. */
static void kill_passes(pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (pids[i] > 0) {
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            }
            pids[i] = 0;
        }
    }
}

/* Waits for a pass to end; -EINTR with the signal in *ret_signal when tune
 * is asked to stop first. */
static pid_t wait_pass(int *ret_status, int *ret_signal)
{
    sigset_t wanted;

    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    for (;;) {
        pid_t pid;
        int sig = tune_stop_signal_pending();

        if (sig) {
            *ret_signal = sig;
            return -EINTR;
        }
        pid = waitpid(-1, ret_status, WNOHANG);
        if (pid != 0) {
            return pid < 0 ? -errno : pid;
        }
        /* A pass that ends after waitpid leaves SIGCHLD pending. */
        sig = sigwaitinfo(&wanted, NULL);
        if (sig < 0 && errno != EINTR) {
            return -errno;
        }
        if (sig == SIGINT || sig == SIGTERM) {
            *ret_signal = sig;
            return -EINTR;
        }
    }
}

int tune_run_passes(struct tune *t, const struct hark_config *cfg, const char *phrase,
                    unsigned jobs, int *ret_signal)
{
    int fds[MAX_THRESHOLDS];
    pid_t pids[MAX_THRESHOLDS] = {0};
    pid_t parent = getpid();
    size_t started = 0, done = 0;
    int r = 0;

    for (size_t i = 0; i < t->n_thresholds; i++) {
        fds[i] = memfd_create("hark-tune", MFD_CLOEXEC);
        if (fds[i] < 0) {
            return -errno;
        }
    }
    fflush(NULL);
    while (done < t->n_thresholds) {
        while (started < t->n_thresholds && started - done < jobs) {
            pid_t pid = fork();

            if (pid < 0) {
                r = -errno;
                goto finish;
            }
            if (pid == 0) {
                sigset_t stop;

                /* A pass must not outlive tune, even one killed by SIGKILL. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
                    _exit(1);
                }
                sigemptyset(&stop);
                sigaddset(&stop, SIGINT);
                sigaddset(&stop, SIGTERM);
                sigaddset(&stop, SIGCHLD);
                sigprocmask(SIG_UNBLOCK, &stop, NULL);
                _exit(run_pass(cfg, phrase, t, started, fds[started]) < 0 ? 1 : 0);
            }
            pids[started++] = pid;
            log_info("tune: pass at threshold %g started", t->thresholds[started - 1]);
        }
        {
            int status;
            pid_t pid = wait_pass(&status, ret_signal);

            if (pid < 0) {
                r = (int)pid;
                goto finish;
            }
            for (size_t i = 0; i < started; i++) {
                if (pids[i] == pid) {
                    pids[i] = 0;
                    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        log_error("tune: the pass at threshold %g failed", t->thresholds[i]);
                        r = -EIO;
                    } else if (r >= 0) {
                        r = read_pass(t, i, fds[i]);
                    }
                    fprintf(stderr, "tune: threshold %g done (%zu of %zu)\n", t->thresholds[i],
                            done + 1, t->n_thresholds);
                    done++;
                }
            }
        }
    }
finish:
    kill_passes(pids, started);
    for (size_t i = 0; i < t->n_thresholds; i++) {
        close(fds[i]);
    }
    return r;
}

/* SIGINT and SIGTERM wait, blocked, until tune takes them (wait_pass,
 * tune_stop_signal_pending); SIGCHLD too, for sigwaitinfo. Their action is the
 * default one, even if the shell that started tune in the background set
 * SIGINT to be ignored, so the passes (which unblock them) die by them. */
void tune_block_stop_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t stop;

    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGCHLD);
    sigprocmask(SIG_BLOCK, &stop, NULL);
}
