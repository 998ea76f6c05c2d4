/* Fuzz harness for the protocol codec: bytes are refused with a reason, or a
 * message that rebuilt parses back the same; as a frame, they pack back. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "%s: %.200s\n", what, text ? text : "(null)");
    abort();
}

static bool same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static char *rebuild(const struct proto_msg *m)
{
    switch (m->type) {
    case PROTO_HELLO:
        return proto_build_hello(m->client);
    case PROTO_START:
        return proto_build_start(m->id, m->phrase, m->score, m->preroll_ms);
    case PROTO_END:
        return proto_build_end(m->id, m->reason, m->frames);
    case PROTO_CANCEL:
        return proto_build_cancel(m->id, m->reason);
    case PROTO_PING:
        return proto_build_ping(m->seq);
    case PROTO_READY:
        return proto_build_ready(m->server);
    case PROTO_TRANSCRIPT:
        return proto_build_transcript(m->id, m->text);
    case PROTO_INTENT:
        return proto_build_intent(m->id, m->name, m->slots, m->n_slots, m->sensitive);
    case PROTO_RESPONSE:
        return proto_build_response(m->id, m->text, m->audio);
    case PROTO_RESPONSE_END:
        return proto_build_response_end(m->id, m->frames);
    case PROTO_ERROR:
        return proto_build_error(m->has_id ? (int64_t)m->id : -1, m->code, m->message);
    case PROTO_PONG:
        return proto_build_pong(m->seq);
    case PROTO_UPDATE:
        return proto_build_update(m->bundle, m->bundle_len);
    case PROTO_UNKNOWN:
        break;
    }
    return NULL;
}

/* Builders write the protocol version, not the one received, and round the
 * score to four decimals; everything else must come back as it was. */
static bool same_message(const struct proto_msg *a, const struct proto_msg *b)
{
    if (a->type != b->type || a->has_id != b->has_id || (a->has_id && a->id != b->id) ||
        a->preroll_ms != b->preroll_ms || a->frames != b->frames || a->seq != b->seq ||
        a->n_slots != b->n_slots || a->sensitive != b->sensitive || a->audio != b->audio) {
        return false;
    }
    if (!same_string(a->type_name, b->type_name) || !same_string(a->client, b->client) ||
        !same_string(a->server, b->server) || !same_string(a->phrase, b->phrase) ||
        !same_string(a->reason, b->reason) || !same_string(a->text, b->text) ||
        !same_string(a->name, b->name) || !same_string(a->code, b->code) ||
        !same_string(a->message, b->message)) {
        return false;
    }
    for (size_t i = 0; i < a->n_slots; i++) {
        if (!same_string(a->slots[i].name, b->slots[i].name) ||
            !same_string(a->slots[i].value, b->slots[i].value)) {
            return false;
        }
    }
    if (a->bundle_len != b->bundle_len ||
        (a->bundle_len && memcmp(a->bundle, b->bundle, a->bundle_len) != 0)) {
        return false;
    }
    if (fabs(a->score - b->score) > 5.1e-5 + fabs(a->score) * 1e-14) {
        return false;
    }
    return b->type != PROTO_HELLO && b->type != PROTO_READY ? true : b->protocol == PROTO_VERSION;
}

static void check_message(const uint8_t *data, size_t size)
{
    struct proto_msg m, again;
    char err[256] = "";
    char *text;
    int r = proto_parse((const char *)data, size, &m, err, sizeof(err));

    if (r < 0) {
        if ((r != -EBADMSG && r != -EMSGSIZE) || err[0] == '\0') {
            fail("refused without a reason or with an unexpected error", err);
        }
        if ((r == -EMSGSIZE) != (size > PROTO_TEXT_MAX)) {
            fail("-EMSGSIZE for the wrong size", err);
        }
        return;
    }
    if (!m.type_name ||
        (m.type != PROTO_UNKNOWN && strcmp(proto_type_name(m.type), m.type_name) != 0)) {
        fail("type and type_name disagree", m.type_name);
    }
    text = rebuild(&m);
    if (m.type != PROTO_UNKNOWN && !text) {
        fail("an accepted message cannot be built again", m.type_name);
    }
    /* A number written short (1e9) comes back in digits, so a message right
     * at the limit may grow past it; only then is a refusal right. */
    if (text && strlen(text) <= PROTO_TEXT_MAX) {
        r = proto_parse(text, strlen(text), &again, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "rebuilt message refused: %s\n", err);
            fail("rebuilt", text);
        }
        if (!same_message(&m, &again)) {
            fail("rebuilt message differs", text);
        }
        proto_msg_finish(&again);
    }
    free(text);
    proto_msg_finish(&m);
}

static void check_frame(const uint8_t *data, size_t size)
{
    uint8_t out[PROTO_BINARY_MAX];
    struct proto_frame fr;
    int len;

    if (proto_frame_parse(data, size, &fr) < 0) {
        if (size > PROTO_FRAME_HEADER && size <= PROTO_BINARY_MAX &&
            (data[0] == PROTO_FRAME_UPLINK || data[0] == PROTO_FRAME_DOWNLINK)) {
            fail("a well-formed frame refused", NULL);
        }
        return;
    }
    if (fr.opus != data + PROTO_FRAME_HEADER || fr.opus_len + PROTO_FRAME_HEADER != size) {
        fail("frame packet outside the input", NULL);
    }
    len = proto_frame_pack(fr.kind, fr.id, fr.seq, fr.opus, fr.opus_len, out, sizeof(out));
    if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0) {
        fail("frame does not pack back to itself", NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_message(data, size);
    check_frame(data, size);
    return 0;
}
