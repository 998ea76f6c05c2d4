/* A device's connection to hark-devcloud, on the main thread: the send
 * queue, the registry check, the protocol's events (start, audio frames,
 * end, cancel), --save-uplink, and the worker's answer delivered. */
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
#include "devcloud-internal.h"
#include "hark-build.h"
#include "intents.h"
#include "log.h"
#include "pin.h"
#include "protocol.h"
#include "registry.h"
#include "servercert.h"
#include "tts.h"
#include "wsout.h"

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

int devcloud_conn_queue(struct conn *conn, const void *data, size_t len, bool binary)
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
int devcloud_conn_send(struct conn *conn, char *json)
{
    int r;

    if (!json) {
        log_error("%s: cannot build a message: out of memory", conn->peer);
        return -ENOMEM;
    }
    r = devcloud_conn_queue(conn, json, strlen(json), false);
    free(json);
    return r;
}

void devcloud_conn_send_error(struct conn *conn, int64_t id, const char *code, const char *message)
{
    devcloud_conn_send(conn, proto_build_error(id, code, message));
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
    devcloud_wipe_free(conn->pcm, PCM_CAP * sizeof(*conn->pcm));
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

void devcloud_conn_free(struct conn *conn)
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
        devcloud_conn_send_error(conn, msg->id, "bad_message", "request ids must increase");
        return;
    }
    conn->have_last_id = true;
    conn->last_id = msg->id;
    conn->pcm = malloc(PCM_CAP * sizeof(*conn->pcm));
    r = conn->pcm ? audio_opus_decoder_new(&conn->decoder) : -ENOMEM;
    if (r < 0) {
        log_error("%s: request %u: cannot start: %s", conn->peer, msg->id, strerror(-r));
        devcloud_conn_send_error(conn, msg->id, "internal", "the server cannot take a request now");
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
             msg->id, devcloud_printable(msg->phrase, buf), msg->score, msg->preroll_ms);
    devcloud_misbehave_on_start(conn, msg->id);
}

/* The request fails with too_long; the rest of its audio is ignored. */
static void fail_too_long(struct conn *conn)
{
    log_warning("%s: request %u: more than %d frames (30 s) of audio", conn->peer, conn->id,
                PROTO_UPLINK_FRAMES_MAX);
    devcloud_conn_send_error(conn, conn->id, "too_long", "more than 30 s of audio");
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
        devcloud_conn_send_error(conn, conn->id, "internal", "out of memory");
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
             devcloud_printable(msg->reason, buf), (double)job->n_pcm / 16000.0, conn->frames);
    if (dc->opt.save_uplink) {
        save_uplink(conn, job->id, job->pcm, job->n_pcm);
    }

    pthread_mutex_lock(&dc->lock);
    job_list_push(&dc->todo, job);
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
    log_info("%s: request %u cancelled (%s)", conn->peer, msg->id,
             devcloud_printable(msg->reason, buf));
    conn_reset_request(conn);
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
        devcloud_conn_send_error(conn, job->id, "internal",
                                 "the server could not process the request");
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
        if (!devcloud_misbehave_answer(conn, job, in, slots, true)) {
            return;
        }
    } else {
        devcloud_conn_send(conn, proto_build_transcript(job->id, job->transcript));
        devcloud_conn_send(
            conn, proto_build_intent(job->id, in->name, slots, in->n_slots, in->sensitive));
        devcloud_conn_send(conn, proto_build_response(job->id, in->response, job->packets.n > 0));
    }
    for (size_t i = 0; i < job->packets.n; i++) {
        const uint8_t *packet = job->packets.data + job->packets.offsets[i];
        size_t len = job->packets.offsets[i + 1] - job->packets.offsets[i];
        int n = proto_frame_pack(PROTO_FRAME_DOWNLINK, job->id, sent, packet, len, frame,
                                 sizeof(frame));

        if (n < 0 || devcloud_conn_queue(conn, frame, (size_t)n, true) < 0) {
            break;
        }
        sent++;
    }
    devcloud_conn_send(conn, proto_build_response_end(job->id, sent));
    if (conn->answer_misbehave == MISBEHAVE_AFTER_END && conn->answer_mode_after) {
        conn->answer_mode_after = false;
        devcloud_misbehave_answer(conn, job, in, slots, false);
    }
}

static void on_jobs_done(struct devcloud *dc)
{
    struct job *done;

    pthread_mutex_lock(&dc->lock);
    done = dc->done.head;
    dc->done = (struct job_list){0};
    pthread_mutex_unlock(&dc->lock);

    while (done) {
        struct job *next = done->next;

        if (done->conn) {
            deliver(done->conn, done);
        }
        devcloud_job_free(done);
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
            log_info("%s: hello from %s", conn->peer, devcloud_printable(msg.client, buf));
            devcloud_conn_send(conn, proto_build_ready(SERVER_NAME));
            devcloud_misbehave_after_ready(conn);
            devcloud_push_update(conn);
        }
        goto finish;
    }
    if (r < 0) {
        log_warning("%s: malformed message ignored: %s", conn->peer, why);
        devcloud_conn_send_error(conn, -1, "bad_message", why);
        return;
    }
    switch (msg.type) {
    case PROTO_PING:
        devcloud_conn_send(conn, proto_build_pong(msg.seq));
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
                 devcloud_printable(msg.type_name, buf));
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
    devcloud_conn_free(conn);
}

static bool path_is_assist(struct lws *wsi)
{
    char uri[256];

    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) {
        return false;
    }
    return strcmp(uri, PROTO_PATH) == 0;
}

int devcloud_on_assist_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
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
