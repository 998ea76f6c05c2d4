/* hark-devcloud: the development cloud. A libwebsockets server speaking the
 * hark protocol v1 (doc/protocol.md): devices authenticate with their own
 * certificate, checked against a registry; each request's audio is recognised
 * with PocketSphinx, mapped to an intent by rules, and answered with flite. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "asr.h"
#include "audio-opus.h"
#include "audio-sink.h"
#include "base-clock.h"
#include "base-err.h"
#include "hark-build.h"
#include "intents.h"
#include "log.h"
#include "pin.h"
#include "protocol.h"
#include "registry.h"
#include "servercert.h"
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
    MISBEHAVE_INTENT_FIRST,   /* intent "unknown", then the secret as the transcript */
    MISBEHAVE_LATE_TRANSCRIPT, /* the real answer, then the secret as a second transcript */
    MISBEHAVE_SECOND_INTENT,  /* intent "unknown", then a sensitive banking.balance */
    MISBEHAVE_AFTER_END,      /* the real answer, then the secret after response_end */
    MISBEHAVE_ERROR_TEXT,     /* a banking intent, then an error whose text holds the secret */
    MISBEHAVE_SECRET_SLOTS,   /* an intent whose slots hold an address and a code */
};

/* What the order modes slip in: a card PIN, which hark's default rules drop. */
#define SECRET_WORDS "the pin for my card is four nine two seven"
#define SECRET_ERROR "account 45327719 is locked"

static const char *const misbehave_names[] = {
    [MISBEHAVE_OVERSIZED] = "oversized",
    [MISBEHAVE_BAD_JSON] = "bad-json",
    [MISBEHAVE_UNKNOWN_TYPE] = "unknown-type",
    [MISBEHAVE_AUDIO_BEFORE_START] = "audio-before-start",
    [MISBEHAVE_WRONG_TYPES] = "wrong-types",
    [MISBEHAVE_INTENT_FIRST] = "intent-first",
    [MISBEHAVE_LATE_TRANSCRIPT] = "late-transcript",
    [MISBEHAVE_SECOND_INTENT] = "second-intent",
    [MISBEHAVE_AFTER_END] = "after-end",
    [MISBEHAVE_ERROR_TEXT] = "error-text",
    [MISBEHAVE_SECRET_SLOTS] = "secret-slots",
};

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
    struct job *todo_head, *todo_tail;
    struct job *done_head, *done_tail;
    bool stopping;
};

/* Per-session data: lws allocates and zeroes it; the connection is ours. */
struct session {
    struct conn *conn;
};

static volatile sig_atomic_t stop_requested;
static struct lws_context *volatile signal_ctx;

