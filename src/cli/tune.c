/* hark tune (see tune.h and doc/wakeword.md). At each spotter threshold the
 * recordings are played through the ear `hark listen` uses, with the second
 * pass turning every candidate down so that no request opens and each is
 * seen with its score; the cut-offs are then swept over the scores, which
 * costs nothing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio-source.h"
#include "base-err.h"
#include "cli.h"
#include "config.h"
#include "ear.h"
#include "log.h"
#include "nn-model.h"
#include "tune.h"

#define MAX_FILES 4096
#define MAX_THRESHOLDS 16
/* The cut-off that turns every detection down (the config's upper bound, VERIFY_MAX). */
#define REJECT_ALL 20.0

/* What a recording holds: the phrase once, no phrase, or something close
 * to it (counted and shown apart, not in the target). */
enum kind {
    POSITIVE,
    NEGATIVE,
    NEAR_MISS,
};

struct file {
    char *path;
    enum kind kind;
};

/* What one threshold's pass found in one file. */
struct result {
    double seconds;
    size_t n;       /* candidates */
    double *scores; /* their second-pass scores, -INFINITY when unaligned */
};

struct tune {
    /* The phrase has a neural model (this file): the thresholds are the
     * neural detector's, and the cut-offs are swept only when PocketSphinx's
     * second pass checks its proposals (combine = verify). */
    const char *model;
    bool cutoffs;
    struct file files[MAX_FILES];
    size_t n_files;
    double thresholds[MAX_THRESHOLDS];
    size_t n_thresholds;
    struct result *results[MAX_THRESHOLDS]; /* [threshold][file] */
    double neg_hours;
    size_t n_pos;
    size_t n_near_files;
};

/* One point of the sweep. */
struct point {
    double threshold;
    bool verify;
    double cutoff;
    size_t hits, fas;
    size_t near; /* near misses that woke */
    double fa_h;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');

    return name[0] != '.' && dot &&
           (strcasecmp(dot, ".wav") == 0 || strcasecmp(dot, ".flac") == 0 ||
            strcasecmp(dot, ".ogg") == 0 || strcasecmp(dot, ".oga") == 0);
}

static int add_file(struct tune *t, const char *path, enum kind kind)
{
    if (t->n_files == MAX_FILES) {
        log_error("tune: more than %d recordings", MAX_FILES);
        return -E2BIG;
    }
    t->files[t->n_files].path = strdup(path);
    if (!t->files[t->n_files].path) {
        return -ENOMEM;
    }
    t->files[t->n_files++].kind = kind;
    return 0;
}

