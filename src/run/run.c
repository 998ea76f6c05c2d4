/* `hark run`: the ear thread reads the source, spots the wake word, finds the
 * end of speech and encodes the request as Opus; the loop thread (the
 * caller's) owns the cloud link, plays the answers and writes every event.
 * Between them one bounded queue, and lws_cancel_service as the wake-up. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio-opus.h"
#include "audio-sink.h"
#include "audio-source.h"
#include "capture.h"
#include "control.h"
#include "ear.h"
#include "events.h"
#include "hark-build.h"
#include "history.h"
#include "hooks.h"
#include "identity.h"
#include "interaction.h"
#include "link.h"
#include "log.h"
#include "policy.h"
#include "protocol.h"
#include "queue.h"
#include "run.h"
#include "signals.h"
#include "update-store.h"

#define ERRSZ 512
/* Ten seconds of 20 ms frames: more would mean the link cannot keep up, and
 * then the request is dropped rather than buffered without end. */
#define QUEUE_ITEMS 512
/* How long a file input waits for the link before it gives up. */
#define CONNECT_WAIT_S 10.0
/* A request whose answer has not finished by then is cancelled. */
#define ANSWER_TIMEOUT_S 30.0
/* An answer has this long beyond its own length to finish playing. */
#define PLAYBACK_SLACK_S 5.0

enum item_kind {
    ITEM_WAKE,
    ITEM_FRAME,
    ITEM_END,
    ITEM_INPUT_DONE,
    ITEM_INPUT_ERROR,
    ITEM_CAPTURE_LOST,     /* text: the message */
    ITEM_CAPTURE_RESTORED, /* text: the device */
};

/* What hark is doing, for the `state` event, the hooks and `hark ctl
 * status`. */
enum run_state {
    STATE_DISCONNECTED,
    STATE_IDLE,
    STATE_LISTENING,
    STATE_THINKING,
    STATE_SPEAKING,
    STATE_MUTED,
    STATE_ERROR,
};

static const char *const state_names[] = {
    [STATE_DISCONNECTED] = "disconnected", [STATE_IDLE] = "idle",
    [STATE_LISTENING] = "listening",       [STATE_THINKING] = "thinking",
    [STATE_SPEAKING] = "speaking",         [STATE_MUTED] = "muted",
    [STATE_ERROR] = "error",
};

_Static_assert(UPDATE_PINS_MAX <= LINK_MAX_PINS, "an update's pins must fit the link");
_Static_assert(CONFIG_MAX_PINS <= UPDATE_PINS_MAX, "the config's pins must fit the pin list");

/* The wake chime: two rising notes. The request hears silence for this long
 * plus [audio] chime_tail. */
#define CHIME_NOTE_MS 70
#define CHIME_MS (2 * CHIME_NOTE_MS)

/* One message from the ear thread to the loop thread. */
struct item {
    enum item_kind kind;
    uint32_t id;
    double mono;       /* wake, end: CLOCK_MONOTONIC when the ear decided */
    double t;          /* wake: detection time in the audio; end: end time */
    double score;      /* wake */
    bool neural;       /* wake: the neural detector woke, not PocketSphinx */
    double verify;     /* wake: the second pass's score, NAN without one */
    double preroll_s;  /* wake */
    double duration_s; /* end */
    bool no_speech;    /* end: nothing was said after the wake */
    char text[128];    /* wake: the phrase; end: the reason; input error: the message */
    size_t len;        /* frame: bytes in data */
    uint8_t data[PROTO_BINARY_MAX]; /* frame: the packed binary message */
};

struct run {
    const struct hark_config *cfg;
    const struct run_options *opts;
    bool live; /* a microphone: never wait for the link or the queue */

    struct queue *queue;
    struct link *link;
    struct audio_sink *sink;
    struct audio_opus_decoder *decoder;
    struct audio_source *source;
    struct ear *ear;
    struct policy *policy;
    struct policy *next_policy; /* a pushed update's rules, from the next request on */
    struct history *history;    /* NULL: [privacy] history = off */
    struct history *old_history; /* history = off: one left from before, only expired */
    struct interaction *interaction;
    double next_purge;
    struct hooks *hooks;
    struct control *control;
    bool device_sink; /* answers and chimes go to a speaker */
    char muted_path[CONFIG_STRING_MAX + 64]; /* the persisted mute, "" if not kept */
    char storage[CONFIG_STRING_MAX + 32];
    char fingerprint[PIN_STRING_MAX];
    struct update_state update; /* the release key and the applied version */

    /* Shared with the control thread and the ear thread. */
    atomic_bool muted;        /* asked for (by `hark ctl`) */
    atomic_int shared_state;  /* enum run_state, for status */
    atomic_bool connected;
    atomic_uint_fast64_t rejected; /* wakes the second pass turned down */
    pthread_cond_t unmuted;

    /* Shared with the ear thread. */
    atomic_bool request_open; /* from wake until the answer is over */
    pthread_mutex_t lock;
    pthread_cond_t answered;
    bool ear_running;
    pthread_t ear_thread;

    /* Ear thread only. */
    struct audio_opus_encoder *encoder;
    int16_t pcm[AUDIO_OPUS_FRAME];
    size_t pcm_fill;
    uint32_t next_id;
    uint32_t seq;
    bool overflowed; /* this request lost frames to a full queue */

    /* Ear thread only. */
    bool ear_muted; /* the mute the ear thread has applied */
    bool link_given_up; /* a file input waited CONNECT_WAIT_S for the link */

