/* Outgoing websocket message queue, see wsout.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wsout.h"

void wsout_init(struct wsout *q, size_t headroom, size_t max_entries, size_t max_bytes)
{
    *q = (struct wsout){
        .headroom = headroom,
        .max_entries = max_entries,
        .max_bytes = max_bytes,
    };
}

void wsout_msg_free(const struct wsout *q, struct wsout_msg *m)
{
    if (!m) {
        return;
    }
    explicit_bzero(m->buf + q->headroom, m->len);
    free(m);
}

void wsout_finish(struct wsout *q)
{
    struct wsout_msg *m;

    while ((m = wsout_pop(q))) {
        wsout_msg_free(q, m);
    }
}

int wsout_push(struct wsout *q, const void *data, size_t len, bool binary)
{
    struct wsout_msg *m;

    if (q->entries >= q->max_entries || len > q->max_bytes - q->bytes) {
        return -ENOBUFS;
    }
    m = malloc(sizeof(*m) + q->headroom + len);
    if (!m) {
        return -ENOMEM;
    }
    m->next = NULL;
    m->binary = binary;
    m->len = len;
    memcpy(m->buf + q->headroom, data, len);
    if (q->tail) {
        q->tail->next = m;
    } else {
        q->head = m;
    }
    q->tail = m;
    q->entries++;
    q->bytes += len;
    return 0;
}

struct wsout_msg *wsout_pop(struct wsout *q)
{
    struct wsout_msg *m = q->head;

    if (!m) {
        return NULL;
    }
    q->head = m->next;
    if (!q->head) {
        q->tail = NULL;
    }
    q->entries--;
    q->bytes -= m->len;
    m->next = NULL;
    return m;
}