/* A recording, or every recording in a directory (sorted, not recursive). */
static int add_path(struct tune *t, const char *path, enum kind kind)
{
    struct stat st;
    struct dirent **list;
    int n, r = 0;

    if (stat(path, &st) < 0) {
        log_error("tune: %s: %s", path, strerror(errno));
        return -errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        return add_file(t, path, kind);
    }
    n = scandir(path, &list, NULL, NULL);
    if (n < 0) {
        log_error("tune: %s: %s", path, strerror(errno));
        return -errno;
    }
    {
        char **names = calloc((size_t)n + 1, sizeof(*names));
        size_t k = 0;

        for (int i = 0; i < n; i++) {
            if (names && is_audio_name(list[i]->d_name)) {
                names[k++] = list[i]->d_name;
            }
        }
        if (!names) {
            r = -ENOMEM;
        } else if (k == 0) {
            log_error("tune: %s: no recordings (.wav, .flac, .ogg) in it", path);
            r = -ENOENT;
        }
        if (r == 0) {
            qsort(names, k, sizeof(*names), cmp_str);
        }
        for (size_t i = 0; r == 0 && i < k; i++) {
            char full[4096];

            snprintf(full, sizeof(full), "%s/%s", path, names[i]);
            r = add_file(t, full, kind);
        }
        free(names);
    }
    for (int i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
    return r;
}

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

/* Plays one recording into ear, then the silence after it; *ret_samples:
 * the recording's length. */
static int play_file(struct ear *ear, const struct hark_config *cfg, const char *path,
                     uint64_t *ret_samples)
{
    struct audio_source_options sopts = {.ring_ms = cfg->audio.ring_ms};
    struct audio_source *src = NULL;
    int16_t buf[2048];
    uint64_t samples = 0, gap = (uint64_t)(GAP_SECONDS * AUDIO_RATE);
    char err[ERRSZ];
    int r;

    r = audio_source_open(path, &sopts, err, sizeof(err), &src);
    while (r >= 0) {
        ssize_t n = audio_source_read(src, buf, sizeof(buf) / sizeof(buf[0]), err, sizeof(err));

        if (n <= 0) {
            r = (int)n;
            break;
        }
        samples += (uint64_t)n;
        r = ear_feed(ear, buf, (size_t)n, err, sizeof(err));
    }
    audio_source_free(src);
    memset(buf, 0, sizeof(buf));
    for (uint64_t k = 0; r >= 0 && k < gap; k += sizeof(buf) / sizeof(buf[0])) {
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
static int stop_signal_pending(void)
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
        int sig = stop_signal_pending();

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

static int run_passes(struct tune *t, const struct hark_config *cfg, const char *phrase,
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

static double max_score(const struct result *res)
{
    double m = -INFINITY;

    for (size_t k = 0; k < res->n; k++) {
        m = res->scores[k] > m ? res->scores[k] : m;
    }
    return m;
}

/* The point of threshold ti with the second pass at cut-off c (NAN: off). */
static struct point point_at(const struct tune *t, size_t ti, double c)
{
    struct point p = {.threshold = t->thresholds[ti], .verify = !isnan(c), .cutoff = c};

    for (size_t i = 0; i < t->n_files; i++) {
        const struct result *res = &t->results[ti][i];

        for (size_t k = 0; t->files[i].kind != POSITIVE && k < res->n; k++) {
            bool woke = isnan(c) || res->scores[k] >= c;

            p.fas += t->files[i].kind == NEGATIVE && woke;
            p.near += t->files[i].kind == NEAR_MISS && woke;
        }
        if (t->files[i].kind == POSITIVE) {
            p.hits += res->n > 0 && (isnan(c) || max_score(res) >= c);
        }
    }
    p.fa_h = t->neg_hours > 0 ? (double)p.fas / t->neg_hours : 0;
    return p;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

/* The cut-offs worth trying at threshold ti: just above each negative's
 * score (the false alarms drop one by one), and off. */
static size_t cutoffs(const struct tune *t, size_t ti, double **ret)
{
    size_t n = 0, cap = 1;
    double *c;

    for (size_t i = 0; i < t->n_files; i++) {
        cap += t->files[i].kind == NEGATIVE ? t->results[ti][i].n : 0;
    }
    c = calloc(cap + 1, sizeof(*c));
    if (!c) {
        *ret = NULL;
        return 0;
    }
    for (size_t i = 0; i < t->n_files; i++) {
        for (size_t k = 0; t->files[i].kind == NEGATIVE && k < t->results[ti][i].n; k++) {
            /* Rounded up to what the config file keeps (3 decimals). */
            c[n++] = ceil(t->results[ti][i].scores[k] * 1000 + 1e-6) / 1000 + 0.001;
        }
    }
    c[n++] = -REJECT_ALL; /* every candidate passes */
    qsort(c, n, sizeof(*c), cmp_desc);
    *ret = c;
    return n;
}

/* Fewer misses, then fewer false alarms, then the higher cut-off (a
 * margin), then the higher threshold (fewer candidates to check). */
static bool better(const struct point *a, const struct point *b)
{
    double ca = a->verify ? a->cutoff : -INFINITY, cb = b->verify ? b->cutoff : -INFINITY;

    if (a->hits != b->hits) {
        return a->hits > b->hits;
    }
    if (a->fas != b->fas) {
        return a->fas < b->fas;
    }
    if (ca != cb) {
        return ca > cb;
    }
    return a->threshold > b->threshold;
}

/* Where the false alarms of a point came from: each recording without the
 * phrase, with its false alarms per hour. */
static void print_breakdown(FILE *f, const struct tune *t, const struct point *p)
{
    size_t ti = 0;

    while (ti + 1 < t->n_thresholds && t->thresholds[ti] != p->threshold) {
        ti++;
    }
    for (size_t i = 0; i < t->n_files; i++) {
        const struct result *res = &t->results[ti][i];
        size_t fas = 0;

        if (t->files[i].kind == POSITIVE) {
            continue;
        }
        for (size_t k = 0; k < res->n; k++) {
            fas += !p->verify || res->scores[k] >= p->cutoff;
        }
        fprintf(f, "  %s%s: %zu woke in %.1f min (of %zu candidates)\n", t->files[i].path,
                t->files[i].kind == NEAR_MISS ? " (near misses)" : "", fas, res->seconds / 60.0,
                res->n);
    }
}

static void print_point(FILE *f, const struct tune *t, const struct point *p, const char *mark)
{
    char cut[32];

    if (p->verify) {
        snprintf(cut, sizeof(cut), "%.3f", p->cutoff);
    } else {
        snprintf(cut, sizeof(cut), "off");
    }
    fprintf(f, "%-10g %-8s %5zu/%-5zu %6.1f %%  %5zu  %7.2f", p->threshold, cut, p->hits,
            t->n_pos, t->n_pos ? 100.0 * (double)(t->n_pos - p->hits) / (double)t->n_pos : 0.0,
            p->fas, p->fa_h);
    if (t->n_near_files) {
        fprintf(f, "  %5zu", p->near);
    }
    fprintf(f, "%s\n", mark);
}

/* Rewrites the [wakeword] keys of path (or makes the file) through the
 * config's own writer: the tuned phrase with its threshold and cut-off,
 * and verify; for a phrase with a neural model, neural_threshold and
 * (combine = verify) the phrase's cut-off. */
static int write_config(const char *path, const struct hark_config *cfg, const struct tune *t,
                        const char *phrase, const struct point *best, size_t n_pos)
{
    char phrases[CONFIG_MAX_PHRASES * (CONFIG_PHRASE_MAX + 48)] = "";
    char phone_loop[32], neural[32], comment[128], err[ERRSZ];
    struct config_change changes[3];
    size_t n = 0;
    bool found = false;
    int r;

    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        const struct config_phrase *p = &cfg->wakeword.phrases[i];
        size_t len = strlen(phrases);
        bool tuned = strcmp(p->text, phrase) == 0;

        snprintf(phrases + len, sizeof(phrases) - len, "%s%s/%g/%.3f", i ? ", " : "", p->text,
                 tuned && !t->model ? best->threshold : p->threshold,
                 tuned ? (best->verify ? best->cutoff : -REJECT_ALL) : p->verify_threshold);
        found |= tuned;
    }
    if (!found) {
        size_t len = strlen(phrases);

        snprintf(phrases + len, sizeof(phrases) - len, "%s%s/%g/%.3f", len ? ", " : "", phrase,
                 best->threshold, best->verify ? best->cutoff : -REJECT_ALL);
    }
    snprintf(phone_loop, sizeof(phone_loop), "%g", cfg->wakeword.phone_loop);
    snprintf(neural, sizeof(neural), "%g", best->threshold);
    if (!t->model) {
        changes[n++] = (struct config_change){"wakeword", "phrases", phrases};
        changes[n++] = (struct config_change){"wakeword", "verify", "on"};
        changes[n++] = (struct config_change){"wakeword", "phone_loop", phone_loop};
    } else {
        changes[n++] = (struct config_change){"wakeword", "neural_threshold", neural};
        if (t->cutoffs) {
            changes[n++] = (struct config_change){"wakeword", "phrases", phrases};
        }
    }
    snprintf(comment, sizeof(comment),
             "hark tune: %zu of %zu wake words found, %.2f false alarms per hour", best->hits,
             n_pos, best->fa_h);
    r = config_write_changes(path, changes, n, comment, err, sizeof(err));
    if (r < 0) {
        log_error("tune: %s", err);
    }
    return r;
}

/* The neural detector's thresholds tried by default. */
#define NEURAL_THRESHOLDS "0.5,0.7,0.8,0.9,0.95,0.98,0.99"

/* Whether the phrase has a neural model, which then is what is tuned. */
static int find_model(struct tune *t, const struct hark_config *cfg, const char *phrase)
{
    struct nn_model *models[CONFIG_MAX_MODELS];
    int phrase_model[CONFIG_MAX_PHRASES];
    char err[ERRSZ];
    int r;

    r = config_load_models(cfg, models, phrase_model, err, sizeof(err));
    if (r < 0) {
        log_error("tune: %s", err);
        return r;
    }
    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        if (phrase_model[i] >= 0 && strcmp(cfg->wakeword.phrases[i].text, phrase) == 0) {
            t->model = cfg->wakeword.models[phrase_model[i]];
        }
    }
    for (size_t m = 0; m < cfg->wakeword.n_models; m++) {
        nn_model_free(models[m]);
    }
    t->cutoffs = !t->model || config_combine(cfg) == CONFIG_COMBINE_VERIFY;
    return 0;
}

static void tune_usage(FILE *out)
{
    fputs("usage: hark tune [--config F] [--phrase TEXT] [--target FA_PER_HOUR]\n"
          "                 [--near-limit N] [--thresholds T,T,...] [--jobs N] [--det FILE.tsv]\n"
          "                 [--write FILE]\n"
          "                 --positives PATH... --negatives PATH... [--near-misses PATH...]\n"
          "\n"
          "Plays recordings with the wake phrase (--positives: each file holds it once)\n"
          "and without it (--negatives) through hark's wake-word pipeline at each spotter\n"
          "threshold, sweeps the second pass's cut-off, prints miss rate against false\n"
          "alarms per hour, and with --write sets the best setting whose false alarms per\n"
          "hour stay at or below the target (default 1) in FILE's [wakeword] section.\n"
          "--near-misses: recordings of things that sound like the phrase; how many wake\n"
          "is shown, but they do not count toward the target; --near-limit N keeps to\n"
          "settings that wake on at most N of them. PATH is a recording or a directory\n"
          "of them (.wav .flac .ogg); repeat the options for more. A phrase with a neural\n"
          "model ([wakeword] model): the thresholds are the neural detector's (default\n"
          NEURAL_THRESHOLDS "), the cut-off is swept only with combine = verify, and\n"
          "--write sets neural_threshold (and the phrase's cut-off). See doc/wakeword.md.\n",
          out);
}

static int parse_thresholds(struct tune *t, const char *s)
{
    t->n_thresholds = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);

        if (end == s || !(v > 0) || !isfinite(v) || t->n_thresholds == MAX_THRESHOLDS) {
            log_error("tune: --thresholds wants up to %d positive numbers, comma-separated",
                      MAX_THRESHOLDS);
            return -EINVAL;
        }
        t->thresholds[t->n_thresholds++] = v;
        s = end + strspn(end, ", ");
    }
    return t->n_thresholds ? 0 : -EINVAL;
}

/* SIGINT and SIGTERM wait, blocked, until tune takes them (wait_pass,
 * stop_signal_pending); SIGCHLD too, for sigwaitinfo. Their action is the
 * default one, even if the shell that started tune in the background set
 * SIGINT to be ignored, so the passes (which unblock them) die by them. */
static void block_stop_signals(void)
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

/* What the command line asks for; the recordings go into struct tune. */
struct tune_options {
    const char *config_path, *phrase, *det, *write;
    double target;     /* false alarms per hour */
    size_t near_limit; /* near misses woken; SIZE_MAX: no limit */
    long jobs;
    bool thresholds_given;
};

/* One option of the getopt loop. Returns -1 to go on, or the exit code to
 * return at once: 0 after --help, 1 for a value it logged as wrong, 2 for
 * a usage error. */
static int parse_option(struct tune *t, int c, struct tune_options *o, bool *have_neg)
{
    unsigned long long v;
    char *end;

    switch (c) {
    case 'c':
        o->config_path = optarg;
        return -1;
    case 'p':
        o->phrase = optarg;
        return -1;
    case 'T':
        o->target = strtod(optarg, &end);
        if (*end || !(o->target >= 0)) {
            log_error("tune: --target wants false alarms per hour, 0 or more");
            return 1;
        }
        return -1;
    case 't':
        o->thresholds_given = true;
        return parse_thresholds(t, optarg) < 0 ? 1 : -1;
    case 'L':
        errno = 0;
        v = strtoull(optarg, &end, 10);
        if (*end || end == optarg || errno || optarg[0] == '-') {
            log_error("tune: --near-limit wants a number of near misses, 0 or more");
            return 1;
        }
        o->near_limit = (size_t)v;
        return -1;
    case 'j':
        o->jobs = strtol(optarg, &end, 10);
        if (*end || o->jobs < 1) {
            log_error("tune: --jobs wants a positive number");
            return 1;
        }
        return -1;
    case 'd':
        o->det = optarg;
        return -1;
    case 'w':
        o->write = optarg;
        return -1;
    case 'P':
    case 'N':
    case 'M':
        *have_neg |= c == 'N';
        return add_path(t, optarg, c == 'P' ? POSITIVE : c == 'N' ? NEGATIVE : NEAR_MISS) < 0 ? 1
                                                                                           : -1;
    case 'h':
        tune_usage(stdout);
        return 0;
    default:
        tune_usage(stderr);
        return 2;
    }
}

/* The options into o, the recordings into t. Returns -1 to go on, or the
 * exit code to return at once (--help, a usage error, a bad value). */
static int parse_options(struct tune *t, int argc, char **argv, struct tune_options *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},    {"phrase", required_argument, NULL, 'p'},
        {"target", required_argument, NULL, 'T'},    {"thresholds", required_argument, NULL, 't'},
        {"jobs", required_argument, NULL, 'j'},      {"det", required_argument, NULL, 'd'},
        {"write", required_argument, NULL, 'w'},     {"positives", required_argument, NULL, 'P'},
        {"negatives", required_argument, NULL, 'N'}, {"near-misses", required_argument, NULL, 'M'},
        {"near-limit", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool have_neg = false;
    int c, r;

    *o = (struct tune_options){
        .target = 1.0, .near_limit = SIZE_MAX, .jobs = sysconf(_SC_NPROCESSORS_ONLN)};
    parse_thresholds(t, "1e-50,1e-40,1e-30,1e-20");
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:p:T:t:j:d:w:P:N:M:L:h", opts, NULL)) != -1) {
        r = parse_option(t, c, o, &have_neg);
        if (r >= 0) {
            return r;
        }
    }
    if (optind != argc || !have_neg || t->n_files == 0) {
        tune_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < t->n_files; i++) {
        t->n_pos += t->files[i].kind == POSITIVE;
        t->n_near_files += t->files[i].kind == NEAR_MISS;
    }
    if (o->near_limit != SIZE_MAX && !t->n_near_files) {
        log_error("tune: --near-limit counts near misses: give them with --near-misses");
        return 2;
    }
    if (t->n_pos == 0) {
        tune_usage(stderr);
        return 2;
    }
    return -1;
}

