/* Keyphrase spotting with PocketSphinx (see kws.h). The dictionary is built at
 * start-up from only the phrases' words, which keeps the decoder at a third of
 * the memory the full 3 MB dictionary needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/fsg_model.h>

#include "kws.h"

#define MAX_WORDS 32
#define SEARCH_NAME "wake"

/* The second pass hears the phrase with this much audio around it. */
#define PAD_BEFORE (16000 / 5)
#define PAD_AFTER (16000 / 10)
/* ... and at most WINDOW_SECONDS in all, read from the caller's audio. */
#define WINDOW_SECONDS 4
#define VERIFY_NAME "verify"
#define LOOP_NAME "loop"
#define MAX_PHRASES 8
#define MAX_SEGS 32
#define MAX_LOOP_SEGS 512
/* What spotter_start() searches: 30 frames (10 found no path). */
#define PROBE_SAMPLES 4800
#define MAX_PROBE_SEGS 16
#define CMN_MAX 64

struct kws {
    cmd_ln_t *config;
    ps_decoder_t *ps;
    bool verify;   /* the spotter's detections are checked */
    bool spotting; /* some phrase is spotted (else only kws_verify) */
    double cutoff[MAX_PHRASES];
    char texts[MAX_PHRASES][128];
    size_t n_phrases;
    size_t (*read_heard)(void *userdata, uint64_t from, uint64_t to, int16_t *buf);
    void *userdata;         /* read_heard's */
    uint64_t heard_from;    /* the second pass reads nothing older (a skip, a wake) */
    int16_t *window;        /* the second pass's window, NULL without a second pass */
    size_t window_cap;
    uint64_t rejected;      /* detections the second pass turned down */
    uint64_t utt_start; /* absolute sample of the current utterance's start */
    uint64_t fed;       /* absolute samples fed or skipped */
    uint64_t frames_base; /* the decoder's frame number of this utterance's start:
                           * counted, and read at each detection when the
                           * second pass is on (spotter_start) */
    int det_sf, det_ef;   /* the last detection's frames, in the decoder's numbering */
    bool in_utt;
    bool heard; /* the current utterance has been fed audio */
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
        if (!params->phrases[i].verify_only) {
            fprintf(f, "%s /%g/\n", params->phrases[i].text, params->phrases[i].threshold);
        }
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

/* The second pass: per phrase, a grammar that holds only the phrase (the
 * search adds optional silence and fillers around it), decoded with
 * context-dependent phones, and one loop of context-independent phones that
 * any sound matches. The grammar is built as an FSG directly: PocketSphinx's
 * JSGF parser leaks what it parses. */
static int set_verify(struct kws *kws, const struct kws_params *params, char *err, size_t errsz)
{
    float32 lw = cmd_ln_float32_r(kws->config, "-lw");
    char name[32];

    for (size_t i = 0; i < params->n_phrases; i++) {
        char text[128], *save = NULL;
        const char *words[MAX_WORDS];
        fsg_model_t *fsg;
        int n = 0, r;

        snprintf(text, sizeof(text), "%s", params->phrases[i].text);
        for (char *w = strtok_r(text, " ", &save); w && n < MAX_WORDS;
             w = strtok_r(NULL, " ", &save)) {
            words[n++] = w;
        }
        snprintf(name, sizeof(name), VERIFY_NAME "%zu", i);
        fsg = fsg_model_init(name, ps_get_logmath(kws->ps), lw, n + 1);
        if (!fsg) {
            snprintf(err, errsz, "cannot make the verification grammar of '%s'",
                     params->phrases[i].text);
            return -ENOMEM;
        }
        fsg->start_state = 0;
        fsg->final_state = n;
        for (int k = 0; k < n; k++) {
            fsg_model_trans_add(fsg, k, k + 1, 0, fsg_model_word_add(fsg, words[k]));
        }
        r = ps_set_fsg(kws->ps, name, fsg);
        fsg_model_free(fsg); /* the search keeps its own reference */
        if (r < 0) {
            snprintf(err, errsz, "the decoder refused the verification grammar of '%s'",
                     params->phrases[i].text);
            return -EINVAL;
        }
    }
    /* The loop's phones are context-independent: a loop of all triphones
     * needs about 900 MB. The setting is read when the search is made. */
    cmd_ln_set_boolean_r(kws->config, "-allphone_ci", TRUE);
    if (ps_set_allphone(kws->ps, LOOP_NAME, NULL) < 0) {
        snprintf(err, errsz, "the decoder refused the phone loop");
        return -EINVAL;
    }
    return 0;
}

static int check_params(const struct kws_params *params, char *err, size_t errsz)
{
    if (!params || params->n_phrases == 0) {
        snprintf(err, errsz, "no wake phrase configured");
        return -EINVAL;
    }
    if (params->n_phrases > MAX_PHRASES) {
        snprintf(err, errsz, "too many wake phrases (at most %d)", MAX_PHRASES);
        return -E2BIG;
    }
    for (size_t i = 0; i < params->n_phrases; i++) {
        if (!params->phrases[i].verify_only && !(params->phrases[i].threshold > 0.0)) {
            snprintf(err, errsz, "wake phrase '%s': threshold must be positive",
                     params->phrases[i].text);
            return -EINVAL;
        }
    }
    return 0;
}

/* The decoder with the acoustic model and exactly the phrases' words. */
static int load_decoder(struct kws *kws, const struct kws_params *params, char *err, size_t errsz)
{
    struct wordset ws = {0};
    int r;

    /* PocketSphinx logs to stderr by default; hark's own log says what
     * matters, so the decoder speaks only when asked to. */
    err_set_logfp(params->decoder_log ? stderr : NULL);

    /* /dev/null as the dictionary: the decoder starts with no words, then
     * gets exactly the phrases' words. */
    /* The decoder's own voice-activity detection stays off: the ear gates the
     * spotter already (which finds as many wake words), and removed frames
     * would break the mapping from the decoder's frames to samples that the
     * second pass needs. */
    kws->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", params->model_dir, "-dict",
                              "/dev/null", "-remove_silence", "no", NULL);
    if (kws->config && params->phone_loop > 0) {
        cmd_ln_set_float_r(kws->config, "-kws_plp", params->phone_loop);
    }
    if (!kws->config) {
        snprintf(err, errsz, "cannot configure the decoder");
        return -EINVAL;
    }
    kws->ps = ps_init(kws->config);
    if (!kws->ps) {
        snprintf(err, errsz, "%s: cannot load the acoustic model", params->model_dir);
        return -ENOENT;
    }
    r = wordset_from_phrases(&ws, params->phrases, params->n_phrases, err, errsz);
    if (r >= 0) {
        r = scan_dictionary(params->dict_path, &ws, add_word, kws->ps, err, errsz);
    }
    wordset_finish(&ws);
    return r;
}

