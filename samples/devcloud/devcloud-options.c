/* hark-devcloud's command line: the usage text and the options. */
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

        for (; m < sizeof(devcloud_misbehave_names) / sizeof(devcloud_misbehave_names[0]); m++) {
            if (strlen(devcloud_misbehave_names[m]) == len &&
                strncmp(p, devcloud_misbehave_names[m], len) == 0) {
                break;
            }
        }
        if (m == sizeof(devcloud_misbehave_names) / sizeof(devcloud_misbehave_names[0])) {
            fprintf(stderr, "hark-devcloud: --misbehave: unknown mode '%.*s' (see --help)\n",
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

int devcloud_parse_options(int argc, char **argv, struct options *opt)
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
