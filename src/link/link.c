/* The cloud link: one pinned wss:// connection through libwebsockets (built on
 * OpenSSL), with hello/ready, pings, a bounded send queue and reconnects. */
#include "link-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "pin.h"

#define PING_INTERVAL_US (3 * LWS_US_PER_SEC)
#define DEAD_AFTER_US (6 * LWS_US_PER_SEC)
#define RX_CHUNK 4096
#define FREE_CLOSE_WAIT_US (1 * LWS_US_PER_SEC)
#define LINK_TLS12_CIPHERS                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* In hark-link-test only, see link-internal.h. */
#ifdef LINK_TEST_HOOKS
int link_test_extra_ssl_flags;
bool link_test_skip_verify;
#endif

/* ---- Send queue --------------------------------------------------------- */

static int queue_push(struct link *link, const void *data, size_t len, bool binary)
{
    int r = wsout_push(&link->out, data, len, binary);

    if (r >= 0 && link->wsi) {
        lws_callback_on_writable(link->wsi);
    }
    return r;
}

/* ---- Connection life ---------------------------------------------------- */

static void on_connect_timer(lws_sorted_usec_list_t *sul);

void link_set_reason(struct link *link, const char *fmt, ...)
{
    va_list ap;

    /* The first cause wins: later ones are consequences of it. */
    if (link->reason[0]) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(link->reason, sizeof(link->reason), fmt, ap);
    va_end(ap);
}

static void schedule_connect(struct link *link, double delay_s)
{
    link->stats.next_retry_s = delay_s;
    lws_sul_schedule(link->ctx, 0, &link->sul_connect, on_connect_timer,
                     (lws_usec_t)(delay_s * LWS_US_PER_SEC));
}

/* The receive buffer held the cloud's words: wiped before it goes. */
static void rx_free(struct link *link)
{
    if (link->rx) {
        explicit_bzero(link->rx, PROTO_TEXT_MAX + 1);
        free(link->rx);
    }
    link->rx = NULL;
    link->rx_len = 0;
}

/* The connection attempt is over: clean up, schedule the next attempt after
 * the backoff, and tell the user why. Called once per attempt. */
static void went_down(struct link *link, const char *reason)
{
    if (!link->active) {
        return;
    }
    link->active = false;
    link->established = false;
    link->ready = false;
    link->wsi = NULL;
    lws_sul_cancel(&link->sul_ping);
    lws_sul_cancel(&link->sul_dead);
    wsout_finish(&link->out);
    rx_free(link);
    if (link->freeing) {
        return;
    }
    schedule_connect(link, link_backoff_delay_s(link->attempt, link_rng_uniform01(link)));
    if (link->attempt < 64) {
        link->attempt++;
    }
    if (link->cb.on_down) {
        link->cb.on_down(link->userdata, reason);
    }
}

static void connect_now(struct link *link)
{
    struct lws_client_connect_info i;
    struct lws *wsi;

    link->active = true;
    link->established = false;
    link->ready = false;
    link->pin_ok = false;
    link->pin_mismatch = false;
    link->seen_pin[0] = '\0';
    link->cert_error = 0;
    link->tls_alert[0] = '\0';
    link->reason[0] = '\0';
    link->close_code = 0;
    link->close_reason[0] = '\0';
    link->rx_len = 0;
    link->rx_discard = false;
    link->close_1009 = false;
    link->stats.connects++;
    link->stats.next_retry_s = 0;

    memset(&i, 0, sizeof(i));
    i.context = link->ctx;
    i.address = link->host;
    i.port = link->port;
    /* The pin (and, with a CA file, the host name or address) is checked in
     * our verify callback, which sees OpenSSL's own findings as errors. No
     * LCCSCF_ALLOW_* flag: with one, lws answers OpenSSL's error call for a
     * self-signed certificate itself, without asking the callback. OpenSSL
     * 3 happens to ask again for the leaf afterwards (tests/unit/test-link.c
     * shows a wrong pin refused either way), but the pin must not depend on
     * that. */
    i.ssl_connection =
        LCCSCF_USE_SSL | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | link_test_extra_ssl_flags;
    i.path = link->path;
    i.host = link->host_header;
    i.protocol = PROTO_SUBPROTOCOL;
    /* A websocket upgrade is HTTP/1.1; never let ALPN pick h2. */
    i.alpn = "http/1.1";

    wsi = lws_client_connect_via_info(&i);
    if (!wsi) {
        /* It may have been reported already (CLIENT_CONNECTION_ERROR during
         * the call); went_down() ignores a second report. */
        char reason[REASON_MAX];
        snprintf(reason, sizeof(reason), "%s:%d: cannot start connecting", link->host, link->port);
        went_down(link, link->reason[0] ? link->reason : reason);
        return;
    }
    if (link->active) {
        link->wsi = wsi;
    }
}

