/* Tests for the cloud link. Through link-internal.h it reaches the backoff
 * and a connection's state; it links hark-link-test, the library with the
 * test hooks. Servers are started here on 127.0.0.1 with keys made at run
 * time: `openssl s_server` (which prints the application bytes it receives)
 * for pinning and TLS, and a small websocket server on OpenSSL in a thread
 * for the protocol. `test-link fast` runs the quick cases, `test-link slow`
 * the ones that wait for timers (backoff, pings, the dead-link timeout). For
 * debugging: HARK_TEST_ONLY=closes, subprotocol, gate, right, pins, endless,
 * tls11, ciphers or dates runs one case; HARK_TEST_VERBOSE=1 prints every
 * on_down, HARK_TEST_LWS_LOG=1 lws's log. */
#define _GNU_SOURCE /* accept4, pipe2, strcasestr */
#include "link-internal.h"

#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "base-clock.h"
#include "check.h"
#include "openssl-util.h"
#include "testdir.h"

extern char **environ;

/* ---- Helpers ------------------------------------------------------------ */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rbe");
    char *buf = calloc(1, 1 << 20);
    size_t n = 0;

    if (f && buf) {
        n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
    }
    if (f) {
        fclose(f);
    }
    return buf;
}

/* A port nobody listens on, and a socket holding it (bound, not listening:
 * connecting is refused) when hold is non-NULL. */