    /* Loop thread only. */
    enum run_state state;
    bool state_announced;
    bool loop_muted;     /* the mute the loop thread has applied */
    bool answer_started; /* the answer's audio or text has begun */
    double play_deadline; /* a device that stops playing cannot hold the request */
    bool ever_ready;
    char last_down[512]; /* why the last attempt failed, for "never established" */
    bool input_done;
    int input_status;
    uint32_t current; /* the request in flight (0: none) */
    bool streaming;   /* its uplink is still going */
    bool playing;     /* its answer is complete and still being played */
    uint32_t up_frames;
    uint64_t up_bytes;
    uint32_t down_seq;
    uint64_t down_samples;
    double request_started;
    double wake_mono; /* when the ear detected the wake */
    double end_mono;  /* when the ear found the end of speech (0: not yet) */
    bool first_frame_seen;
    unsigned failed; /* requests that failed or could not be remembered */
    /* An --output file gets an answer only once the policy has let it be
     * kept: until then its samples wait here (wiped, never realloc'd). */
    int16_t *held_pcm;
    size_t held_len, held_cap;
    char url[CONFIG_STRING_MAX];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the ear thread ---------------------------------------------------- */

/* Control items wait for room (they are few and the loop thread drains
 * continuously); audio frames from a live source never wait. */
static int push(struct run *run, const struct item *it, bool wait)
{
    int r = queue_push(run->queue, it, wait);

    if (r >= 0) {
        link_wake(run->link);
    }
    return r;
}

static void send_frame(struct run *run)
{
    struct item it = {.kind = ITEM_FRAME, .id = run->next_id};
    uint8_t packet[PROTO_OPUS_MAX];
    ssize_t n;
    int len;

    n = audio_opus_encode(run->encoder, run->pcm, packet, sizeof(packet));
    explicit_bzero(run->pcm, sizeof(run->pcm));
    run->pcm_fill = 0;
    if (n < 0) {
        run->overflowed = true;
        return;
    }
    len = proto_frame_pack(PROTO_FRAME_UPLINK, run->next_id, run->seq, packet, (size_t)n, it.data,
                           sizeof(it.data));
    explicit_bzero(packet, sizeof(packet));
    if (len < 0) {
        run->overflowed = true;
        return;
    }
    it.len = (size_t)len;
    if (run->overflowed || push(run, &it, !run->live) < 0) {
        /* Once a frame is lost the request is broken: drop the rest too. */
        run->overflowed = true;
    }
    run->seq++;
    explicit_bzero(it.data, sizeof(it.data));
}

static void on_ear_wake(void *userdata, const struct ear_wake *wake)
{
    struct run *run = userdata;
    struct item it = {
        .kind = ITEM_WAKE,
        .mono = now_s(),
        .t = wake->t,
        .score = wake->score,
        .neural = strcmp(wake->detector, "neural") == 0,
        .verify = wake->verify,
        .preroll_s = wake->preroll_s,
    };

    run->next_id++;
    run->seq = 0;
    run->pcm_fill = 0;
    run->overflowed = false;
    it.id = run->next_id;
    snprintf(it.text, sizeof(it.text), "%s", wake->phrase);
    atomic_store(&run->request_open, true);
    push(run, &it, true);
}

static void on_ear_audio(void *userdata, const int16_t *samples, size_t n)
{
    struct run *run = userdata;

    while (n > 0) {
        size_t k = AUDIO_OPUS_FRAME - run->pcm_fill;

        if (k > n) {
            k = n;
        }
        memcpy(run->pcm + run->pcm_fill, samples, k * sizeof(*samples));
        run->pcm_fill += k;
        samples += k;
        n -= k;
        if (run->pcm_fill == AUDIO_OPUS_FRAME) {
            send_frame(run);
        }
    }
}

static void on_ear_end(void *userdata, const struct ear_end *end)
{
    struct run *run = userdata;
    struct item it = {
        .kind = ITEM_END,
        .id = run->next_id,
        .mono = now_s(),
        .t = end->t,
        .duration_s = end->duration_s,
        .no_speech = end->no_speech,
    };

    /* The last partial frame, padded with silence. */
    if (run->pcm_fill > 0) {
        memset(run->pcm + run->pcm_fill, 0, (AUDIO_OPUS_FRAME - run->pcm_fill) * sizeof(int16_t));
        send_frame(run);
    }
    snprintf(it.text, sizeof(it.text), "%s", run->overflowed ? "overflow" : end->reason);
    push(run, &it, true);
}

/* Waits on cond (run->lock held) until signalled, or 100 ms at most, so
 * that a stop request is seen even if no one signals. */
static void wait_briefly(struct run *run, pthread_cond_t *cond)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(cond, &run->lock, &until);
}

/* A file or stdin waits for each answer before it reads on, and for a link
 * that went down to come back (CONNECT_WAIT_S at most, then reads on until
 * it is back), so that a recording gives the same events however fast the
 * machine or the cloud is; a live source keeps listening (the ear only stops
 * spotting). */
static void wait_for_answer(struct run *run)
{
    double deadline = 0;

    pthread_mutex_lock(&run->lock);
    while (!signals_stop_requested()) {
        if (atomic_load(&run->request_open)) {
            wait_briefly(run, &run->answered);
            continue;
        }
        if (atomic_load(&run->connected)) {
            run->link_given_up = false;
            break;
        }
        if (run->link_given_up) {
            break;
        }
        if (deadline == 0) {
            deadline = now_s() + CONNECT_WAIT_S;
        } else if (now_s() >= deadline) {
            run->link_given_up = true;
            break;
        }
        wait_briefly(run, &run->answered);
    }
    pthread_mutex_unlock(&run->lock);
}

/* The ear thread's side of a mute: the capture stops (a microphone's stream
 * is closed and its buffers zeroed) and the ear forgets what it heard. A
 * muted microphone is not read at all; returns true while that lasts. A
 * recording is read on while muted and heard as silence, so that its
 * timeline stays true. */
static bool follow_mute(struct run *run)
{
    bool muted = atomic_load(&run->muted);
    char err[ERRSZ];

    if (muted != run->ear_muted) {
        run->ear_muted = muted;
        if (muted) {
            audio_source_pause(run->source);
            if (ear_reset(run->ear, err, sizeof(err)) < 0) {
                log_warning("%s", err);
            }
        } else if (audio_source_resume(run->source, err, sizeof(err)) < 0) {
            /* The device went while muted: the next read says so, and it
             * is reopened as any lost device is. */
            log_warning("%s", err);
        }
    }
    if (!muted || !run->live) {
        return false;
    }
    pthread_mutex_lock(&run->lock);
    while (atomic_load(&run->muted) && !signals_stop_requested()) {
        wait_briefly(run, &run->unmuted);
    }
    pthread_mutex_unlock(&run->lock);
    return true;
}

