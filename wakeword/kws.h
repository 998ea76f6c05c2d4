/* The wake-word spotter: PocketSphinx keyphrase search over a dictionary that
 * holds only the words of the configured phrases. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kws;

struct kws_phrase {
    const char *text;  /* lower-case words separated by single spaces */
    double threshold;  /* PocketSphinx keyphrase threshold, > 0 (unused when verify_only) */
    double verify;     /* second-pass cut-off (with params.verify, and for kws_verify()) */
    /* Not spotted: only checked by the second pass when another detector
     * proposes it (kws_verify()). */
    bool verify_only;
};

struct kws_params {
    const char *model_dir; /* acoustic model (the -hmm directory) */
    const char *dict_path; /* pronunciation dictionary to take the words from */
    const struct kws_phrase *phrases;
    size_t n_phrases;
    bool decoder_log; /* let PocketSphinx log to stderr (debugging) */
    bool verify;      /* check each detection with a second pass, see kws_feed() */
    /* The spotter's phone-loop probability (PocketSphinx -kws_plp), 0 for
     * PocketSphinx's default (0.1). Lower lets more candidates through,
     * so the phrase is found more often in noise, and the second pass has
     * more to turn down. */
    double phone_loop;
    /* Where the second pass reads the audio it checks (needed with verify
     * or a verify_only phrase): the spotter keeps none of its own. The
     * caller keeps what it fed (the ear, in its pre-roll ring) and copies
     * into buf the samples from from up to to, on the spotter's clock (the
     * samples fed and skipped); when it no longer holds the oldest of them,
     * the newest it has, still ending at to. Returns how many it copied.
     * Called from inside kws_feed() and kws_verify(), with to - from at
     * most 4 s and nothing from before the last kws_skip() or wake. */
    size_t (*read_heard)(void *userdata, uint64_t from, uint64_t to, int16_t *buf);
    void *userdata;
};

struct kws_detection {
    const char *phrase;   /* valid until the next kws call */
    double confidence;    /* posterior, 0 to 1, as pocketsphinx_continuous prints it */
    uint64_t start;       /* first sample of the phrase, counted from the first fed */
    uint64_t end;         /* one past its last sample */
    uint64_t detected_at; /* samples fed when the detection came */
    double verify_score;  /* the second pass's score, NAN without one */
};

/* Loads the model and builds the dictionary. A word missing from the
 * dictionary, an unreadable model or dictionary: a negative errno and a
 * message naming it in err. With only verify_only phrases nothing is
 * spotted: kws_feed only counts the samples for kws_verify(). */
int kws_new(const struct kws_params *params, char *err, size_t errsz, struct kws **ret_kws);
void kws_free(struct kws *kws);

/* Feeds 16 kHz mono samples. Returns KWS_WAKE and fills *ret_detection when
 * a phrase was spotted (the spotter then starts afresh after it), 0 when
 * not, or a negative errno.
 *
 * With params.verify, every detection is checked again before it counts:
 * the phrase and a little audio around it are aligned to the phrase's own
 * context-dependent phones and, apart, decoded as a free loop of
 * context-independent phones. verify_score is how much better the phrase's
 * own phones explain the frames its words were aligned to than the loop
 * does, in nats per 10 ms frame (-INFINITY when the phrase cannot be
 * aligned in the window). Below the phrase's cut-off the
 * detection is turned down: kws_feed returns KWS_REJECTED (and fills
 * *ret_detection, for tuning), and only kws_rejected() counts it. */
#define KWS_WAKE 1
#define KWS_REJECTED 2
int kws_feed(struct kws *kws, const int16_t *samples, size_t n,
             struct kws_detection *ret_detection);

/* Another detector's proposal of phrase (one of params.phrases) between
 * samples start and end on the spotter's clock (the samples fed and
 * skipped), within what params.read_heard still has: the second pass checks it as it checks
 * its own detections, and kws_verify returns KWS_WAKE or KWS_REJECTED
 * (counted by kws_rejected()) and its score in *ret_score, or a negative
 * errno (-ENOENT: not a phrase of this spotter). The spotter starts afresh
 * after it. */
int kws_verify(struct kws *kws, const char *phrase, uint64_t start, uint64_t end,
               double *ret_score);

/* Detections the second pass turned down so far. */
uint64_t kws_rejected(const struct kws *kws);

/* Samples the spotter did not hear (while a request streams, while muted):
 * advances its clock and starts it afresh; the second pass reads nothing
 * from before them. */
int kws_skip(struct kws *kws, uint64_t n);

/* Checks that every word of the phrases is in the dictionary, without
 * loading the model (for `hark check-config`). */
int kws_check_phrases(const char *dict_path, const struct kws_phrase *phrases, size_t n_phrases,
                      char *err, size_t errsz);