/* The config (FILE's own for --write without --config), the phrase, and
 * whether a neural model hears it: then the thresholds are its scores. */
static int prepare(struct tune *t, struct tune_options *o, struct hark_config *cfg)
{
    const char *write = o->write;
    int r;

    r = cli_load_config(write && !o->config_path && access(write, F_OK) == 0 ? write
                                                                             : o->config_path,
                        cfg);
    if (r < 0) {
        return r;
    }
    if (!o->phrase) {
        o->phrase = cfg->wakeword.phrases[0].text;
    }
    r = find_model(t, cfg, o->phrase);
    if (r < 0) {
        return r;
    }
    if (t->model && !o->thresholds_given) {
        parse_thresholds(t, NEURAL_THRESHOLDS);
    }
    for (size_t i = 0; t->model && i < t->n_thresholds; i++) {
        if (t->thresholds[i] >= 1 || !((float)t->thresholds[i] > 0)) {
            log_error("tune: '%s' has a neural model: --thresholds are its scores, between 0 "
                      "and 1 (%g is not)",
                      o->phrase, t->thresholds[i]);
            return -EINVAL;
        }
    }
    if (t->model) {
        fprintf(stderr, "tune: '%s' is the neural detector's (%s, combine = %s)\n", o->phrase,
                t->model, t->cutoffs ? "verify" : "neural");
    }
    fprintf(stderr, "tune: '%s', %zu recordings with it, %zu without, %zu thresholds, %ld jobs\n",
            o->phrase, t->n_pos, t->n_files - t->n_pos, t->n_thresholds, o->jobs);
    return 0;
}