static void *ear_main(void *userdata)
{
    struct run *run = userdata;
    struct item it = {.kind = ITEM_INPUT_DONE};
    char err[ERRSZ] = "";
    int16_t buf[2048];
    int r = 0;

    while (!signals_stop_requested()) {
        ssize_t n;

        if (follow_mute(run)) {
            continue;
        }
        if (!run->live && ear_get_state(run->ear) == EAR_IDLE) {
            wait_for_answer(run);
        }
        n = audio_source_read(run->source, buf, sizeof(buf) / sizeof(buf[0]), err, sizeof(err));
        if (n == -EINTR) {
            continue;
        }
        if (n == -ENODEV) {
            struct item capture = {.kind = ITEM_CAPTURE_LOST};

            snprintf(capture.text, sizeof(capture.text), "%s", err);
            push(run, &capture, true);
            r = capture_reopen(run->source, err, sizeof(err));
            if (r < 0) {
                r = r == -EINTR ? 0 : r;
                break;
            }
            capture.kind = ITEM_CAPTURE_RESTORED;
            snprintf(capture.text, sizeof(capture.text), "%s", audio_source_describe(run->source));
            push(run, &capture, true);
            continue;
        }
        if (n <= 0) {
            r = (int)n;
            break;
        }
        if (run->ear_muted) {
            explicit_bzero(buf, (size_t)n * sizeof(buf[0]));
        }
        ear_set_listening(run->ear, !run->ear_muted && !atomic_load(&run->request_open));
        r = ear_feed(run->ear, buf, (size_t)n, err, sizeof(err));
        atomic_store(&run->rejected, ear_rejected(run->ear));
        if (r < 0) {
            break;
        }
    }
    if (r >= 0 && !signals_stop_requested()) {
        r = ear_finish(run->ear, err, sizeof(err));
    }
    explicit_bzero(buf, sizeof(buf));
    if (r < 0) {
        it.kind = ITEM_INPUT_ERROR;
        snprintf(it.text, sizeof(it.text), "%s", err);
    }
    push(run, &it, true);
    return NULL;
}

/* ---- the loop thread --------------------------------------------------- */

static void set_state(struct run *run, enum run_state state)
{
    if (state == run->state && state != STATE_ERROR && run->state_announced) {
        return;
    }
    run->state = state;
    run->state_announced = true;
    atomic_store(&run->shared_state, (int)state);
    log_debug("state: %s", state_names[state]);
    events_state(state_names[state]);
    hooks_run(run->hooks, state_names[state]);
}

/* The state follows from what the loop thread knows. */
static void update_state(struct run *run)
{
    enum run_state s;

    if (run->loop_muted) {
        s = STATE_MUTED;
    } else if (run->current && run->streaming) {
        s = STATE_LISTENING;
    } else if (run->current && (run->answer_started || run->playing)) {
        s = STATE_SPEAKING;
    } else if (run->current) {
        s = STATE_THINKING;
    } else if (!link_is_ready(run->link)) {
        s = STATE_DISCONNECTED;
    } else {
        s = STATE_IDLE;
    }
    set_state(run, s);
}

/* The answer held for the --output file is wiped: it was not to be kept. */
static void held_pcm_wipe(struct run *run)
{
    if (run->held_pcm) {
        explicit_bzero(run->held_pcm, run->held_cap * sizeof(*run->held_pcm));
    }
    run->held_len = 0;
}

/* Holds answer samples for the --output file; false when out of memory. */
static bool held_pcm_add(struct run *run, const int16_t *pcm, size_t n)
{
    if (run->held_len + n > run->held_cap) {
        size_t cap = run->held_cap ? run->held_cap : (size_t)AUDIO_RATE * 4;
        int16_t *p;

        while (cap < run->held_len + n) {
            cap *= 2;
        }
        p = malloc(cap * sizeof(*p));
        if (!p) {
            return false;
        }
        if (run->held_pcm) {
            memcpy(p, run->held_pcm, run->held_len * sizeof(*p));
            explicit_bzero(run->held_pcm, run->held_cap * sizeof(*p));
            free(run->held_pcm);
        }
        run->held_pcm = p;
        run->held_cap = cap;
    }
    memcpy(run->held_pcm + run->held_len, pcm, n * sizeof(*pcm));
    run->held_len += n;
    return true;
}

static void finish_request(struct run *run)
{
    /* A request that ends without its answer leaves nothing behind. */
    interaction_abort(run->interaction);
    held_pcm_wipe(run);
    run->current = 0;
    run->streaming = false;
    run->playing = false;
    run->answer_started = false;
    pthread_mutex_lock(&run->lock);
    atomic_store(&run->request_open, false);
    pthread_cond_broadcast(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

static void fail_request(struct run *run, const char *code, const char *message, bool cancel)
{
    char *json;

    if (run->current == 0) {
        return;
    }
    run->failed++;
    log_warning("request %u: %s", run->current, message);
    events_error(true, run->current, code, message);
    set_state(run, STATE_ERROR);
    if (cancel && link_is_ready(run->link)) {
        json = proto_build_cancel(run->current, code);
        if (json) {
            link_send_text(run->link, json);
            free(json);
        }
    }
    finish_request(run);
}

/* Two notes on the speaker, each note_ms long, faded in and out. Never into
 * an --output file, which holds answers only. */
static void play_chime(struct run *run, const double notes[2], unsigned note_ms)
{
    int16_t tone[AUDIO_RATE * 3 / 20]; /* room for 150 ms */
    size_t n = (size_t)note_ms * AUDIO_RATE / 1000;
    const size_t fade = AUDIO_RATE / 100;
    char err[ERRSZ];

    if (!run->device_sink) {
        return;
    }
    if (n > sizeof(tone) / sizeof(tone[0])) {
        n = sizeof(tone) / sizeof(tone[0]);
    }
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < n; i++) {
            double env = i < fade ? (double)i / fade : i > n - fade ? (double)(n - i) / fade : 1.0;
            tone[i] = (int16_t)(8000.0 * env * sin(2.0 * M_PI * notes[k] * (double)i / AUDIO_RATE));
        }
        if (audio_sink_write(run->sink, tone, n, err, sizeof(err)) < 0) {
            log_warning("%s", err);
            return;
        }
    }
}

