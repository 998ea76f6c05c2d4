/* `hark run`'s ear thread: reads the source, feeds the ear, and queues
 * the wake, each 20 ms Opus frame of the request and its end for the loop
 * thread; it follows the mute and waits for the answer of a recording. */
#include <errno.h>
#include <string.h>

#include "base-clock.h"
#include "base-err.h"
#include "listen-loop.h"
#include "log.h"
#include "queue.h"
#include "run-internal.h"
#include "signals.h"

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
    struct item it = {.kind = ITEM_FRAME, .id = run->next_id, .seq = run->seq};
    ssize_t n;

    n = audio_opus_encode(run->encoder, run->pcm, it.opus, sizeof(it.opus));
    explicit_bzero(run->pcm, sizeof(run->pcm));
    run->pcm_fill = 0;
    if (n <= 0) {
        run->overflowed = true;
        return;
    }
    it.len = (size_t)n;
    if (run->overflowed || push(run, &it, !run->live) < 0) {
        /* Once a frame is lost the request is broken: drop the rest too. */
        run->overflowed = true;
    }
    run->seq++;
    explicit_bzero(it.opus, sizeof(it.opus));
}

static void on_ear_wake(void *userdata, const struct ear_wake *wake)
{
    struct run *run = userdata;
    struct item it = {
        .kind = ITEM_WAKE,
        .mono = now_mono_s(),
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
        .mono = now_mono_s(),
        .t = end->t,
        .duration_s = end->duration_s,
        .no_speech = end->no_speech,
    };

    /* The last partial frame, padded with silence. */
    if (run->pcm_fill > 0) {
        memset(run->pcm + run->pcm_fill, 0, (AUDIO_OPUS_FRAME - run->pcm_fill) * sizeof(int16_t));
        send_frame(run);
    }
    if (run->overflowed) {
        it.kind = ITEM_OVERFLOW;
    } else {
        snprintf(it.text, sizeof(it.text), "%s", end->reason);
    }
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
            deadline = now_mono_s() + CONNECT_WAIT_S;
        } else if (now_mono_s() >= deadline) {
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

/* Before each read: the mute followed, the rejections counted so far made
 * known to the control thread, and a recording's wait for the answer. */
static bool on_before_read(void *userdata)
{
    struct run *run = userdata;

    atomic_store(&run->rejected, ear_rejected(run->ear));
    if (follow_mute(run)) {
        return false;
    }
    if (!run->live && ear_get_state(run->ear) == EAR_IDLE) {
        wait_for_answer(run);
    }
    return true;
}

static void on_read(void *userdata, int16_t *samples, size_t n)
{
    struct run *run = userdata;

    if (run->ear_muted) {
        explicit_bzero(samples, n * sizeof(*samples));
    }
    ear_set_listening(run->ear, !run->ear_muted && !atomic_load(&run->request_open));
}

/* The capture's loss and return: logged here, at the ear thread's edge, as
 * they happen; their events go to the loop thread, which writes them. */
static void on_capture_lost(void *userdata, const char *why)
{
    struct item capture = {.kind = ITEM_CAPTURE_LOST};

    snprintf(capture.text, sizeof(capture.text), "%s", why);
    push(userdata, &capture, true);
    log_warning("%s; reopening it", why);
}

static void on_capture_retry(void *userdata, unsigned attempt, const char *why)
{
    (void)userdata;
    log_debug("reopen attempt %u: %s", attempt, why);
}

static void on_capture_restored(void *userdata, const char *device, unsigned attempts)
{
    struct item capture = {.kind = ITEM_CAPTURE_RESTORED};

    log_info("capture restored after %u attempt%s: %s", attempts, attempts == 1 ? "" : "s",
             device);
    snprintf(capture.text, sizeof(capture.text), "%s", device);
    push(userdata, &capture, true);
}

void *run_ear_main(void *userdata)
{
    static const struct listen_loop_callbacks loop_callbacks = {
        .on_before_read = on_before_read,
        .on_read = on_read,
        .on_capture_lost = on_capture_lost,
        .on_capture_retry = on_capture_retry,
        .on_capture_restored = on_capture_restored,
    };
    struct run *run = userdata;
    struct item it = {.kind = ITEM_INPUT_DONE};
    char err[ERRSZ] = "";
    int r;

    r = listen_loop_run(run->source, run->ear, &loop_callbacks, run, err, sizeof(err));
    atomic_store(&run->rejected, ear_rejected(run->ear));
    if (r == LISTEN_LOOP_STOPPED) {
        r = 0;
    } else if (r == 0 && !signals_stop_requested()) {
        r = ear_finish(run->ear, err, sizeof(err));
    }
    if (r < 0) {
        it.kind = ITEM_INPUT_ERROR;
        snprintf(it.text, sizeof(it.text), "%s", err);
    }
    push(run, &it, true);
    return NULL;
}

const struct ear_callbacks run_ear_callbacks = {
    .on_wake = on_ear_wake,
    .on_audio = on_ear_audio,
    .on_end = on_ear_end,
};
