/* The ear and the listener loop (src/listen/) on the samples, with the
 * built-in neural model (the default config, so no PocketSphinx): one wake
 * for a request, its audio only between the wake and its end and in that
 * order, nothing while not listening, candidates only for tune, a reset
 * that ends a request without its end, and the listener loop's callbacks,
 * its silence in place of the input and its stop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audio-source.h"
#include "base-err.h"
#include "check.h"
#include "config.h"
#include "ear.h"
#include "listen-loop.h"
#include "signals.h"

static const char *samples;

/* What the callbacks saw. */
struct heard {
    struct ear *ear;
    unsigned wakes, ends, candidates, woke_candidates;
    bool open;              /* between on_wake and on_end */
    bool audio_outside;     /* on_audio outside a request */
    bool not_streaming;     /* on_audio while the ear says IDLE */
    size_t request_samples;
    struct ear_wake wake;
    char phrase[64], reason[32];
    struct ear_end end;
    /* the loop */
    unsigned reads, skipped;
    size_t read_samples;
    bool silence;           /* on_read zeroes what it reads */
    unsigned skip_every;    /* on_before_read skips every n-th read */
    unsigned stop_after;    /* a stop is requested on this read; 0: none */
    bool reset_on_wake_read; /* ear_reset on the first read after a wake */
};

static void on_wake(void *userdata, const struct ear_wake *wake)
{
    struct heard *h = userdata;

    h->wakes++;
    h->open = true;
    h->wake = *wake;
    snprintf(h->phrase, sizeof(h->phrase), "%s", wake->phrase);
}

static void on_audio(void *userdata, const int16_t *samples_, size_t n)
{
    struct heard *h = userdata;

    (void)samples_;
    h->audio_outside |= !h->open;
    h->not_streaming |= ear_get_state(h->ear) != EAR_STREAMING;
    h->request_samples += n;
}

static void on_end(void *userdata, const struct ear_end *end)
{
    struct heard *h = userdata;

    h->ends++;
    h->open = false;
    h->end = *end;
    snprintf(h->reason, sizeof(h->reason), "%s", end->reason);
}

static void on_candidate(void *userdata, const struct ear_wake *c, bool woke)
{
    struct heard *h = userdata;

    (void)c;
    h->candidates++;
    h->woke_candidates += woke;
}

static bool on_before_read(void *userdata)
{
    struct heard *h = userdata;

    if (h->skip_every && (h->reads + h->skipped) % h->skip_every == h->skip_every - 1) {
        h->skipped++;
        return false;
    }
    return true;
}

static void on_read(void *userdata, int16_t *s, size_t n)
{
    struct heard *h = userdata;
    char err[ERRSZ];

    h->reads++;
    h->read_samples += n;
    if (h->stop_after && h->reads == h->stop_after) {
        signals_request_stop();
    }
    if (h->silence) {
        memset(s, 0, n * sizeof(*s));
    }
    if (h->reset_on_wake_read && h->open) {
        h->reset_on_wake_read = false;
        h->open = false;
        CHECK(ear_reset(h->ear, err, sizeof(err)) == 0);
        CHECK(ear_get_state(h->ear) == EAR_IDLE);
    }
}

static const struct ear_callbacks ear_cb = {
    .on_wake = on_wake,
    .on_audio = on_audio,
    .on_end = on_end,
    .on_candidate = on_candidate,
};
static const struct listen_loop_callbacks loop_cb = {
    .on_before_read = on_before_read,
    .on_read = on_read,
};

/* Plays samples/NAME.flac through a new ear; returns the loop's result.
 * setup, when given, adjusts the ear first. */
static int play(const char *name, struct heard *h, void (*setup)(struct ear *), bool finish)
{
    struct hark_config cfg;
    struct audio_source_options sopts = {0};
    struct audio_source *src = NULL;
    char path[512], err[ERRSZ];
    int r;

    config_init_defaults(&cfg);
    snprintf(path, sizeof(path), "%s/%s.flac", samples, name);
    r = ear_new(&cfg, &ear_cb, h, err, sizeof(err), &h->ear);
    CHECKF(r == 0, "ear_new: %s", err);
    if (r < 0) {
        return r;
    }
    if (setup) {
        setup(h->ear);
    }
    sopts.ring_ms = cfg.audio.ring_ms;
    r = audio_source_open(path, &sopts, err, sizeof(err), &src);
    CHECKF(r == 0, "%s: %s", path, err);
    if (r == 0) {
        r = listen_loop_run(src, h->ear, &loop_cb, h, err, sizeof(err));
        CHECKF(r >= 0, "%s: %s", name, err);
    }
    if (r == 0 && finish) {
        CHECK(ear_finish(h->ear, err, sizeof(err)) == 0);
    }
    CHECK(ear_get_state(h->ear) == EAR_IDLE || !finish);
    audio_source_free(src);
    ear_free(h->ear);
    h->ear = NULL;
    return r;
}

