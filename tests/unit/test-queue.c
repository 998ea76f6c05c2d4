/* Tests for the bounded queue: two threads passing a numbered sequence with a
 * waiting producer, refusal when full, close. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "queue.h"

#include "check.h"

#define ITEMS 200000u

struct item {
    uint64_t seq;
    uint64_t check;
};

static void *producer(void *arg)
{
    struct queue *q = arg;

    for (uint64_t i = 0; i < ITEMS; i++) {
        struct item it = {.seq = i, .check = i * 2654435761u};
        if (queue_push(q, &it, true) < 0) {
            abort();
        }
    }
    return NULL;
}

static void test_two_threads(void)
{
    struct queue *q = NULL;
    pthread_t t;
    struct item it;
    uint64_t next = 0;

    CHECK(queue_new(64, sizeof(struct item), &q) == 0);
    pthread_create(&t, NULL, producer, q);
    while (next < ITEMS) {
        if (queue_pop(q, &it)) {
            if (it.seq != next || it.check != next * 2654435761u) {
                fprintf(stderr, "item %llu out of order or torn\n", (unsigned long long)next);
                check_failures++;
                break;
            }
            next++;
        }
    }
    pthread_join(t, NULL);
    CHECK(next == ITEMS);
    CHECK(queue_length(q) == 0);
    queue_free(q);
}

static void *blocked_producer(void *arg)
{
    struct queue *q = arg;
    struct item it = {0};
    static int r;

    r = queue_push(q, &it, true);
    return &r;
}

static void test_bounds(void)
{
    struct queue *q = NULL;
    struct item it = {.seq = 1};
    pthread_t t;
    void *res;

    CHECK(queue_new(0, 8, &q) == -EINVAL);
    CHECK(queue_new(2, sizeof(it), &q) == 0);
    CHECK(queue_push(q, &it, false) == 0);
    CHECK(queue_push(q, &it, false) == 0);
    /* Full: a live producer is refused, never blocked. */
    CHECK(queue_push(q, &it, false) == -ENOBUFS);
    CHECK(queue_length(q) == 2);
    /* A waiting producer is released by close, and told so. */
    pthread_create(&t, NULL, blocked_producer, q);
    usleep(20000);
    queue_close(q);
    pthread_join(t, &res);
    CHECK(*(int *)res == -EPIPE);
    CHECK(queue_push(q, &it, false) == -EPIPE);
    /* What was queued can still be drained. */
    CHECK(queue_pop(q, &it) && queue_pop(q, &it) && !queue_pop(q, &it));
    queue_free(q);
    queue_free(NULL);
}

int main(void)
{
    test_bounds();
    test_two_threads();
    return check_status();
}