/* Peer-provided text, cut and made printable for a log line. */
static const char *printable(const char *s, char out[LOG_TEXT_MAX + 4])
{
    size_t i = 0;

    if (!s) {
        return "";
    }
    for (; s[i] && i < LOG_TEXT_MAX; i++) {
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    }
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static void wipe_free(void *p, size_t len)
{
    if (p) {
        explicit_bzero(p, len);
        free(p);
    }
}

/* ---- the worker thread: recognition, intent, synthesis ---- */

static void job_free(struct job *job)
{
    if (!job) {
        return;
    }
    wipe_free(job->pcm, job->n_pcm * sizeof(*job->pcm));
    if (job->transcript) {
        wipe_free(job->transcript, strlen(job->transcript));
    }
    explicit_bzero(&job->intent, sizeof(job->intent));
    tts_packets_finish(&job->packets);
    free(job);
}

/* Cuts text to fit a protocol string field, at a word boundary. */
static void fit_string(char *text)
{
    size_t len = strlen(text);

    if (len < PROTO_STRING_MAX) {
        return;
    }
    len = PROTO_STRING_MAX - 1;
    while (len > 0 && text[len] != ' ') {
        len--;
    }
    text[len] = '\0';
}

static void process(struct devcloud *dc, struct job *job)
{
    int16_t *speech = NULL;
    size_t n_speech = 0;
    double t0, t1;
    int r;

    t0 = now_mono_s();
    r = asr_decode(dc->asr, job->pcm, job->n_pcm, &job->transcript);
    t1 = now_mono_s();
    job->asr_s = t1 - t0;
    /* The request's audio is not needed any more. */
    wipe_free(job->pcm, job->n_pcm * sizeof(*job->pcm));
    job->pcm = NULL;
    if (r < 0) {
        job->error = r;
        return;
    }
    fit_string(job->transcript);
    intents_match(dc->intents, job->transcript, &job->intent);
    r = tts_synthesize(dc->tts, job->intent.response, &speech, &n_speech);
    if (r >= 0) {
        job->speech_s = (double)n_speech / AUDIO_OPUS_FRAME / 50.0;
        r = tts_encode(speech, n_speech, PROTO_DOWNLINK_FRAMES_MAX, &job->packets);
        free(speech);
    }
    job->tts_s = now_mono_s() - t1;
    if (r < 0) {
        job->error = r;
    }
}

static void *worker_main(void *userdata)
{
    struct devcloud *dc = userdata;

    pthread_mutex_lock(&dc->lock);
    for (;;) {
        struct job *job;

        while (!dc->todo_head && !dc->stopping) {
            pthread_cond_wait(&dc->cond, &dc->lock);
        }
        if (dc->stopping) {
            break;
        }
        job = dc->todo_head;
        dc->todo_head = job->next;
        if (!dc->todo_head) {
            dc->todo_tail = NULL;
        }
        job->next = NULL;
        pthread_mutex_unlock(&dc->lock);

        process(dc, job);

        pthread_mutex_lock(&dc->lock);
        if (dc->done_tail) {
            dc->done_tail->next = job;
        } else {
            dc->done_head = job;
        }
        dc->done_tail = job;
        /* The context outlives the worker (joined before it is destroyed). */
        lws_cancel_service(dc->ctx);
    }
    pthread_mutex_unlock(&dc->lock);
    return NULL;
}

/* ---- connections: the send queue ---- */

static void conn_close(struct conn *conn, int code, const char *reason)
{
    if (conn->close_code) {
        return;
    }
    conn->close_code = code;
    snprintf(conn->close_reason, sizeof(conn->close_reason), "%s", reason);
    lws_callback_on_writable(conn->wsi);
}

static int conn_queue(struct conn *conn, const void *data, size_t len, bool binary)
{
    int r;

    if (conn->close_code) {
        return -ESHUTDOWN;
    }
    r = wsout_push(&conn->out, data, len, binary);
    if (r == -ENOBUFS) {
        log_warning("%s: the client does not read; closing", conn->peer);
        conn_close(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, "send queue full");
        return r;
    }
    if (r < 0) {
        return r;
    }
    lws_callback_on_writable(conn->wsi);
    return 0;
}

/* Queues a built message and frees it (NULL: the builder ran out of memory). */
static int conn_send(struct conn *conn, char *json)
{
    int r;

    if (!json) {
        log_error("%s: cannot build a message: out of memory", conn->peer);
        return -ENOMEM;
    }
    r = conn_queue(conn, json, strlen(json), false);
    free(json);
    return r;
}

static void conn_send_error(struct conn *conn, int64_t id, const char *code, const char *message)
{
    conn_send(conn, proto_build_error(id, code, message));
}

/* ---- --misbehave: malformed messages on purpose, for the tests ---- */

/* Each mode in the list is used once, at its first chance: audio-before-start
 * at the first ready sent, the others by successive requests in list order.
 * Marks the mode used; false when none is left for this occasion. */
static bool misbehave_take(struct devcloud *dc, bool at_ready, enum misbehave_mode *ret_mode)
{
    for (size_t i = 0; i < dc->opt.n_misbehave; i++) {
        bool ready_mode = dc->opt.misbehave[i] == MISBEHAVE_AUDIO_BEFORE_START;

        if (!dc->misbehave_used[i] && ready_mode == at_ready) {
            dc->misbehave_used[i] = true;
            *ret_mode = dc->opt.misbehave[i];
            return true;
        }
    }
    return false;
}

/* Right after ready: downlink audio for request 1, which a client that has
 * just connected has not started (ids are the client's; 1 is the first). */
static void misbehave_after_ready(struct conn *conn)
{
    /* One valid Opus packet: the TOC byte alone, SILK wideband 20 ms, code 0,
     * an empty frame (RFC 6716 3.2.1), which a decoder treats as lost. */
    static const uint8_t packet[] = {0x48};
    uint8_t frame[PROTO_FRAME_HEADER + sizeof(packet)];
    enum misbehave_mode mode;
    int n;

    if (!misbehave_take(conn->dc, true, &mode)) {
        return;
    }
    n = proto_frame_pack(PROTO_FRAME_DOWNLINK, 1, 0, packet, sizeof(packet), frame, sizeof(frame));
    if (n < 0) {
        return;
    }
    log_warning("%s: misbehaving (%s): downlink audio for request 1, which is not open", conn->peer,
                misbehave_names[mode]);
    conn_queue(conn, frame, (size_t)n, true);
}

/* A transcript for request id whose text makes the message OVERSIZED_LEN
 * bytes: valid JSON, only too big. */
static char *build_oversized(uint32_t id)
{
    char *buf = malloc(OVERSIZED_LEN + 1);
    int n;

    if (!buf) {
        return NULL;
    }
    n = snprintf(buf, OVERSIZED_LEN + 1, "{\"type\":\"transcript\",\"id\":%" PRIu32 ",\"text\":\"",
                 id);
    if (n < 0 || n >= OVERSIZED_LEN - 2) {
        free(buf);
        return NULL;
    }
    memset(buf + n, 'a', OVERSIZED_LEN - 2 - (size_t)n);
    memcpy(buf + OVERSIZED_LEN - 2, "\"}", 3);
    return buf;
}

/* On a request's start: the next request mode in the list, if any. */
static void misbehave_on_start(struct conn *conn, uint32_t id)
{
    char small[128];
    char *text = small;
    enum misbehave_mode mode;

    if (!misbehave_take(conn->dc, false, &mode)) {
        return;
    }
    switch (mode) {
    case MISBEHAVE_OVERSIZED:
        text = build_oversized(id);
        break;
    case MISBEHAVE_BAD_JSON:
        snprintf(small, sizeof(small), "{\"type\":\"transcript\",\"id\":");
        break;
    case MISBEHAVE_UNKNOWN_TYPE:
        snprintf(small, sizeof(small), "{\"type\":\"weather-report\",\"id\":%" PRIu32 "}", id);
        break;
    case MISBEHAVE_WRONG_TYPES:
        snprintf(small, sizeof(small),
                 "{\"type\":\"intent\",\"id\":%" PRIu32 ",\"name\":5,\"sensitive\":\"yes\"}", id);
        break;
    case MISBEHAVE_AUDIO_BEFORE_START:
        return; /* not a request mode (misbehave_take does not return it here) */
    case MISBEHAVE_INTENT_FIRST:
    case MISBEHAVE_LATE_TRANSCRIPT:
    case MISBEHAVE_SECOND_INTENT:
    case MISBEHAVE_AFTER_END:
    case MISBEHAVE_ERROR_TEXT:
    case MISBEHAVE_SECRET_SLOTS:
        /* These change the answer, when it is delivered. */
        log_warning("%s: request %u: misbehaving (%s) in its answer", conn->peer, id,
                    misbehave_names[mode]);
        conn->answer_mode = true;
        conn->answer_misbehave = mode;
        return;
    }
    if (!text) {
        log_error("%s: request %u: cannot build the %s message: out of memory", conn->peer, id,
                  misbehave_names[mode]);
        return;
    }
    log_warning("%s: request %u: misbehaving (%s): a %zu-byte text message", conn->peer, id,
                misbehave_names[mode], strlen(text));
    conn_queue(conn, text, strlen(text), false);
    if (text != small) {
        free(text);
    }
}

/* ---- --push-update: a signed update for every device ---- */

/* Reads the bundle once; what it holds is the device's to judge (the tests
 * push bad ones on purpose), only its size is the protocol's. */
static int load_update(struct devcloud *dc)
{
    const char *path = dc->opt.push_update;
    size_t n;
    FILE *f;

    if (!path) {
        return 0;
    }
    f = fopen(path, "rbe");
    if (!f) {
        log_error("--push-update %s: %s", path, strerror(errno));
        return -errno;
    }
    n = fread(dc->update, 1, sizeof(dc->update), f);
    if (n == sizeof(dc->update) && fgetc(f) != EOF) {
        n = 0;
        log_error("--push-update %s: more than %d bytes, more than an update message carries", path,
                  PROTO_UPDATE_MAX);
    } else if (n == 0) {
        log_error("--push-update %s: empty", path);
    }
    fclose(f);
    if (n == 0) {
        return -EINVAL;
    }
    dc->update_len = n;
    log_info("--push-update: %s (%zu bytes) goes to every device after ready", path, n);
    return 0;
}

static void push_update(struct conn *conn)
{
    struct devcloud *dc = conn->dc;

    if (dc->update_len == 0) {
        return;
    }
    log_info("%s: pushing the update bundle (%zu bytes)", conn->peer, dc->update_len);
    conn_send(conn, proto_build_update(dc->update, dc->update_len));
}

/* ---- --save-uplink: a request's decoded audio as a WAV file ---- */

/* 16 kHz mono 16-bit PCM through the sink's WAV writer, mode 0600: it is
 * what someone said. A file that could not be finished is removed: no half
 * a recording. */
static int write_wav(const char *path, const int16_t *pcm, size_t n, char *err, size_t errsz)
{
    struct audio_sink *sink = NULL;
    int r;

    if (n > PCM_CAP) {
        err_set(err, errsz, "%s: %zu samples, more than a request holds", path, n);
        return -EFBIG;
    }
    r = audio_sink_open(path, err, errsz, &sink);
    if (r < 0) {
        return r;
    }
    r = audio_sink_write(sink, pcm, n, err, errsz);
    /* For a file, drain writes the header's sizes and flushes. */
    if (r == 0 && (r = audio_sink_drain(sink, 0)) < 0) {
        err_set(err, errsz, "%s: cannot write: %s", path, strerror(-r));
    }
    audio_sink_free(sink);
    if (r < 0) {
        unlink(path);
    }
    return r;
}

static void save_uplink(struct conn *conn, uint32_t id, const int16_t *pcm, size_t n)
{
    char path[PATH_MAX], err[ERRSZ];
    int len, r;

    len = snprintf(path, sizeof(path), "%s/uplink-%" PRIu64 "-%" PRIu32 ".wav",
                   conn->dc->opt.save_uplink, conn->number, id);
    if (len < 0 || (size_t)len >= sizeof(path)) {
        log_error("%s: request %u: the uplink file name is too long", conn->peer, id);
        return;
    }
    r = write_wav(path, pcm, n, err, sizeof(err));
    if (r < 0) {
        log_error("%s: request %u: cannot save the uplink: %s", conn->peer, id, err);
        return;
    }
    log_info("%s: request %u: uplink saved to %s", conn->peer, id, path);
}

static void conn_reset_request(struct conn *conn)
{
    wipe_free(conn->pcm, PCM_CAP * sizeof(*conn->pcm));
    conn->pcm = NULL;
    conn->n_pcm = 0;
    audio_opus_decoder_free(conn->decoder);
    conn->decoder = NULL;
    if (conn->job) {
        conn->job->conn = NULL; /* the worker's result is dropped */
        conn->job = NULL;
    }
    conn->answer_mode = false;
    conn->state = REQ_NONE;
}

static void conn_free(struct conn *conn)
{
    if (!conn) {
        return;
    }
    conn_reset_request(conn);
    wsout_finish(&conn->out); /* zeroes transcripts and speech */
    explicit_bzero(conn->rx, sizeof(conn->rx));
    free(conn);
}

/* ---- the registry check ---- */

static void on_registry_bad_line(void *userdata, const char *path, unsigned line, const char *why)
{
    log_warning("%s:%u: %s", path, line, why);
}

/* Whether the device may connect: the registry is read anew each time, so a
 * device registered while the server runs is let in at its next attempt. */
static bool device_registered(struct devcloud *dc, const char *fingerprint)
{
    struct registry *reg = NULL;
    char err[512];
    bool found;
    int r;

    r = registry_load(dc->registry_path, on_registry_bad_line, NULL, err, sizeof(err), &reg);
    if (r == -ENOENT) {
        log_warning("registry %s does not exist: no device can connect "
                    "(hark-devcloud register --state DIR FINGERPRINT)",
                    dc->registry_path);
        return false;
    }
    if (r < 0) {
        log_error("cannot read the registry: %s", err);
        return false;
    }
    found = registry_contains(reg, fingerprint);
    registry_free(reg);
    return found;
}

static int peer_fingerprint(struct lws *wsi, char ret_pin[PIN_STRING_MAX])
{
    SSL *ssl = lws_get_ssl(wsi);
    X509 *cert;
    unsigned char *der = NULL, *p;
    int len, r;

    if (!ssl) {
        return -ENOTCONN;
    }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    cert = SSL_get1_peer_certificate(ssl);
#else
    cert = SSL_get_peer_certificate(ssl);
#endif
    if (!cert) {
        return -ENOKEY;
    }
    len = i2d_X509(cert, NULL);
    if (len <= 0 || len > 64 * 1024) {
        r = -EBADMSG;
        goto finish;
    }
    der = malloc((size_t)len);
    if (!der) {
        r = -ENOMEM;
        goto finish;
    }
    p = der;
    if (i2d_X509(cert, &p) != len) {
        r = -EBADMSG;
        goto finish;
    }
    r = pin_from_der(der, (size_t)len, ret_pin);
finish:
    free(der);
    X509_free(cert);
    return r;
}

static void peer_address(struct lws *wsi, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(out, outsz, "%s:%d", host, port);
}

/* ---- protocol events ---- */

static int on_established(struct devcloud *dc, struct lws *wsi, struct session *session)
{
    struct conn *conn;
    char reason[CLOSE_REASON_MAX + 1];
    int r;

    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        return -1;
    }
    conn->dc = dc;
    conn->wsi = wsi;
    wsout_init(&conn->out, LWS_PRE, QUEUE_MAX, SIZE_MAX);
    peer_address(wsi, conn->peer, sizeof(conn->peer));
    conn->next = dc->conns;
    if (dc->conns) {
        dc->conns->prev = conn;
    }
    dc->conns = conn;
    session->conn = conn;

    r = peer_fingerprint(wsi, conn->fingerprint);
    if (r < 0) {
        log_warning("refused a device from %s: no usable client certificate (%s)", conn->peer,
                    strerror(-r));
        dc->stats.refused++;
        conn_close(conn, PROTO_CLOSE_UNREGISTERED, "device not registered: no certificate");
        return 0;
    }
    if (!device_registered(dc, conn->fingerprint)) {
        log_warning("refused device %s from %s (not in registry %s)", conn->fingerprint, conn->peer,
                    dc->registry_path);
        dc->stats.refused++;
        snprintf(reason, sizeof(reason), "device not registered: %s", conn->fingerprint);
        conn_close(conn, PROTO_CLOSE_UNREGISTERED, reason);
        return 0;
    }
    dc->stats.connections++;
    conn->number = dc->stats.connections;
    log_info("device %s connected from %s", conn->fingerprint, conn->peer);
    return 0;
}

