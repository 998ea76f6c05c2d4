/* The ear state machine, see ear.h. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "audio-preroll.h"
#include "audio-source.h"
#include "audio-vad.h"
#include "ear.h"
#include "kws.h"
#include "nn.h"

/* A request's audio goes on in 20 ms steps, the Opus frame size, so that it
 * stops within a step of the end of speech. */
#define STEP 320
/* While spotting, larger pieces save the decoder per-call work; detection
 * time is still exact to this many samples (128 ms). */
#define IDLE_STEP 2048
/* PocketSphinx reports a phrase kws_delay (10 frames) after its end, plus up
 * to one step of buffering. */
#define DETECTION_LAG (10 * 160 + STEP)
/* The longest wake phrase the pre-roll ring has room for. */
#define MAX_PHRASE_S 3
/* The spotter is gated by the VAD: it hears audio only from GATE_LOOKBACK
 * before speech until GATE_HANG_FRAMES after it, and sleeps through silence
 * and steady noise, which is most of a day. */
#define GATE_LOOKBACK (AUDIO_RATE * 3 / 10)
#define GATE_HANG_FRAMES 50
/* A neural detection knows where the phrase ends, not where it began: the
 * second pass looks for it in the model's receptive field, and at least
 * this far back ("hey computer" takes 0.6 to 1 s). */
#define VERIFY_PHRASE_MIN (AUDIO_RATE * 3 / 2)
/* Where a phrase the neural detector heard began: the onset of the speech
 * it ends, after ONSET_QUIET of non-speech, at least PHRASE_MIN and at most
 * the model's receptive field before its end; without one (a phrase said
 * inside a sentence, or noise the VAD takes for speech), PHRASE_GUESS before
 * its end. On the benchmark's corpus "hey computer" takes 0.66-0.99 s (5th
 * to 95th percentile) and the detector fires from 0.33 s before the
 * phrase's end to 0.32 s after it. */
#define ONSET_QUIET_FRAMES 25
#define PHRASE_MIN_FRAMES 30
#define PHRASE_GUESS AUDIO_RATE
/* A neural detection may come before the phrase has ended: this much speech
 * right after it is the phrase's tail, not the request. */
#define NEURAL_TAIL_FRAMES 40

struct ear {
    struct kws *kws;       /* NULL when no phrase needs PocketSphinx */
    struct nn_detector *nn[CONFIG_MAX_MODELS]; /* one per [wakeword] model */
    size_t n_nn;
    uint64_t nn_lookback; /* samples of look-back at a restart, see spot() */
    enum config_combine combine;
    bool candidates_only; /* ear_set_candidates_only() */
    struct audio_vad *vad;
    struct audio_preroll *preroll;
    struct audio_endpoint endpoint;
    struct audio_endpoint_params endpoint_params;
    unsigned preroll_ms;

    struct ear_callbacks cb;
    void *userdata;

    enum ear_state state;
    bool listening;        /* spotting allowed (not answering a request) */
    uint64_t position;     /* samples fed */
    uint64_t kws_position; /* samples the spotter has heard or skipped */
    uint64_t vad_seen;     /* VAD frames looked at for the gate */
    uint64_t last_speech;  /* one past the last speech frame, 0 if none yet */
    int16_t *copy;         /* pre-roll handed out at a wake */
    size_t copy_cap;
    uint64_t chime_samples; /* silence in place of the input after a wake */
    uint64_t quiet_until;   /* position up to which the input is replaced */
    int16_t quiet[STEP];    /* the replaced step */
};

/* The second pass's window, from the pre-roll ring (kws.h): the spotter's
 * clock is the ear's position, and both restart at a reset. */
static size_t read_heard(void *userdata, uint64_t from, uint64_t to, int16_t *buf)
{
    const struct ear *ear = userdata;
    uint64_t first;

    /* Copying nothing says where what the ring holds of it begins. */
    audio_preroll_copy(ear->preroll, from, buf, 0, &first);
    if (first >= to) {
        return 0;
    }
    return audio_preroll_copy(ear->preroll, first, buf, (size_t)(to - first), NULL);
}

