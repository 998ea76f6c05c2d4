/* hark-devcloud's inside, shared by its files (not for other modules): the
 * server's state, a connection, a job for the worker, the options; the
 * functions one file calls in another are devcloud_*. The files: devcloud.c
 * the server's start, loop and stop; devcloud-options.c the command line;
 * devcloud-conn.c a device's connection; devcloud-worker.c the worker
 * thread; devcloud-misbehave.c the test-only misbehaviour. */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "audio-opus.h"
#include "hark-build.h"
#include "intents.h"
#include "pin.h"
#include "protocol.h"
#include "tts.h"
#include "wsout.h"

#define DEFAULT_PORT 8443
#define DEFAULT_LISTEN "127.0.0.1"
#define SERVER_NAME "hark-devcloud/" HARK_VERSION
#define REGISTRY_FILE "registry"

/* A response is at most 3000 frames and five text messages; pongs and errors
 * on top. A client that stops reading fills this and is disconnected. */
#define QUEUE_MAX 4096
/* One Opus packet may hold up to 120 ms. */
#define DECODE_MAX (AUDIO_OPUS_FRAME * 6)
/* Request audio kept: 30 s at 16 kHz (PROTO_UPLINK_FRAMES_MAX frames of
 * 20 ms), and room to decode one more packet of the longest kind into. */
#define PCM_CAP ((size_t)PROTO_UPLINK_FRAMES_MAX * AUDIO_OPUS_FRAME + DECODE_MAX)
/* Lost frames concealed for one gap; a longer gap is not worth inventing. */
#define GAP_CONCEAL_MAX 5
/* Peer-provided text in our log lines is cut to this and made printable. */
#define LOG_TEXT_MAX 64
#define CLOSE_REASON_MAX 123
/* --misbehave: at most this many modes in the list. */
#define MISBEHAVE_MAX 16
/* oversized: over the client's text limit, and a multiple of hark's 4096-byte
 * receive chunk, so that the last piece fills the libwebsockets receive
 * buffer: the case that once made hark's 1009 close overflow it. */
#define OVERSIZED_LEN (PROTO_TEXT_MAX + 4096)

/* Test-only misbehaviour (--misbehave): what the server sends, once, instead
 * of or besides what the protocol asks for. */
enum misbehave_mode {
    MISBEHAVE_OVERSIZED,          /* a text message over the 16384-byte limit */
    MISBEHAVE_BAD_JSON,           /* a truncated JSON text */
    MISBEHAVE_UNKNOWN_TYPE,       /* a message of a type the protocol does not know */
    MISBEHAVE_AUDIO_BEFORE_START, /* downlink audio for a request that is not open */
    MISBEHAVE_WRONG_TYPES,        /* an intent whose fields have the wrong JSON types */
    /* The answer's messages in an order or number that would slip a
     * request's words past a policy decided early (SECRET_WORDS below). */
    MISBEHAVE_INTENT_FIRST,    /* intent "unknown", then the secret as the transcript */
    MISBEHAVE_LATE_TRANSCRIPT, /* the real answer, then the secret as a second transcript */
    MISBEHAVE_SECOND_INTENT,   /* intent "unknown", then a sensitive banking.balance */
    MISBEHAVE_AFTER_END,       /* the real answer, then the secret after response_end */
    MISBEHAVE_ERROR_TEXT,      /* a banking intent, then an error whose text holds the secret */
    MISBEHAVE_SECRET_SLOTS,    /* an intent whose slots hold an address and a code */
};
/* How many modes there are (the last one is secret-slots). */
#define MISBEHAVE_MODES (MISBEHAVE_SECRET_SLOTS + 1)

/* What the order modes slip in: a card PIN, which hark's default rules drop. */
#define SECRET_WORDS "the pin for my card is four nine two seven"
#define SECRET_ERROR "account 45327719 is locked"

/* Each mode's name in --misbehave's list (devcloud-misbehave.c). */
extern const char *const devcloud_misbehave_names[MISBEHAVE_MODES];

struct options {
    const char *state_dir;
    const char *listen;
    int port;
    const char *registry_path;
    const char *intents_path;
    const char *stats_path;
    const char *port_file;
    const char *asr_lm;
    const char *misbehave_list; /* as given, for the warning */
    enum misbehave_mode misbehave[MISBEHAVE_MAX];
    size_t n_misbehave;
    const char *save_uplink; /* a directory, or NULL */
    const char *push_update; /* a signed update bundle sent after each ready, or NULL */
    int verbose;
};

struct stats {
    uint64_t connections;
    uint64_t refused;
    uint64_t utterances;
    uint64_t audio_frames;
    uint64_t audio_bytes;
};