static void on_start(struct conn *conn, const struct proto_msg *msg)
{
    char buf[LOG_TEXT_MAX + 4];
    int r;

    if (conn->state != REQ_NONE) {
        log_info("%s: request %u abandoned by a new start", conn->peer, conn->id);
        conn_reset_request(conn);
    }
    if (conn->have_last_id && msg->id <= conn->last_id) {
        log_warning("%s: start %u after %u: request ids must increase", conn->peer, msg->id,
                    conn->last_id);
        conn_send_error(conn, msg->id, "bad_message", "request ids must increase");
        return;
    }
    conn->have_last_id = true;
    conn->last_id = msg->id;
    conn->pcm = malloc(PCM_CAP * sizeof(*conn->pcm));
    r = conn->pcm ? audio_opus_decoder_new(&conn->decoder) : -ENOMEM;
    if (r < 0) {
        log_error("%s: request %u: cannot start: %s", conn->peer, msg->id, strerror(-r));
        conn_send_error(conn, msg->id, "internal", "the server cannot take a request now");
        conn_reset_request(conn);
        return;
    }
    conn->state = REQ_COLLECTING;
    conn->id = msg->id;
    conn->next_seq = 0;
    conn->frames = 0;
    conn->warned_stray = false;
    conn->requests++;
    log_info("%s: request %u started (phrase \"%s\", score %.2f, pre-roll %u ms)", conn->peer,
             msg->id, printable(msg->phrase, buf), msg->score, msg->preroll_ms);
    misbehave_on_start(conn, msg->id);
}

