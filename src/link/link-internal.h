/* The cloud link's inside, shared by its files and by tests/unit/test-link.c (which
 * looks at a connection's pin state and the backoff): the struct behind
 * struct link and the functions that are not part of link.h. Not for any
 * other module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "link.h"
#include "pin.h"
#include "wsout.h"

#define REASON_MAX 512
#define CLOSE_REASON_MAX 124 /* a close frame's payload is at most 125 bytes */
#define CLIENT_NAME_MAX 128
#define PATH_MAX_LEN 1024
/* The send queue's bounds (link_send_*: -ENOBUFS beyond). */
#define SEND_QUEUE_MAX_ENTRIES 256
#define SEND_QUEUE_MAX_BYTES (512 * 1024)

struct link {
    struct lws_context *ctx;
    struct lws *wsi;
    struct link_callbacks cb;
    void *userdata;

    char host[LINK_HOST_MAX];
    char host_header[LINK_HOST_MAX + 16];
    int port;
    char path[PATH_MAX_LEN];
    char client_name[CLIENT_NAME_MAX];
    char pins[LINK_MAX_PINS][PIN_STRING_MAX];
    size_t n_pins;
    bool have_ca;
    bool host_is_ip;

    /* The current connection attempt: set when it starts, cleared once it
     * has been reported down (exactly once). */
    bool active;
    bool established;
    bool ready;
    bool pin_ok; /* the verify callback saw a configured pin at depth 0 */
    bool pin_mismatch;
    char seen_pin[PIN_STRING_MAX];
    int cert_error;          /* X509_V_ERR_* that failed a CA-file check, or 0 */
    char tls_alert[96];      /* the last TLS alert sent or received, for on_down */
    bool close_requested;    /* link_free: send a close frame */
    char reason[REASON_MAX]; /* why we closed it ourselves, for on_down */
    int close_code;          /* from the server's close frame */
    char close_reason[CLOSE_REASON_MAX + 1];

    /* The message being received. */
    unsigned char *rx;
    size_t rx_len;
    bool rx_binary;
    bool rx_discard; /* too big: dropping the rest of the frame, then closing */
    /* Too big, and the frame is read: close with 1009 when writeable. */
    bool close_1009;

    struct wsout out; /* what waits for the socket to be writeable */

    lws_sorted_usec_list_t sul_connect;
    lws_sorted_usec_list_t sul_ping;
    lws_sorted_usec_list_t sul_dead;
    lws_sorted_usec_list_t sul_run;

    uint32_t ping_seq;
    unsigned attempt; /* failures since the last ready: the backoff exponent */
    uint64_t rng;
    struct link_stats stats;
    bool freeing;
};

/* The delay before attempt number attempt+1 after `attempt` failures in a
 * row: 0.25 s doubling to a cap of 20 s, times a factor uniform in
 * [0.5, 1.5) (u in [0, 1)) so that many devices do not retry in step. */
double link_backoff_delay_s(unsigned attempt, double u);
/* The next jitter factor's u in [0, 1) from the link's own generator, and
 * its seed (from getrandom, else the clock). */
double link_rng_uniform01(struct link *link);
void link_rng_seed(struct link *link);

/* Why the connection ends, for on_down: the first cause wins, later ones are
 * its consequences (link.c). */
void link_set_reason(struct link *link, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* link-tls.c. The verify callback's step (LWS_CALLBACK_OPENSSL_PERFORM_
 * SERVER_CERT_VERIFICATION): 0 accepts it. */
int link_tls_verify(struct link *link, X509_STORE_CTX *xctx, int preverify_ok);
/* Before the upgrade request (CLIENT_APPEND_HANDSHAKE_HEADER): the session's
 * certificate carries a configured pin and was verified, else -1 with the
 * reason set. Warns about a pinned certificate outside its dates. */
int link_tls_confirm_pin(struct link *link, struct lws *wsi);
/* Records the TLS alerts of connections made with ctx in link->tls_alert. */
void link_tls_watch_alerts(struct link *link, SSL_CTX *ctx);
/* "pin mismatch: server HOST:PORT presented ..., expected ..." */
void link_pin_mismatch_reason(struct link *link, char *out, size_t outsz);

/* Test-only hooks, compiled into hark-link-test alone (src/link/meson.build),
 * which tests/unit/test-link.c links: LCCSCF_* flags added to every connection
 * and the verify callback bypassed. They show what the flags do to the pin
 * check, and that the check before the upgrade request stops a connection on
 * its own. hark-link, which hark links, has neither. */
#ifdef LINK_TEST_HOOKS
extern int link_test_extra_ssl_flags;
extern bool link_test_skip_verify;
#else
#define link_test_extra_ssl_flags 0
#define link_test_skip_verify false
#endif