/* The second pass, for the spotter's detections or another's: its window
 * (read from the caller's audio) and its searches. */
static int set_second_pass(struct kws *kws, const struct kws_params *params, char *err,
                           size_t errsz)
{
    int r;

    if (!params->read_heard) {
        snprintf(err, errsz, "the second pass has no audio to read");
        return -EINVAL;
    }
    kws->read_heard = params->read_heard;
    kws->userdata = params->userdata;
    kws->window_cap = (size_t)WINDOW_SECONDS * 16000;
    kws->window = calloc(kws->window_cap, sizeof(*kws->window));
    if (!kws->window) {
        return -ENOMEM;
    }
    r = set_verify(kws, params, err, errsz);
    if (r < 0) {
        return r;
    }
    if ((kws->spotting && ps_set_search(kws->ps, SEARCH_NAME) < 0) ||
        ps_get_feat(kws->ps)->cmn_struct->veclen > CMN_MAX) {
        snprintf(err, errsz, "the decoder refused the second pass");
        return -EINVAL;
    }
    return 0;
}

int kws_new(const struct kws_params *params, char *err, size_t errsz, struct kws **ret_kws)
{
    bool second_pass = false;
    struct kws *kws;
    int r;

    r = check_params(params, err, errsz);
    if (r < 0) {
        return r;
    }
    kws = calloc(1, sizeof(*kws));
    if (!kws) {
        return -ENOMEM;
    }
    r = load_decoder(kws, params, err, errsz);
    if (r < 0) {
        goto fail;
    }
    kws->n_phrases = params->n_phrases;
    for (size_t i = 0; i < params->n_phrases; i++) {
        snprintf(kws->texts[i], sizeof(kws->texts[i]), "%s", params->phrases[i].text);
        kws->cutoff[i] = params->phrases[i].verify;
        kws->spotting = kws->spotting || !params->phrases[i].verify_only;
        second_pass = second_pass || params->phrases[i].verify_only;
    }
    if (kws->spotting) {
        r = set_keyphrases(kws, params, err, errsz);
        if (r < 0) {
            goto fail;
        }
    }
    kws->verify = params->verify && kws->spotting;
    if (kws->verify || second_pass) {
        r = set_second_pass(kws, params, err, errsz);
        if (r < 0) {
            goto fail;
        }
    }
    *ret_kws = kws;
    return 0;

fail:
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
        /* The phone loop frees the segments of its last utterance only when
         * the next one starts, not when it is freed: an empty one leaves it
         * none. */
        if (kws->window && ps_set_search(kws->ps, LOOP_NAME) == 0 && ps_start_utt(kws->ps) == 0) {
            ps_end_utt(kws->ps);
        }
        ps_free(kws->ps);
    }
    if (kws->config) {
        cmd_ln_free_r(kws->config);
    }
    if (kws->window) {
        explicit_bzero(kws->window, kws->window_cap * sizeof(*kws->window));
    }
    free(kws->window);
    free(kws);
}