/* The request fails with too_long; the rest of its audio is ignored. */
static void fail_too_long(struct conn *conn)
{
    log_warning("%s: request %u: more than %d frames (30 s) of audio", conn->peer, conn->id,
                PROTO_UPLINK_FRAMES_MAX);
    conn_send_error(conn, conn->id, "too_long", "more than 30 s of audio");
    conn_reset_request(conn);
    conn->state = REQ_FAILED;
}

static void decode_into(struct conn *conn, const uint8_t *packet, size_t len)
{
    ssize_t n;

    if (conn->n_pcm + DECODE_MAX > PCM_CAP) {
        fail_too_long(conn);
        return;
    }
    n = audio_opus_decode(conn->decoder, packet, len, conn->pcm + conn->n_pcm, DECODE_MAX);
    if (n < 0) {
        log_warning("%s: request %u: undecodable audio frame dropped (%s)", conn->peer, conn->id,
                    strerror((int)-n));
        return;
    }
    conn->n_pcm += (size_t)n;
}

static void on_frame(struct conn *conn, const uint8_t *data, size_t len)
{
    struct devcloud *dc = conn->dc;
    struct proto_frame f;

    if (proto_frame_parse(data, len, &f) < 0) {
        log_warning("%s: malformed audio frame (%zu bytes) dropped", conn->peer, len);
        return;
    }
    if (f.kind != PROTO_FRAME_UPLINK) {
        log_warning("%s: downlink frame from a client dropped", conn->peer);
        return;
    }
    dc->stats.audio_frames++;
    dc->stats.audio_bytes += f.opus_len;
    if (conn->state == REQ_FAILED && f.id == conn->id) {
        return;
    }
    if (conn->state != REQ_COLLECTING || f.id != conn->id) {
        if (!conn->warned_stray) {
            log_warning("%s: audio for request %u, which is not in flight, dropped", conn->peer,
                        f.id);
            conn->warned_stray = true;
        }
        return;
    }
    if (f.seq < conn->next_seq) {
        log_warning("%s: request %u: frame %u again (expected %u), dropped", conn->peer, f.id,
                    f.seq, conn->next_seq);
        return;
    }
    if (f.seq > conn->next_seq) {
        uint32_t gap = f.seq - conn->next_seq;

        log_warning("%s: request %u: %u frame(s) missing before %u", conn->peer, f.id, gap, f.seq);
        for (uint32_t i = 0; i < gap && i < GAP_CONCEAL_MAX && conn->state == REQ_COLLECTING; i++) {
            decode_into(conn, NULL, 0);
        }
    }
    if (conn->state != REQ_COLLECTING) {
        return;
    }
    if (conn->frames >= PROTO_UPLINK_FRAMES_MAX) {
        fail_too_long(conn);
        return;
    }
    conn->frames++;
    conn->next_seq = f.seq + 1;
    decode_into(conn, f.opus, f.opus_len);
}

static void on_end(struct conn *conn, const struct proto_msg *msg)
{
    struct devcloud *dc = conn->dc;
    char buf[LOG_TEXT_MAX + 4];
    struct job *job;

    if (conn->state == REQ_FAILED && msg->id == conn->id) {
        conn->state = REQ_NONE; /* finished by its error already */
        return;
    }
    if (conn->state != REQ_COLLECTING || msg->id != conn->id) {
        log_warning("%s: end for request %u, which is not in flight; ignored", conn->peer, msg->id);
        return;
    }
    if (msg->frames != conn->frames) {
        log_warning("%s: request %u: the client sent %u frames, %u arrived", conn->peer, msg->id,
                    msg->frames, conn->frames);
    }
    job = calloc(1, sizeof(*job));
    if (!job) {
        conn_send_error(conn, conn->id, "internal", "out of memory");
        conn_reset_request(conn);
        return;
    }
    job->conn = conn;
    job->id = conn->id;
    job->pcm = conn->pcm;
    job->n_pcm = conn->n_pcm;
    conn->pcm = NULL;
    conn->n_pcm = 0;
    /* job->pcm has room for PCM_CAP samples; only the n_pcm written are
     * wiped when it is freed. */
    audio_opus_decoder_free(conn->decoder);
    conn->decoder = NULL;
    conn->job = job;
    conn->state = REQ_PROCESSING;
    dc->stats.utterances++;
    log_info("%s: request %u ended (%s): %.2f s of audio in %u frames", conn->peer, conn->id,
             printable(msg->reason, buf), (double)job->n_pcm / 16000.0, conn->frames);
    if (dc->opt.save_uplink) {
        save_uplink(conn, job->id, job->pcm, job->n_pcm);
    }

    pthread_mutex_lock(&dc->lock);
    if (dc->todo_tail) {
        dc->todo_tail->next = job;
    } else {
        dc->todo_head = job;
    }
    dc->todo_tail = job;
    pthread_cond_signal(&dc->cond);
    pthread_mutex_unlock(&dc->lock);
}

static void on_cancel(struct conn *conn, const struct proto_msg *msg)
{
    char buf[LOG_TEXT_MAX + 4];

    if (conn->state == REQ_NONE || msg->id != conn->id) {
        log_info("%s: cancel for request %u, which is not in flight; ignored", conn->peer, msg->id);
        return;
    }
    log_info("%s: request %u cancelled (%s)", conn->peer, msg->id, printable(msg->reason, buf));
    conn_reset_request(conn);
}

/* An order mode's messages instead of the answer's transcript, intent and
 * response (before: true), or after its response_end (before: false).
 * False when the request ends here (error-text). */
