/* Bounded item queue between two threads, see queue.h. A mutex is fine here:
 * neither side is a real-time audio callback. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t room; /* signalled when an item is popped or on close */
    unsigned char *items;
    size_t capacity;
    size_t item_size;
    size_t head; /* next to pop */
    size_t length;
    bool closed;
};

int queue_new(size_t capacity, size_t item_size, struct queue **ret_queue)
{
    struct queue *q;

    if (capacity == 0 || item_size == 0 || capacity > SIZE_MAX / item_size) {
        return -EINVAL;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        return -ENOMEM;
    }
    q->items = calloc(capacity, item_size);
    if (!q->items) {
        free(q);
        return -ENOMEM;
    }
    q->capacity = capacity;
    q->item_size = item_size;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->room, NULL);
    *ret_queue = q;
    return 0;
}

void queue_free(struct queue *queue)
{
    if (!queue) {
        return;
    }
    explicit_bzero(queue->items, queue->capacity * queue->item_size);
    free(queue->items);
    pthread_cond_destroy(&queue->room);
    pthread_mutex_destroy(&queue->lock);
    free(queue);
}

int queue_push(struct queue *queue, const void *item, bool wait)
{
    int r = 0;

    pthread_mutex_lock(&queue->lock);
    while (!queue->closed && queue->length == queue->capacity) {
        if (!wait) {
            r = -ENOBUFS;
            goto finish;
        }
        pthread_cond_wait(&queue->room, &queue->lock);
    }
    if (queue->closed) {
        r = -EPIPE;
        goto finish;
    }
    memcpy(queue->items + ((queue->head + queue->length) % queue->capacity) * queue->item_size,
           item, queue->item_size);
    queue->length++;
finish:
    pthread_mutex_unlock(&queue->lock);
    return r;
}

bool queue_pop(struct queue *queue, void *ret_item)
{
    unsigned char *slot;
    bool got = false;

    pthread_mutex_lock(&queue->lock);
    if (queue->length > 0) {
        slot = queue->items + queue->head * queue->item_size;
        memcpy(ret_item, slot, queue->item_size);
        explicit_bzero(slot, queue->item_size);
        queue->head = (queue->head + 1) % queue->capacity;
        queue->length--;
        got = true;
        pthread_cond_signal(&queue->room);
    }
    pthread_mutex_unlock(&queue->lock);
    return got;
}

void queue_close(struct queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    queue->closed = true;
    pthread_cond_broadcast(&queue->room);
    pthread_mutex_unlock(&queue->lock);
}

size_t queue_length(struct queue *queue)
{
    size_t n;

    pthread_mutex_lock(&queue->lock);
    n = queue->length;
    pthread_mutex_unlock(&queue->lock);
    return n;
}