/* --det FILE: a DET curve, a row per point of the sweep. */
static int det_open(const char *path, FILE **ret)
{
    FILE *f;

    *ret = NULL;
    if (!path) {
        return 0;
    }
    f = fopen(path, "we");
    if (!f) {
        log_error("tune: %s: %s", path, strerror(errno));
        return -errno;
    }
    fprintf(f, "threshold\tverify\tcutoff\thits\tpositives\tmisses\tmiss_rate\tfalse_alarms"
               "\tfa_per_hour\tnear_misses_woken\n");
    *ret = f;
    return 0;
}

static void det_point(FILE *f, const struct tune *t, const struct point *p)
{
    if (!f) {
        return;
    }
    fprintf(f, "%g\t%s\t", p->threshold, p->verify ? "on" : "off");
    if (p->verify) {
        fprintf(f, "%.3f", p->cutoff);
    }
    fprintf(f, "\t%zu\t%zu\t%zu\t%.4f\t%zu\t%.3f\t%zu\n", p->hits, t->n_pos, t->n_pos - p->hits,
            (double)(t->n_pos - p->hits) / (double)t->n_pos, p->fas, p->fa_h, p->near);
}

/* One threshold: its row without the second pass, then each cut-off (for
 * the DET file); *ret_best the best point within the target, if any. */