static bool misbehave_answer(struct conn *conn, const struct job *job,
                             const struct intent_result *in, const struct proto_slot *slots,
                             bool before)
{
    const struct proto_slot secret_slots[] = {
        {.name = "recipient", .value = "jane at example dot com"},
        {.name = "code", .value = "four nine two seven"},
    };
    bool audio = job->packets.n > 0;
    uint32_t id = job->id;

    switch (conn->answer_misbehave) {
    case MISBEHAVE_INTENT_FIRST:
        conn_send(conn, proto_build_intent(id, "unknown", NULL, 0, false));
        conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
        conn_send(conn, proto_build_response(id, "Sorry, I cannot help with that.", audio));
        return true;
    case MISBEHAVE_LATE_TRANSCRIPT:
        conn_send(conn, proto_build_transcript(id, job->transcript));
        conn_send(conn, proto_build_intent(id, in->name, slots, in->n_slots, in->sensitive));
        conn_send(conn, proto_build_response(id, in->response, audio));
        conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
        return true;
    case MISBEHAVE_SECOND_INTENT:
        conn_send(conn, proto_build_transcript(id, "what is on account four nine two seven"));
        conn_send(conn, proto_build_intent(id, "unknown", NULL, 0, false));
        conn_send(conn, proto_build_intent(id, "banking.balance", NULL, 0, true));
        conn_send(conn, proto_build_response(id, "Account four nine two seven holds twelve pounds.",
                                             audio));
        return true;
    case MISBEHAVE_AFTER_END:
        if (before) {
            conn->answer_mode_after = true;
            conn_send(conn, proto_build_transcript(id, job->transcript));
            conn_send(conn, proto_build_intent(id, in->name, slots, in->n_slots, in->sensitive));
            conn_send(conn, proto_build_response(id, in->response, audio));
        } else {
            conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
            conn_send(conn, proto_build_response(id, SECRET_WORDS, false));
        }
        return true;
    case MISBEHAVE_ERROR_TEXT:
        conn_send(conn, proto_build_transcript(id, "what is my balance"));
        conn_send(conn, proto_build_intent(id, "banking.balance", NULL, 0, true));
        conn_send_error(conn, id, "locked", SECRET_ERROR);
        return false;
    case MISBEHAVE_SECRET_SLOTS:
        conn_send(conn, proto_build_transcript(id, "send the email and the code"));
        conn_send(conn, proto_build_intent(id, "email.send", secret_slots,
                                           sizeof(secret_slots) / sizeof(secret_slots[0]), false));
        conn_send(conn, proto_build_response(id, "The e-mail is on its way.", audio));
        return true;
    case MISBEHAVE_OVERSIZED:
    case MISBEHAVE_BAD_JSON:
    case MISBEHAVE_UNKNOWN_TYPE:
    case MISBEHAVE_AUDIO_BEFORE_START:
    case MISBEHAVE_WRONG_TYPES:
        break;
    }
    return true;
}

/* Sends the worker's answer: transcript, intent, response, speech, end. */
static void deliver(struct conn *conn, struct job *job)
{
    struct proto_slot slots[INTENT_SLOTS_MAX];
    const struct intent_result *in = &job->intent;
    uint8_t frame[PROTO_BINARY_MAX];
    uint32_t sent = 0;
    double audio_s = (double)job->n_pcm / 16000.0;

    conn->job = NULL;
    conn->state = REQ_NONE;
    if (job->error) {
        log_error("%s: request %u failed: %s", conn->peer, job->id, strerror(-job->error));
        conn_send_error(conn, job->id, "internal", "the server could not process the request");
        return;
    }
    log_info("%s: request %u: recognised in %.2f s (%.2f s per second of audio), intent %s, "
             "%.1f s of speech synthesised in %.2f s",
             conn->peer, job->id, job->asr_s, audio_s > 0 ? job->asr_s / audio_s : 0.0,
             in->sensitive ? "(sensitive, not logged)" : in->name, job->speech_s, job->tts_s);
    /* What was said and answered may be private: only on request (-v). */
    log_debug("%s: request %u: transcript \"%s\"; request \"%s\"; intent %s%s", conn->peer, job->id,
              job->transcript, in->request, in->name, in->sensitive ? " (sensitive)" : "");
    for (size_t i = 0; i < in->n_slots; i++) {
        slots[i] = (struct proto_slot){.name = (char *)in->slots[i].name,
                                       .value = (char *)in->slots[i].value};
        log_debug("%s: request %u: slot %s = \"%s\"", conn->peer, job->id, in->slots[i].name,
                  in->slots[i].value);
    }
    log_debug("%s: request %u: response \"%s\"", conn->peer, job->id, in->response);

    if (conn->answer_mode) {
        conn->answer_mode = false;
        if (!misbehave_answer(conn, job, in, slots, true)) {
            return;
        }
    } else {
        conn_send(conn, proto_build_transcript(job->id, job->transcript));
        conn_send(conn, proto_build_intent(job->id, in->name, slots, in->n_slots, in->sensitive));
        conn_send(conn, proto_build_response(job->id, in->response, job->packets.n > 0));
    }
    for (size_t i = 0; i < job->packets.n; i++) {
        const uint8_t *packet = job->packets.data + job->packets.offsets[i];
        size_t len = job->packets.offsets[i + 1] - job->packets.offsets[i];
        int n = proto_frame_pack(PROTO_FRAME_DOWNLINK, job->id, sent, packet, len, frame,
                                 sizeof(frame));

        if (n < 0 || conn_queue(conn, frame, (size_t)n, true) < 0) {
            break;
        }
        sent++;
    }
    conn_send(conn, proto_build_response_end(job->id, sent));
    if (conn->answer_misbehave == MISBEHAVE_AFTER_END && conn->answer_mode_after) {
        conn->answer_mode_after = false;
        misbehave_answer(conn, job, in, slots, false);
    }
}

static void on_jobs_done(struct devcloud *dc)
{
    struct job *done;

    pthread_mutex_lock(&dc->lock);
    done = dc->done_head;
    dc->done_head = dc->done_tail = NULL;
    pthread_mutex_unlock(&dc->lock);

    while (done) {
        struct job *next = done->next;

        if (done->conn) {
            deliver(done->conn, done);
        }
        job_free(done);
        done = next;
    }
}