/* Falling: a request could not be served, and the user hears that it was
 * not taken. */
static void play_error_chime(struct run *run)
{
    static const double notes[2] = {660.0, 440.0};

    if (run->cfg->audio.error_chime) {
        play_chime(run, notes, 150);
    }
}

/* Rising: hark heard the wake phrase and is listening. */
static void play_wake_chime(struct run *run)
{
    static const double notes[2] = {880.0, 1320.0};

    if (run->cfg->audio.wake_chime) {
        play_chime(run, notes, CHIME_NOTE_MS);
    }
}

static void send_text(struct run *run, char *json)
{
    int r;

    if (!json) {
        fail_request(run, "no_memory", "out of memory", true);
        return;
    }
    r = link_send_text(run->link, json);
    free(json);
    if (r < 0) {
        fail_request(run, "link", "the link cannot take the request", true);
    }
}

static void on_item(struct run *run, const struct item *it)
{
    char msg[256];
    int r;

    switch (it->kind) {
    case ITEM_WAKE:
        if (run->next_policy) {
            /* Between requests: the last one was decided by the old rules. */
            interaction_set_policy(run->interaction, run->next_policy);
            policy_free(run->policy);
            run->policy = run->next_policy;
            run->next_policy = NULL;
            log_info("the rules of the last update apply from this request on");
        }
        events_wake(it->t, it->text, it->neural ? "neural" : "pocketsphinx", it->score, it->verify);
        if (run->loop_muted) {
            /* Heard before the ear applied the mute: not taken. */
            run->current = it->id;
            finish_request(run);
            return;
        }
        if (!link_is_ready(run->link)) {
            /* The audio is not kept for later: the request is dropped. */
            run->current = it->id;
            fail_request(run, "link_down", "the cloud is not connected: request dropped", false);
            run->current = 0;
            play_error_chime(run);
            return;
        }
        run->current = it->id;
        run->streaming = true;
        run->wake_mono = it->mono;
        run->end_mono = 0;
        run->first_frame_seen = false;
        run->up_frames = 0;
        run->up_bytes = 0;
        run->down_seq = 0;
        run->down_samples = 0;
        run->request_started = now_s();
        run->answer_started = false;
        play_wake_chime(run);
        interaction_begin(run->interaction, it->id);
        send_text(run, proto_build_start(it->id, it->text, it->score,
                                         (unsigned)(it->preroll_s * 1000.0 + 0.5)));
        if (run->current) {
            events_stream_start(it->id, it->preroll_s);
        }
        return;
    case ITEM_FRAME:
        if (run->current != it->id || !run->streaming) {
            return;
        }
        r = link_send_binary(run->link, it->data, it->len);
        if (r < 0) {
            fail_request(run, "link", "the link cannot keep up: request dropped", true);
            return;
        }
        run->up_frames++;
        run->up_bytes += it->len - PROTO_FRAME_HEADER;
        interaction_audio(run->interaction, it->data + PROTO_FRAME_HEADER,
                          it->len - PROTO_FRAME_HEADER);
        return;
    case ITEM_END:
        if (run->current != it->id || !run->streaming) {
            return;
        }
        if (strcmp(it->text, "overflow") == 0) {
            fail_request(run, "overflow", "audio could not be queued fast enough: request dropped",
                         true);
            return;
        }
        run->streaming = false;
        run->end_mono = it->mono;
        if (it->no_speech) {
            /* A wake with nothing said after it is abandoned: the cloud is
             * told to forget the audio, and nothing is answered or kept. */
            events_stream_end(it->id, it->text, it->duration_s, run->up_frames, run->up_bytes);
            send_text(run, proto_build_cancel(it->id, "no_speech"));
            if (run->current) {
                log_info("request %u: nothing said after the wake: abandoned", it->id);
                events_error(true, it->id, "no_speech",
                             "nothing was said after the wake phrase: request abandoned");
                finish_request(run);
            }
            return;
        }
        send_text(run, proto_build_end(it->id, it->text, run->up_frames));
        if (run->current) {
            events_stream_end(it->id, it->text, it->duration_s, run->up_frames, run->up_bytes);
        }
        return;
    case ITEM_INPUT_ERROR:
        snprintf(msg, sizeof(msg), "%s", it->text);
        log_error("%s", msg);
        run->input_status = 1;
        run->input_done = true;
        return;
    case ITEM_INPUT_DONE:
        run->input_done = true;
        return;
    case ITEM_CAPTURE_LOST:
        events_capture_lost(it->text);
        return;
    case ITEM_CAPTURE_RESTORED:
        events_capture_restored(it->text);
        return;
    }
}

/* Applies a mute or unmute asked for on the control socket: a request in
 * flight is cancelled and nothing of it is kept, the mute is written down
 * when it is to outlive a restart, and the ear thread is told. */
static void apply_mute(struct run *run)
{
    bool muted = atomic_load(&run->muted);
    char *json;
    FILE *f;

    if (muted == run->loop_muted) {
        return;
    }
    run->loop_muted = muted;
    log_info("%s", muted ? "muted: the microphone is closed" : "unmuted: listening again");
    if (muted && run->current) {
        if (link_is_ready(run->link) && (json = proto_build_cancel(run->current, "muted"))) {
            link_send_text(run->link, json);
            free(json);
        }
        /* Every request that started ends with an event that says how. */
        events_error(true, run->current, "muted", "muted: the request was cancelled");
        finish_request(run);
    }
    if (run->muted_path[0]) {
        if (muted && (f = fopen(run->muted_path, "we"))) {
            fclose(f);
        } else if (!muted) {
            unlink(run->muted_path);
        }
    }
    pthread_mutex_lock(&run->lock);
    pthread_cond_broadcast(&run->unmuted);
    pthread_mutex_unlock(&run->lock);
}

