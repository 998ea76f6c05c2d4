/* A bounded queue of fixed-size items from one producer thread to one
 * consumer thread. The producer either waits for room (file input, which has
 * time) or is refused (live input, which must never wait); the consumer never
 * waits: it is woken by other means (lws_cancel_service) and drains. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct queue;

/* capacity items of item_size bytes each. */
int queue_new(size_t capacity, size_t item_size, struct queue **ret_queue);
/* Zeroes the items (they may hold audio) and frees. Accepts NULL. */
void queue_free(struct queue *queue);

/* Copies item in. wait: block while full (until queue_close); else return
 * -ENOBUFS at once when full. -EPIPE after queue_close. */
int queue_push(struct queue *queue, const void *item, bool wait);
/* Copies the oldest item out; false when empty. */
bool queue_pop(struct queue *queue, void *ret_item);

/* Wakes and refuses producers from now on (shutdown). */
void queue_close(struct queue *queue);
size_t queue_length(struct queue *queue);