static void on_text(struct conn *conn, const char *text, size_t len)
{
    char why[256], buf[LOG_TEXT_MAX + 4];
    struct proto_msg msg = {0};
    int r;

    r = proto_parse(text, len, &msg, why, sizeof(why));
    if (r == -EMSGSIZE) {
        conn_close(conn, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
        return;
    }
    if (!conn->hello) {
        if (r < 0 || msg.type != PROTO_HELLO) {
            log_warning("%s: %s before hello; closing", conn->peer,
                        r < 0 ? "a malformed message" : proto_type_name(msg.type));
            conn_close(conn, PROTO_CLOSE_PROTOCOL, "hello expected first");
        } else if (msg.protocol != PROTO_VERSION) {
            log_warning("%s: protocol version %d not supported; closing", conn->peer, msg.protocol);
            conn_close(conn, PROTO_CLOSE_PROTOCOL, "protocol version not supported (1 is)");
        } else {
            conn->hello = true;
            log_info("%s: hello from %s", conn->peer, printable(msg.client, buf));
            conn_send(conn, proto_build_ready(SERVER_NAME));
            misbehave_after_ready(conn);
            push_update(conn);
        }
        goto finish;
    }
    if (r < 0) {
        log_warning("%s: malformed message ignored: %s", conn->peer, why);
        conn_send_error(conn, -1, "bad_message", why);
        return;
    }
    switch (msg.type) {
    case PROTO_PING:
        conn_send(conn, proto_build_pong(msg.seq));
        break;
    case PROTO_START:
        on_start(conn, &msg);
        break;
    case PROTO_END:
        on_end(conn, &msg);
        break;
    case PROTO_CANCEL:
        on_cancel(conn, &msg);
        break;
    case PROTO_HELLO:
        log_warning("%s: a second hello ignored", conn->peer);
        break;
    case PROTO_UNKNOWN:
        log_info("%s: unknown message type \"%s\" ignored", conn->peer,
                 printable(msg.type_name, buf));
        break;
    default:
        log_warning("%s: server message \"%s\" from a client ignored", conn->peer,
                    proto_type_name(msg.type));
        break;
    }
finish:
    proto_msg_finish(&msg);
}

/* Collects a message's pieces; handles it when complete. */
static void on_receive(struct conn *conn, struct lws *wsi, const void *in, size_t len)
{
    size_t max;

    if (lws_is_first_fragment(wsi)) {
        conn->rx_len = 0;
        conn->rx_binary = lws_frame_is_binary(wsi);
        conn->rx_discard = false;
    }
    if (conn->close_code || conn->rx_discard) {
        return;
    }
    max = conn->rx_binary ? PROTO_BINARY_MAX : PROTO_TEXT_MAX;
    if (len > max - conn->rx_len) {
        log_warning("%s: a %s message longer than %zu bytes; closing", conn->peer,
                    conn->rx_binary ? "binary" : "text", max);
        conn->rx_discard = true;
        conn_close(conn, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
        return;
    }
    memcpy(conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) {
        return;
    }
    if (conn->rx_binary) {
        if (!conn->hello) {
            log_warning("%s: audio before hello; closing", conn->peer);
            conn_close(conn, PROTO_CLOSE_PROTOCOL, "hello expected first");
        } else {
            on_frame(conn, conn->rx, conn->rx_len);
        }
    } else {
        conn->rx[conn->rx_len] = '\0';
        on_text(conn, (const char *)conn->rx, conn->rx_len);
    }
    conn->rx_len = 0;
}

static int on_writeable(struct conn *conn, struct lws *wsi)
{
    struct wsout_msg *m = wsout_pop(&conn->out);

    if (m) {
        int n;

        n = lws_write(wsi, wsout_payload(&conn->out, m), m->len,
                      m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        wsout_msg_free(&conn->out, m);
        if (n < 0) {
            log_warning("%s: write failed; closing", conn->peer);
            return -1;
        }
        if (conn->out.head || conn->close_code) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    if (conn->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)conn->close_code,
                         (unsigned char *)conn->close_reason, strlen(conn->close_reason));
        return -1;
    }
    return 0;
}

static void on_closed(struct devcloud *dc, struct session *session)
{
    struct conn *conn = session->conn;

    if (!conn) {
        return;
    }
    if (conn->close_code != PROTO_CLOSE_UNREGISTERED) {
        log_info("%s: disconnected (%" PRIu64 " request(s))", conn->peer, conn->requests);
    }
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        dc->conns = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    session->conn = NULL;
    conn_free(conn);
}

static bool path_is_assist(struct lws *wsi)
{
    char uri[256];

    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) {
        return false;
    }
    return strcmp(uri, PROTO_PATH) == 0;
}

static int on_assist_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct devcloud *dc = lws_context_user(lws_get_context(wsi));
    struct session *session = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!path_is_assist(wsi)) {
            log_warning("websocket upgrade for a path other than %s refused", PROTO_PATH);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(dc, wsi, session);
    case LWS_CALLBACK_RECEIVE:
        if (session->conn) {
            on_receive(session->conn, wsi, in, len);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return session->conn ? on_writeable(session->conn, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        on_closed(dc, session);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (dc) {
            on_jobs_done(dc);
        }
        return 0;
    default:
        return 0;
    }
}

/* protocols[0]: plain HTTP, and where lws asks about client certificates. */
static int on_http_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION) {
        /* Devices present self-signed certificates, which no CA vouches for:
         * accept any here (the handshake still proves the key is theirs) and
         * decide by the key's fingerprint once the connection is up, where a
         * refusal can be a close code that says why. */
        X509_STORE_CTX_set_error((X509_STORE_CTX *)user, X509_V_OK);
        return 0;
    }
    if (reason == LWS_CALLBACK_ESTABLISHED) {
        return -1; /* a websocket without our subprotocol */
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {.name = "http", .callback = on_http_event},
    {
        .name = PROTO_SUBPROTOCOL,
        .callback = on_assist_event,
        .per_session_data_size = sizeof(struct session),
        .rx_buffer_size = PROTO_TEXT_MAX,
    },
    {0},
};

static void on_lws_log(int level, const char *line)
{
    size_t len = strlen(line);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    log_msg(level == LLL_ERR ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG, "lws: %.*s", (int)len, line);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (signal_ctx) {
        lws_cancel_service(signal_ctx);
    }
}

/* ---- start and stop ---- */

static int write_port_file(const char *path, int port)
{
    char tmp[PATH_MAX];
    FILE *f;
    int n;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    f = fopen(tmp, "we");
    if (!f) {
        return -errno;
    }
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0) {
        return -errno;
    }
    /* Renamed into place, so a test that polls for it never reads half. */
    return rename(tmp, path) < 0 ? -errno : 0;
}

static int write_stats(const char *path, const struct stats *s)
{
    FILE *f = fopen(path, "we");

    if (!f) {
        return -errno;
    }
    fprintf(f,
            "{\"connections\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"utterances\":%" PRIu64
            ",\"audio_frames\":%" PRIu64 ",\"audio_bytes\":%" PRIu64 "}\n",
            s->connections, s->refused, s->utterances, s->audio_frames, s->audio_bytes);
    return fclose(f) != 0 ? -errno : 0;
}

static long peak_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "re");

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

static int load_models(struct devcloud *dc)
{
    char lm[PATH_MAX], err[1024];
    struct asr_params ap = {
        .hmm = HARK_MODEL_DIR,
        .dict = HARK_DICT,
        .decoder_log = dc->opt.verbose >= 2,
    };
    double t0 = now_mono_s();
    int r;

    r = intents_load(dc->opt.intents_path, err, sizeof(err), &dc->intents);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("%zu intents from %s", intents_count(dc->intents), dc->opt.intents_path);
    if (dc->opt.asr_lm) {
        snprintf(lm, sizeof(lm), "%s", dc->opt.asr_lm);
    } else if (asr_default_lm(HARK_MODEL_DIR, lm, sizeof(lm)) < 0) {
        log_error("the model path is too long");
        return -ENAMETOOLONG;
    }
    ap.lm = lm;
    r = asr_new(&ap, err, sizeof(err), &dc->asr);
    if (r < 0) {
        log_error("speech recognition: %s", err);
        return r;
    }
    r = tts_new(err, sizeof(err), &dc->tts);
    if (r < 0) {
        log_error("speech synthesis: %s", err);
        return r;
    }
    log_info("speech recognition (%s) and synthesis (flite, slt) ready in %.1f s", lm,
             now_mono_s() - t0);
    return 0;
}

