/* The cloud protocol, version 1 (doc/protocol.md): building and parsing its
 * JSON messages and binary audio frames. Shared by hark and hark-devcloud;
 * pure functions, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_SUBPROTOCOL "hark.v1"
#define PROTO_PATH "/v1/assist"
#define PROTO_VERSION 1

#define PROTO_TEXT_MAX 16384   /* bytes in one text message */
#define PROTO_STRING_MAX 4096  /* bytes in one string field */
#define PROTO_FRAME_HEADER 9
#define PROTO_OPUS_MAX 1275
#define PROTO_BINARY_MAX (PROTO_FRAME_HEADER + PROTO_OPUS_MAX)
#define PROTO_UPLINK_FRAMES_MAX 1500
#define PROTO_DOWNLINK_FRAMES_MAX 3000
#define PROTO_SLOTS_MAX 16
/* Bytes of an update bundle (doc/updates.md): its base64 fills one string
 * field. */
#define PROTO_UPDATE_MAX 3072

#define PROTO_CLOSE_PROTOCOL 4001
#define PROTO_CLOSE_UNREGISTERED 4003

enum proto_type {
    PROTO_UNKNOWN = 0,
    /* client to server */
    PROTO_HELLO,
    PROTO_START,
    PROTO_END,
    PROTO_CANCEL,
    PROTO_PING,
    /* server to client */
    PROTO_READY,
    PROTO_TRANSCRIPT,
    PROTO_INTENT,
    PROTO_RESPONSE,
    PROTO_RESPONSE_END,
    PROTO_ERROR,
    PROTO_PONG,
    PROTO_UPDATE,
};

struct proto_slot {
    char *name;
    char *value;
};

/* A parsed text message. Strings are owned by the message (proto_msg_finish
 * frees them); fields a type does not have are zero/NULL. */
struct proto_msg {
    enum proto_type type;
    char *type_name;     /* as received, for logging an unknown type */
    bool has_id;
    uint32_t id;
    int protocol;        /* hello, ready */
    char *client;        /* hello */
    char *server;        /* ready */
    char *phrase;        /* start */
    double score;        /* start */
    unsigned preroll_ms; /* start */
    char *reason;        /* end, cancel */
    uint32_t frames;     /* end, response_end */
    uint32_t seq;        /* ping, pong */
    char *text;          /* transcript, response */
    char *name;          /* intent */
    struct proto_slot slots[PROTO_SLOTS_MAX];
    size_t n_slots;      /* intent */
    bool sensitive;      /* intent */
    bool audio;          /* response */
    char *code;          /* error */
    char *message;       /* error */
    uint8_t *bundle;     /* update: the bundle, decoded from base64 */
    size_t bundle_len;   /* update: 1 to PROTO_UPDATE_MAX */
};

/* Parses one text message. Returns 0, or -EMSGSIZE (too long), -EBADMSG (not
 * JSON, not an object, no type, a field of the wrong type or too long, a
 * required field missing) with a short reason in err. An unknown type is not
 * an error: type is PROTO_UNKNOWN and type_name says what it was. */
int proto_parse(const char *text, size_t len, struct proto_msg *ret_msg, char *err, size_t errsz);
/* Frees what the message holds, wiping every string first. */
void proto_msg_finish(struct proto_msg *msg);

/* Makes cJSON (process-wide) wipe every block it frees, so that a parsed or
 * printed message's words do not stay in freed memory. Call once at start,
 * before any other thread uses cJSON. */
void proto_wipe_json_memory(void);

const char *proto_type_name(enum proto_type type);
/* The i-th field of a type, in the order doc/protocol.md lists them (and the
 * parser checks them), and whether it is required; NULL past the last. */
const char *proto_field_name(enum proto_type type, size_t i, bool *ret_required);

/* Builders: each returns a malloc'd NUL-terminated JSON text, or NULL when
 * out of memory. Strings are escaped. */
char *proto_build_hello(const char *client);
char *proto_build_start(uint32_t id, const char *phrase, double score, unsigned preroll_ms);
char *proto_build_end(uint32_t id, const char *reason, uint32_t frames);
char *proto_build_cancel(uint32_t id, const char *reason);
char *proto_build_ping(uint32_t seq);
char *proto_build_ready(const char *server);
char *proto_build_transcript(uint32_t id, const char *text);
char *proto_build_intent(uint32_t id, const char *name, const struct proto_slot *slots,
                         size_t n_slots, bool sensitive);
char *proto_build_response(uint32_t id, const char *text, bool audio);
char *proto_build_response_end(uint32_t id, uint32_t frames);
/* id < 0: an error about the connection, not a request. */
char *proto_build_error(int64_t id, const char *code, const char *message);
char *proto_build_pong(uint32_t seq);
/* NULL also for an empty bundle or one over PROTO_UPDATE_MAX bytes. */
char *proto_build_update(const uint8_t *bundle, size_t len);

enum proto_frame_kind {
    PROTO_FRAME_UPLINK = 1,
    PROTO_FRAME_DOWNLINK = 2,
};

struct proto_frame {
    enum proto_frame_kind kind;
    uint32_t id;
    uint32_t seq;
    const uint8_t *opus; /* points into the buffer parsed */
    size_t opus_len;
};

/* Writes header and packet into out (at least PROTO_FRAME_HEADER + len
 * bytes); returns the frame length, or -EINVAL for a bad length. */
int proto_frame_pack(enum proto_frame_kind kind, uint32_t id, uint32_t seq, const uint8_t *opus,
                     size_t len, uint8_t *out, size_t outsz);
/* Returns 0, or -EBADMSG (too short, too long, unknown kind, empty packet). */
int proto_frame_parse(const uint8_t *data, size_t len, struct proto_frame *ret_frame);
