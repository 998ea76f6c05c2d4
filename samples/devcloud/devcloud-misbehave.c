/* hark-devcloud's test-only aids: --misbehave (malformed messages and
 * answers in orders that would defeat a policy decided early, each once) and
 * --push-update (a signed update for every device). */
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

const char *const devcloud_misbehave_names[MISBEHAVE_MODES] = {
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
void devcloud_misbehave_after_ready(struct conn *conn)
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
                devcloud_misbehave_names[mode]);
    devcloud_conn_queue(conn, frame, (size_t)n, true);
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
void devcloud_misbehave_on_start(struct conn *conn, uint32_t id)
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
                    devcloud_misbehave_names[mode]);
        conn->answer_mode = true;
        conn->answer_misbehave = mode;
        return;
    }
    if (!text) {
        log_error("%s: request %u: cannot build the %s message: out of memory", conn->peer, id,
                  devcloud_misbehave_names[mode]);
        return;
    }
    log_warning("%s: request %u: misbehaving (%s): a %zu-byte text message", conn->peer, id,
                devcloud_misbehave_names[mode], strlen(text));
    devcloud_conn_queue(conn, text, strlen(text), false);
    if (text != small) {
        free(text);
    }
}

/* ---- --push-update: a signed update for every device ---- */

/* Reads the bundle once; what it holds is the device's to judge (the tests
 * push bad ones on purpose), only its size is the protocol's. */
int devcloud_load_update(struct devcloud *dc)
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

void devcloud_push_update(struct conn *conn)
{
    struct devcloud *dc = conn->dc;

    if (dc->update_len == 0) {
        return;
    }
    log_info("%s: pushing the update bundle (%zu bytes)", conn->peer, dc->update_len);
    devcloud_conn_send(conn, proto_build_update(dc->update, dc->update_len));
}

/* An order mode's messages instead of the answer's transcript, intent and
 * response (before: true), or after its response_end (before: false).
 * False when the request ends here (error-text). */
bool devcloud_misbehave_answer(struct conn *conn, const struct job *job,
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
        devcloud_conn_send(conn, proto_build_intent(id, "unknown", NULL, 0, false));
        devcloud_conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
        devcloud_conn_send(conn,
                           proto_build_response(id, "Sorry, I cannot help with that.", audio));
        return true;
    case MISBEHAVE_LATE_TRANSCRIPT:
        devcloud_conn_send(conn, proto_build_transcript(id, job->transcript));
        devcloud_conn_send(conn,
                           proto_build_intent(id, in->name, slots, in->n_slots, in->sensitive));
        devcloud_conn_send(conn, proto_build_response(id, in->response, audio));
        devcloud_conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
        return true;
    case MISBEHAVE_SECOND_INTENT:
        devcloud_conn_send(conn,
                           proto_build_transcript(id, "what is on account four nine two seven"));
        devcloud_conn_send(conn, proto_build_intent(id, "unknown", NULL, 0, false));
        devcloud_conn_send(conn, proto_build_intent(id, "banking.balance", NULL, 0, true));
        devcloud_conn_send(
            conn,
            proto_build_response(id, "Account four nine two seven holds twelve pounds.", audio));
        return true;
    case MISBEHAVE_AFTER_END:
        if (before) {
            conn->answer_mode_after = true;
            devcloud_conn_send(conn, proto_build_transcript(id, job->transcript));
            devcloud_conn_send(conn,
                               proto_build_intent(id, in->name, slots, in->n_slots, in->sensitive));
            devcloud_conn_send(conn, proto_build_response(id, in->response, audio));
        } else {
            devcloud_conn_send(conn, proto_build_transcript(id, SECRET_WORDS));
            devcloud_conn_send(conn, proto_build_response(id, SECRET_WORDS, false));
        }
        return true;
    case MISBEHAVE_ERROR_TEXT:
        devcloud_conn_send(conn, proto_build_transcript(id, "what is my balance"));
        devcloud_conn_send(conn, proto_build_intent(id, "banking.balance", NULL, 0, true));
        devcloud_conn_send_error(conn, id, "locked", SECRET_ERROR);
        return false;
    case MISBEHAVE_SECRET_SLOTS:
        devcloud_conn_send(conn, proto_build_transcript(id, "send the email and the code"));
        devcloud_conn_send(conn, proto_build_intent(id, "email.send", secret_slots,
                                                    sizeof(secret_slots) / sizeof(secret_slots[0]),
                                                    false));
        devcloud_conn_send(conn, proto_build_response(id, "The e-mail is on its way.", audio));
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