static void deaf(struct ear *ear)
{
    ear_set_listening(ear, false);
}

static void candidates_only(struct ear *ear)
{
    ear_set_candidates_only(ear, true);
}

int main(int argc, char **argv)
{
    struct heard h = {0};
    double request_s;

    if (argc != 2) {
        fprintf(stderr, "usage: test-ear SAMPLES_DIR\n");
        return 2;
    }
    samples = argv[1];

    /* A request: one wake on the phrase, its audio (pre-roll, phrase, then
     * what follows) only while it is open, ended by the silence after it. */
    CHECK(play("weather", &h, NULL, true) == 0);
    CHECKF(h.wakes == 1 && h.ends == 1, "%u wakes, %u ends", h.wakes, h.ends);
    CHECKF(strcmp(h.phrase, "hey computer") == 0 && strcmp(h.wake.detector, "neural") == 0,
           "woke on '%s' by %s", h.phrase, h.wake.detector);
    CHECKF(h.wake.phrase_start < h.wake.t && h.wake.preroll_s > 0 && h.wake.preroll_s <= 0.5001,
           "phrase from %.2f s, wake at %.2f s, %.3f s of pre-roll", h.wake.phrase_start, h.wake.t,
           h.wake.preroll_s);
    CHECK(!h.audio_outside && !h.not_streaming);
    CHECKF(strcmp(h.reason, "silence") == 0 && !h.end.no_speech, "ended by %s", h.reason);
    /* The request's audio runs from the pre-roll before the phrase to the
     * end (within a 20 ms step). */
    request_s = h.end.t - h.wake.phrase_start + h.wake.preroll_s;
    CHECKF(fabs((double)h.request_samples / 16000.0 - request_s) < 0.05,
           "%.3f s of request audio for a request of %.3f s", (double)h.request_samples / 16000.0,
           request_s);
    /* The loop read the whole file, in blocks, and nothing was skipped. */
    CHECK(h.reads > 1 && h.skipped == 0 && h.read_samples > h.request_samples);

    /* No phrase, no wake. */
    h = (struct heard){0};
    CHECK(play("no-wake", &h, NULL, true) == 0);
    CHECKF(h.wakes == 0 && h.request_samples == 0, "%u wakes on no-wake", h.wakes);

    /* Not listening (a request being answered): the phrase is not spotted. */
    h = (struct heard){0};
    CHECK(play("weather", &h, deaf, true) == 0);
    CHECKF(h.wakes == 0 && h.candidates == 0, "%u wakes while not listening", h.wakes);

    /* For tune: the detection is a candidate that would have woken, and no
     * request opens. */
    h = (struct heard){0};
    CHECK(play("weather", &h, candidates_only, true) == 0);
    CHECKF(h.wakes == 0 && h.candidates >= 1 && h.woke_candidates >= 1 && h.request_samples == 0,
           "%u wakes, %u candidates (%u would wake)", h.wakes, h.candidates, h.woke_candidates);

    /* A reset (mute) right after the wake: the request ends without its end
     * and without more audio. */
    h = (struct heard){.reset_on_wake_read = true};
    CHECK(play("weather", &h, NULL, true) == 0);
    CHECKF(h.wakes == 1 && h.ends == 0 && !h.audio_outside, "%u wakes, %u ends after a reset",
           h.wakes, h.ends);

    /* The loop: what on_read makes of the input is what the ear hears
     * (silence: no wake), and a skipped read reads nothing. */
    h = (struct heard){.silence = true, .skip_every = 3};
    CHECK(play("weather", &h, NULL, true) == 0);
    CHECKF(h.wakes == 0 && h.skipped > 0 && h.skipped * 2 <= h.reads + 2,
           "%u wakes, %u reads, %u skipped", h.wakes, h.reads, h.skipped);

    /* A stop request ends the loop before the input does (last: the stop
     * flag cannot be taken back). */
    h = (struct heard){.stop_after = 2};
    CHECK(play("weather", &h, NULL, false) == LISTEN_LOOP_STOPPED);
    CHECKF(h.reads == 2, "%u reads after a stop after 2", h.reads);
    return check_status();
}