static int sweep_threshold(const struct tune *t, size_t ti, const struct tune_options *o,
                           FILE *detf, struct point *ret_best, bool *ret_found)
{
    struct point off = point_at(t, ti, NAN), best = {0};
    bool found = false;
    double *cuts;
    size_t n = cutoffs(t, ti, &cuts);

    if (!cuts) {
        return -ENOMEM;
    }
    print_point(stdout, t, &off, "");
    if (off.fa_h <= o->target && off.near <= o->near_limit) {
        best = off;
        found = true;
    }
    /* The neural detector alone: no second pass, no cut-off. */
    if (!t->cutoffs) {
        n = 0;
    }
    det_point(detf, t, &off);
    for (size_t k = 0; k < n; k++) {
        struct point p = point_at(t, ti, cuts[k]);

        det_point(detf, t, &p);
        if (p.fa_h <= o->target && p.near <= o->near_limit && (!found || better(&p, &best))) {
            best = p;
            found = true;
        }
    }
    free(cuts);
    if (found && best.verify) {
        print_point(stdout, t, &best, "  (best cut-off within the target)");
    }
    *ret_best = best;
    *ret_found = found;
    return 0;
}

/* The report: a row per threshold, and the best point of all within the
 * target in *ret_best (*ret_found false: none). */