/* The phrases PocketSphinx has: a phrase with a model is the neural
 * detector's, and PocketSphinx's too unless the neural detector alone
 * decides (verify: its second pass only); PocketSphinx has the phrases
 * without a model. Returns their number. */
static size_t spotter_phrases(const struct hark_config *cfg, const int *phrase_model,
                              enum config_combine combine, struct kws_phrase *ret_phrases)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        bool has_model = phrase_model[i] >= 0;

        if (has_model && combine == CONFIG_COMBINE_NEURAL) {
            continue;
        }
        ret_phrases[n++] = (struct kws_phrase){
            .text = cfg->wakeword.phrases[i].text,
            .threshold = cfg->wakeword.phrases[i].threshold,
            .verify = cfg->wakeword.phrases[i].verify_threshold,
            .verify_only = has_model && combine == CONFIG_COMBINE_VERIFY,
        };
    }
    return n;
}

/* A neural detector per model (each takes its model; on failure the
 * models not yet taken are freed), and the look-back they need. */
static int add_neural(struct ear *ear, const struct hark_config *cfg,
                      struct nn_model *models[CONFIG_MAX_MODELS], char *err, size_t errsz)
{
    float threshold =
        cfg->wakeword.neural_threshold > 0 ? (float)cfg->wakeword.neural_threshold : NAN;

    for (size_t m = 0; m < cfg->wakeword.n_models; m++) {
        int r = nn_detector_new(models[m], threshold, &ear->nn[ear->n_nn]);

        if (r < 0) {
            snprintf(err, errsz, "%s: cannot set up the neural detector", cfg->wakeword.models[m]);
            for (size_t k = m; k < cfg->wakeword.n_models; k++) {
                nn_model_free(models[k]);
            }
            return r;
        }
        ear->nn_lookback =
            MAX(ear->nn_lookback, (uint64_t)models[m]->context * models[m]->features.hop);
        ear->n_nn++;
    }
    ear->nn_lookback = MIN(MAX(ear->nn_lookback, GATE_LOOKBACK), MAX_PHRASE_S * AUDIO_RATE);
    return 0;
}

int ear_new(const struct hark_config *cfg, const struct ear_callbacks *callbacks, void *userdata,
            char *err, size_t errsz, struct ear **ret_ear)
{
    struct kws_phrase phrases[CONFIG_MAX_PHRASES];
    struct kws_params kp = {
        .model_dir = cfg->wakeword.model_dir,
        .dict_path = cfg->wakeword.dict,
        .phrases = phrases,
        .verify = cfg->wakeword.verify,
        .phone_loop = cfg->wakeword.phone_loop,
        .read_heard = read_heard,
    };
    struct audio_vad_params vp = {.threshold_db = cfg->endpoint.vad_threshold_db};
    struct nn_model *models[CONFIG_MAX_MODELS] = {0};
    int phrase_model[CONFIG_MAX_PHRASES];
    struct ear *ear;
    int r;

    ear = calloc(1, sizeof(*ear));
    if (!ear) {
        return -ENOMEM;
    }
    ear->combine = config_combine(cfg);
    r = config_load_models(cfg, models, phrase_model, err, errsz);
    if (r < 0) {
        goto fail;
    }
    kp.n_phrases = spotter_phrases(cfg, phrase_model, ear->combine, phrases);
    r = add_neural(ear, cfg, models, err, errsz);
    if (r < 0) {
        goto fail;
    }
    ear->cb = *callbacks;
    ear->userdata = userdata;
    ear->listening = true;
    ear->preroll_ms = cfg->audio.preroll_ms;
    ear->endpoint_params = (struct audio_endpoint_params){
        .silence_ms = cfg->endpoint.silence_ms,
        .max_length_ms = cfg->endpoint.max_length_ms,
        .no_speech_ms = cfg->endpoint.no_speech_ms,
        .min_speech_ms = cfg->endpoint.min_speech_ms,
    };
    /* Room for the pre-roll, the phrase and the detection lag. */
    ear->copy_cap = (size_t)cfg->audio.preroll_ms * AUDIO_RATE / 1000 + MAX_PHRASE_S * AUDIO_RATE +
                    DETECTION_LAG + GATE_LOOKBACK;
    ear->copy = calloc(ear->copy_cap, sizeof(*ear->copy));
    if (!ear->copy) {
        r = -ENOMEM;
        goto fail;
    }
    r = audio_preroll_new(ear->copy_cap, &ear->preroll);
    if (r < 0) {
        snprintf(err, errsz, "cannot allocate the pre-roll ring");
        goto fail;
    }
    r = audio_vad_new(&vp, &ear->vad);
    if (r < 0) {
        snprintf(err, errsz, "invalid voice-activity settings");
        goto fail;
    }
    if (kp.n_phrases > 0) {
        kp.userdata = ear;
        r = kws_new(&kp, err, errsz, &ear->kws);
        if (r < 0) {
            goto fail;
        }
    }
    *ret_ear = ear;
    return 0;

fail:
    ear_free(ear);
    return r;
}

