/* The cloud link: one libwebsockets client connection to the assistant cloud
 * (doc/protocol.md), pinned, authenticated by the device certificate, kept
 * alive with pings and re-established with jittered exponential backoff.
 * Owned by one thread, the loop thread: every function except link_wake()
 * must be called from it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

#define LINK_MAX_PINS 8
#define LINK_HOST_MAX 256

struct link;

struct link_params {
    const char *url;              /* wss://HOST[:PORT][/PATH]; PATH default PROTO_PATH */
    const char *const *pins;      /* sha256/<base64>, at least one */
    size_t n_pins;
    const char *ca_file;          /* optional: chain and host-name validation as well */
    const char *cert_path;        /* the device certificate and key (hark provision) */
    const char *key_path;
    const char *client_name;      /* "hark/VERSION", sent in hello */
};

struct link_callbacks {
    /* The server answered hello with ready: requests may start. */
    void (*on_ready)(void *userdata);
    /* A connection attempt failed or a connection ended. reason is one line
     * for a human, e.g. "pin mismatch: server presented sha256/...",
     * "refused: device not registered (sha256/...)", "no pong for 6 s". */
    void (*on_down)(void *userdata, const char *reason);
    /* A server text message other than ready and pong (already parsed). */
    void (*on_message)(void *userdata, const struct proto_msg *msg);
    /* A malformed server text message (logged by the caller, never fatal). */
    void (*on_bad_message)(void *userdata, const char *why);
    /* A downlink audio frame. */
    void (*on_frame)(void *userdata, const struct proto_frame *frame);
    /* Runs on the loop thread soon after link_wake() was called. */
    void (*on_wake)(void *userdata);
    /* Optional: a binary message has just been written to the socket. */
    void (*on_frame_sent)(void *userdata);
    /* Optional: something the user should know about a connection that goes
     * ahead, at most once per connection: a pinned certificate outside its
     * dates. One line naming the peer. */
    void (*on_warning)(void *userdata, const char *message);
};

/* Checks a URL: wss only, a host, a port 1-65535. Writes the parts. */
int link_parse_url(const char *url, char ret_host[LINK_HOST_MAX], int *ret_port,
                   const char **ret_path, char *err, size_t errsz);

/* Creates the libwebsockets context and starts connecting. */
int link_new(const struct link_params *params, const struct link_callbacks *callbacks,
             void *userdata, char *err, size_t errsz, struct link **ret_link);
/* Closes the connection (a close frame when open) and frees. Accepts NULL. */
void link_free(struct link *link);

/* Services the connection for at most timeout_ms (lws_service). */
int link_run(struct link *link, int timeout_ms);
/* Thread-safe: wakes link_run() on the loop thread, which calls on_wake. */
void link_wake(struct link *link);

/* Replaces the server pins (as link_new checks them); the connection that is
 * up keeps going, the next one is checked against these. */
int link_set_pins(struct link *link, const char *const *pins, size_t n_pins, char *err,
                  size_t errsz);

/* Whether ready has been received on the current connection. */
bool link_is_ready(const struct link *link);
/* Queues a text message (JSON), or one Opus packet of request id's uplink
 * as its frame seq (packed here, doc/protocol.md), to be written when the
 * socket is writeable. -ENOTCONN when not ready, -ENOBUFS when the bounded
 * send queue is full (the caller drops the request), -EMSGSIZE when empty
 * or too big. */
int link_send_text(struct link *link, const char *json);
int link_send_audio(struct link *link, uint32_t id, uint32_t seq, const uint8_t *opus, size_t len);

struct link_stats {
    uint64_t connects;       /* attempts */
    uint64_t ready;          /* connections that reached ready */
    uint64_t bytes_sent;     /* websocket payload bytes written */
    uint64_t frames_sent;    /* binary messages written */
    double next_retry_s;     /* delay before the next attempt, 0 when connected */
};
void link_get_stats(const struct link *link, struct link_stats *ret_stats);
