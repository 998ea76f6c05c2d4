/* `hark run`'s loop thread and a request: its states (events, hooks,
 * status), the request in flight from its wake to its answer, the items
 * the ear thread queues, and the cloud link's callbacks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio-sink.h"
#include "base-clock.h"
#include "base-err.h"
#include "capture.h"
#include "events.h"
#include "hooks.h"
#include "interaction.h"
#include "log.h"
#include "queue.h"
#include "run-internal.h"

const char *const run_state_names[] = {
    [STATE_DISCONNECTED] = "disconnected", [STATE_IDLE] = "idle",
    [STATE_LISTENING] = "listening",       [STATE_THINKING] = "thinking",
    [STATE_SPEAKING] = "speaking",         [STATE_MUTED] = "muted",
    [STATE_ERROR] = "error",
};

static void set_state(struct run *run, enum run_state state)
{
    if (state == run->state && state != STATE_ERROR && run->state_announced) {
        return;
    }
    run->state = state;
    run->state_announced = true;
    atomic_store(&run->shared_state, (int)state);
    log_debug("state: %s", run_state_names[state]);
    events_state(run_state_names[state]);
    hooks_run(run->hooks, run_state_names[state]);
}

/* The state follows from what the loop thread knows. */
void run_update_state(struct run *run)
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
void run_held_pcm_wipe(struct run *run)
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
    run_held_pcm_wipe(run);
    run->current = 0;
    run->streaming = false;
    run->playing = false;
    run->answer_started = false;
    pthread_mutex_lock(&run->lock);
    atomic_store(&run->request_open, false);
    pthread_cond_broadcast(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

void run_fail_request(struct run *run, const char *code, const char *message, bool cancel)
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

static void send_text(struct run *run, char *json)
{
    int r;

    if (!json) {
        run_fail_request(run, "no_memory", "out of memory", true);
        return;
    }
    r = link_send_text(run->link, json);
    free(json);
    if (r < 0) {
        run_fail_request(run, "link", "the link cannot take the request", true);
    }
}

/* A wake: the request opens, unless the loop thread has muted or the
 * link is down (then it ends at once; the audio is not kept for later). */
static void on_wake_item(struct run *run, const struct item *it)
{
    events_wake(it->t, it->text, it->neural ? "neural" : "pocketsphinx", it->score, it->verify);
    run->current = it->id;
    if (run->loop_muted) {
        /* Heard before the ear applied the mute: not taken. */
        finish_request(run);
        return;
    }
    if (!link_is_ready(run->link)) {
        run_fail_request(run, "link_down", "the cloud is not connected: request dropped", false);
        run->current = 0;
        run_play_error_chime(run);
        return;
    }
    run->streaming = true;
    run->wake_mono = it->mono;
    run->end_mono = 0;
    run->first_frame_seen = false;
    run->up_frames = 0;
    run->up_bytes = 0;
    run->down_seq = 0;
    run->down_samples = 0;
    run->request_started = now_mono_s();
    run->answer_started = false;
    run_play_wake_chime(run);
    interaction_begin(run->interaction, it->id);
    send_text(run, proto_build_start(it->id, it->text, it->score,
                                     (unsigned)(it->preroll_s * 1000.0 + 0.5)));
    if (run->current) {
        events_stream_start(it->id, it->preroll_s);
    }
}

static void on_frame_item(struct run *run, const struct item *it)
{
    if (run->current != it->id || !run->streaming) {
        return;
    }
    if (link_send_audio(run->link, it->id, it->seq, it->opus, it->len) < 0) {
        run_fail_request(run, "link", "the link cannot keep up: request dropped", true);
        return;
    }
    run->up_frames++;
    run->up_bytes += it->len;
    interaction_audio(run->interaction, it->opus, it->len);
}

static void on_overflow_item(struct run *run, const struct item *it)
{
    if (run->current == it->id && run->streaming) {
        run_fail_request(run, "overflow", "audio could not be queued fast enough: request dropped",
                         true);
    }
}

/* The end of speech: the request's end goes to the cloud, or, with nothing
 * said after the wake, the request is abandoned: the cloud is told to
 * forget the audio, and nothing is answered or kept. */
static void on_end_item(struct run *run, const struct item *it)
{
    if (run->current != it->id || !run->streaming) {
        return;
    }
    run->streaming = false;
    run->end_mono = it->mono;
    if (it->no_speech) {
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
}

static void on_input_error_item(struct run *run, const struct item *it)
{
    log_error("%s", it->text);
    run->input_status = 1;
    run->input_done = true;
}

static void on_item(struct run *run, const struct item *it)
{
    switch (it->kind) {
    case ITEM_WAKE:
        on_wake_item(run, it);
        return;
    case ITEM_FRAME:
        on_frame_item(run, it);
        return;
    case ITEM_OVERFLOW:
        on_overflow_item(run, it);
        return;
    case ITEM_END:
        on_end_item(run, it);
        return;
    case ITEM_INPUT_ERROR:
        on_input_error_item(run, it);
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

void run_drain_queue(struct run *run)
{
    struct item *it = malloc(sizeof(*it));

    apply_mute(run);
    run_update_state(run);
    if (!it) {
        return;
    }
    while (queue_pop(run->queue, it)) {
        on_item(run, it);
        run_update_state(run);
    }
    explicit_bzero(it, sizeof(*it));
    free(it);
}

static void on_link_ready(void *userdata)
{
    struct run *run = userdata;

    run->ever_ready = true;
    atomic_store(&run->connected, true);
    log_info("connected to %s", run->url);
    events_connected(run->url);
    run_update_state(run);
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
        run_fail_request(run, "link_lost", "the link went down during the request", false);
    }
    run_update_state(run);
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
    run_fail_request(run, "bad_message", "the cloud's answer was malformed: request cancelled", true);
}

/* The request is over once its answer has been played: until then the ear
 * must not spot (it would hear the answer). */
void run_check_playback(struct run *run)
{
    if (run->playing && audio_sink_pending(run->sink) > 0 && now_mono_s() > run->play_deadline) {
        /* The sound server went away mid-answer: the rest is not played. */
        log_warning("request %u: the answer stopped playing; the speaker is gone?", run->current);
        finish_request(run);
        run_update_state(run);
        return;
    }
    if (run->playing && audio_sink_pending(run->sink) == 0) {
        finish_request(run);
        run_update_state(run);
    }
}

/* The [privacy] rules with those of an update laid over them (when it has
 * any and [privacy] policy_updates lets it). */
void run_policy_rules(const struct hark_config *cfg, const struct update_bundle *b,
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
        run_policy_rules(run->cfg, &b, &rules);
        r = policy_new(&rules, err, sizeof(err), &next);
        if (r < 0) {
            log_error("the update's rules: %s", err);
            rules_used = false;
        } else {
            interaction_set_policy(run->interaction, next);
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
                     (now_mono_s() - run->end_mono) * 1000.0);
        }
        interaction_intent(run->interaction, msg);
        break;
    case PROTO_RESPONSE:
        interaction_response(run->interaction, msg->text);
        break;
    case PROTO_RESPONSE_END:
        log_info("request %u answered in %.2f s", msg->id, now_mono_s() - run->request_started);
        keep = interaction_decide(run->interaction) != POLICY_DROP;
        events_response_end(msg->id, (double)run->down_samples / AUDIO_RATE);
        if (interaction_finish(run->interaction) < 0) {
            run->failed++;
        }
        if (run->held_len > 0 && keep &&
            audio_sink_write(run->sink, run->held_pcm, run->held_len, err, sizeof(err)) < 0) {
            log_warning("%s", err);
        }
        run_held_pcm_wipe(run);
        if (run->sink) {
            /* A file is flushed now; a device plays on while the loop
             * keeps the link serviced (see run_check_playback). */
            audio_sink_drain(run->sink, 0);
        }
        run->playing = true;
        run->play_deadline = now_mono_s() + (double)run->down_samples / AUDIO_RATE + PLAYBACK_SLACK_S;
        run_check_playback(run);
        break;
    case PROTO_ERROR:
        /* The error's text is the cloud's word about the request: weighed
         * with the rest, and shown only as the decision allows. */
        run->streaming = false;
        shown = interaction_fail(run->interaction, msg->message);
        run_fail_request(run, printable_code(msg->code), shown ? shown : "", false);
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
    run_update_state(run);
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
        run_update_state(run);
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
    run_drain_queue(userdata);
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
                 (now_mono_s() - run->wake_mono) * 1000.0);
    }
}

const struct link_callbacks run_link_callbacks = {
    .on_ready = on_link_ready,
    .on_down = on_link_down,
    .on_message = on_link_message,
    .on_bad_message = on_link_bad_message,
    .on_frame = on_link_frame,
    .on_wake = on_link_wake,
    .on_frame_sent = on_link_frame_sent,
    .on_warning = on_link_warning,
};