void ear_free(struct ear *ear)
{
    if (!ear) {
        return;
    }
    kws_free(ear->kws);
    for (size_t m = 0; m < ear->n_nn; m++) {
        nn_detector_free(ear->nn[m]);
    }
    audio_vad_free(ear->vad);
    audio_preroll_free(ear->preroll);
    if (ear->copy) {
        explicit_bzero(ear->copy, ear->copy_cap * sizeof(*ear->copy));
    }
    free(ear->copy);
    explicit_bzero(ear->quiet, sizeof(ear->quiet));
    free(ear);
}

static double seconds(uint64_t samples)
{
    return (double)samples / AUDIO_RATE;
}

static uint64_t neural_phrase_start(const struct ear *ear, uint64_t end, uint64_t longest)
{
    uint64_t end_f = end / AUDIO_VAD_FRAME;
    uint64_t frames = audio_vad_frames(ear->vad);
    uint64_t oldest = frames > AUDIO_VAD_HISTORY ? frames - AUDIO_VAD_HISTORY : 0;
    uint64_t lo = end_f > longest / AUDIO_VAD_FRAME ? end_f - longest / AUDIO_VAD_FRAME : 0;
    uint64_t onset = 0;
    unsigned quiet = 0;
    bool in_speech = false;

    lo = MAX(lo, oldest);
    end_f = MIN(end_f, frames);
    for (uint64_t f = end_f; f-- > lo;) {
        if (audio_vad_is_speech(ear->vad, f)) {
            onset = f;
            in_speech = true;
            quiet = 0;
        } else if (in_speech && ++quiet >= ONSET_QUIET_FRAMES &&
                   end_f - onset >= PHRASE_MIN_FRAMES) {
            return onset * AUDIO_VAD_FRAME;
        }
    }
    if (in_speech && lo == 0 && end_f - onset >= PHRASE_MIN_FRAMES) {
        return onset * AUDIO_VAD_FRAME; /* the recording starts with it */
    }
    return end > PHRASE_GUESS ? end - PHRASE_GUESS : 0;
}

/* d->end and d->start as the detector estimated them; PocketSphinx's are
 * not on hark's clock (see doc/architecture.md), so for it only their
 * difference counts and the end is DETECTION_LAG before the detection. */