static int free_port(int *hold)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("free_port");
        exit(1);
    }
    if (hold) {
        *hold = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* ---- openssl s_server --------------------------------------------------- */

struct sserver {
    pid_t pid;
    int stdin_fd; /* held open: s_server stops at EOF on its stdin */
    int port;
    char out[4200]; /* its stdout: the application data it received */
    char err[4200];
};

/* Starts `openssl s_server -quiet` on 127.0.0.1 with cert/key and extra
 * arguments (NULL-terminated), and waits until it accepts. */
static void sserver_start(struct sserver *s, const char *name, const char *cert, const char *key,
                          const char *const *extra)
{
    for (int tries = 0; tries < 5; tries++) {
        char accept[64];
        const char *argv[32];
        size_t n = 0;
        int in[2];
        posix_spawn_file_actions_t fa;

        s->port = free_port(NULL);
        snprintf(accept, sizeof(accept), "127.0.0.1:%d", s->port);
        snprintf(s->out, sizeof(s->out), "%s/%s.out", testdir, name);
        snprintf(s->err, sizeof(s->err), "%s/%s.err", testdir, name);
        argv[n++] = "openssl";
        argv[n++] = "s_server";
        argv[n++] = "-accept";
        argv[n++] = accept;
        argv[n++] = "-cert";
        argv[n++] = cert;
        argv[n++] = "-key";
        argv[n++] = key;
        argv[n++] = "-quiet";
        for (size_t i = 0; extra && extra[i]; i++) {
            argv[n++] = extra[i];
        }
        argv[n] = NULL;

        if (pipe2(in, O_CLOEXEC) < 0) {
            perror("pipe");
            exit(1);
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_addopen(&fa, 1, s->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, s->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (posix_spawnp(&s->pid, "openssl", &fa, NULL, (char *const *)argv, environ) != 0) {
            perror("posix_spawnp openssl");
            exit(1);
        }
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        s->stdin_fd = in[1];

        /* The probe connection is a failed handshake for s_server: it
         * writes to stderr and carries on; stdout stays clean. */
        for (int i = 0; i < 100; i++) {
            if (port_open(s->port)) {
                return;
            }
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
                break; /* exited: the port was taken meanwhile, or bad arguments */
            }
            usleep(20000);
        }
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        close(s->stdin_fd);
    }
    fprintf(stderr, "cannot start openssl s_server (%s)\n", name);
    exit(1);
}

static void sserver_stop(struct sserver *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    close(s->stdin_fd);
}

/* ---- Recording the link's callbacks -------------------------------------- */

struct rec {
    int ready;
    int down;
    int bad;
    int messages;
    int frames;
    int wakes;
    int warnings;
    char warning[REASON_MAX];
    bool wake_on_loop_thread;
    pthread_t loop_thread;
    char reason[REASON_MAX];
    char bad_why[256];
    double down_t[16];
    double next_retry[16];
    enum proto_type last_type;
    char last_text[256];
    uint32_t last_id;
    struct proto_frame frame;
    uint8_t frame_opus[16];
    struct link *link; /* for stats in on_down */
};

static void on_test_ready(void *userdata)
{
    struct rec *r = userdata;

    r->ready++;
}

static void on_test_down(void *userdata, const char *reason)
{
    struct rec *r = userdata;
    struct link_stats st;

    link_get_stats(r->link, &st);
    if (r->down < 16) {
        r->down_t[r->down] = now_mono_s();
        r->next_retry[r->down] = st.next_retry_s;
    }
    r->down++;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    if (getenv("HARK_TEST_VERBOSE")) {
        fprintf(stderr, "on_down: %s (next attempt in %.3f s)\n", reason, st.next_retry_s);
    }
}

static void on_test_message(void *userdata, const struct proto_msg *msg)
{
    struct rec *r = userdata;

    r->messages++;
    r->last_type = msg->type;
    r->last_id = msg->id;
    snprintf(r->last_text, sizeof(r->last_text), "%s", msg->text ? msg->text : "");
}

static void on_test_bad_message(void *userdata, const char *why)
{
    struct rec *r = userdata;

    r->bad++;
    snprintf(r->bad_why, sizeof(r->bad_why), "%s", why);
}

static void on_test_frame(void *userdata, const struct proto_frame *frame)
{
    struct rec *r = userdata;

    r->frames++;
    r->frame = *frame;
    memcpy(r->frame_opus, frame->opus, frame->opus_len < 16 ? frame->opus_len : 16);
    r->frame.opus = NULL;
}

static void on_test_wake(void *userdata)
{
    struct rec *r = userdata;

    r->wakes++;
    r->wake_on_loop_thread = pthread_equal(pthread_self(), r->loop_thread);
}

static void on_test_warning(void *userdata, const char *message)
{
    struct rec *r = userdata;

    r->warnings++;
    snprintf(r->warning, sizeof(r->warning), "%s", message);
}

static const struct link_callbacks test_callbacks = {
    .on_ready = on_test_ready,
    .on_down = on_test_down,
    .on_message = on_test_message,
    .on_bad_message = on_test_bad_message,
    .on_frame = on_test_frame,
    .on_wake = on_test_wake,
    .on_warning = on_test_warning,
};

static char client_crt[4200], client_key[4200];

static struct link *new_link(struct rec *r, const char *url, const char *pin, const char *ca)
{
    const char *pins[1] = {pin};
    struct link_params p = {
        .url = url,
        .pins = pins,
        .n_pins = 1,
        .ca_file = ca,
        .cert_path = client_crt,
        .key_path = client_key,
        .client_name = "hark-test/1",
    };
    char err[512] = "";
    struct link *link = NULL;

    memset(r, 0, sizeof(*r));
    r->loop_thread = pthread_self();
    if (link_new(&p, &test_callbacks, r, err, sizeof(err), &link) < 0) {
        fprintf(stderr, "link_new: %s\n", err);
        exit(1);
    }
    if (getenv("HARK_TEST_LWS_LOG")) {
        lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO, NULL);
    }
    r->link = link;
    return link;
}

/* Services the link until *flag reaches want or timeout_s passes. */
static bool run_until(struct link *link, const int *flag, int want, double timeout_s)
{
    double end = now_mono_s() + timeout_s;

    while (*flag < want && now_mono_s() < end) {
        link_run(link, 50);
    }
    return *flag >= want;
}

static void run_for(struct link *link, double s)
{
    double end = now_mono_s() + s;

    while (now_mono_s() < end) {
        link_run(link, 20);
    }
}

/* Services the link until the file contains needle. */
static bool run_until_file_has(struct link *link, const char *path, const char *needle,
                               double timeout_s)
{
    double end = now_mono_s() + timeout_s;

    while (now_mono_s() < end) {
        link_run(link, 50);
        char *text = read_text(path);
        bool found = text && strstr(text, needle);
        free(text);
        if (found) {
            return true;
        }
    }
    return false;
}

/* A link with pin and ca to s (an s_server the caller started) that is to be
 * refused: services it until it is down, then stops the server. Returns
 * whether the link saw the server's certificate; *ret_out is what the server
 * received (to free). */
static bool link_refused(struct rec *r, struct sserver *s, const char *pin, const char *ca,
                         char **ret_out)
{
    char url[128];

    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", s->port);
    struct link *link = new_link(r, url, pin, ca);
    CHECKF(run_until(link, &r->down, 1, 10.0), "%s: the link did not go down", s->out);
    bool saw_cert = link->seen_pin[0] != '\0';
    link_free(link);
    usleep(200000); /* s_server writes out what it received */
    sserver_stop(s);
    *ret_out = read_text(s->out);
    return saw_cert;
}

/* A link with pin and ca to s that is to send its upgrade request; stops
 * the server once it has. */
static void link_upgrades(struct rec *r, struct sserver *s, const char *pin, const char *ca)
{
    char url[128];

    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", s->port);
    struct link *link = new_link(r, url, pin, ca);
    CHECKF(run_until_file_has(link, s->out, "GET " PROTO_PATH, 10.0), "%s: no upgrade request",
           s->out);
    link_free(link);
    sserver_stop(s);
}

/* ---- (d) URLs -------------------------------------------------------------- */

static void test_parse_url(void)
{
    char host[LINK_HOST_MAX], err[512];
    const char *path = NULL;
    int port = 0;

    CHECK(link_parse_url("wss://cloud.example.org", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(strcmp(host, "cloud.example.org") == 0 && port == 443 && strcmp(path, PROTO_PATH) == 0);
    CHECK(link_parse_url("WSS://10.0.0.2:8443/x/y", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(strcmp(host, "10.0.0.2") == 0 && port == 8443 && strcmp(path, "/x/y") == 0);
    CHECK(link_parse_url("wss://h:1/", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(port == 1 && strcmp(path, "/") == 0);
    CHECK(link_parse_url("wss://h:65535", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(port == 65535);
    CHECK(link_parse_url("wss://[::1]:9000/v1/assist", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(strcmp(host, "::1") == 0 && port == 9000);
    CHECK(link_parse_url("wss://[fe80::1]", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(strcmp(host, "fe80::1") == 0 && port == 443);
    CHECK(link_parse_url("wss://::1/v1/assist", host, &port, &path, err, sizeof(err)) == 0);
    CHECK(strcmp(host, "::1") == 0 && port == 443);

    err[0] = '\0';
    CHECK(link_parse_url("ws://cloud.example.org/v1/assist", host, &port, &path, err,
                         sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "ws:// is not allowed: the link must be wss:// (TLS)") != NULL);
    const char *bad[] = {
        "",
        "https://h/",
        "cloud.example.org",
        "wss://",
        "wss:///v1/assist",
        "wss://h:0",
        "wss://h:65536",
        "wss://h:",
        "wss://h:80x",
        "wss://h:-1",
        "wss://h:+80",
        "wss://user:pw@h/",
        "wss://h h/",
        "wss://h/a b",
        "wss://h/a\r\nX-Injected: 1",
        "wss://[::1/",
        "wss://[::1]x/",
        "wss://[nonsense]/",
        "wss://-h/",
        "wss://h?q",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int r = link_parse_url(bad[i], host, &port, &path, err, sizeof(err));
        CHECK(r == -EINVAL && err[0]);
        if (r != -EINVAL) {
            fprintf(stderr, "accepted bad URL '%s'\n", bad[i]);
        }
    }
    CHECK(link_parse_url(NULL, host, &port, &path, err, sizeof(err)) == -EINVAL);
}

/* link_new refuses what can never work, with a message, and calls nothing. */
static void test_link_new_errors(void)
{
    const char *good[1] = {"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
    const char *bad[1] = {"sha256/nope"};
    struct link_params p = {
        .url = "wss://127.0.0.1:9",
        .pins = good,
        .n_pins = 1,
        .cert_path = client_crt,
        .key_path = client_key,
    };
    struct link *link = NULL;
    struct rec r;
    char err[512];

    memset(&r, 0, sizeof(r));
    err[0] = '\0';
    p.url = "ws://127.0.0.1:9";
    CHECK(link_new(&p, &test_callbacks, &r, err, sizeof(err), &link) == -EINVAL && !link);
    CHECK(strstr(err, "wss://") != NULL);
    p.url = "wss://127.0.0.1:9";
    p.n_pins = 0;
    err[0] = '\0';
    CHECK(link_new(&p, &test_callbacks, &r, err, sizeof(err), &link) == -EINVAL && !link);
    CHECK(strstr(err, "pin") != NULL);
    p.n_pins = 1;
    p.pins = bad;
    err[0] = '\0';
    CHECK(link_new(&p, &test_callbacks, &r, err, sizeof(err), &link) == -EINVAL && !link);
    CHECK(strstr(err, "sha256/nope") != NULL);
    p.pins = good;
    char missing[4300];
    snprintf(missing, sizeof(missing), "%s/missing.crt", testdir);
    p.cert_path = missing;
    err[0] = '\0';
    int rc = link_new(&p, &test_callbacks, &r, err, sizeof(err), &link);
    CHECK(rc < 0 && !link && strstr(err, missing) != NULL);
    printf("link_new with a missing certificate: %d: %s\n", rc, err);
    link_free(link);
    link_free(NULL);
    CHECK(r.down == 0 && r.ready == 0);
    CHECK(!link_is_ready(NULL));
}

/* ---- (e) Backoff ------------------------------------------------------------ */

static void test_backoff_function(void)
{
    double base = 0.25;

    for (unsigned a = 0; a < 12; a++) {
        double cap = base < 20.0 ? base : 20.0;
        CHECK(fabs(link_backoff_delay_s(a, 0.0) - cap * 0.5) < 1e-9);
        CHECK(fabs(link_backoff_delay_s(a, 0.5) - cap) < 1e-9);
        CHECK(link_backoff_delay_s(a, 0.999999) < cap * 1.5 &&
              link_backoff_delay_s(a, 0.999999) > cap * 1.49);
        base *= 2;
    }
    CHECK(fabs(link_backoff_delay_s(0, 0.5) - 0.25) < 1e-9);
    CHECK(fabs(link_backoff_delay_s(6, 0.5) - 16.0) < 1e-9);
    CHECK(fabs(link_backoff_delay_s(7, 0.5) - 20.0) < 1e-9);
    CHECK(fabs(link_backoff_delay_s(4000000000u, 0.5) - 20.0) < 1e-9);

    /* The jitter source: in [0, 1), spread out. */
    struct link l = {.rng = 12345};
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < 100000; i++) {
        double u = link_rng_uniform01(&l);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(fabs(sum / 100000 - 0.5) < 0.01 && lo < 0.001 && hi > 0.999);
}

/* Three check_failures in a row against a port that refuses: the delays between
 * them are the backoff's, within the jitter bounds. */
static void test_backoff_live(const char *any_pin)
{
    struct rec r;
    char url[128];
    int hold = -1;
    int port = free_port(&hold);

    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", port);
    struct link *link = new_link(&r, url, any_pin, NULL);
    double t0 = now_mono_s();
    CHECK(run_until(link, &r.down, 4, 10.0));
    CHECK(r.ready == 0);
    CHECK(strstr(r.reason, url + 6) != NULL); /* names host:port */
    printf("backoff (refused port): first failure after %.3f s; reason: %s\n", r.down_t[0] - t0,
           r.reason);
    for (int i = 0; i < 3; i++) {
        double base = 0.25 * (1 << i);
        double gap = r.down_t[i + 1] - r.down_t[i];
        printf("backoff: attempt %d delay %.3f s (drawn %.3f s, bounds %.3f-%.3f s)\n", i + 2, gap,
               r.next_retry[i], base * 0.5, base * 1.5);
        CHECK(r.next_retry[i] >= base * 0.5 && r.next_retry[i] < base * 1.5);
        /* Plus the time to connect and fail, and a loaded machine's latency. */
        CHECK(gap >= r.next_retry[i] - 0.01 && gap < r.next_retry[i] + 0.3);
    }
    struct link_stats st;
    link_get_stats(link, &st);
    CHECK(st.connects == 4 && st.ready == 0);
    link_free(link);
    close(hold);
}

/* ---- (a)(b)(c) Pinning and TLS against openssl s_server --------------------- */

static char server_crt[4200], server_key[4200], server_pin[PIN_STRING_MAX],
    other_pin[PIN_STRING_MAX];

static void test_wrong_pin(int extra_flags, const char *name)
{
    struct sserver s;
    struct rec r;
    char *out;

    sserver_start(&s, name, server_crt, server_key, NULL);
    link_test_extra_ssl_flags = extra_flags;
    bool verify_saw_leaf = link_refused(&r, &s, other_pin, NULL, &out);
    link_test_extra_ssl_flags = 0;
    char *errs = read_text(s.err);
    /* The client aborted the handshake itself (the verify callback, not the
     * later check before the upgrade request, refused the certificate). */
    CHECK(errs && strstr(errs, "alert handshake failure") != NULL);
    free(errs);
    CHECK(strstr(r.reason, "pin mismatch") != NULL);
    CHECK(strstr(r.reason, server_pin) != NULL);
    CHECK(strstr(r.reason, "expected the configured pin") != NULL);
    CHECK(r.ready == 0);
    /* Not one byte of application data reached the server. */
    CHECK(out && out[0] == '\0');
    CHECK(out && !strstr(out, "GET"));
    printf("%s: %s; server received %zu application bytes; verify callback saw the leaf: %s\n",
           name, r.reason, out ? strlen(out) : 0, verify_saw_leaf ? "yes" : "no");
    free(out);
}

/* Were the verify callback never called (a change in lws or OpenSSL), the
 * check before the upgrade request refuses on its own: the TLS handshake
 * completes, and still not one application byte is sent. */
static void test_second_gate(const char *pin, const char *name, const char *expect)
{
    struct sserver s;
    struct rec r;
    char *out;

    sserver_start(&s, name, server_crt, server_key, NULL);
    link_test_skip_verify = true;
    link_refused(&r, &s, pin, NULL, &out);
    link_test_skip_verify = false;
    char *errs = read_text(s.err);
    CHECK(strstr(r.reason, expect) != NULL);
    CHECK(strstr(r.reason, server_pin) != NULL);
    CHECK(out && out[0] == '\0');
    /* This time the handshake itself succeeded: no alert from the client. */
    CHECK(errs && !strstr(errs, "alert handshake failure"));
    printf("%s (verify callback bypassed): %s; server received %zu application bytes\n", name,
           r.reason, out ? strlen(out) : 0);
    free(out);
    free(errs);
}

/* The right pin: the client does send the upgrade request, which proves that
 * the empty output of the wrong-pin case means something. */
static void test_right_pin(void)
{
    static const char *const require_client_cert[] = {"-Verify", "1", NULL};
    struct sserver s;
    struct rec r;
    char url[128];

    sserver_start(&s, "right-pin", server_crt, server_key, require_client_cert);
    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", s.port);
    struct link *link = new_link(&r, url, server_pin, NULL);
    CHECK(run_until_file_has(link, s.out, "\r\n\r\n", 10.0));
    CHECK(strcmp(link->seen_pin, server_pin) == 0 && link->pin_ok);
    link_free(link);
    sserver_stop(&s);

    char *out = read_text(s.out);
    CHECK(out && strncmp(out, "GET " PROTO_PATH " HTTP/1.1\r\n", 24) == 0);
    CHECK(out && strcasestr(out, "\r\nUpgrade: websocket\r\n") != NULL);
    CHECK(out && strcasestr(out, "\r\nSec-WebSocket-Protocol: " PROTO_SUBPROTOCOL "\r\n") != NULL);
    CHECK(out && strstr(out, "\r\nHost: 127.0.0.1:") != NULL);
    if (getenv("HARK_TEST_VERBOSE")) {
        fprintf(stderr, "the upgrade request:\n%s\n", out ? out : "");
    }
    printf("right pin (client certificate required by the server): server received %zu bytes, "
           "starting \"%.*s\"\n",
           out ? strlen(out) : 0, out ? (int)strcspn(out, "\r") : 0, out ? out : "");
    free(out);
}

/* A plain OpenSSL client with the process's defaults: which TLS version does
 * it get from the server on port? (The control for test_old_tls.) */
static const char *default_client_version(int port)
{
    static char version[32];
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SSL *ssl = NULL;

    snprintf(version, sizeof(version), "refused");
    if (ctx && fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) == 1) {
            snprintf(version, sizeof(version), "%s", SSL_get_version(ssl));
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
    }
    ERR_clear_error();
    if (fd >= 0) {
        close(fd);
    }
    SSL_CTX_free(ctx);
    return version;
}

/* A server that offers only TLS 1.1. main() relaxed OpenSSL's defaults for
 * this process (OPENSSL_CONF: MinProtocol TLSv1, SECLEVEL 0), and a plain
 * client does connect with TLS 1.1: so the link's refusal is its own
 * setting, not Debian's system-wide one. */
static void test_old_tls(void)
{
    static const char *const tls11[] = {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", NULL};
    struct sserver s;
    struct rec r;
    char peer[64], *out;

    sserver_start(&s, "tls11", server_crt, server_key, tls11);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", s.port);
    const char *control = default_client_version(s.port);
    CHECK(strcmp(control, "TLSv1.1") == 0);
    printf("TLS 1.1 server: a plain OpenSSL client with this process's defaults gets: %s\n",
           control);
    bool verified = link_refused(&r, &s, server_pin, NULL, &out);
    CHECK(strstr(r.reason, peer) != NULL);
    CHECK(strstr(r.reason, "TLS handshake failed") != NULL);
    CHECK(strstr(r.reason, "protocol version") != NULL);
    CHECK(!strstr(r.reason, "pin"));
    CHECK(!verified); /* refused before any certificate was looked at */
    CHECK(out && out[0] == '\0');
    printf("TLS 1.1 server: %s\n", r.reason);
    free(out);
}

/* With a CA file: chain and address are checked as well as the pin. */
static void test_ca_file(void)
{
    char ca_crt[4200], ca2_crt[4200], leaf_crt[4200], leaf_key[4200], bad_crt[4200];
    char leaf_pin[PIN_STRING_MAX], bad_pin[PIN_STRING_MAX];
    struct sserver s;
    struct rec r;

    snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", testdir);
    snprintf(ca2_crt, sizeof(ca2_crt), "%s/ca2.crt", testdir);
    snprintf(leaf_crt, sizeof(leaf_crt), "%s/leaf.crt", testdir);
    snprintf(leaf_key, sizeof(leaf_key), "%s/leaf.key", testdir);
    snprintf(bad_crt, sizeof(bad_crt), "%s/leaf-dns.crt", testdir);
    if (run_command("cd '%s' && "
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
            "-out ca.crt -days 2 -subj /CN=test-ca 2>/dev/null && "
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca2.key "
            "-out ca2.crt -days 2 -subj /CN=other-ca 2>/dev/null && "
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
            "-out leaf.csr -subj /CN=leaf 2>/dev/null && "
            "printf 'subjectAltName=IP:127.0.0.1' > ip.ext && "
            "printf 'subjectAltName=DNS:cloud.example.org' > dns.ext && "
            "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile ip.ext -out leaf.crt 2>/dev/null && "
            "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile dns.ext -out leaf-dns.crt 2>/dev/null",
            testdir) != 0) {
        check_failures++;
        return;
    }
    openssl_pin(leaf_crt, leaf_pin);
    openssl_pin(bad_crt, bad_pin);
    CHECK(strcmp(leaf_pin, bad_pin) == 0); /* same key, other name */

    /* Pin, chain and IP address all good: the upgrade is sent. */
    sserver_start(&s, "ca-good", leaf_crt, leaf_key, NULL);
    link_upgrades(&r, &s, leaf_pin, ca_crt);
    printf("CA file, good chain and address: upgrade sent\n");

    /* Refused, and not one byte of application data sent: the right pin but
     * a CA that did not sign it; the right pin and CA, but a certificate for
     * another name; chain good, pin wrong (the CA never replaces the pin). */
    const struct {
        const char *name, *what, *crt, *pin, *ca;
        const char *reason, *reason_too; /* what the reason says */
    } cases[] = {
        {"ca-other", "foreign CA", leaf_crt, leaf_pin, ca2_crt, "certificate rejected", NULL},
        {"ca-name", "certificate for another name", bad_crt, leaf_pin, ca_crt,
         "IP address mismatch", NULL},
        {"ca-pin", "good chain, wrong pin", leaf_crt, other_pin, ca_crt, "pin mismatch", leaf_pin},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out;

        sserver_start(&s, cases[i].name, cases[i].crt, leaf_key, NULL);
        link_refused(&r, &s, cases[i].pin, cases[i].ca, &out);
        CHECKF(strstr(r.reason, cases[i].reason) != NULL &&
                   (!cases[i].reason_too || strstr(r.reason, cases[i].reason_too) != NULL),
               "CA file, %s: %s", cases[i].what, r.reason);
        CHECKF(out && out[0] == '\0', "CA file, %s: the server received '%s'", cases[i].what,
               out ? out : "(nothing to read)");
        printf("CA file, %s: %s\n", cases[i].what, r.reason);
        free(out);
    }
}

/* TLS 1.2 with the cipher suites a server picks: only ECDHE with an AEAD
 * cipher is accepted. This process's OpenSSL defaults (main(): SECLEVEL 0)
 * would take CBC and static-RSA suites, so the refusal is the link's own. */
static void test_tls12_ciphers(void)
{
    static const char *const cbc[] = {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", NULL};
    static const char *const aead[] = {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256",
                                       NULL};
    struct sserver s;
    struct rec r;
    char url[128];
    int offered = 0, bad = 0;

    /* An AEAD ECDHE suite: the upgrade is sent. Every TLS 1.2 suite the
     * client would offer is ECDHE and AEAD. */
    sserver_start(&s, "tls12-aead", server_crt, server_key, aead);
    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", s.port);
    struct link *link = new_link(&r, url, server_pin, NULL);
    CHECK(run_until_file_has(link, s.out, "GET " PROTO_PATH, 10.0));
    SSL *ssl = link->wsi ? lws_get_ssl(link->wsi) : NULL;
    CHECK(ssl != NULL);
    if (ssl) {
        const SSL_CIPHER *cur = SSL_get_current_cipher(ssl);
        CHECK(cur && strcmp(SSL_CIPHER_get_name(cur), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        STACK_OF(SSL_CIPHER) *list = SSL_get1_supported_ciphers(ssl);
        for (int i = 0; list && i < sk_SSL_CIPHER_num(list); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
            /* TLS 1.3's suites name no key exchange: it is always ephemeral. */
            if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) {
                continue;
            }
            offered++;
            if (SSL_CIPHER_get_kx_nid(c) != NID_kx_ecdhe || !SSL_CIPHER_is_aead(c)) {
                fprintf(stderr, "TLS 1.2 suite offered: %s\n", SSL_CIPHER_get_name(c));
                bad++;
            }
        }
        sk_SSL_CIPHER_free(list);
    }
    CHECK(offered > 0 && bad == 0);
    link_free(link);
    sserver_stop(&s);
    printf("TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256: upgrade sent; %d TLS 1.2 suites offered, "
           "%d of them without ECDHE or AEAD\n",
           offered, bad);

    /* ECDHE with CBC: a plain client of this process does connect (the
     * control), the link refuses before any certificate is looked at. */
    sserver_start(&s, "tls12-cbc", server_crt, server_key, cbc);
    const char *control = default_client_version(s.port);
    CHECK(strcmp(control, "TLSv1.2") == 0);
    char *out;
    bool verified = link_refused(&r, &s, server_pin, NULL, &out);
    CHECK(strstr(r.reason, "TLS handshake failed") != NULL);
    CHECK(r.ready == 0 && !verified);
    CHECK(out && out[0] == '\0');
    printf("TLS 1.2, ECDHE-ECDSA-AES128-SHA only: a plain client gets %s; the link: %s\n", control,
           r.reason);
    free(out);
}

/* Writes a certificate for the key in key_path valid from now + from_days
 * until now + until_days: self-signed, or signed by ca_crt/ca_key with the
 * address 127.0.0.1 in it. */
static int make_dated_cert(const char *path, const char *key_path, long from_days,
                           long until_days, const char *ca_crt, const char *ca_key)
{
    EVP_PKEY *key = NULL, *signer = NULL;
    X509 *x = X509_new(), *ca = NULL;
    X509_EXTENSION *ext = NULL;
    FILE *f;
    int ok = 0;

    f = fopen(key_path, "re");
    key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f) {
        fclose(f);
    }
    if (ca_crt) {
        f = fopen(ca_crt, "re");
        ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f) {
            fclose(f);
        }
        f = fopen(ca_key, "re");
        signer = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f) {
            fclose(f);
        }
        ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "IP:127.0.0.1");
    } else {
        signer = key;
        EVP_PKEY_up_ref(signer);
    }
    X509_NAME *name = X509_get_subject_name(x);
    if (x && key && signer && (!ca_crt || (ca && ext)) && X509_set_version(x, 2) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) &&
        X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400) &&
        X509_gmtime_adj(X509_getm_notAfter(x), until_days * 86400) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
                                   -1, -1, 0) &&
        X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name) &&
        X509_set_pubkey(x, key) && (!ext || X509_add_ext(x, ext, -1)) &&
        X509_sign(x, signer, EVP_sha256()) > 0) {
        f = fopen(path, "we");
        ok = f && PEM_write_X509(f, x);
        if (f) {
            fclose(f);
        }
    }
    X509_EXTENSION_free(ext);
    X509_free(ca);
    X509_free(x);
    EVP_PKEY_free(signer);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

/* A pinned certificate outside its dates: with pins alone it is accepted
 * (the key is what is trusted) but said, once per connection, with the
 * peer and the dates; with a CA file OpenSSL refuses it. */
static void test_cert_dates(void)
{
    char expired[4200], early[4200], ca_expired[4200], ca_crt[4200], ca_key[4200], peer[64];
    struct sserver s;
    struct rec r;

    snprintf(expired, sizeof(expired), "%s/expired.crt", testdir);
    snprintf(early, sizeof(early), "%s/early.crt", testdir);
    snprintf(ca_expired, sizeof(ca_expired), "%s/ca-expired.crt", testdir);
    snprintf(ca_crt, sizeof(ca_crt), "%s/dates-ca.crt", testdir);
    snprintf(ca_key, sizeof(ca_key), "%s/dates-ca.key", testdir);
    if (run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "-keyout '%s' -out '%s' -days 2 -subj /CN=dates-ca 2>/dev/null",
                    ca_key, ca_crt) != 0 ||
        make_dated_cert(expired, server_key, -30, -1, NULL, NULL) < 0 ||
        make_dated_cert(early, server_key, 1, 30, NULL, NULL) < 0 ||
        make_dated_cert(ca_expired, server_key, -30, -1, ca_crt, ca_key) < 0) {
        fprintf(stderr, "cannot make the dated certificates\n");
        check_failures++;
        return;
    }

    const char *const certs[] = {expired, early};
    const char *const what[] = {"has expired", "is not yet valid"};
    for (size_t i = 0; i < 2; i++) {
        char pin[PIN_STRING_MAX];
        openssl_pin(certs[i], pin);
        CHECK(strcmp(pin, server_pin) == 0); /* the same key */
        sserver_start(&s, i == 0 ? "dates-expired" : "dates-early", certs[i], server_key, NULL);
        snprintf(peer, sizeof(peer), "127.0.0.1:%d", s.port);
        link_upgrades(&r, &s, server_pin, NULL);
        CHECK(r.warnings == 1);
        CHECK(strstr(r.warning, peer) != NULL);
        CHECK(strstr(r.warning, what[i]) != NULL);
        CHECK(strstr(r.warning, "valid from 20") != NULL && strstr(r.warning, " until 20"));
        printf("pin only, a certificate that %s: upgrade sent, %d warning: %s\n", what[i],
               r.warnings, r.warning);
    }

    /* The control: a certificate within its dates gives no warning. */
    sserver_start(&s, "dates-good", server_crt, server_key, NULL);
    link_upgrades(&r, &s, server_pin, NULL);
    CHECK(r.warnings == 0);

    /* With a CA file, an expired certificate is refused, pin or not. */
    sserver_start(&s, "dates-ca", ca_expired, server_key, NULL);
    char *out;
    link_refused(&r, &s, server_pin, ca_crt, &out);
    CHECK(strstr(r.reason, "certificate rejected: certificate has expired") != NULL);
    CHECK(r.ready == 0 && out && out[0] == '\0');
    printf("CA file, an expired certificate: %s\n", r.reason);
    free(out);
}

/* ---- A websocket server for the protocol cases ------------------------------ */

enum script {
    SCRIPT_HAPPY,             /* hello, fragmented ready, messages, frames, pongs */
    SCRIPT_SILENT,            /* hello, ready, then never a word */
    SCRIPT_BIG_FRAGMENTS,     /* a 20000-byte text in 4000-byte fragments */
    SCRIPT_BIG_FRAME,         /* one 17000-byte text frame */
    SCRIPT_UNREGISTERED,      /* close 4003 */
    SCRIPT_ENDLESS,           /* a 10 MB text frame, trickled */
    SCRIPT_NO_SUBPROTOCOL,    /* the upgrade answer names no subprotocol */
    SCRIPT_OTHER_SUBPROTOCOL, /* ... or another one */
};

struct wserver {
    SSL_CTX *ctx;
    int listen_fd;
    int port;
    const enum script *scripts;
    size_t n_scripts;
    pthread_t thread;
    pthread_mutex_t lock;
    /* results, under lock */
    int connections;
    bool got_hello;
    char hello_client[64];
    bool got_start;
    int pings;
    int pongs_sent;
    int texts;
    int client_close_code[8];
    double ready_sent_t;
    double ping_t[8];
    bool done;
};

static int ssl_read_full(SSL *ssl, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        int n = SSL_read(ssl, (unsigned char *)buf + got, (int)(len - got));
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int ssl_write_full(SSL *ssl, const void *buf, size_t len)
{
    return SSL_write(ssl, buf, (int)len) == (int)len ? 0 : -1;
}

static int ws_write(SSL *ssl, int opcode, bool fin, const void *data, size_t len)
{
    unsigned char h[10];
    size_t hl = 2;

    h[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        h[1] = (unsigned char)len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        return -1;
    }
    if (ssl_write_full(ssl, h, hl) < 0) {
        return -1;
    }
    return len ? ssl_write_full(ssl, data, len) : 0;
}

static int ws_write_text(SSL *ssl, const char *text)
{
    return ws_write(ssl, 1, true, text, strlen(text));
}

/* One frame from the client (masked). Returns the payload length, -1 on
 * error. */
static int ws_read(SSL *ssl, int *opcode, unsigned char *buf, size_t cap)
{
    unsigned char h[2], ext[8], mask[4];
    uint64_t len;

    if (ssl_read_full(ssl, h, 2) < 0) {
        return -1;
    }
    *opcode = h[0] & 0x0f;
    len = h[1] & 0x7f;
    if (len == 126) {
        if (ssl_read_full(ssl, ext, 2) < 0) {
            return -1;
        }
        len = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (len == 127) {
        if (ssl_read_full(ssl, ext, 8) < 0) {
            return -1;
        }
        len = 0;
        for (int i = 0; i < 8; i++) {
            len = (len << 8) | ext[i];
        }
    }
    if (!(h[1] & 0x80) || len > cap) {
        return -1; /* clients must mask; and we expect small frames */
    }
    if (ssl_read_full(ssl, mask, 4) < 0 || ssl_read_full(ssl, buf, (size_t)len) < 0) {
        return -1;
    }
    for (uint64_t i = 0; i < len; i++) {
        buf[i] ^= mask[i % 4];
    }
    return (int)len;
}

/* Reads client frames until a text message; answers hark pings with pongs
 * (when pong is set) and records closes. Returns its length, or -1. */
static int ws_read_text(struct wserver *w, SSL *ssl, bool pong, char *buf, size_t cap)
{
    for (;;) {
        int opcode = 0;
        int n = ws_read(ssl, &opcode, (unsigned char *)buf, cap - 1);
        if (n < 0) {
            return -1;
        }
        buf[n] = '\0';
        if (opcode == 8) {
            pthread_mutex_lock(&w->lock);
            int c = w->connections - 1;
            if (c >= 0 && c < 8) {
                w->client_close_code[c] =
                    n >= 2 ? (((unsigned char)buf[0] << 8) | (unsigned char)buf[1]) : 1005;
            }
            pthread_mutex_unlock(&w->lock);
            ws_write(ssl, 8, true, buf, n >= 2 ? 2 : 0);
            return -1;
        }
        if (opcode == 9) {
            ws_write(ssl, 10, true, buf, (size_t)n);
            continue;
        }
        if (opcode != 1) {
            continue;
        }
        struct proto_msg m;
        char err[128];
        if (proto_parse(buf, (size_t)n, &m, err, sizeof(err)) == 0) {
            pthread_mutex_lock(&w->lock);
            w->texts++;
            if (m.type == PROTO_PING) {
                if (w->pings < 8) {
                    w->ping_t[w->pings] = now_mono_s();
                }
                w->pings++;
            }
            if (m.type == PROTO_START) {
                w->got_start = true;
            }
            pthread_mutex_unlock(&w->lock);
            if (m.type == PROTO_PING && pong) {
                char *p = proto_build_pong(m.seq);
                if (p) {
                    ws_write_text(ssl, p);
                    free(p);
                    pthread_mutex_lock(&w->lock);
                    w->pongs_sent++;
                    pthread_mutex_unlock(&w->lock);
                }
                proto_msg_finish(&m);
                continue;
            }
            proto_msg_finish(&m);
        }
        return n;
    }
}

static int ws_handshake(SSL *ssl, enum script script)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char req[8192];
    size_t n = 0;
    char key[128];
    unsigned char sha[SHA_DIGEST_LENGTH];
    unsigned char accept[64];
    char resp[512];

    while (n < sizeof(req) - 1) {
        int k = SSL_read(ssl, req + n, 1);
        if (k <= 0) {
            return -1;
        }
        n++;
        if (n >= 4 && memcmp(req + n - 4, "\r\n\r\n", 4) == 0) {
            break;
        }
    }
    req[n] = '\0';
    const char *k = strcasestr(req, "\r\nSec-WebSocket-Key:");
    if (!k) {
        return -1;
    }
    k += 20;
    while (*k == ' ') {
        k++;
    }
    size_t kl = strcspn(k, "\r");
    if (kl + sizeof(guid) > sizeof(key)) {
        return -1;
    }
    memcpy(key, k, kl);
    memcpy(key + kl, guid, sizeof(guid));
    SHA1((unsigned char *)key, strlen(key), sha);
    EVP_EncodeBlock(accept, sha, SHA_DIGEST_LENGTH);
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s\r\n",
             accept,
             script == SCRIPT_NO_SUBPROTOCOL      ? ""
             : script == SCRIPT_OTHER_SUBPROTOCOL ? "Sec-WebSocket-Protocol: other.v9\r\n"
                                                  : "Sec-WebSocket-Protocol: " PROTO_SUBPROTOCOL
                                                    "\r\n");
    return ssl_write_full(ssl, resp, strlen(resp));
}

static void send_ready(struct wserver *w, SSL *ssl, bool fragmented)
{
    char *ready = proto_build_ready("fake");
    size_t len = strlen(ready);

    if (fragmented) {
        /* Three frames: text (not final), continuation, final continuation. */
        ws_write(ssl, 1, false, ready, 5);
        ws_write(ssl, 0, false, ready + 5, 7);
        ws_write(ssl, 0, true, ready + 12, len - 12);
    } else {
        ws_write_text(ssl, ready);
    }
    pthread_mutex_lock(&w->lock);
    w->ready_sent_t = now_mono_s();
    pthread_mutex_unlock(&w->lock);
    free(ready);
}

static void run_script(struct wserver *w, SSL *ssl, enum script script)
{
    char buf[70000];
    struct proto_msg m;
    char err[128];

    if (ws_read_text(w, ssl, false, buf, sizeof(buf)) < 0) {
        return;
    }
    if (proto_parse(buf, strlen(buf), &m, err, sizeof(err)) == 0) {
        pthread_mutex_lock(&w->lock);
        w->got_hello = m.type == PROTO_HELLO && m.protocol == PROTO_VERSION;
        snprintf(w->hello_client, sizeof(w->hello_client), "%s", m.client ? m.client : "");
        pthread_mutex_unlock(&w->lock);
        proto_msg_finish(&m);
    }

    switch (script) {
    case SCRIPT_HAPPY: {
        send_ready(w, ssl, true);
        char *t = proto_build_transcript(7, "what is the weather");
        ws_write_text(ssl, t);
        free(t);
        ws_write_text(ssl, "{nope");
        ws_write_text(ssl, "{\"type\":\"from_the_future\",\"x\":1}");
        uint8_t frame[32];
        int fl = proto_frame_pack(PROTO_FRAME_DOWNLINK, 7, 0, (const uint8_t *)"opus", 4, frame,
                                  sizeof(frame));
        ws_write(ssl, 2, false, frame, 6);
        ws_write(ssl, 0, true, frame + 6, (size_t)fl - 6);
        ws_write(ssl, 2, true, "\x09", 1); /* a bad frame */
        while (ws_read_text(w, ssl, true, buf, sizeof(buf)) >= 0) {
        }
        break;
    }
    case SCRIPT_SILENT:
        send_ready(w, ssl, false);
        while (ws_read_text(w, ssl, false, buf, sizeof(buf)) >= 0) {
        }
        break;
    case SCRIPT_BIG_FRAGMENTS:
        send_ready(w, ssl, false);
        memset(buf, 'a', 20000);
        for (int i = 0; i < 5; i++) {
            if (ws_write(ssl, i == 0 ? 1 : 0, i == 4, buf, 4000) < 0) {
                break;
            }
        }
        while (ws_read_text(w, ssl, false, buf, sizeof(buf)) >= 0) {
        }
        break;
    case SCRIPT_BIG_FRAME:
        send_ready(w, ssl, false);
        memset(buf, 'a', 17000);
        ws_write(ssl, 1, true, buf, 17000);
        while (ws_read_text(w, ssl, false, buf, sizeof(buf)) >= 0) {
        }
        break;
    case SCRIPT_ENDLESS: {
        send_ready(w, ssl, false);
        unsigned char h[10] = {0x81, 127, 0, 0, 0, 0, 0, 0x98, 0x96, 0x80}; /* 10^7 bytes */
        memset(buf, 'a', 1000);
        if (ssl_write_full(ssl, h, sizeof(h)) < 0) {
            break;
        }
        for (int i = 0; i < 400; i++) {
            if (ssl_write_full(ssl, buf, 1000) < 0) {
                break;
            }
            usleep(50000);
        }
        break;
    }
    case SCRIPT_NO_SUBPROTOCOL:
    case SCRIPT_OTHER_SUBPROTOCOL:
        break;
    case SCRIPT_UNREGISTERED: {
        static const char close4003[] = "\x0f\xa3"
                                        "device sha256/AAAA not registered";
        ws_write(ssl, 8, true, close4003, sizeof(close4003) - 1);
        while (ws_read_text(w, ssl, false, buf, sizeof(buf)) >= 0) {
        }
        break;
    }
    }
}

static void *wserver_main(void *arg)
{
    struct wserver *w = arg;

    for (size_t i = 0; i < w->n_scripts; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            break;
        }
        struct timeval tv = {.tv_sec = 15};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_mutex_lock(&w->lock);
        w->connections++;
        pthread_mutex_unlock(&w->lock);
        SSL *ssl = SSL_new(w->ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1 && ws_handshake(ssl, w->scripts[i]) == 0) {
            run_script(w, ssl, w->scripts[i]);
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
    }
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void wserver_start(struct wserver *w, const enum script *scripts, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->scripts = scripts;
    w->n_scripts = n;
    w->ctx = SSL_CTX_new(TLS_server_method());
    if (!w->ctx || SSL_CTX_use_certificate_file(w->ctx, server_crt, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(w->ctx, server_key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "cannot set up the test websocket server\n");
        exit(1);
    }
    w->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->listen_fd < 0 || bind(w->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(w->listen_fd, (struct sockaddr *)&a, &alen) < 0 ||
        listen(w->listen_fd, 4) < 0) {
        perror("wserver");
        exit(1);
    }
    w->port = ntohs(a.sin_port);
    pthread_create(&w->thread, NULL, wserver_main, w);
}

static void wserver_stop(struct wserver *w)
{
    /* Unblocks accept() if the thread still waits for a connection. */
    shutdown(w->listen_fd, SHUT_RDWR);
    pthread_join(w->thread, NULL);
    close(w->listen_fd);
    SSL_CTX_free(w->ctx);
    pthread_mutex_destroy(&w->lock);
}

/* Starts a wserver with the scripts, and a link to it with its pin. */
static struct link *wserver_link(struct wserver *w, const enum script *scripts, size_t n,
                                 struct rec *r)
{
    char url[128];

    wserver_start(w, scripts, n);
    snprintf(url, sizeof(url), "wss://127.0.0.1:%d", w->port);
    return new_link(r, url, server_pin, NULL);
}

static int wserver_get(struct wserver *w, const int *field)
{
    pthread_mutex_lock(&w->lock);
    int v = *field;
    pthread_mutex_unlock(&w->lock);
    return v;
}

static void *wake_thread(void *arg)
{
    usleep(50000);
    link_wake(arg);
    return NULL;
}

/* hello, a fragmented ready, messages good and bad, a fragmented frame,
 * sending, the queue's bounds, pings answered, and a clean close. */
static void test_protocol_happy(bool with_pings)
{
    static const enum script scripts[] = {SCRIPT_HAPPY};
    struct wserver w;
    struct rec r;

    struct link *link = wserver_link(&w, scripts, 1, &r);
    CHECK(!link_is_ready(link));
    CHECK(link_send_text(link, "{\"type\":\"end\"}") == -ENOTCONN);
    CHECK(run_until(link, &r.ready, 1, 10.0));
    CHECK(link_is_ready(link));
    CHECK(run_until(link, &r.frames, 1, 5.0));
    run_until(link, &r.bad, 2, 2.0);
    CHECK(r.ready == 1 && r.down == 0);
    CHECK(r.messages == 2); /* the transcript, and the unknown type */
    CHECK(r.bad == 2);      /* bad JSON, bad frame: reported, not fatal */
    CHECK(r.frames == 1 && r.frame.kind == PROTO_FRAME_DOWNLINK && r.frame.id == 7 &&
          r.frame.seq == 0 && r.frame.opus_len == 4 && memcmp(r.frame_opus, "opus", 4) == 0);
    CHECK(r.last_type == PROTO_UNKNOWN);
    pthread_mutex_lock(&w.lock);
    CHECK(w.got_hello && strcmp(w.hello_client, "hark-test/1") == 0);
    pthread_mutex_unlock(&w.lock);

    /* link_wake from another thread: on_wake on the loop thread. */
    pthread_t t;
    pthread_create(&t, NULL, wake_thread, link);
    CHECK(run_until(link, &r.wakes, 1, 2.0));
    pthread_join(t, NULL);
    CHECK(r.wake_on_loop_thread);

    char *start = proto_build_start(1, "hey hark", 0.9, 500);
    CHECK(link_send_text(link, start) == 0);
    free(start);
    double end = now_mono_s() + 3.0;
    while (!w.got_start && now_mono_s() < end) {
        link_run(link, 20);
        pthread_mutex_lock(&w.lock);
        pthread_mutex_unlock(&w.lock);
    }
    pthread_mutex_lock(&w.lock);
    CHECK(w.got_start);
    pthread_mutex_unlock(&w.lock);

    /* Bounds: sizes, and a full queue when nothing is written. */
    char *huge = malloc(PROTO_TEXT_MAX + 2);
    memset(huge, ' ', PROTO_TEXT_MAX + 1);
    huge[PROTO_TEXT_MAX + 1] = '\0';
    CHECK(link_send_text(link, huge) == -EMSGSIZE);
    free(huge);
    uint8_t bin[PROTO_OPUS_MAX + 1] = {0};
    CHECK(link_send_audio(link, 1, 0, bin, sizeof(bin)) == -EMSGSIZE);
    CHECK(link_send_audio(link, 1, 0, bin, 0) == -EMSGSIZE);
    int queued = 0;
    int r_full = 0;
    for (int i = 0; i < 300; i++) {
        r_full = link_send_text(link, "{\"type\":\"cancel\",\"id\":1,\"reason\":\"x\"}");
        if (r_full < 0) {
            break;
        }
        queued++;
    }
    CHECK(r_full == -ENOBUFS && queued <= SEND_QUEUE_MAX_ENTRIES && queued > 200);
    run_for(link, 0.5);
    CHECK(link->out.entries == 0);

    if (with_pings) {
        /* Pings every 3 s, answered: the link stays up past 6 s. */
        double t0 = now_mono_s();
        run_for(link, 7.0);
        CHECK(r.down == 0);
        int pings = wserver_get(&w, &w.pings);
        int pongs = wserver_get(&w, &w.pongs_sent);
        CHECK(pings >= 2 && pongs >= 2);
        printf("pings: %d in %.1f s (first at +%.2f s after ready), %d pongs; link stayed up\n",
               pings, now_mono_s() - t0, w.ping_t[0] - w.ready_sent_t, pongs);
        CHECK(w.ping_t[1] - w.ping_t[0] > 2.9 && w.ping_t[1] - w.ping_t[0] < 3.5);
    }

    struct link_stats st;
    link_get_stats(link, &st);
    CHECK(st.connects == 1 && st.ready == 1 && st.bytes_sent > 0 && st.next_retry_s == 0);
    link_free(link);
    wserver_stop(&w);
    CHECK(w.client_close_code[0] == 1000);
    CHECK(r.down == 0); /* link_free reports nothing */
    printf("protocol: hello, fragmented ready, 2 messages, 2 bad reported, 1 frame, start sent, "
           "%d queued before -ENOBUFS, closed with %d\n",
           queued, w.client_close_code[0]);
}

/* A server that does not select hark.v1 is not talked to: not even hello. */
static void test_subprotocol(void)
{
    static const enum script scripts[] = {SCRIPT_NO_SUBPROTOCOL, SCRIPT_OTHER_SUBPROTOCOL};
    struct wserver w;
    struct rec r;

    struct link *link = wserver_link(&w, scripts, 2, &r);
    /* No Sec-WebSocket-Protocol: lws 4.1 accepts that; our check does not. */
    CHECK(run_until(link, &r.down, 1, 10.0));
    CHECK(strstr(r.reason, "did not accept the websocket subprotocol hark.v1") != NULL);
    printf("no subprotocol: %s\n", r.reason);
    /* Another one: lws refuses it itself. */
    CHECK(run_until(link, &r.down, 2, 10.0));
    CHECK(strstr(r.reason, "PROTOCOL") != NULL);
    printf("another subprotocol: %s\n", r.reason);
    CHECK(r.ready == 0);
    link_free(link);
    wserver_stop(&w);
    CHECK(!w.got_hello && w.texts == 0);
}

/* Too big (fragmented, then in one frame): closed with 1009 and reported;
 * then a 4003 close, reported as unregistered with the server's reason. */
static void test_protocol_closes(void)
{
    static const enum script scripts[] = {SCRIPT_BIG_FRAGMENTS, SCRIPT_BIG_FRAME,
                                          SCRIPT_UNREGISTERED};
    struct wserver w;
    struct rec r;
    char reasons[3][REASON_MAX];

    struct link *link = wserver_link(&w, scripts, 3, &r);
    for (int i = 0; i < 3; i++) {
        CHECK(run_until(link, &r.down, i + 1, 10.0));
        snprintf(reasons[i], sizeof(reasons[i]), "%s", r.reason);
        printf("close case %d: %s\n", i + 1, r.reason);
    }
    CHECK(r.ready == 2);
    link_free(link);
    wserver_stop(&w);
    CHECK(strstr(reasons[0], "1009") != NULL && strstr(reasons[0], "16384") != NULL);
    CHECK(strstr(reasons[1], "1009") != NULL);
    CHECK(w.client_close_code[0] == 1009 && w.client_close_code[1] == 1009);
    CHECK(strcmp(reasons[2],
                 "refused: device not registered (device sha256/AAAA not registered)") == 0);
}

/* A frame that never ends: dropped as it comes, and the connection closed
 * without lws hanging. */
static void test_endless_frame(void)
{
    static const enum script scripts[] = {SCRIPT_ENDLESS};
    struct wserver w;
    struct rec r;

    struct link *link = wserver_link(&w, scripts, 1, &r);
    CHECK(run_until(link, &r.ready, 1, 10.0));
    CHECK(run_until(link, &r.down, 1, 12.0));
    CHECK(strstr(r.reason, "over 16384 bytes") != NULL);
    printf("endless frame: down %.2f s after ready: %s\n", r.down_t[0] - w.ready_sent_t, r.reason);
    link_free(link);
    wserver_stop(&w);
}

/* A server that stops answering: noticed 6 s after its last message. */
static void test_dead_link(void)
{
    static const enum script scripts[] = {SCRIPT_SILENT};
    struct wserver w;
    struct rec r;

    struct link *link = wserver_link(&w, scripts, 1, &r);
    CHECK(run_until(link, &r.ready, 1, 10.0));
    CHECK(run_until(link, &r.down, 1, 12.0));
    double noticed = r.down_t[0] - w.ready_sent_t;
    CHECK(strstr(r.reason, "no answer from the server for 6 s") != NULL);
    CHECK(noticed > 5.9 && noticed < 7.5);                      /* doc/protocol.md: within 10 s */
    CHECK(r.next_retry[0] >= 0.125 && r.next_retry[0] < 0.375); /* reset by ready */
    printf("dead link: noticed %.2f s after the server's last message (%d pings unanswered): %s\n",
           noticed, wserver_get(&w, &w.pings), r.reason);
    link_free(link);
    wserver_stop(&w);
}

int main(int argc, char **argv)
{
    bool slow = argc > 1 && strcmp(argv[1], "slow") == 0;

    signal(SIGPIPE, SIG_IGN);
    /* Before anything in this process initialises OpenSSL: defaults that
     * allow TLS 1.0 and 1.1 (Debian's own refuse them), see test_old_tls. */
    char conf[4200];
    FILE *cf;
    setvbuf(stdout, NULL, _IOLBF, 0);
    testdir_make("link");
    snprintf(conf, sizeof(conf), "%s/openssl.cnf", testdir);
    cf = fopen(conf, "we");
    if (!cf) {
        perror(conf);
        return 1;
    }
    fputs("openssl_conf = hark_test\n[hark_test]\nssl_conf = hark_test_ssl\n"
          "[hark_test_ssl]\nsystem_default = hark_test_tls\n"
          "[hark_test_tls]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n",
          cf);
    fclose(cf);
    setenv("OPENSSL_CONF", conf, 1);
    snprintf(server_crt, sizeof(server_crt), "%s/server.crt", testdir);
    snprintf(server_key, sizeof(server_key), "%s/server.key", testdir);
    snprintf(client_crt, sizeof(client_crt), "%s/client.crt", testdir);
    snprintf(client_key, sizeof(client_key), "%s/client.key", testdir);
    if (run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '%s' "
            "-out '%s' -days 2 -subj /CN=127.0.0.1 2>/dev/null",
            server_key, server_crt) != 0 ||
        run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '%s' "
            "-out '%s' -days 2 -subj /CN=hark-device-test 2>/dev/null",
            client_key, client_crt) != 0) {
        return 1;
    }
    openssl_pin(server_crt, server_pin);
    openssl_pin(client_crt, other_pin);

    if (getenv("HARK_TEST_ONLY")) {
        const char *only = getenv("HARK_TEST_ONLY");
        if (strcmp(only, "closes") == 0) {
            test_protocol_closes();
        } else if (strcmp(only, "subprotocol") == 0) {
            test_subprotocol();
        } else if (strcmp(only, "gate") == 0) {
            test_second_gate(other_pin, "second-gate-wrong-pin", "pin mismatch");
            test_second_gate(server_pin, "second-gate-unverified", "never verified");
        } else if (strcmp(only, "right") == 0) {
            test_right_pin();
        } else if (strcmp(only, "pins") == 0) {
            test_wrong_pin(0, "wrong-pin");
            test_wrong_pin(LCCSCF_ALLOW_SELFSIGNED, "wrong-pin-allow-selfsigned");
        } else if (strcmp(only, "endless") == 0) {
            test_endless_frame();
        } else if (strcmp(only, "tls11") == 0) {
            test_old_tls();
        } else if (strcmp(only, "ciphers") == 0) {
            test_tls12_ciphers();
        } else if (strcmp(only, "dates") == 0) {
            test_cert_dates();
        }
    } else if (!slow) {
        test_parse_url();
        test_link_new_errors();
        test_backoff_function();
        test_wrong_pin(0, "wrong-pin");
        /* What lws's ALLOW_SELFSIGNED flag would do to the pin check. */
        test_wrong_pin(LCCSCF_ALLOW_SELFSIGNED, "wrong-pin-allow-selfsigned");
        test_second_gate(other_pin, "second-gate-wrong-pin", "pin mismatch");
        test_second_gate(server_pin, "second-gate-unverified", "never verified");
        test_right_pin();
        test_old_tls();
        test_tls12_ciphers();
        test_ca_file();
        test_cert_dates();
        test_protocol_happy(false);
        test_subprotocol();
    } else {
        test_protocol_closes();
        test_backoff_live(server_pin);
        test_protocol_happy(true);
        test_dead_link();
        test_endless_frame();
    }

    testdir_remove();
    return check_status();
}