static void on_connect_timer(lws_sorted_usec_list_t *sul)
{
    struct link *link = lws_container_of(sul, struct link, sul_connect);

    if (!link->freeing && !link->active) {
        connect_now(link);
    }
}

/* Closes the current connection from outside an lws callback. */
static void kill_connection(struct link *link)
{
    if (link->wsi) {
        lws_set_timeout(link->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

static void on_dead_timer(lws_sorted_usec_list_t *sul)
{
    struct link *link = lws_container_of(sul, struct link, sul_dead);

    link_set_reason(link, "no answer from the server for %d s", (int)(DEAD_AFTER_US / LWS_US_PER_SEC));
    kill_connection(link);
}

static void on_ping_timer(lws_sorted_usec_list_t *sul)
{
    struct link *link = lws_container_of(sul, struct link, sul_ping);
    char *json;

    if (!link->established) {
        return;
    }
    json = proto_build_ping(link->ping_seq++);
    if (json) {
        /* A full queue already delays everything; the dead-link timer
         * decides whether the server is still there. */
        (void)queue_push(link, json, strlen(json), false);
        free(json);
    }
    lws_sul_schedule(link->ctx, 0, &link->sul_ping, on_ping_timer, PING_INTERVAL_US);
}

static void heard_from_server(struct link *link)
{
    lws_sul_schedule(link->ctx, 0, &link->sul_dead, on_dead_timer, DEAD_AFTER_US);
}

static void on_run_timer(lws_sorted_usec_list_t *sul)
{
    /* Only there to end the poll wait of link_run(). */
}

/* ---- Receiving ---------------------------------------------------------- */

static void deliver_text(struct link *link, const char *text, size_t len)
{
    struct proto_msg msg;
    char why[256];

    why[0] = '\0';
    if (proto_parse(text, len, &msg, why, sizeof(why)) < 0) {
        if (link->cb.on_bad_message) {
            link->cb.on_bad_message(link->userdata, why[0] ? why : "malformed message");
        }
        return;
    }
    switch (msg.type) {
    case PROTO_PONG:
        break;
    case PROTO_READY:
        if (!link->ready) {
            link->ready = true;
            link->attempt = 0;
            link->stats.ready++;
            if (link->cb.on_ready) {
                link->cb.on_ready(link->userdata);
            }
        }
        break;
    default:
        if (link->cb.on_message) {
            link->cb.on_message(link->userdata, &msg);
        }
        break;
    }
    proto_msg_finish(&msg);
}

static void deliver_binary(struct link *link, const uint8_t *data, size_t len)
{
    struct proto_frame frame;

    if (proto_frame_parse(data, len, &frame) < 0) {
        if (link->cb.on_bad_message) {
            link->cb.on_bad_message(link->userdata, "malformed binary frame");
        }
        return;
    }
    if (link->cb.on_frame) {
        link->cb.on_frame(link->userdata, &frame);
    }
}

/* Closes with 1009 once the current frame has been read to its end. lws
 * 4.1 spins forever in lws_service() when a callback closes the connection
 * while the rest of a frame still sits in OpenSSL's buffer, so the rest is
 * read and dropped first. The close itself is left to the writeable
 * callback: when a receive callback returns non-zero, lws 4.1 keeps the fill
 * of its receive buffer, and appends the server's close acknowledgement to
 * it, past the buffer's end when the last piece had filled it (a heap
 * overflow by up to the ack's 125 bytes). Returns 0: go on reading. */
static int close_too_big(struct link *link, struct lws *wsi)
{
    if (lws_remaining_packet_payload(wsi) > 0 || link->close_1009) {
        return 0;
    }
    link->close_1009 = true;
    lws_callback_on_writable(wsi);
    return 0;
}

/* A piece of a message: collected until its final fragment into a buffer
 * bounded by the protocol's limits. Returns 0: a close is never asked for
 * from here (see close_too_big). */
static int on_receive(struct link *link, struct lws *wsi, const void *in, size_t len)
{
    bool binary = lws_frame_is_binary(wsi);
    size_t max = binary ? PROTO_BINARY_MAX : PROTO_TEXT_MAX;

    if (link->rx_discard) {
        /* Not "hearing from the server": a frame that never ends still
         * meets the dead-link timeout. */
        return close_too_big(link, wsi);
    }
    heard_from_server(link);
    if (lws_is_first_fragment(wsi)) {
        link->rx_len = 0;
        link->rx_binary = binary;
    }
    if (!link->rx) {
        link->rx = malloc(PROTO_TEXT_MAX + 1);
        if (!link->rx) {
            link_set_reason(link, "out of memory");
            link->rx_discard = true;
            return close_too_big(link, wsi);
        }
    }
    /* What is still to come of this frame counts too: refuse early. */
    if (link->rx_len + len + lws_remaining_packet_payload(wsi) > max) {
        link_set_reason(link, "the server sent a %s message over %zu bytes (closing with 1009)",
                   link->rx_binary ? "binary" : "text", max);
        link->rx_len = 0;
        link->rx_discard = true;
        return close_too_big(link, wsi);
    }
    memcpy(link->rx + link->rx_len, in, len);
    link->rx_len += len;
    /* libwebsockets' own receive buffer is done with: its copy of the
     * cloud's words goes now, not when the next message overwrites it. */
    explicit_bzero((void *)in, len);
    if (!lws_is_final_fragment(wsi)) {
        return 0;
    }
    link->rx[link->rx_len] = '\0';
    size_t n = link->rx_len;
    link->rx_len = 0;
    if (link->rx_binary) {
        deliver_binary(link, link->rx, n);
    } else {
        deliver_text(link, (const char *)link->rx, n);
    }
    explicit_bzero(link->rx, n + 1);
    return 0;
}

static void on_peer_close(struct link *link, const unsigned char *in, size_t len)
{
    size_t n = 0;

    if (len < 2) {
        return;
    }
    link->close_code = (in[0] << 8) | in[1];
    /* The reason is the server's text: keep it printable and bounded. */
    for (size_t i = 2; i < len && n < CLOSE_REASON_MAX; i++) {
        unsigned char c = in[i];
        link->close_reason[n++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
    }
    link->close_reason[n] = '\0';
}

static void closed_reason(struct link *link, char *out, size_t outsz)
{
    if (link->reason[0]) {
        snprintf(out, outsz, "%s", link->reason);
    } else if (link->close_code == PROTO_CLOSE_UNREGISTERED) {
        snprintf(out, outsz, "refused: device not registered (%s)",
                 link->close_reason[0] ? link->close_reason : "no reason given");
    } else if (link->close_code) {
        snprintf(out, outsz, "closed by the server: %d%s%s", link->close_code,
                 link->close_reason[0] ? " " : "", link->close_reason);
    } else {
        snprintf(out, outsz, "the connection to %s:%d was closed", link->host, link->port);
    }
}

/* ---- The lws callback ------------------------------------------------- */

static int on_writeable(struct link *link, struct lws *wsi)
{
    struct wsout_msg *m;
    int n;

    if (link->close_requested) {
        static const char bye[] = "client going away";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)bye, sizeof(bye) - 1);
        return -1;
    }
    if (link->close_1009) {
        static const char why[] = "message too big";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                         sizeof(why) - 1);
        return -1;
    }
    m = wsout_pop(&link->out);
    if (!m) {
        return 0;
    }
    n = lws_write(wsi, wsout_payload(&link->out, m), m->len,
                  m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    if (n < (int)m->len) {
        link_set_reason(link, "cannot write to %s:%d", link->host, link->port);
        wsout_msg_free(&link->out, m);
        return -1;
    }
    link->stats.bytes_sent += m->len;
    if (m->binary) {
        link->stats.frames_sent++;
        if (link->cb.on_frame_sent) {
            link->cb.on_frame_sent(link->userdata);
        }
    }
    wsout_msg_free(&link->out, m);
    if (link->out.head) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int on_established(struct link *link, struct lws *wsi)
{
    char *hello;

    link->wsi = wsi;
    link->established = true;
    hello = proto_build_hello(link->client_name);
    if (!hello) {
        link_set_reason(link, "out of memory");
        return -1;
    }
    /* Nothing is queued before this (sending needs ready), so hello is the
     * first message on the connection. */
    int r = queue_push(link, hello, strlen(hello), false);
    free(hello);
    if (r < 0) {
        link_set_reason(link, "cannot queue hello");
        return -1;
    }
    heard_from_server(link);
    lws_sul_schedule(link->ctx, 0, &link->sul_ping, on_ping_timer, PING_INTERVAL_US);
    return 0;
}

/* CLIENT_FILTER_PRE_ESTABLISH: the upgrade response is in. A server that did
 * not select our subprotocol speaks something else. */
static int check_subprotocol(struct link *link, struct lws *wsi)
{
    char proto[64] = "";

    if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 ||
        strcmp(proto, PROTO_SUBPROTOCOL) != 0) {
        link_set_reason(link, "%s:%d did not accept the websocket subprotocol %s", link->host,
                   link->port, PROTO_SUBPROTOCOL);
        return -1;
    }
    return 0;
}

static int on_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct link *link = ctx ? lws_context_user(ctx) : NULL;
    char why[REASON_MAX];

    if (!link) {
        return 0;
    }
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        return link_tls_verify(link, (X509_STORE_CTX *)user, (int)len);

    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return link_tls_confirm_pin(link, wsi);

    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        return check_subprotocol(link, wsi);

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        return on_established(link, wsi);

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (link->pin_mismatch) {
            link_pin_mismatch_reason(link, why, sizeof(why));
        } else if (link->cert_error) {
            snprintf(why, sizeof(why), "%s:%d: certificate rejected: %s", link->host, link->port,
                     X509_verify_cert_error_string(link->cert_error));
        } else if (link->reason[0]) {
            snprintf(why, sizeof(why), "%s", link->reason);
        } else if (link->tls_alert[0]) {
            snprintf(why, sizeof(why), "%s:%d: TLS handshake failed: %s", link->host, link->port,
                     link->tls_alert);
        } else {
            /* lws's own words: a TCP failure, or a TLS one without alert. */
            snprintf(why, sizeof(why), "%s:%d: %s", link->host, link->port,
                     in ? (const char *)in : "connection failed");
        }
        went_down(link, why);
        return 0;

    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
        /* The client SSL_CTX, once, at context creation. */
        link_tls_watch_alerts(link, user);
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(link, wsi, in, len);

    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        heard_from_server(link);
        return 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(link, wsi);

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(link, in, len);
        return 0;

    case LWS_CALLBACK_CLIENT_CLOSED:
        closed_reason(link, why, sizeof(why));
        went_down(link, why);
        return 0;

    case LWS_CALLBACK_WSI_DESTROY:
        /* Whatever ended a connection without one of the above. */
        if (link->active && link->wsi == wsi) {
            if (link->reason[0]) {
                snprintf(why, sizeof(why), "%s", link->reason);
            } else {
                snprintf(why, sizeof(why), "the connection to %s:%d failed", link->host,
                         link->port);
            }
            went_down(link, why);
        }
        return 0;

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (!link->freeing && link->cb.on_wake) {
            link->cb.on_wake(link->userdata);
        }
        return 0;

    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {
        .name = PROTO_SUBPROTOCOL,
        .callback = on_lws_callback,
        .per_session_data_size = 0,
        .rx_buffer_size = RX_CHUNK,
    },
    {.name = NULL}, /* the end of the list */
};

/* ---- API ---------------------------------------------------------------- */

int link_new(const struct link_params *params, const struct link_callbacks *callbacks,
             void *userdata, char *err, size_t errsz, struct link **ret_link)
{
    struct lws_context_creation_info info;
    struct link *link = NULL;
    const char *path = NULL;
    int r;

    if (!params || !callbacks || !ret_link) {
        snprintf(err, errsz, "link: missing parameters");
        return -EINVAL;
    }
    link = calloc(1, sizeof(*link));
    if (!link) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    wsout_init(&link->out, LWS_PRE, SEND_QUEUE_MAX_ENTRIES, SEND_QUEUE_MAX_BYTES);
    link->cb = *callbacks;
    link->userdata = userdata;

    r = link_parse_url(params->url, link->host, &link->port, &path, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    snprintf(link->path, sizeof(link->path), "%s", path);
    link->host_is_ip = strchr(link->host, ':') != NULL;
    if (!link->host_is_ip) {
        struct in_addr a4;
        link->host_is_ip = inet_pton(AF_INET, link->host, &a4) == 1;
    }
    if (strchr(link->host, ':')) {
        snprintf(link->host_header, sizeof(link->host_header), "[%s]:%d", link->host, link->port);
    } else if (link->port != 443) {
        snprintf(link->host_header, sizeof(link->host_header), "%s:%d", link->host, link->port);
    } else {
        snprintf(link->host_header, sizeof(link->host_header), "%s", link->host);
    }

    r = link_set_pins(link, params->pins, params->n_pins, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    link->have_ca = params->ca_file && params->ca_file[0];
    snprintf(link->client_name, sizeof(link->client_name), "%s",
             params->client_name ? params->client_name : "hark");
    link_rng_seed(link);

    /* The link reports through its callbacks; lws's own log lines would go
     * to stderr behind the caller's back. */
    lws_set_log_level(0, NULL);

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = link;
    /* Only the CA file, if any, is trusted: never the system store. */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    info.client_ssl_cert_filepath = params->cert_path;
    info.client_ssl_private_key_filepath = params->key_path;
    info.client_ssl_ca_filepath = link->have_ca ? params->ca_file : NULL;
    /* TLS 1.2 or newer (doc/protocol.md), whatever OpenSSL's defaults are;
     * for 1.2 only ECDHE key exchange (forward secrecy) with AEAD ciphers,
     * as the system's or an OPENSSL_CONF's cipher string may allow more.
     * TLS 1.3's suites are all AEAD with ephemeral keys: OpenSSL's.
     * CLEANSE_PLAINTEXT: OpenSSL wipes what it decrypted once it has been
     * read, instead of keeping the cloud's words in its record buffer. */
    info.ssl_client_options_set =
        SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_CLEANSE_PLAINTEXT;
    info.client_ssl_cipher_list = LINK_TLS12_CIPHERS;
    info.fd_limit_per_thread = 16;
    /* lws's bound on each network round trip of connecting (TCP, TLS, the
     * upgrade): a server that takes longer is as good as down. */
    info.timeout_secs = 10;

    link->ctx = lws_create_context(&info);
    if (!link->ctx) {
        snprintf(err, errsz, "cannot set up TLS for the link (device certificate %s, key %s%s%s)",
                 params->cert_path ? params->cert_path : "none",
                 params->key_path ? params->key_path : "none", link->have_ca ? ", CA file " : "",
                 link->have_ca ? params->ca_file : "");
        r = -EIO;
        goto cleanup;
    }

    /* The first attempt starts in link_run(), so that no callback runs
     * before the caller has its struct link. */
    schedule_connect(link, 0);
    *ret_link = link;
    return 0;

cleanup:
    link_free(link);
    return r;
}

void link_free(struct link *link)
{
    if (!link) {
        return;
    }
    if (link->ctx) {
        /* Say goodbye with a close frame, briefly: the server is told, but
         * shutting down never waits on the network for long. */
        if (link->established && link->wsi) {
            lws_usec_t deadline = lws_now_usecs() + FREE_CLOSE_WAIT_US;
            link->close_requested = true;
            lws_callback_on_writable(link->wsi);
            link->freeing = true;
            while (link->active && lws_now_usecs() < deadline) {
                link_run(link, 50);
            }
        }
        link->freeing = true;
        lws_sul_cancel(&link->sul_connect);
        lws_sul_cancel(&link->sul_ping);
        lws_sul_cancel(&link->sul_dead);
        lws_sul_cancel(&link->sul_run);
        lws_context_destroy(link->ctx);
    }
    wsout_finish(&link->out);
    rx_free(link);
    free(link);
}

int link_run(struct link *link, int timeout_ms)
{
    int r;

    if (!link || !link->ctx) {
        return -EINVAL;
    }
    /* lws_service() ignores its timeout and sleeps until the next event or
     * timer: a timer of our own bounds the wait. */
    lws_sul_schedule(link->ctx, 0, &link->sul_run, on_run_timer,
                     (lws_usec_t)(timeout_ms > 0 ? timeout_ms : 0) * LWS_US_PER_MS);
    r = lws_service(link->ctx, 0);
    lws_sul_cancel(&link->sul_run);
    return r < 0 ? -EIO : 0;
}

void link_wake(struct link *link)
{
    if (link && link->ctx) {
        lws_cancel_service(link->ctx);
    }
}

int link_set_pins(struct link *link, const char *const *pins, size_t n_pins, char *err,
                  size_t errsz)
{
    if (n_pins == 0 || !pins) {
        snprintf(err, errsz, "no server pin configured: the link needs at least one");
        return -EINVAL;
    }
    if (n_pins > LINK_MAX_PINS) {
        snprintf(err, errsz, "too many server pins (%zu, at most %d)", n_pins, LINK_MAX_PINS);
        return -EINVAL;
    }
    /* All or nothing: a bad pin leaves the ones in use. */
    for (size_t i = 0; i < n_pins; i++) {
        if (!pin_is_valid(pins[i])) {
            snprintf(err, errsz, "bad server pin '%s': expected sha256/ and 44 base64 characters",
                     pins[i] ? pins[i] : "");
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < n_pins; i++) {
        snprintf(link->pins[i], PIN_STRING_MAX, "%s", pins[i]);
    }
    link->n_pins = n_pins;
    return 0;
}

bool link_is_ready(const struct link *link)
{
    return link && link->ready;
}

int link_send_text(struct link *link, const char *json)
{
    size_t len;

    if (!link || !json) {
        return -EINVAL;
    }
    if (!link->ready) {
        return -ENOTCONN;
    }
    len = strlen(json);
    if (len == 0 || len > PROTO_TEXT_MAX) {
        return -EMSGSIZE;
    }
    return queue_push(link, json, len, false);
}

int link_send_audio(struct link *link, uint32_t id, uint32_t seq, const uint8_t *opus, size_t len)
{
    uint8_t frame[PROTO_BINARY_MAX];
    int n, r;

    if (!link || !opus) {
        return -EINVAL;
    }
    if (!link->ready) {
        return -ENOTCONN;
    }
    if (len == 0 || len > PROTO_OPUS_MAX) {
        return -EMSGSIZE;
    }
    n = proto_frame_pack(PROTO_FRAME_UPLINK, id, seq, opus, len, frame, sizeof(frame));
    if (n < 0) {
        return n;
    }
    r = queue_push(link, frame, (size_t)n, true);
    explicit_bzero(frame, (size_t)n);
    return r;
}

void link_get_stats(const struct link *link, struct link_stats *ret_stats)
{
    if (!link) {
        memset(ret_stats, 0, sizeof(*ret_stats));
        return;
    }
    *ret_stats = link->stats;
}