static void start_request(struct ear *ear, const struct kws_detection *d, bool neural)
{
    bool on_our_clock = neural;
    uint64_t phrase_len = d->end - d->start;
    uint64_t end = on_our_clock ? d->end
                   : d->detected_at > DETECTION_LAG ? d->detected_at - DETECTION_LAG : 0;
    uint64_t start = neural ? neural_phrase_start(ear, end, phrase_len)
                     : end > phrase_len ? end - phrase_len : 0;
    uint64_t preroll = (uint64_t)ear->preroll_ms * AUDIO_RATE / 1000;
    uint64_t from = start > preroll ? start - preroll : 0;
    uint64_t copied_from = from;
    size_t n;
    struct ear_wake wake;

    n = audio_preroll_copy(ear->preroll, from, ear->copy, ear->copy_cap, &copied_from);
    wake = (struct ear_wake){
        .t = seconds(d->detected_at),
        .phrase = d->phrase,
        .detector = neural ? "neural" : "pocketsphinx",
        .score = d->confidence,
        .verify = d->verify_score,
        .phrase_start = seconds(start),
        .preroll_s = start > copied_from ? seconds(start - copied_from) : 0.0,
    };
    ear->state = EAR_STREAMING;
    ear->quiet_until = d->detected_at + ear->chime_samples;
    audio_endpoint_init(&ear->endpoint, &ear->endpoint_params, end / AUDIO_VAD_FRAME,
                        d->detected_at / AUDIO_VAD_FRAME);
    if (neural) {
        audio_endpoint_skip_tail(&ear->endpoint, NEURAL_TAIL_FRAMES);
    }
    if (ear->cb.on_wake) {
        ear->cb.on_wake(ear->userdata, &wake);
    }
    if (ear->cb.on_audio && n > 0) {
        ear->cb.on_audio(ear->userdata, ear->copy, n);
    }
    explicit_bzero(ear->copy, n * sizeof(*ear->copy));
}

static void skip_neural(struct ear *ear, uint64_t n)
{
    for (size_t m = 0; m < ear->n_nn; m++) {
        nn_detector_skip(ear->nn[m], n);
    }
}

/* Both detectors miss the same samples. */
static int skip_detectors(struct ear *ear, uint64_t n)
{
    skip_neural(ear, n);
    return ear->kws ? kws_skip(ear->kws, n) : 0;
}

/* The neural detectors on the samples the spotter hears, each on all of
 * them: a wake is a detection as PocketSphinx's would be, with the phrase's
 * length taken as the model's receptive field (at most MAX_PHRASE_S). The
 * earliest wins. */
static int feed_neural(struct ear *ear, const int16_t *samples, size_t n,
                       struct kws_detection *ret_detection)
{
    bool woke = false;

    for (size_t i = 0; i < ear->n_nn; i++) {
        const struct nn_model *m = nn_detector_model(ear->nn[i]);
        struct nn_detection d;
        uint64_t len;

        if (nn_detector_feed(ear->nn[i], samples, n, &d) != NN_WAKE ||
            (woke && d.detected_at >= ret_detection->detected_at)) {
            continue;
        }
        len = (uint64_t)m->context * m->features.hop;
        len = len < MAX_PHRASE_S * AUDIO_RATE ? len : MAX_PHRASE_S * AUDIO_RATE;
        *ret_detection = (struct kws_detection){
            .phrase = m->phrase,
            .confidence = d.score,
            .start = d.end > len ? d.end - len : 0,
            .end = d.end,
            .detected_at = d.detected_at,
            .verify_score = NAN,
        };
        woke = true;
    }
    return woke ? KWS_WAKE : 0;
}

/* combine = verify: PocketSphinx's second pass decides on the neural
 * detector's proposal, looking for the phrase at least VERIFY_PHRASE_MIN
 * before its end. */
static int verify_neural(struct ear *ear, struct kws_detection *d)
{
    uint64_t from = d->end > VERIFY_PHRASE_MIN ? d->end - VERIFY_PHRASE_MIN : 0;

    return kws_verify(ear->kws, d->phrase, from < d->start ? from : d->start, d->end,
                      &d->verify_score);
}