static int start_worker(struct devcloud *dc)
{
    sigset_t all, old;
    int r;

    /* Signals are for the main thread, whose poll they interrupt. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = -pthread_create(&dc->worker, NULL, worker_main, dc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        log_error("cannot start the worker thread: %s", strerror(-r));
        return r;
    }
    dc->worker_started = true;
    return 0;
}

static void stop_worker(struct devcloud *dc)
{
    struct job *job, *next;
    struct conn *conn;

    if (dc->worker_started) {
        pthread_mutex_lock(&dc->lock);
        dc->stopping = true;
        pthread_cond_signal(&dc->cond);
        pthread_mutex_unlock(&dc->lock);
        pthread_join(dc->worker, NULL);
        dc->worker_started = false;
    }
    /* The jobs go now; the connections (closed later) must not point at them. */
    for (conn = dc->conns; conn; conn = conn->next) {
        conn->job = NULL;
        conn->state = REQ_NONE;
    }
    for (job = dc->todo_head; job; job = next) {
        next = job->next;
        job_free(job);
    }
    for (job = dc->done_head; job; job = next) {
        next = job->next;
        job_free(job);
    }
    dc->todo_head = dc->todo_tail = dc->done_head = dc->done_tail = NULL;
}

static int create_context(struct devcloud *dc, const char *key_path, const char *cert_path,
                          int *ret_port)
{
    struct lws_context_creation_info info = {0};
    struct lws_vhost *vhost;
    int port;

    info.port = dc->opt.port;
    info.iface = dc->opt.listen;
    info.protocols = protocols;
    info.user = dc;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                   LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr(dc->opt.listen, ':')) {
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
    }
    info.ssl_cert_filepath = cert_path;
    info.ssl_private_key_filepath = key_path;
    info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    info.server_string = SERVER_NAME;
    dc->ctx = lws_create_context(&info);
    if (!dc->ctx) {
        log_error("cannot listen on %s:%d (see the lws lines above)", dc->opt.listen, dc->opt.port);
        return -EADDRNOTAVAIL;
    }
    vhost = lws_get_vhost_by_name(dc->ctx, "default");
    port = vhost ? lws_get_vhost_listen_port(vhost) : -1;
    if (port <= 0) {
        log_error("cannot listen on %s:%d (see the lws lines above)", dc->opt.listen, dc->opt.port);
        return -EADDRNOTAVAIL;
    }
    *ret_port = port;
    return 0;
}

/* The testing aids say so at start: neither belongs on a real server. */
static int check_testing_aids(struct devcloud *dc)
{
    const char *dir = dc->opt.save_uplink;
    struct stat st;

    if (dc->opt.n_misbehave > 0) {
        log_warning("--misbehave %s: will send malformed messages on purpose (a testing aid)",
                    dc->opt.misbehave_list);
    }
    if (!dir) {
        return 0;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;

        log_error("--save-uplink %s: %s", dir, strerror(e));
        return -e;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_error("--save-uplink %s: not a directory", dir);
        return -ENOTDIR;
    }
    log_warning("--save-uplink: writing the audio devices send to %s (private speech; a testing "
                "aid)",
                dir);
    return 0;
}