static void drain_queue(struct run *run)
{
    struct item *it = malloc(sizeof(*it));

    apply_mute(run);
    update_state(run);
    if (!it) {
        return;
    }
    while (queue_pop(run->queue, it)) {
        on_item(run, it);
        update_state(run);
    }
    explicit_bzero(it, sizeof(*it));
    free(it);
}

/* ---- the control thread ------------------------------------------------ */

static void on_control_mute(void *userdata, bool muted)
{
    struct run *run = userdata;

    atomic_store(&run->muted, muted);
    /* The loop thread applies it at once; the ear thread when it wakes. */
    link_wake(run->link);
    pthread_mutex_lock(&run->lock);
    pthread_cond_broadcast(&run->unmuted);
    pthread_cond_broadcast(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

static void on_control_status(void *userdata, char *buf, size_t size)
{
    struct run *run = userdata;
    int state = atomic_load(&run->shared_state);

    snprintf(buf, size,
             "{\"muted\":%s,\"state\":\"%s\",\"connected\":%s,\"rejected_wakes\":%" PRIuFAST64
             "}",
             atomic_load(&run->muted) ? "true" : "false", state_names[state],
             atomic_load(&run->connected) ? "true" : "false", atomic_load(&run->rejected));
}

static const struct control_callbacks control_callbacks = {
    .on_mute = on_control_mute,
    .status = on_control_status,
};

static void on_link_ready(void *userdata)
{
    struct run *run = userdata;

    run->ever_ready = true;
    atomic_store(&run->connected, true);
    log_info("connected to %s", run->url);
    events_connected(run->url);
    update_state(run);
}

static void on_link_down(void *userdata, const char *reason)
{
    struct run *run = userdata;
    struct link_stats st;

    link_get_stats(run->link, &st);
    atomic_store(&run->connected, false);
    snprintf(run->last_down, sizeof(run->last_down), "%s", reason);
    log_warning("cloud link: %s (next attempt in %.1f s)", reason, st.next_retry_s);
    events_disconnected(reason);
    /* An answer that is complete plays on without the link. */
    if (!run->playing) {
        fail_request(run, "link_lost", "the link went down during the request", false);
    }
    update_state(run);
}

static void on_link_warning(void *userdata, const char *message)
{
    (void)userdata;
    log_warning("cloud link: %s", message);
}

static void on_link_bad_message(void *userdata, const char *why)
{
    struct run *run = userdata;

    log_warning("cloud sent a malformed message: %s", why);
    events_error(false, 0, "bad_message", why);
    /* A request that got a broken answer cannot be trusted to finish. */
    fail_request(run, "bad_message", "the cloud's answer was malformed: request cancelled", true);
}

/* The request is over once its answer has been played: until then the ear
 * must not spot (it would hear the answer). */
static void check_playback(struct run *run)
{
    if (run->playing && audio_sink_pending(run->sink) > 0 && now_s() > run->play_deadline) {
        /* The sound server went away mid-answer: the rest is not played. */
        log_warning("request %u: the answer stopped playing; the speaker is gone?", run->current);
        finish_request(run);
        update_state(run);
        return;
    }
    if (run->playing && audio_sink_pending(run->sink) == 0) {
        finish_request(run);
        update_state(run);
    }
}

/* The [privacy] rules with those of an update laid over them (when it has
 * any and [privacy] policy_updates lets it). */
static void policy_rules(const struct hark_config *cfg, const struct update_bundle *b,
                         struct policy_rules *ret)
{
    config_policy_rules(cfg, ret);
    if (b && cfg->privacy.policy_updates) {
        update_policy_rules(b, ret);
    }
}

/* A signed update pushed by the cloud: checked and stored; its pins are
 * used from the next connection on, its rules from the next request. The
 * connection that brought it is kept: it was made with the pins in force. */
static void on_update(struct run *run, const struct proto_msg *msg)
{
    const char *pin_list[UPDATE_PINS_MAX];
    char err[ERRSZ], what[UPDATE_DESCRIBE_MAX];
    struct policy_rules rules;
    struct update_bundle b;
    struct policy *next;
    bool rules_used;
    int r;

    r = update_store_apply(run->storage, &run->update, msg->bundle, msg->bundle_len,
                           run->fingerprint, &b, err, sizeof(err));
    if (r < 0) {
        log_warning("update from %s refused: %s", run->url, err);
        events_update_refused(err);
        return;
    }
    update_describe(&b, what, sizeof(what));
    log_info("update from %s applied: %s", run->url, what);
    for (size_t i = 0; i < b.n_pins; i++) {
        pin_list[i] = b.pins[i];
    }
    /* The pins passed the same check in the parser: this cannot fail. */
    if (link_set_pins(run->link, pin_list, b.n_pins, err, sizeof(err)) < 0) {
        log_error("%s", err);
    }
    rules_used = update_has_policy(&b) && run->cfg->privacy.policy_updates;
    if (update_has_policy(&b) && !rules_used) {
        log_info("the update's rules are not used: [privacy] policy_updates is off");
    }
    if (rules_used) {
        policy_rules(run->cfg, &b, &rules);
        r = policy_new(&rules, err, sizeof(err), &next);
        if (r < 0) {
            log_error("the update's rules: %s", err);
            rules_used = false;
        } else {
            policy_free(run->next_policy);
            run->next_policy = next;
        }
    }
    events_update_applied(b.version, b.n_pins, rules_used);
}

/* A cloud's error code is shown only when it is a plain token: it is the
 * cloud's text, and could carry a request's words. */
static const char *printable_code(const char *code)
{
    size_t n = strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_.-");

    return n > 0 && n <= 32 && code[n] == '\0' ? code : "cloud_error";
}

static void on_link_message(void *userdata, const struct proto_msg *msg)
{
    struct run *run = userdata;
    char err[ERRSZ];
    char *shown;
    bool keep;

    if (msg->type == PROTO_UNKNOWN) {
        log_warning("cloud sent an unknown message type '%s': ignored", msg->type_name);
        return;
    }
    if (msg->type == PROTO_UPDATE) {
        on_update(run, msg);
        return;
    }
    if (msg->type == PROTO_ERROR && !msg->has_id) {
        log_warning("cloud error %s: %s", msg->code, msg->message ? msg->message : "");
        events_error(false, 0, msg->code, msg->message ? msg->message : "");
        return;
    }
    if (!msg->has_id || msg->id != run->current || run->current == 0) {
        log_warning("cloud sent '%s' for request %u, which is not open: ignored",
                    proto_type_name(msg->type), msg->has_id ? msg->id : 0);
        return;
    }
    switch (msg->type) {
    /* The words go through the policy before anything shows them. */
    case PROTO_TRANSCRIPT:
        interaction_transcript(run->interaction, msg->text);
        break;
    case PROTO_INTENT:
        if (run->end_mono > 0) {
            log_info("request %u: intent %.0f ms after the end of speech", msg->id,
                     (now_s() - run->end_mono) * 1000.0);
        }
        interaction_intent(run->interaction, msg);
        break;
    case PROTO_RESPONSE:
        interaction_response(run->interaction, msg->text);
        break;
    case PROTO_RESPONSE_END:
        log_info("request %u answered in %.2f s", msg->id, now_s() - run->request_started);
        keep = interaction_decide(run->interaction) != POLICY_DROP;
        events_response_end(msg->id, (double)run->down_samples / AUDIO_RATE);
        if (interaction_finish(run->interaction) < 0) {
            run->failed++;
        }
        if (run->held_len > 0 && keep &&
            audio_sink_write(run->sink, run->held_pcm, run->held_len, err, sizeof(err)) < 0) {
            log_warning("%s", err);
        }
        held_pcm_wipe(run);
        if (run->sink) {
            /* A file is flushed now; a device plays on while the loop
             * keeps the link serviced (see check_playback). */
            audio_sink_drain(run->sink, 0);
        }
        run->playing = true;
        run->play_deadline = now_s() + (double)run->down_samples / AUDIO_RATE + PLAYBACK_SLACK_S;
        check_playback(run);
        break;
    case PROTO_ERROR:
        /* The error's text is the cloud's word about the request: weighed
         * with the rest, and shown only as the decision allows. */
        run->streaming = false;
        shown = interaction_fail(run->interaction, msg->message);
        fail_request(run, printable_code(msg->code), shown ? shown : "", false);
        if (shown) {
            explicit_bzero(shown, strlen(shown));
            free(shown);
        }
        break;
    default:
        log_warning("cloud sent '%s', which a server does not send: ignored",
                    proto_type_name(msg->type));
        break;
    }
    update_state(run);
}

static void on_link_frame(void *userdata, const struct proto_frame *frame)
{
    struct run *run = userdata;
    int16_t pcm[AUDIO_OPUS_FRAME * 6];
    char err[ERRSZ];
    ssize_t n;

    if (frame->kind != PROTO_FRAME_DOWNLINK || frame->id != run->current || run->current == 0) {
        log_warning("cloud sent audio for request %u, which is not open: ignored", frame->id);
        return;
    }
    if (frame->seq != run->down_seq) {
        log_warning("request %u: answer audio frame %u arrived, %u expected", frame->id, frame->seq,
                    run->down_seq);
    }
    run->down_seq = frame->seq + 1;
    if (!run->answer_started) {
        run->answer_started = true;
        update_state(run);
    }
    if (run->down_samples / AUDIO_OPUS_FRAME >= PROTO_DOWNLINK_FRAMES_MAX) {
        return;
    }
    n = audio_opus_decode(run->decoder, frame->opus, frame->opus_len, pcm,
                          sizeof(pcm) / sizeof(pcm[0]));
    if (n < 0) {
        log_warning("request %u: undecodable answer audio frame %u: skipped", frame->id,
                    frame->seq);
        return;
    }
    run->down_samples += (uint64_t)n;
    if (run->sink && !run->device_sink) {
        /* A file keeps what it is given: the answer waits for the policy. */
        if (!held_pcm_add(run, pcm, (size_t)n)) {
            log_warning("request %u: out of memory: the answer is not written", frame->id);
        }
    } else if (run->sink && audio_sink_write(run->sink, pcm, (size_t)n, err, sizeof(err)) < 0) {
        log_warning("%s", err);
    }
    explicit_bzero(pcm, sizeof(pcm));
}

static void on_link_wake(void *userdata)
{
    drain_queue(userdata);
}

/* For the benchmark: from the wake to the request's first audio written to
 * the socket. Frames are written in order, so the first one after the
 * request started is its first. */
static void on_link_frame_sent(void *userdata)
{
    struct run *run = userdata;

    if (run->current && !run->first_frame_seen) {
        run->first_frame_seen = true;
        log_info("request %u: first audio frame written %.1f ms after the wake", run->current,
                 (now_s() - run->wake_mono) * 1000.0);
    }
}

static const struct link_callbacks link_callbacks = {
    .on_ready = on_link_ready,
    .on_down = on_link_down,
    .on_message = on_link_message,
    .on_bad_message = on_link_bad_message,
    .on_frame = on_link_frame,
    .on_wake = on_link_wake,
    .on_frame_sent = on_link_frame_sent,
    .on_warning = on_link_warning,
};

static const struct ear_callbacks ear_callbacks = {
    .on_wake = on_ear_wake,
    .on_audio = on_ear_audio,
    .on_end = on_ear_end,
};

/* Retention is applied every minute, or every epoch when epochs are shorter,
 * so that a short retention is kept to within an epoch. */
static double purge_interval(const struct hark_config *cfg)
{
    uint64_t epoch = history_epoch_seconds(cfg->privacy.retention_s);

    return epoch < 60 ? (double)epoch : 60.0;
}

/* History off: nothing new is kept, but a history left from before still
 * expires (now, and with the others' purges), and the user is told. */
static void open_old_history(struct run *run, const struct history_params *on)
{
    struct history_params hp = *on;
    struct history_report rep;
    char err[ERRSZ];
    int r;

    hp.create = false;
    r = history_open(&hp, interaction_now_ms(), err, sizeof(err), &rep, &run->old_history);
    if (r == -ENOENT) {
        log_info("history is off: nothing of any request is kept");
        return;
    }
    if (r < 0) {
        log_warning("history is off, but the history left in %s cannot be opened to expire it: "
                    "%s; `hark history wipe --yes` destroys it",
                    hp.dir, err);
        return;
    }
    interaction_log_report(&rep);
    log_warning("history is off: nothing new is kept, but the history left in %s holds %zu "
                "record(s); they still expire by [privacy] retention while hark runs; `hark "
                "history wipe --yes` destroys them now",
                hp.dir, rep.records);
}

static void purge_old_history(struct run *run)
{
    struct history_report rep;
    char err[ERRSZ];

    if (history_purge(run->old_history, interaction_now_ms(), err, sizeof(err), &rep) < 0) {
        log_warning("history: %s", err);
        return;
    }
    interaction_log_report(&rep);
}

/* The policy, and the history when there is one: both before any audio.
 * applied: the update in force, if any. */
static int setup_privacy(struct run *run, const char *storage, const struct update_bundle *applied)
{
    const struct hark_config *cfg = run->cfg;
    struct history_params hp = {
        .dir = storage,
        .passphrase_file = cfg->privacy.passphrase_file[0] ? cfg->privacy.passphrase_file : NULL,
        .retention_s = cfg->privacy.retention_s,
        .max_entries = cfg->privacy.max_entries,
        .create = true,
    };
    struct policy_rules rules;
    struct history_report rep;
    char err[ERRSZ];
    int r;

    policy_rules(cfg, applied, &rules);
    r = policy_new(&rules, err, sizeof(err), &run->policy);
    if (r < 0) {
        log_error("[privacy] %s", err);
        return r;
    }
    if (applied && update_has_policy(applied)) {
        log_info(cfg->privacy.policy_updates
                     ? "the rules the update carries replace those of [privacy]"
                     : "the update's rules are not used: [privacy] policy_updates is off");
    }
    if (cfg->privacy.history) {
        r = history_open(&hp, interaction_now_ms(), err, sizeof(err), &rep, &run->history);
        if (r < 0) {
            log_error("%s", err);
            return r;
        }
        interaction_log_report(&rep);
    } else {
        open_old_history(run, &hp);
    }
    r = interaction_new(run->policy, run->history, cfg->privacy.debug_recording,
                        &run->interaction);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    if (cfg->privacy.debug_recording && run->history) {
        log_warning("debug_recording is on: the audio of remembered requests is kept");
    }
    run->next_purge = now_s() + purge_interval(cfg);
    return 0;
}

/* The hooks and the control socket; a mute kept from the last run. */
static int setup_control(struct run *run, const char *storage)
{
    char path[CONFIG_STRING_MAX + 32], err[ERRSZ];
    int r;

    r = hooks_new(run->cfg, &run->hooks);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    if (run->cfg->control.persist_mute) {
        snprintf(run->muted_path, sizeof(run->muted_path), "%s/muted", storage);
        if (access(run->muted_path, F_OK) == 0) {
            log_warning("starting muted (kept from the last run): `hark ctl unmute` to listen");
            atomic_store(&run->muted, true);
        }
    }
    r = config_control_socket(run->cfg, path, sizeof(path));
    if (r < 0) {
        log_error("the control socket's path is too long");
        return r;
    }
    r = control_new(path, &control_callbacks, run, err, sizeof(err), &run->control);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("control socket %s", path);
    return 0;
}

/* The update in force (1, *ret) or none (0). A stored update that fails its
 * checks stops hark: falling back to the config's pins could undo a
 * rotation away from a compromised server key. */
static int setup_update(struct run *run, struct update_bundle *ret)
{
    char err[ERRSZ], what[UPDATE_DESCRIBE_MAX];
    int r;

    r = update_store_load(run->storage, &run->update, err, sizeof(err));
    if (r >= 0) {
        r = update_store_load_applied(run->storage, &run->update, run->fingerprint, ret, err,
                                      sizeof(err));
    }
    if (r < 0) {
        log_error("%s; not connecting (a newer update, `hark verify-update --apply FILE`, "
                  "replaces it)",
                  err);
        return r;
    }
    if (r == 1) {
        update_describe(ret, what, sizeof(what));
        log_info("update %s in force: its server pins replace [cloud] pins", what);
    } else if (!run->update.have_key) {
        log_info("no release key provisioned: updates from the cloud will be refused");
    }
    return r;
}

/* Everything that can fail before audio flows, each failure logged once. */
static int setup(struct run *run)
{
    char pins[UPDATE_PINS_MAX][PIN_STRING_MAX];
    const char *pin_list[UPDATE_PINS_MAX];
    const char *cert_path, *key_path, *input;
    struct audio_source_options sopts = {.realtime = run->opts->realtime};
    struct update_bundle applied;
    struct link_params lp;
    char err[ERRSZ];
    size_t n_pins;
    bool updated;
    int r;

    if (!run->cfg->cloud.url[0]) {
        log_error("no cloud configured: set [cloud] url (and pins) in the config file");
        return -EINVAL;
    }
    /* All of the configuration, before anything is created (the history,
     * the control socket, an --output file). */
    r = config_check(run->cfg, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    r = config_storage_dir(run->cfg, run->storage, sizeof(run->storage));
    if (r < 0) {
        log_error("no storage directory: set [storage] dir");
        return r;
    }
    r = identity_load(run->storage, run->fingerprint, &cert_path, &key_path, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("device %s", run->fingerprint);
    r = setup_update(run, &applied);
    if (r < 0) {
        return r;
    }
    updated = r == 1;
    if (updated) {
        n_pins = applied.n_pins;
        memcpy(pins, applied.pins, sizeof(applied.pins));
    } else {
        n_pins = config_cloud_pins(run->cfg, pins, CONFIG_MAX_PINS);
    }
    if (n_pins == 0) {
        log_error("no [cloud] pins configured: hark talks only to a server whose key it knows "
                  "(`hark pin CERT.pem` prints a certificate's pin)");
        return -EINVAL;
    }
    for (size_t i = 0; i < n_pins; i++) {
        pin_list[i] = pins[i];
    }
    /* The same pin twice is one key: no backup. */
    if (pin_count_distinct(pin_list, n_pins) == 1) {
        log_warning("only one server pin: add a backup pin so the server's key can be rotated");
    }
    r = setup_privacy(run, run->storage, updated ? &applied : NULL);
    if (r < 0) {
        return r;
    }
    r = setup_control(run, run->storage);
    if (r < 0) {
        return r;
    }

    input = run->opts->input ? run->opts->input : run->cfg->audio.input;
    sopts.ring_ms = run->cfg->audio.ring_ms;

    r = queue_new(QUEUE_ITEMS, sizeof(struct item), &run->queue);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    r = audio_opus_encoder_new((int)run->cfg->cloud.bitrate, (int)run->cfg->cloud.complexity,
                               &run->encoder);
    if (r >= 0) {
        r = audio_opus_decoder_new(&run->decoder);
    }
    if (r < 0) {
        log_error("cannot set up the Opus codec: %s", strerror(-r));
        return r;
    }
    if (run->opts->output) {
        r = audio_sink_open(run->opts->output, err, sizeof(err), &run->sink);
    } else {
        r = audio_sink_open_device(run->cfg->audio.output, err, sizeof(err), &run->sink);
    }
    /* A headless machine still shows the answers as events; a file or a
     * speaker that was asked for by name must be there. */
    if (r < 0 && (run->opts->output || strcmp(run->cfg->audio.output, "speaker") != 0)) {
        log_error("%s", err);
        return r;
    }
    if (r < 0) {
        log_warning("%s: answers are shown, not played", err);
    } else {
        log_info("answers play on %s", audio_sink_describe(run->sink));
    }
    run->device_sink = run->sink && !run->opts->output;
    r = ear_new(run->cfg, &ear_callbacks, run, err, sizeof(err), &run->ear);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    if (run->device_sink && run->cfg->audio.wake_chime) {
        ear_set_chime(run->ear, CHIME_MS + run->cfg->audio.chime_tail_ms);
    }
    r = audio_source_open(input, &sopts, err, sizeof(err), &run->source);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("listening to %s", audio_source_describe(run->source));
    run->live = audio_source_is_live(run->source);

    snprintf(run->url, sizeof(run->url), "%s", run->cfg->cloud.url);
    lp = (struct link_params){
        .url = run->cfg->cloud.url,
        .pins = pin_list,
        .n_pins = n_pins,
        .ca_file = run->cfg->cloud.ca_file[0] ? run->cfg->cloud.ca_file : NULL,
        .cert_path = cert_path,
        .key_path = key_path,
        .client_name = "hark/" HARK_VERSION,
    };
    r = link_new(&lp, &link_callbacks, run, err, sizeof(err), &run->link);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    return 0;
}

/* A recording is only worth playing once the cloud can hear it. */
static void wait_for_link(struct run *run)
{
    double deadline = now_s() + CONNECT_WAIT_S;

    while (!run->ever_ready && !signals_stop_requested() && now_s() < deadline) {
        link_run(run->link, 100);
    }
}

int run_main(const struct hark_config *cfg, const struct run_options *opts)
{
    struct run *run = calloc(1, sizeof(*run));
    int status = 1;

    if (!run) {
        log_error("out of memory");
        return 1;
    }
    run->cfg = cfg;
    run->opts = opts;
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->answered, NULL);
    pthread_cond_init(&run->unmuted, NULL);
    run->state = STATE_DISCONNECTED;
    signals_install();

    if (setup(run) < 0) {
        goto finish;
    }
    if (!run->live) {
        wait_for_link(run);
        if (!run->ever_ready) {
            /* The cloud may well have been reached, and refused us. */
            log_error("the link to %s was never established within %.0f s: %s", run->url,
                      CONNECT_WAIT_S, run->last_down[0] ? run->last_down : "no attempt ended");
            goto finish;
        }
    }
    if (pthread_create(&run->ear_thread, NULL, ear_main, run) != 0) {
        log_error("cannot start the ear thread");
        goto finish;
    }
    run->ear_running = true;
    update_state(run);

    while (!signals_stop_requested()) {
        link_run(run->link, run->playing ? 20 : 100);
        drain_queue(run);
        check_playback(run);
        hooks_poll(run->hooks);
        if (now_s() >= run->next_purge) {
            interaction_purge(run->interaction);
            if (run->old_history) {
                purge_old_history(run);
            }
            run->next_purge = now_s() + purge_interval(cfg);
        }
        if (run->current && !run->playing && now_s() - run->request_started > ANSWER_TIMEOUT_S) {
            fail_request(run, "timeout", "no complete answer from the cloud in time", true);
        }
        if (run->input_done && run->current == 0 && queue_length(run->queue) == 0) {
            break;
        }
    }
    status = run->input_status;
    if (status == 0 && run->failed > 0) {
        log_warning("%u request(s) failed or could not be remembered", run->failed);
        status = 3;
    }
    if (!run->ever_ready) {
        log_error("the link to %s was never established", run->url);
        status = 1;
    }

finish:
    if (run->ear_running) {
        /* Release an ear thread that waits for an answer or for stdin. */
        signals_request_stop();
        if (run->queue) {
            queue_close(run->queue);
        }
        pthread_mutex_lock(&run->lock);
        pthread_cond_broadcast(&run->answered);
        pthread_cond_broadcast(&run->unmuted);
        pthread_mutex_unlock(&run->lock);
        signals_interrupt(run->ear_thread);
        pthread_join(run->ear_thread, NULL);
    }
    control_free(run->control);
    link_free(run->link);
    hooks_free(run->hooks);
    audio_source_free(run->source);
    ear_free(run->ear);
    audio_sink_free(run->sink);
    audio_opus_encoder_free(run->encoder);
    audio_opus_decoder_free(run->decoder);
    interaction_free(run->interaction);
    held_pcm_wipe(run);
    free(run->held_pcm);
    history_free(run->history);
    history_free(run->old_history);
    policy_free(run->policy);
    policy_free(run->next_policy);
    queue_free(run->queue);
    pthread_cond_destroy(&run->answered);
    pthread_cond_destroy(&run->unmuted);
    pthread_mutex_destroy(&run->lock);
    explicit_bzero(run, sizeof(*run));
    free(run);
    return status;
}