static void report_candidate(struct ear *ear, const struct kws_detection *d, bool neural,
                             bool woke)
{
    struct ear_wake c = {
        .t = seconds(d->detected_at),
        .phrase = d->phrase,
        .detector = neural ? "neural" : "pocketsphinx",
        .score = d->confidence,
        .verify = d->verify_score,
    };

    if (ear->cb.on_candidate) {
        ear->cb.on_candidate(ear->userdata, &c, woke);
    }
}

static int end_request(struct ear *ear, char *err, size_t errsz)
{
    struct ear_end end = {
        .t = (double)ear->endpoint.end_frame * AUDIO_VAD_FRAME / AUDIO_RATE,
        .reason = audio_endpoint_result_to_string(ear->endpoint.result),
        .no_speech = ear->endpoint.result == AUDIO_ENDPOINT_NO_SPEECH,
        .duration_s = (double)(ear->endpoint.end_frame - ear->endpoint.wake_frame) *
                      AUDIO_VAD_FRAME / AUDIO_RATE,
    };
    int r;

    ear->state = EAR_IDLE;
    /* The spotter did not hear the request; it starts afresh after it. */
    r = skip_detectors(ear, ear->position - ear->kws_position);
    ear->kws_position = ear->position;
    if (r < 0) {
        snprintf(err, errsz, "the wake-word decoder failed to restart");
        return r;
    }
    if (ear->cb.on_end) {
        ear->cb.on_end(ear->userdata, &end);
    }
    return 0;
}

/* Whether the spotter should hear the audio up to now: speech within the
 * last GATE_HANG_FRAMES. */
static bool gate_open(struct ear *ear)
{
    uint64_t frames = audio_vad_frames(ear->vad);

    for (; ear->vad_seen < frames; ear->vad_seen++) {
        if (audio_vad_is_speech(ear->vad, ear->vad_seen)) {
            ear->last_speech = ear->vad_seen + 1;
        }
    }
    return ear->last_speech > 0 && frames - ear->last_speech < GATE_HANG_FRAMES;
}

/* Lets the spotter hear what it has not heard of the last n samples, plus
 * the lookback before them when it was asleep. */
static int spot(struct ear *ear, size_t n, char *err, size_t errsz)
{
    uint64_t start = ear->position - n;
    uint64_t from = start > GATE_LOOKBACK ? start - GATE_LOOKBACK : 0;
    uint64_t lo;
    struct kws_detection nd, pd;
    size_t k, off;
    int r = 0, rn, rp;

    from = MAX(from, ear->kws_position);
    /* After a gap (the gate was shut), the detectors start afresh. The
     * neural detector then gets its whole receptive field of look-back,
     * not GATE_LOOKBACK's 0.3 s: it learned to wake when the phrase ends
     * near the end of its window, and a window that started 0.3 s before
     * the speech would reach the end of a phrase said first only after it
     * (a phrase said right after silence was never heard through the
     * microphone). PocketSphinx keeps the short look-back: the silence
     * would drag its cepstral mean. */
    lo = from;
    if (from > ear->kws_position && ear->n_nn) {
        lo = MAX(start > ear->nn_lookback ? start - ear->nn_lookback : 0, ear->kws_position);
    }
    k = audio_preroll_copy(ear->preroll, lo, ear->copy, ear->copy_cap, &lo);
    from = MAX(from, lo);
    off = (size_t)MIN(from - lo, (uint64_t)k);
    if (lo > ear->kws_position) {
        skip_neural(ear, lo - ear->kws_position);
    }
    if (from > ear->kws_position && ear->kws) {
        r = kws_skip(ear->kws, from - ear->kws_position);
    }
    if (r < 0) {
        explicit_bzero(ear->copy, k * sizeof(*ear->copy));
        snprintf(err, errsz, "the wake-word decoder failed to restart");
        return r;
    }
    ear->kws_position = lo + k;
    /* Both hear the whole step (the second pass reads it again from the
     * pre-roll); the neural detector's proposal comes first. */
    rn = feed_neural(ear, ear->copy, k, &nd);
    rp = ear->kws ? kws_feed(ear->kws, ear->copy + off, k - off, &pd) : 0;
    explicit_bzero(ear->copy, k * sizeof(*ear->copy));
    if (rn > 0 && ear->combine == CONFIG_COMBINE_VERIFY && rp >= 0) {
        rn = verify_neural(ear, &nd);
    }
    if (rn < 0 || rp < 0) {
        snprintf(err, errsz, "the wake-word decoder failed");
        return rn < 0 ? rn : rp;
    }
    if (rn > 0) {
        report_candidate(ear, &nd, true, rn == KWS_WAKE);
        if (rn == KWS_WAKE && !ear->candidates_only) {
            start_request(ear, &nd, true);
            return 0;
        }
    }
    if (rp > 0) {
        report_candidate(ear, &pd, false, rp == KWS_WAKE);
        if (rp == KWS_WAKE && !ear->candidates_only) {
            start_request(ear, &pd, false);
        }
    }
    return 0;
}