/* Ends the spotter's utterance. The frame numbers the decoder gives (in
 * detections) run on across utterances, so the frames of each are counted:
 * an estimate, put right at each detection when the second pass is on
 * (spotter_start). */
static void end_utt(struct kws *kws)
{
    if (kws->in_utt) {
        ps_end_utt(kws->ps);
        kws->frames_base += (uint64_t)ps_get_n_frames(kws->ps);
        kws->in_utt = false;
    }
}

/* Starts the spotter afresh at the current position. An utterance that has
 * heard nothing is fresh already and is only moved: ended, it would count
 * one frame (ps_get_n_frames) that the decoder's numbering never had, and
 * every request and every reopened gate would slide the second pass's
 * window a frame earlier. */
static int restart(struct kws *kws)
{
    if (!kws->spotting) {
        return 0;
    }
    if (kws->in_utt && !kws->heard) {
        kws->utt_start = kws->fed;
        return 0;
    }
    end_utt(kws);
    if (ps_start_utt(kws->ps) < 0) {
        return -EIO;
    }
    kws->in_utt = true;
    kws->heard = false;
    kws->utt_start = kws->fed;
    return 0;
}

int kws_skip(struct kws *kws, uint64_t n)
{
    kws->fed += n;
    kws->heard_from = kws->fed;
    return restart(kws);
}

/* Samples from the utterance's start to the decoder's frame f: base is
 * where the decoder's numbering stood when the utterance began. */
static uint64_t frame_offset(uint64_t base, int f)
{
    return f > 0 && (uint64_t)f > base ? ((uint64_t)f - base) * 160 : 0;
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
        kws->det_sf = sf;
        kws->det_ef = ef;
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
        .start = kws->utt_start + frame_offset(kws->frames_base, sf),
        .end = kws->utt_start + frame_offset(kws->frames_base, ef + 1),
        .detected_at = kws->fed,
    };
    return true;
}

/* The window the second pass decodes, read from the caller's audio: the
 * samples from from up to to, or the newest of them the caller still has.
 * Returns their number. */
static size_t read_window(struct kws *kws, uint64_t from, uint64_t to)
{
    size_t n = kws->read_heard(kws->userdata, from, to, kws->window);

    return n < (size_t)(to - from) ? n : (size_t)(to - from);
}

struct seg {
    int sf, ef; /* frames, in the decoder's numbering */
    int32 ascr; /* acoustic score */
    bool word;  /* a word of the phrase, not silence or filler */
};

/* Runs one search of the second pass over the window as an utterance of its
 * own; fills segs (at most max) and returns their count, or -1 when the
 * search found no path. */
static int search_segs(struct kws *kws, const char *name, const int16_t *w, size_t n,
                       struct seg *segs, int max)
{
    ps_seg_t *it;
    int32 score;
    int k = 0;

