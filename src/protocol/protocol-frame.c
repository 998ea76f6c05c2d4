/* The binary audio frames of the cloud protocol (doc/protocol.md): a
 * header of kind, request id and sequence number, then one Opus packet. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "protocol.h"

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool valid_kind(int kind)
{
    return kind == PROTO_FRAME_UPLINK || kind == PROTO_FRAME_DOWNLINK;
}

int proto_frame_pack(enum proto_frame_kind kind, uint32_t id, uint32_t seq, const uint8_t *opus,
                     size_t len, uint8_t *out, size_t outsz)
{
    if (!valid_kind((int)kind) || !opus || len == 0 || len > PROTO_OPUS_MAX || !out ||
        outsz < PROTO_FRAME_HEADER + len) {
        return -EINVAL;
    }
    out[0] = (uint8_t)kind;
    put_be32(out + 1, id);
    put_be32(out + 5, seq);
    memmove(out + PROTO_FRAME_HEADER, opus, len);
    return (int)(PROTO_FRAME_HEADER + len);
}

int proto_frame_parse(const uint8_t *data, size_t len, struct proto_frame *ret_frame)
{
    if (!ret_frame) {
        return -EINVAL;
    }
    /* An empty packet is refused: Opus has no zero-length packet, and a
     * frame that carries nothing is a peer's bug, not silence. */
    if (!data || len <= PROTO_FRAME_HEADER || len > PROTO_BINARY_MAX || !valid_kind(data[0])) {
        return -EBADMSG;
    }
    *ret_frame = (struct proto_frame){
        .kind = (enum proto_frame_kind)data[0],
        .id = get_be32(data + 1),
        .seq = get_be32(data + 5),
        .opus = data + PROTO_FRAME_HEADER,
        .opus_len = len - PROTO_FRAME_HEADER,
    };
    return 0;
}