static int step(struct ear *ear, const int16_t *samples, size_t n, char *err, size_t errsz)
{
    /* While the wake chime plays the request hears silence (a streaming
     * step is at most STEP long). */
    if (ear->state == EAR_STREAMING && ear->position < ear->quiet_until) {
        uint64_t k = ear->quiet_until - ear->position;

        memcpy(ear->quiet, samples, n * sizeof(*samples));
        memset(ear->quiet, 0, (k < n ? k : n) * sizeof(*samples));
        samples = ear->quiet;
    }
    audio_preroll_push(ear->preroll, samples, n);
    audio_vad_feed(ear->vad, samples, n);
    ear->position += n;

    if (ear->state == EAR_IDLE) {
        return ear->listening && gate_open(ear) ? spot(ear, n, err, errsz) : 0;
    }

    if (ear->cb.on_audio) {
        ear->cb.on_audio(ear->userdata, samples, n);
    }
    if (audio_endpoint_update(&ear->endpoint, ear->vad) != AUDIO_ENDPOINT_CONTINUE) {
        return end_request(ear, err, errsz);
    }
    return 0;
}

int ear_feed(struct ear *ear, const int16_t *samples, size_t n, char *err, size_t errsz)
{
    while (n > 0) {
        size_t max = ear->state == EAR_IDLE ? IDLE_STEP : STEP;
        size_t k = n < max ? n : max;
        int r = step(ear, samples, k, err, errsz);
        if (r < 0) {
            return r;
        }
        samples += k;
        n -= k;
    }
    return 0;
}

int ear_finish(struct ear *ear, char *err, size_t errsz)
{
    static const int16_t silence[STEP];

    /* Bounded: max_length ends any request. */
    while (ear->state == EAR_STREAMING) {
        int r = step(ear, silence, STEP, err, errsz);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

enum ear_state ear_get_state(const struct ear *ear)
{
    return ear->state;
}

void ear_set_listening(struct ear *ear, bool listening)
{
    ear->listening = listening;
}

void ear_set_candidates_only(struct ear *ear, bool on)
{
    ear->candidates_only = on;
}

void ear_set_chime(struct ear *ear, unsigned ms)
{
    ear->chime_samples = (uint64_t)ms * AUDIO_RATE / 1000;
}

int ear_reset(struct ear *ear, char *err, size_t errsz)
{
    int r;

    ear->state = EAR_IDLE;
    ear->quiet_until = 0;
    ear->last_speech = 0;
    audio_preroll_clear(ear->preroll);
    explicit_bzero(ear->quiet, sizeof(ear->quiet));
    r = skip_detectors(ear, ear->position - ear->kws_position);
    ear->kws_position = ear->position;
    if (r < 0) {
        snprintf(err, errsz, "the wake-word decoder failed to restart");
    }
    return r;
}

uint64_t ear_rejected(const struct ear *ear)
{
    return ear->kws ? kws_rejected(ear->kws) : 0;
}
