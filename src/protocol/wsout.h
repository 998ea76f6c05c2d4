/* A bounded FIFO of outgoing websocket messages, each copied behind the
 * headroom lws_write() needs in front of it (LWS_PRE). Shared by the link and
 * hark-devcloud. A message's bytes are zeroed before it is freed: they carry
 * audio and transcripts. Caller-owned; not thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct wsout_msg {
    struct wsout_msg *next;
    bool binary;
    size_t len;
    unsigned char buf[]; /* headroom, then len bytes of payload */
};

struct wsout {
    struct wsout_msg *head;
    struct wsout_msg *tail;
    size_t entries;
    size_t bytes;
    size_t headroom;
    size_t max_entries;
    size_t max_bytes;
};

void wsout_init(struct wsout *q, size_t headroom, size_t max_entries, size_t max_bytes);
/* Frees every queued message; the queue is empty and usable again. */
void wsout_finish(struct wsout *q);

/* Copies a message in. -ENOBUFS when the bounds would be passed, -ENOMEM. */
int wsout_push(struct wsout *q, const void *data, size_t len, bool binary);
/* The oldest message, taken off the queue, or NULL; free it with
 * wsout_msg_free(). */
struct wsout_msg *wsout_pop(struct wsout *q);
void wsout_msg_free(const struct wsout *q, struct wsout_msg *m);

static inline unsigned char *wsout_payload(const struct wsout *q, struct wsout_msg *m)
{
    return m->buf + q->headroom;
}
