/* `hark run`: the ear thread reads the source, spots the wake word, finds the
 * end of speech and encodes the request as Opus; the loop thread (the
 * caller's) owns the cloud link, plays the answers and writes every event.
 * Between them one bounded queue, and lws_cancel_service as the wake-up.
 * This file starts a run and holds its loop and the control thread's
 * callbacks; the ear thread is in run-ear.c, the request in flight in
 * run-request.c, the chimes in run-chime.c, the setup in run-setup.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audio-sink.h"
#include "base-clock.h"
#include "capture.h"
#include "hooks.h"
#include "interaction.h"
#include "log.h"
#include "queue.h"
#include "run-internal.h"
#include "signals.h"

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
             atomic_load(&run->muted) ? "true" : "false", run_state_names[state],
             atomic_load(&run->connected) ? "true" : "false", atomic_load(&run->rejected));
}

const struct control_callbacks run_control_callbacks = {
    .on_mute = on_control_mute,
    .status = on_control_status,
};

/* A recording is only worth playing once the cloud can hear it. */
static void wait_for_link(struct run *run)
{
    double deadline = now_mono_s() + CONNECT_WAIT_S;

    while (!run->ever_ready && !signals_stop_requested() && now_mono_s() < deadline) {
        link_run(run->link, 100);
    }
}

/* One turn of the loop thread: the link, the queue, the answer playing,
 * the hooks, the history's purge and the answer's deadline. */
static void loop_once(struct run *run)
{
    link_run(run->link, run->playing ? 20 : 100);
    run_drain_queue(run);
    run_check_playback(run);
    hooks_poll(run->hooks);
    if (now_mono_s() >= run->next_purge) {
        interaction_purge(run->interaction);
        if (run->old_history) {
            run_purge_old_history(run);
        }
        run->next_purge = now_mono_s() + run_purge_interval(run->cfg);
    }
    if (run->current && !run->playing && now_mono_s() - run->request_started > ANSWER_TIMEOUT_S) {
        run_fail_request(run, "timeout", "no complete answer from the cloud in time", true);
    }
}

/* The exit status of a run whose loop has ended. */
static int loop_status(struct run *run)
{
    int status = run->input_status;

    if (status == 0 && run->failed > 0) {
        log_warning("%u request(s) failed or could not be remembered", run->failed);
        status = 3;
    }
    if (!run->ever_ready) {
        log_error("the link to %s was never established", run->url);
        status = 1;
    }
    return status;
}

/* Starts the ear thread once the cloud can hear it, runs the loop until a
 * stop or the end of the input, and returns the exit status. */
static int run_loop(struct run *run)
{
    if (!run->live) {
        wait_for_link(run);
        if (!run->ever_ready) {
            /* The cloud may well have been reached, and refused us. */
            log_error("the link to %s was never established within %.0f s: %s", run->url,
                      CONNECT_WAIT_S, run->last_down[0] ? run->last_down : "no attempt ended");
            return 1;
        }
    }
    if (pthread_create(&run->ear_thread, NULL, run_ear_main, run) != 0) {
        log_error("cannot start the ear thread");
        return 1;
    }
    run->ear_running = true;
    run_update_state(run);

    while (!signals_stop_requested()) {
        loop_once(run);
        if (run->input_done && run->current == 0 && queue_length(run->queue) == 0) {
            break;
        }
    }
    return loop_status(run);
}

/* Releases an ear thread that waits for an answer, for an unmute or for
 * stdin, and joins it. */
static void stop_ear(struct run *run)
{
    if (!run->ear_running) {
        return;
    }
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

static struct run *run_new(const struct hark_config *cfg, const struct run_options *opts)
{
    struct run *run = calloc(1, sizeof(*run));

    if (!run) {
        return NULL;
    }
    run->cfg = cfg;
    run->opts = opts;
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->answered, NULL);
    pthread_cond_init(&run->unmuted, NULL);
    run->state = STATE_DISCONNECTED;
    return run;
}

/* Frees what run_setup made, after the ear thread has stopped. */
static void run_free(struct run *run)
{
    control_free(run->control);
    link_free(run->link);
    hooks_free(run->hooks);
    audio_source_free(run->source);
    ear_free(run->ear);
    audio_sink_free(run->sink);
    audio_opus_encoder_free(run->encoder);
    audio_opus_decoder_free(run->decoder);
    interaction_free(run->interaction);
    run_held_pcm_wipe(run);
    free(run->held_pcm);
    history_free(run->history);
    history_free(run->old_history);
    queue_free(run->queue);
    pthread_cond_destroy(&run->answered);
    pthread_cond_destroy(&run->unmuted);
    pthread_mutex_destroy(&run->lock);
    explicit_bzero(run, sizeof(*run));
    free(run);
}

int run_main(const struct hark_config *cfg, const struct run_options *opts)
{
    struct run *run = run_new(cfg, opts);
    int status = 1;

    if (!run) {
        log_error("out of memory");
        return 1;
    }
    signals_install();
    if (run_setup(run) >= 0) {
        status = run_loop(run);
    }
    stop_ear(run);
    run_free(run);
    return status;
}