enum request_state {
    REQ_NONE,
    REQ_COLLECTING, /* between start and end */
    REQ_FAILED,     /* finished early by an error (too_long); waits for end or cancel */
    REQ_PROCESSING, /* with the worker */
};

struct conn;

/* A request handed to the worker thread. The main thread owns conn; the
 * worker owns everything else until it puts the job on the done list. */
struct job {
    struct job *next;
    struct conn *conn; /* NULL once the connection is gone or the request cancelled */
    uint32_t id;
    int16_t *pcm;
    size_t n_pcm;
    int error;
    char *transcript;
    struct intent_result intent;
    struct tts_packets packets;
    double asr_s, tts_s, speech_s;
};

/* Jobs in the order they were put in; under devcloud.lock. */
struct job_list {
    struct job *head, *tail;
};

static inline void job_list_push(struct job_list *list, struct job *job)
{
    if (list->tail) {
        list->tail->next = job;
    } else {
        list->head = job;
    }
    list->tail = job;
}

struct conn {
    struct conn *prev, *next;
    struct devcloud *dc;
    struct lws *wsi;
    char peer[64];
    uint64_t number; /* 1 for the first device let in, then +1: names saved uplinks */
    char fingerprint[PIN_STRING_MAX];
    bool hello;
    /* Closing: the queue is flushed, then the connection closed with this. */
    int close_code;
    char close_reason[CLOSE_REASON_MAX + 1];
    /* The message being received (lws may hand it over in pieces). */
    unsigned char rx[PROTO_TEXT_MAX + 1];
    size_t rx_len;
    bool rx_binary;
    bool rx_discard;
    /* The request in flight. */
    enum request_state state;
    uint32_t id;
    bool have_last_id;
    uint32_t last_id;
    uint32_t next_seq;
    uint32_t frames;
    bool warned_stray;
    int16_t *pcm;
    size_t n_pcm;
    struct audio_opus_decoder *decoder;
    struct job *job;
    uint64_t requests;
    /* An order mode for the request in flight's answer (--misbehave). */
    bool answer_mode;
    bool answer_mode_after; /* after-end: its messages after response_end */
    enum misbehave_mode answer_misbehave;
    /* Outgoing messages, one written per writeable callback. */
    struct wsout out; /* what waits for the socket to be writeable */
};

struct devcloud {
    struct options opt;
    char registry_path[PATH_MAX];
    struct lws_context *ctx;
    struct intents *intents;
    struct asr *asr;
    struct tts *tts;
    struct stats stats;
    struct conn *conns;
    /* --misbehave: which of opt.misbehave have been used (each once). */
    bool misbehave_used[MISBEHAVE_MAX];
    /* --push-update: the bundle, as read at start. */
    uint8_t update[PROTO_UPDATE_MAX];
    size_t update_len;

    pthread_t worker;
    bool worker_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job_list todo; /* for the worker */
    struct job_list done; /* for the main thread */
    bool stopping;
};

/* Per-session data: lws allocates and zeroes it; the connection is ours. */
struct session {
    struct conn *conn;
};

/* devcloud.c */
const char *devcloud_printable(const char *s, char out[LOG_TEXT_MAX + 4]);
void devcloud_wipe_free(void *p, size_t len);

/* devcloud-options.c: the command line. */
int devcloud_parse_options(int argc, char **argv, struct options *opt);

/* devcloud-worker.c: the worker thread (recognition, intent, synthesis). */
void devcloud_job_free(struct job *job);
int devcloud_load_models(struct devcloud *dc);
int devcloud_start_worker(struct devcloud *dc);
void devcloud_stop_worker(struct devcloud *dc);

/* devcloud-conn.c: a device's connection (main thread): the send queue,
 * the protocol's events, the answer delivered. */
int devcloud_conn_queue(struct conn *conn, const void *data, size_t len, bool binary);
int devcloud_conn_send(struct conn *conn, char *json);
void devcloud_conn_send_error(struct conn *conn, int64_t id, const char *code, const char *message);
void devcloud_conn_free(struct conn *conn);
int devcloud_on_assist_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len);

/* devcloud-misbehave.c: --misbehave and --push-update, for the tests. */
void devcloud_misbehave_after_ready(struct conn *conn);
void devcloud_misbehave_on_start(struct conn *conn, uint32_t id);
bool devcloud_misbehave_answer(struct conn *conn, const struct job *job,
                               const struct intent_result *in, const struct proto_slot *slots,
                               bool before);
int devcloud_load_update(struct devcloud *dc);
void devcloud_push_update(struct conn *conn);