static int run_server(struct devcloud *dc)
{
    char key_path[PATH_MAX], cert_path[PATH_MAX], err[1024], pin[PIN_STRING_MAX];
    struct sigaction sa = {.sa_handler = on_signal};
    bool created = false;
    int port = 0, r;

    /* Early, so that a stop during the model loading still writes the stats. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    r = check_testing_aids(dc);
    if (r < 0) {
        return r;
    }
    r = load_update(dc);
    if (r < 0) {
        return r;
    }
    /* The rules first: a mistake there is the likeliest, and is reported
     * before anything is written to the state directory. */
    r = load_models(dc);
    if (r < 0) {
        return r;
    }
    r = servercert_ensure(dc->opt.state_dir, key_path, cert_path, &created, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    r = pin_from_file(cert_path, pin, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    if (created) {
        log_info("made a new key and certificate in %s", dc->opt.state_dir);
    }
    r = create_context(dc, key_path, cert_path, &port);
    if (r < 0) {
        return r;
    }
    r = start_worker(dc);
    if (r < 0) {
        return r;
    }
    signal_ctx = dc->ctx;

    printf("pin %s\nlistening %s:%d\n", pin, dc->opt.listen, port);
    fflush(stdout);
    if (dc->opt.port_file) {
        r = write_port_file(dc->opt.port_file, port);
        if (r < 0) {
            log_error("%s: %s", dc->opt.port_file, strerror(-r));
            return r;
        }
    }
    log_info("registry %s; waiting for devices", dc->registry_path);
    while (!stop_requested) {
        if (lws_service(dc->ctx, 0) < 0) {
            log_error("the event loop failed");
            return -EIO;
        }
    }
    log_info("stopping");
    return 0;
}

static void devcloud_finish(struct devcloud *dc)
{
    struct conn *conn, *next;

    /* The worker first: it wakes the loop through the context. */
    stop_worker(dc);
    signal_ctx = NULL;
    if (dc->ctx) {
        lws_context_destroy(dc->ctx);
        dc->ctx = NULL;
    }
    for (conn = dc->conns; conn; conn = next) {
        next = conn->next;
        conn_free(conn);
    }
    dc->conns = NULL;
    tts_free(dc->tts);
    asr_free(dc->asr);
    intents_free(dc->intents);
    pthread_mutex_destroy(&dc->lock);
    pthread_cond_destroy(&dc->cond);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hark-devcloud --state DIR [options]\n"
            "       hark-devcloud register --state DIR [--registry FILE] FINGERPRINT\n"
            "\n"
            "The development cloud for hark: protocol v1 over TLS, speech recognition\n"
            "(PocketSphinx), intent rules and speech synthesis (flite).\n"
            "\n"
            "  --state DIR        key, certificate and registry (made on first start)\n"
            "  --listen ADDR      address to listen on (default %s)\n"
            "  --port N           port (default %d; 0: any free port)\n"
            "  --registry FILE    registered device fingerprints (default DIR/%s)\n"
            "  --intents FILE     intent rules (default %s)\n"
            "  --stats FILE       write counters as JSON here on exit\n"
            "  --port-file FILE   write the port here once listening\n"
            "  --asr-lm PATH      PocketSphinx language model (default next to the model)\n"
            "  --push-update FILE send this signed update bundle (hark-sign) to each\n"
            "                     device after ready\n"
            "  -v                 log transcripts and responses (private!); -vv decoder logs\n"
            "\n"
            "Testing aids, never for a real server:\n"
            "  --misbehave LIST   send malformed messages on purpose, each mode once:\n"
            "                     oversized, bad-json, unknown-type, wrong-types (each on\n"
            "                     the next request's start), audio-before-start (after ready);\n"
            "                     intent-first, late-transcript, second-intent, after-end,\n"
            "                     error-text, secret-slots (the next request's answer)\n"
            "  --save-uplink DIR  write each request's decoded audio to\n"
            "                     DIR/uplink-CONNECTION-ID.wav (private!)\n",
            DEFAULT_LISTEN, DEFAULT_PORT, REGISTRY_FILE, DEVCLOUD_INTENTS);
}

enum {
    OPT_STATE = 256,
    OPT_LISTEN,
    OPT_PORT,
    OPT_REGISTRY,
    OPT_INTENTS,
    OPT_STATS,
    OPT_PORT_FILE,
    OPT_ASR_LM,
    OPT_MISBEHAVE,
    OPT_SAVE_UPLINK,
    OPT_PUSH_UPDATE,
};

static const struct option long_options[] = {
    {"state", required_argument, NULL, OPT_STATE},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port", required_argument, NULL, OPT_PORT},
    {"registry", required_argument, NULL, OPT_REGISTRY},
    {"intents", required_argument, NULL, OPT_INTENTS},
    {"stats", required_argument, NULL, OPT_STATS},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"asr-lm", required_argument, NULL, OPT_ASR_LM},
    {"misbehave", required_argument, NULL, OPT_MISBEHAVE},
    {"save-uplink", required_argument, NULL, OPT_SAVE_UPLINK},
    {"push-update", required_argument, NULL, OPT_PUSH_UPDATE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* --misbehave LIST: comma-separated mode names, into opt->misbehave. */
static int parse_misbehave(const char *list, struct options *opt)
{
    const char *p = list;

    opt->misbehave_list = list;
    opt->n_misbehave = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t m = 0;

        for (; m < sizeof(misbehave_names) / sizeof(misbehave_names[0]); m++) {
            if (strlen(misbehave_names[m]) == len && strncmp(p, misbehave_names[m], len) == 0) {
                break;
            }
        }
        if (m == sizeof(misbehave_names) / sizeof(misbehave_names[0])) {
            fprintf(stderr,
                    "hark-devcloud: --misbehave: unknown mode '%.*s' (see --help)\n",
                    (int)(len > 64 ? 64 : len), p);
            return -EINVAL;
        }
        if (opt->n_misbehave == MISBEHAVE_MAX) {
            fprintf(stderr, "hark-devcloud: --misbehave: more than %d modes\n", MISBEHAVE_MAX);
            return -E2BIG;
        }
        opt->misbehave[opt->n_misbehave++] = (enum misbehave_mode)m;
        if (p[len] == '\0') {
            return 0;
        }
        p += len + 1;
    }
}

static int parse_options(int argc, char **argv, struct options *opt)
{
    int c;

    *opt = (struct options){
        .listen = DEFAULT_LISTEN,
        .port = DEFAULT_PORT,
        .intents_path = DEVCLOUD_INTENTS,
    };
    while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
        char *end;
        long v;

        switch (c) {
        case OPT_STATE:
            opt->state_dir = optarg;
            break;
        case OPT_LISTEN:
            opt->listen = optarg;
            break;
        case OPT_PORT:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 0 || v > 65535) {
                fprintf(stderr, "hark-devcloud: --port: '%s' is not a port (0-65535)\n", optarg);
                return -EINVAL;
            }
            opt->port = (int)v;
            break;
        case OPT_REGISTRY:
            opt->registry_path = optarg;
            break;
        case OPT_INTENTS:
            opt->intents_path = optarg;
            break;
        case OPT_STATS:
            opt->stats_path = optarg;
            break;
        case OPT_PORT_FILE:
            opt->port_file = optarg;
            break;
        case OPT_ASR_LM:
            opt->asr_lm = optarg;
            break;
        case OPT_MISBEHAVE:
            if (parse_misbehave(optarg, opt) < 0) {
                return -EINVAL;
            }
            break;
        case OPT_SAVE_UPLINK:
            opt->save_uplink = optarg;
            break;
        case OPT_PUSH_UPDATE:
            opt->push_update = optarg;
            break;
        case 'v':
            opt->verbose++;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (!opt->state_dir) {
        fprintf(stderr, "hark-devcloud: --state DIR is required\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

static int set_registry_path(struct devcloud *dc)
{
    int n;

    if (dc->opt.registry_path) {
        n = snprintf(dc->registry_path, sizeof(dc->registry_path), "%s", dc->opt.registry_path);
    } else {
        n = snprintf(dc->registry_path, sizeof(dc->registry_path), "%s/%s", dc->opt.state_dir,
                     REGISTRY_FILE);
    }
    if (n < 0 || (size_t)n >= sizeof(dc->registry_path)) {
        fprintf(stderr, "hark-devcloud: the registry path is too long\n");
        return -ENAMETOOLONG;
    }
    return 0;
}

/* hark-devcloud register --state DIR FINGERPRINT */
static int cmd_register(struct devcloud *dc, int argc, char **argv)
{
    char err[512];
    int r;

    if (optind + 1 != argc) {
        fprintf(stderr, "hark-devcloud register: one FINGERPRINT expected (hark provision "
                        "prints it)\n");
        return -EINVAL;
    }
    if (mkdir(dc->opt.state_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "hark-devcloud: %s: %s\n", dc->opt.state_dir, strerror(errno));
        return -errno;
    }
    r = registry_append(dc->registry_path, argv[optind], err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "hark-devcloud register: %s\n", err);
        return r;
    }
    printf("%s %s in %s\n", argv[optind], r == 1 ? "was already registered" : "registered",
           dc->registry_path);
    return 0;
}

int main(int argc, char **argv)
{
    struct devcloud dc = {0};
    bool do_register = false;
    long peak;
    int r;

    /* What devices said passes through cJSON: wiped when freed. */
    proto_wipe_json_memory();
    if (argc > 1 && strcmp(argv[1], "register") == 0) {
        do_register = true;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    r = parse_options(argc, argv, &dc.opt);
    if (r < 0) {
        return 2;
    }
    r = set_registry_path(&dc);
    if (r < 0) {
        return 2;
    }
    if (do_register) {
        return cmd_register(&dc, argc, argv) < 0 ? 1 : 0;
    }
    if (optind != argc) {
        fprintf(stderr, "hark-devcloud: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    log_set_program("hark-devcloud");
    log_set_level(dc.opt.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    lws_set_log_level(dc.opt.verbose >= 2 ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : LLL_ERR,
                      on_lws_log);
    pthread_mutex_init(&dc.lock, NULL);
    pthread_cond_init(&dc.cond, NULL);

    r = run_server(&dc);
    devcloud_finish(&dc);
    if (dc.opt.stats_path) {
        int w = write_stats(dc.opt.stats_path, &dc.stats);
        if (w < 0) {
            log_error("%s: %s", dc.opt.stats_path, strerror(-w));
            r = r < 0 ? r : w;
        }
    }
    peak = peak_rss_kib();
    if (r < 0) {
        return 1;
    }
    log_info("%" PRIu64 " connection(s), %" PRIu64 " refused, %" PRIu64 " utterance(s); "
             "peak memory %ld MiB",
             dc.stats.connections, dc.stats.refused, dc.stats.utterances,
             peak > 0 ? peak / 1024 : -1);
    return 0;
}