    if (ps_set_search(kws->ps, name) < 0 || ps_start_utt(kws->ps) < 0) {
        return -1;
    }
    ps_process_raw(kws->ps, w, n, FALSE, TRUE);
    ps_end_utt(kws->ps);
    kws->frames_base += (uint64_t)ps_get_n_frames(kws->ps);
    if (!ps_get_hyp(kws->ps, &score)) {
        return -1;
    }
    for (it = ps_seg_iter(kws->ps); it; it = ps_seg_next(it)) {
        int32 ascr = 0, lscr = 0, lback = 0;
        const char *word = ps_seg_word(it);

        if (k == max) {
            ps_seg_free(it);
            break;
        }
        ps_seg_frames(it, &segs[k].sf, &segs[k].ef);
        ps_seg_prob(it, &ascr, &lscr, &lback);
        segs[k].ascr = ascr;
        segs[k].word = word[0] != '<' && word[0] != '[' && word[0] != '+';
        k++;
    }
    return k;
}

/* The loop's acoustic score over frames [sf, ef]; a segment that lies
 * partly inside counts in proportion. */
static double loop_score(const struct seg *segs, int n, int sf, int ef)
{
    double sum = 0;

    for (int i = 0; i < n; i++) {
        int a = segs[i].sf > sf ? segs[i].sf : sf;
        int b = segs[i].ef < ef ? segs[i].ef : ef;

        if (b >= a) {
            sum += (double)segs[i].ascr * (b - a + 1) / (segs[i].ef - segs[i].sf + 1);
        }
    }
    return sum;
}

/* Where the spotter's last utterance began, in the decoder's frame
 * numbering: PocketSphinx numbers a live utterance's frames from its front
 * end's count of all the audio it has ever been given (the second pass's
 * windows too), and numbers the segments of a whole-utterance search that
 * follows from that same start. Adding up ps_get_n_frames does not keep up
 * with it: each utterance's fraction of a frame is left out, so the count
 * fell behind by a fraction of a frame per request, and after a few hundred
 * requests the second pass was looking a second after the phrase. So the
 * start is read at every detection: the phone loop over the last 0.3 s,
 * whose first segment begins at it. -1 when the loop finds no path. */
static int64_t spotter_start(struct kws *kws)
{
    feat_t *fcb = ps_get_feat(kws->ps);
    mfcc_t cmn[CMN_MAX];
    struct seg s[MAX_PROBE_SEGS];
    size_t n = PROBE_SAMPLES;
    int k;

    if (kws->fed - kws->heard_from < n) {
        return -1;
    }
    if (read_window(kws, kws->fed - n, kws->fed) < n) {
        explicit_bzero(kws->window, n * sizeof(*kws->window));
        return -1;
    }
    cmn_live_get(fcb->cmn_struct, cmn);
    k = search_segs(kws, LOOP_NAME, kws->window, n, s, MAX_PROBE_SEGS);
    cmn_live_set(fcb->cmn_struct, cmn);
    explicit_bzero(kws->window, n * sizeof(*kws->window));
    return k > 0 && s[0].sf >= 0 ? s[0].sf : -1;
}

/* The second pass over the phrase and a little audio around it: how much
 * better the phrase's own (context-dependent) phones explain the frames its
 * words were aligned to than a free loop of context-independent phones does,
 * in nats per 10 ms frame. The whole phrase counts, not its worst word: a
 * word is too short a stretch to judge in noise. -INFINITY when the phrase
 * cannot be aligned. */
static double verify(struct kws *kws, size_t phrase, uint64_t start, uint64_t end)
{
    struct seg ks[MAX_SEGS], ls[MAX_LOOP_SEGS];
    logmath_t *lmath = ps_get_logmath(kws->ps);
    feat_t *fcb = ps_get_feat(kws->ps);
    mfcc_t cmn[CMN_MAX];
    double diff = 0, frames = 0;
    uint64_t from, to;
    char name[32];
    int nk, nl;
    size_t n;

    from = start > PAD_BEFORE ? start - PAD_BEFORE : 0;
    to = end + PAD_AFTER < kws->fed ? end + PAD_AFTER : kws->fed;
    if (from < kws->heard_from) {
        from = kws->heard_from;
    }
    if (to < from + 160) {
        return -INFINITY;
    }
    if (to - from > kws->window_cap) {
        from = to - kws->window_cap;
    }
    /* The caller may no longer hold the oldest: the window starts later. */
    n = read_window(kws, from, to);
    if (n < 160) {
        explicit_bzero(kws->window, n * sizeof(*kws->window));
        return -INFINITY;
    }
    /* The second pass decodes with the spotter's running cepstral mean,
     * and leaves it as it found it. */
    cmn_live_get(fcb->cmn_struct, cmn);
    snprintf(name, sizeof(name), VERIFY_NAME "%zu", phrase);
    nk = search_segs(kws, name, kws->window, n, ks, MAX_SEGS);
    nl = search_segs(kws, LOOP_NAME, kws->window, n, ls, MAX_LOOP_SEGS);
    cmn_live_set(fcb->cmn_struct, cmn);
    explicit_bzero(kws->window, n * sizeof(*kws->window));

    for (int i = 0; nl > 0 && i < nk; i++) {
        if (ks[i].word) {
            diff += (double)ks[i].ascr - loop_score(ls, nl, ks[i].sf, ks[i].ef);
            frames += ks[i].ef - ks[i].sf + 1;
        }
    }
    /* Scores are in the decoder's log base, scaled down by 2^10. */
    return frames > 0 ? logmath_log_to_ln(lmath, 1) * 1024.0 * diff / frames : -INFINITY;
}

