/* The `hark run` daemon's inside, shared by its files and by
 * tests/unit/test-run-request.c (not for other modules): the state of a run,
 * the items on the queue between the ear thread and the loop thread, and the
 * functions each file gives the others. Which thread may touch which field
 * is said in struct run. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio-opus.h"
#include "config.h"
#include "control.h"
#include "ear.h"
#include "link.h"
#include "policy.h"
#include "protocol.h"
#include "run.h"
#include "update-store.h"

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
    ITEM_OVERFLOW, /* the end of a request that lost frames to a full queue */
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
    uint32_t seq;      /* frame: its number in the request's uplink */
    size_t len;        /* frame: bytes in opus */
    uint8_t opus[PROTO_OPUS_MAX]; /* frame: one Opus packet (the link packs the frame) */
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

/* run.c: the control thread's callbacks. */
extern const struct control_callbacks run_control_callbacks;

/* run-request.c: the loop thread's side of a request (the states, the
 * request in flight, the queue's items, the link's callbacks). */
extern const char *const run_state_names[];
extern const struct link_callbacks run_link_callbacks;
void run_update_state(struct run *run);
void run_held_pcm_wipe(struct run *run);
void run_fail_request(struct run *run, const char *code, const char *message, bool cancel);
void run_drain_queue(struct run *run);
void run_check_playback(struct run *run);
/* The [privacy] rules with those of an update laid over them (when it has
 * any and [privacy] policy_updates lets it). */
void run_policy_rules(const struct hark_config *cfg, const struct update_bundle *b,
                      struct policy_rules *ret);

/* run-ear.c: the ear thread, from the source to the queue. */
extern const struct ear_callbacks run_ear_callbacks;
void *run_ear_main(void *userdata);

/* run-chime.c: the chimes on the speaker (loop thread). */
void run_play_error_chime(struct run *run);
void run_play_wake_chime(struct run *run);

/* run-setup.c: everything run_main needs before its loop. */
double run_purge_interval(const struct hark_config *cfg);
void run_purge_old_history(struct run *run);
int run_setup(struct run *run);
