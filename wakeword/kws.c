/* Keyphrase spotting with PocketSphinx (see kws.h). The dictionary is built at
 * start-up from only the phrases' words, which keeps the decoder at a third of
 * the memory the full 3 MB dictionary needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "kws.h"

#define MAX_WORDS 32
#define SEARCH_NAME "wake"

struct kws {
    cmd_ln_t *config;
    ps_decoder_t *ps;
    uint64_t utt_start; /* absolute sample of the current utterance's start */
    uint64_t fed;       /* absolute samples fed or skipped */
    bool in_utt;
    char phrase[128];
};

struct wordset {
    char *words[MAX_WORDS];
    bool found[MAX_WORDS];
    size_t n;
};

static void wordset_finish(struct wordset *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        free(ws->words[i]);
    }
    *ws = (struct wordset){0};
}

static int wordset_from_phrases(struct wordset *ws, const struct kws_phrase *phrases, size_t n,
                                char *err, size_t errsz)
{
    for (size_t p = 0; p < n; p++) {
        const char *s = phrases[p].text;

        while (*s) {
            size_t len = strcspn(s, " ");
            bool seen = false;

            if (len == 0) {
                s++;
                continue;
            }
            for (size_t i = 0; i < ws->n; i++) {
                if (strlen(ws->words[i]) == len && strncmp(ws->words[i], s, len) == 0) {
                    seen = true;
                }
            }
            if (!seen) {
                if (ws->n == MAX_WORDS) {
                    snprintf(err, errsz, "too many words in the wake phrases (at most %d)",
                             MAX_WORDS);
                    return -E2BIG;
                }
                ws->words[ws->n] = strndup(s, len);
                if (!ws->words[ws->n]) {
                    return -ENOMEM;
                }
                ws->n++;
            }
            s += len;
        }
    }
    if (ws->n == 0) {
        snprintf(err, errsz, "no wake phrase configured");
        return -EINVAL;
    }
    return 0;
}

/* The word of a dictionary line, without an alternate's "(2)" suffix. */
static size_t base_word_length(const char *line)
{
    size_t len = strcspn(line, " \t(");
    return len;
}

/* Reads the dictionary once, calling add() for every line of a wanted word
 * (alternate pronunciations included); then reports the first missing word. */
static int scan_dictionary(const char *dict_path, struct wordset *ws,
                           int (*add)(void *userdata, const char *word, const char *phones),
                           void *userdata, char *err, size_t errsz)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int r = 0;

    f = fopen(dict_path, "re");
    if (!f) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot open dictionary: %s", dict_path, strerror(errno));
        return r;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        size_t wl = base_word_length(line);
        char *word_end, *phones;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        for (size_t i = 0; i < ws->n; i++) {
            if (strlen(ws->words[i]) != wl || strncmp(ws->words[i], line, wl) != 0) {
                continue;
            }
            word_end = line + strcspn(line, " \t");
            if (*word_end == '\0') {
                snprintf(err, errsz, "%s:%u: no pronunciation for '%s'", dict_path, lineno,
                         ws->words[i]);
                r = -EINVAL;
                goto finish;
            }
            *word_end = '\0';
            phones = word_end + 1 + strspn(word_end + 1, " \t");
            if (add) {
                r = add(userdata, line, phones);
                if (r < 0) {
                    snprintf(err, errsz, "%s:%u: the decoder refused '%s' /%s/", dict_path, lineno,
                             line, phones);
                    goto finish;
                }
            }
            ws->found[i] = true;
            break;
        }
    }
    if (ferror(f)) {
        r = -EIO;
        snprintf(err, errsz, "%s: read error", dict_path);
        goto finish;
    }
    for (size_t i = 0; i < ws->n; i++) {
        if (!ws->found[i]) {
            snprintf(err, errsz, "wake word '%s' is not in the dictionary %s", ws->words[i],
                     dict_path);
            r = -ENOENT;
            goto finish;
        }
    }
finish:
    free(line);
    fclose(f);
    return r;
}

int kws_check_phrases(const char *dict_path, const struct kws_phrase *phrases, size_t n_phrases,
                      char *err, size_t errsz)
{
    struct wordset ws = {0};
    int r;

    r = wordset_from_phrases(&ws, phrases, n_phrases, err, errsz);
    if (r >= 0) {
        r = scan_dictionary(dict_path, &ws, NULL, NULL, err, errsz);
    }
    wordset_finish(&ws);
    return r;
}

static int add_word(void *userdata, const char *word, const char *phones)
{
    ps_decoder_t *ps = userdata;
    return ps_add_word(ps, word, phones, FALSE) < 0 ? -EINVAL : 0;
}

/* PocketSphinx reads the keyphrase list from a file; a memfd keeps it off
 * the disk. */
static int set_keyphrases(struct kws *kws, const struct kws_params *params, char *err, size_t errsz)
{
    char path[64];
    FILE *f;
    int fd, r = 0;

    fd = memfd_create("hark-keyphrases", MFD_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "cannot create the keyphrase list: %s", strerror(errno));
        return r;
    }
    f = fdopen(fd, "w");
    if (!f) {
        r = -errno;
        close(fd);
        snprintf(err, errsz, "cannot write the keyphrase list: %s", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < params->n_phrases; i++) {
        fprintf(f, "%s /%g/\n", params->phrases[i].text, params->phrases[i].threshold);
    }
    if (fflush(f) != 0) {
        r = -errno;
        snprintf(err, errsz, "cannot write the keyphrase list: %s", strerror(errno));
        goto finish;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(f));
    if (ps_set_kws(kws->ps, SEARCH_NAME, path) < 0 || ps_set_search(kws->ps, SEARCH_NAME) < 0) {
        snprintf(err, errsz, "the decoder refused the wake phrases");
        r = -EINVAL;
    }
finish:
    fclose(f);
    return r;
}