uint64_t kws_rejected(const struct kws *kws)
{
    return kws->rejected;
}

static size_t phrase_index(const struct kws *kws, const char *phrase)
{
    for (size_t i = 0; i < kws->n_phrases; i++) {
        if (strcmp(kws->texts[i], phrase) == 0) {
            return i;
        }
    }
    return 0;
}

/* A wake: the second pass looks at nothing before it again. */
static void forget_heard(struct kws *kws)
{
    kws->heard_from = kws->fed;
}

int kws_verify(struct kws *kws, const char *phrase, uint64_t start, uint64_t end,
               double *ret_score)
{
    size_t p = phrase_index(kws, phrase);
    double score;
    int r;

    if (!kws->window) {
        return -EINVAL;
    }
    if (strcmp(kws->texts[p], phrase) != 0) {
        return -ENOENT;
    }
    /* The second pass's searches need the decoder: the spotter's
     * utterance ends here, and it starts afresh after them. */
    end_utt(kws);
    score = verify(kws, p, start, end);
    if (kws->spotting && ps_set_search(kws->ps, SEARCH_NAME) < 0) {
        return -EIO;
    }
    r = restart(kws);
    if (r < 0) {
        return r;
    }
    *ret_score = score;
    if (!(score >= kws->cutoff[p])) {
        kws->rejected++;
        return KWS_REJECTED;
    }
    forget_heard(kws);
    return KWS_WAKE;
}

int kws_feed(struct kws *kws, const int16_t *samples, size_t n, struct kws_detection *ret_detection)
{
    struct kws_detection d;
    size_t p = 0;
    int r;

    /* Nothing spotted: only the clock moves, for kws_verify(). */
    if (!kws->spotting) {
        kws->fed += n;
        return 0;
    }
    if (!kws->in_utt) {
        r = restart(kws);
        if (r < 0) {
            return r;
        }
    }
    if (ps_process_raw(kws->ps, samples, n, FALSE, FALSE) < 0) {
        return -EIO;
    }
    kws->heard = kws->heard || n > 0;
    kws->fed += n;

    /* One utterance runs until a detection. Ending it at the decoder's own
     * end of speech, as pocketsphinx_continuous does, was tried: on the
     * corpus it changed which clips woke without finding more. */
    if (!take_detection(kws, &d)) {
        return 0;
    }
    d.verify_score = NAN;
    if (kws->verify) {
        uint64_t counted = kws->frames_base;
        int64_t base;

        end_utt(kws);
        /* Put the detection right with the utterance's start as read, and
         * go on counting from there. */
        base = spotter_start(kws);
        if (base >= 0) {
            d.start = kws->utt_start + frame_offset((uint64_t)base, kws->det_sf);
            d.end = kws->utt_start + frame_offset((uint64_t)base, kws->det_ef + 1);
            kws->frames_base += (uint64_t)base - counted;
        }
        p = phrase_index(kws, d.phrase);
        d.verify_score = verify(kws, p, d.start, d.end);
        if (ps_set_search(kws->ps, SEARCH_NAME) < 0) {
            return -EIO;
        }
    }
    r = restart(kws);
    if (r < 0) {
        return r;
    }
    *ret_detection = d;
    if (kws->verify && !(d.verify_score >= kws->cutoff[p])) {
        kws->rejected++;
        return KWS_REJECTED;
    }
    forget_heard(kws);
    return KWS_WAKE;
}