static int sweep(const struct tune *t, const struct tune_options *o, FILE *detf,
                 struct point *ret_best, bool *ret_found)
{
    printf("'%s': %zu recordings with the phrase, %.2f h without it; target %.2f false alarms "
           "per hour",
           o->phrase, t->n_pos, t->neg_hours, o->target);
    if (o->near_limit != SIZE_MAX) {
        printf(", at most %zu near misses woken", o->near_limit);
    }
    printf("\n\n");
    printf("threshold  verify   hits         miss     FAs     FA/h%s\n",
           t->n_near_files ? "   near" : "");
    *ret_found = false;
    for (size_t ti = 0; ti < t->n_thresholds; ti++) {
        struct point p;
        bool found;
        int r = sweep_threshold(t, ti, o, detf, &p, &found);

        if (r < 0) {
            return r;
        }
        if (found && (!*ret_found || better(&p, ret_best))) {
            *ret_best = p;
            *ret_found = true;
        }
    }
    return 0;
}

/* The choice: the best point and where its false alarms came from, or why
 * there is none to write (-ERANGE). */
static int choose(const struct tune *t, const struct tune_options *o, const struct point *best,
                  bool found)
{
    if (!found) {
        printf("\nno setting meets the target of %.2f false alarms per hour", o->target);
        if (o->near_limit != SIZE_MAX) {
            printf(" with at most %zu near misses woken", o->near_limit);
        }
        printf("\n");
        return -ERANGE;
    }
    printf("\nbest within the target:\n");
    print_point(stdout, t, best, "");
    print_breakdown(stdout, t, best);
    /* A setting that never wakes is no setting: the recordings are not what
     * they were said to be, or the phrase is not in them. */
    if (best->hits == 0) {
        printf("\nno setting finds any of the %zu recordings with the phrase\n", t->n_pos);
        if (o->write) {
            log_error("tune: %s not written: no setting finds any of the %zu recordings with the "
                      "phrase '%s' (check that they hold it, loud enough to hear)",
                      o->write, t->n_pos, o->phrase);
        }
        return -ERANGE;
    }
    return 0;
}