int kws_new(const struct kws_params *params, char *err, size_t errsz, struct kws **ret_kws)
{
    struct wordset ws = {0};
    struct kws *kws;
    int r;

    if (!params || params->n_phrases == 0) {
        snprintf(err, errsz, "no wake phrase configured");
        return -EINVAL;
    }
    for (size_t i = 0; i < params->n_phrases; i++) {
        if (!(params->phrases[i].threshold > 0.0)) {
            snprintf(err, errsz, "wake phrase '%s': threshold must be positive",
                     params->phrases[i].text);
            return -EINVAL;
        }
    }
    kws = calloc(1, sizeof(*kws));
    if (!kws) {
        return -ENOMEM;
    }
    /* PocketSphinx logs to stderr by default; hark's own log says what
     * matters, so the decoder speaks only when asked to. */
    err_set_logfp(params->decoder_log ? stderr : NULL);

    /* /dev/null as the dictionary: the decoder starts with no words, then
     * gets exactly the phrases' words. */
    kws->config =
        cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", params->model_dir, "-dict", "/dev/null", NULL);
    if (!kws->config) {
        snprintf(err, errsz, "cannot configure the decoder");
        r = -EINVAL;
        goto fail;
    }
    kws->ps = ps_init(kws->config);
    if (!kws->ps) {
        snprintf(err, errsz, "%s: cannot load the acoustic model", params->model_dir);
        r = -ENOENT;
        goto fail;
    }
    r = wordset_from_phrases(&ws, params->phrases, params->n_phrases, err, errsz);
    if (r < 0) {
        goto fail;
    }
    r = scan_dictionary(params->dict_path, &ws, add_word, kws->ps, err, errsz);
    if (r < 0) {
        goto fail;
    }
    r = set_keyphrases(kws, params, err, errsz);
    if (r < 0) {
        goto fail;
    }
    wordset_finish(&ws);
    *ret_kws = kws;
    return 0;

fail:
    wordset_finish(&ws);
    kws_free(kws);
    return r;
}

void kws_free(struct kws *kws)
{
    if (!kws) {
        return;
    }
    if (kws->ps) {
        if (kws->in_utt) {
            ps_end_utt(kws->ps);
        }
        ps_free(kws->ps);
    }
    if (kws->config) {
        cmd_ln_free_r(kws->config);
    }
    free(kws);
}

static int restart(struct kws *kws)
{
    if (kws->in_utt) {
        ps_end_utt(kws->ps);
        kws->in_utt = false;
    }
    if (ps_start_utt(kws->ps) < 0) {
        return -EIO;
    }
    kws->in_utt = true;
    kws->utt_start = kws->fed;
    return 0;
}

int kws_skip(struct kws *kws, uint64_t n)
{
    kws->fed += n;
    return restart(kws);
}

/* Fills *d from the decoder's hypothesis; false when there is none. */
static bool take_detection(struct kws *kws, struct kws_detection *d)
{
    const char *hyp;
    ps_seg_t *seg;
    int32 score;
    int sf = 0, ef = 0;
    double confidence = 0.0;

    hyp = ps_get_hyp(kws->ps, &score);
    if (!hyp || !*hyp) {
        return false;
    }
    snprintf(kws->phrase, sizeof(kws->phrase), "%s", hyp);
    /* The segment holds the phrase's frames and its posterior. */
    seg = ps_seg_iter(kws->ps);
    if (seg) {
        ps_seg_frames(seg, &sf, &ef);
        confidence = logmath_exp(ps_get_logmath(kws->ps), ps_seg_prob(seg, NULL, NULL, NULL));
        snprintf(kws->phrase, sizeof(kws->phrase), "%s", ps_seg_word(seg));
        ps_seg_free(seg);
    }
    /* The decoder's word may carry a trailing space. */
    for (size_t len = strlen(kws->phrase); len > 0 && kws->phrase[len - 1] == ' '; len--) {
        kws->phrase[len - 1] = '\0';
    }
    *d = (struct kws_detection){
        .phrase = kws->phrase,
        .confidence = confidence,
        .start = kws->utt_start + (uint64_t)sf * 160,
        .end = kws->utt_start + (uint64_t)(ef + 1) * 160,
        .detected_at = kws->fed,
    };
    return true;
}

int kws_feed(struct kws *kws, const int16_t *samples, size_t n, struct kws_detection *ret_detection)
{
    struct kws_detection d;
    int r;

    if (!kws->in_utt) {
        r = restart(kws);
        if (r < 0) {
            return r;
        }
    }
    if (ps_process_raw(kws->ps, samples, n, FALSE, FALSE) < 0) {
        return -EIO;
    }
    kws->fed += n;

    /* One utterance runs until a detection. Ending it at the decoder's own
     * end of speech, as pocketsphinx_continuous does, was tried: on the
     * corpus it changed which clips woke without finding more. */
    if (!take_detection(kws, &d)) {
        return 0;
    }
    r = restart(kws);
    if (r < 0) {
        return r;
    }
    *ret_detection = d;
    return 1;
}
