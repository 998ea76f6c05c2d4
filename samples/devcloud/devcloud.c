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

static volatile sig_atomic_t stop_requested;
static struct lws_context *volatile signal_ctx;

/* Peer-provided text, cut and made printable for a log line. */
const char *devcloud_printable(const char *s, char out[LOG_TEXT_MAX + 4])
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

void devcloud_wipe_free(void *p, size_t len)
{
    if (p) {
        explicit_bzero(p, len);
        free(p);
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
        .callback = devcloud_on_assist_event,
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
    r = devcloud_load_update(dc);
    if (r < 0) {
        return r;
    }
    /* The rules first: a mistake there is the likeliest, and is reported
     * before anything is written to the state directory. */
    r = devcloud_load_models(dc);
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
    r = devcloud_start_worker(dc);
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
    devcloud_stop_worker(dc);
    signal_ctx = NULL;
    if (dc->ctx) {
        lws_context_destroy(dc->ctx);
        dc->ctx = NULL;
    }
    for (conn = dc->conns; conn; conn = next) {
        next = conn->next;
        devcloud_conn_free(conn);
    }
    dc->conns = NULL;
    tts_free(dc->tts);
    asr_free(dc->asr);
    intents_free(dc->intents);
    pthread_mutex_destroy(&dc->lock);
    pthread_cond_destroy(&dc->cond);
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
    r = devcloud_parse_options(argc, argv, &dc.opt);
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
