/* hark tune (see tune.h and doc/wakeword.md): its options, the sweep, the
 * report and the config it writes. At each spotter threshold the recordings
 * are played through the ear `hark listen` uses (tune-pass.c), with the
 * second pass turning every candidate down so that no request opens and
 * each is seen with its score; the cut-offs are then swept over the scores,
 * which costs nothing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base-err.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "nn-model.h"
#include "tune-internal.h"
#include "tune.h"

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
    tune_block_stop_signals();
    r = parse_options(t, argc, argv, &o);
    if (r >= 0) {
        tune_free(t);
        return r;
    }
    r = prepare(t, &o, &cfg);
    if (r >= 0) {
        r = tune_run_passes(t, &cfg, o.phrase, (unsigned)o.jobs, &stop_signal);
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
    if (r >= 0 && (stop_signal = tune_stop_signal_pending())) {
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