static void tune_free(struct tune *t)
{
    for (size_t ti = 0; ti < MAX_THRESHOLDS; ti++) {
        for (size_t i = 0; t->results[ti] && i < t->n_files; i++) {
            free(t->results[ti][i].scores);
        }
        free(t->results[ti]);
    }
    for (size_t i = 0; i < t->n_files; i++) {
        free(t->files[i].path);
    }
    free(t);
}

int tune_main(int argc, char **argv)
{
    struct tune *t = calloc(1, sizeof(*t));
    struct tune_options o;
    struct hark_config cfg;
    struct point best = {0};
    bool found = false;
    FILE *detf = NULL;
    int r, stop_signal = 0;

    if (!t) {
        return 1;
    }
    block_stop_signals();
    r = parse_options(t, argc, argv, &o);
    if (r >= 0) {
        tune_free(t);
        return r;
    }
    r = prepare(t, &o, &cfg);
    if (r >= 0) {
        r = run_passes(t, &cfg, o.phrase, (unsigned)o.jobs, &stop_signal);
    }
    for (size_t i = 0; r >= 0 && i < t->n_files; i++) {
        t->neg_hours += t->files[i].kind == NEGATIVE ? t->results[0][i].seconds / 3600.0 : 0;
    }
    if (r >= 0) {
        r = det_open(o.det, &detf);
    }
    if (r >= 0) {
        r = sweep(t, &o, detf, &best, &found);
    }
    if (r >= 0) {
        r = choose(t, &o, &best, found);
    }
    if (r >= 0 && (stop_signal = stop_signal_pending())) {
        r = -EINTR;
    }
    if (r >= 0 && o.write) {
        r = write_config(o.write, &cfg, t, o.phrase, &best, t->n_pos);
        if (r >= 0) {
            printf("written to %s\n", o.write);
        }
    }
    if (detf && fclose(detf) != 0 && r >= 0) {
        r = -EIO;
    }
    tune_free(t);
    if (r == -EINTR && stop_signal) {
        fprintf(stderr, "tune: stopped by %s; nothing written\n",
                stop_signal == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM");
        return 128 + stop_signal;
    }
    return r < 0 ? 1 : 0;
}
