/* The `hark run` daemon's request state on the loop thread
 * (src/run/run-request.c), driven by the ear thread's items and the link's
 * callbacks with no link, sound or cloud: a wake while the link is down is
 * dropped, items of another request are ignored, a request that lost audio
 * fails, a request's words wait for its end, a mute cancels the request in
 * flight, the link going down fails it unless its answer is complete, and
 * every request that began ends with an event that says how. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "events.h"
#include "hooks.h"
#include "interaction.h"
#include "queue.h"
#include "run-internal.h"

static struct hark_config cfg;

static struct run *new_run(void)
{
    struct run *run = calloc(1, sizeof(*run));
    struct policy_rules rules;
    struct policy *policy = NULL;
    char err[256];

    CHECK(run);
    run->cfg = &cfg;
    config_policy_rules(&cfg, &rules);
    CHECKF(policy_new(&rules, err, sizeof(err), &policy) == 0, "%s", err);
    CHECK(interaction_new(policy, NULL, false, &run->interaction) == 0);
    CHECK(queue_new(16, sizeof(struct item), &run->queue) == 0);
    CHECK(hooks_new(&cfg, &run->hooks) == 0);
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->answered, NULL);
    pthread_cond_init(&run->unmuted, NULL);
    return run;
}

static void free_run(struct run *run)
{
    interaction_free(run->interaction);
    queue_free(run->queue);
    hooks_free(run->hooks);
    pthread_cond_destroy(&run->answered);
    pthread_cond_destroy(&run->unmuted);
    pthread_mutex_destroy(&run->lock);
    free(run);
}

/* A request the loop thread has taken (as a wake on a ready link leaves
 * it): streaming its audio, or waiting for the answer. */
static void open_request(struct run *run, uint32_t id, bool streaming)
{
    run->current = id;
    run->streaming = streaming;
    atomic_store(&run->request_open, true);
    interaction_begin(run->interaction, id);
}

/* The events written while the items are drained (and fn, if any, runs
 * first); malloc'd. */
static char *drain(struct run *run, const struct item *items, size_t n,
                   void (*fn)(struct run *run))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    events_set_output(out);
    if (fn) {
        fn(run);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(queue_push(run->queue, &items[i], false) == 0);
    }
    run_drain_queue(run);
    events_set_output(NULL);
    fclose(out);
    return buf;
}

static void answer(struct run *run)
{
    const struct link_callbacks *cb = &run_link_callbacks;
    struct proto_msg m = {.has_id = true, .id = 3};

    m.type = PROTO_TRANSCRIPT;
    m.text = "what is the weather";
    cb->on_message(run, &m);
    m.type = PROTO_TRANSCRIPT;
    m.id = 4; /* not the request in flight */
    m.text = "words of another request";
    cb->on_message(run, &m);
    m.id = 3;
    m.type = PROTO_INTENT;
    m.text = NULL;
    m.name = "weather";
    cb->on_message(run, &m);
    m.type = PROTO_RESPONSE;
    m.text = "sunny";
    cb->on_message(run, &m);
}

static void answer_end(struct run *run)
{
    struct proto_msg m = {.type = PROTO_RESPONSE_END, .has_id = true, .id = 3};

    run_link_callbacks.on_message(run, &m);
}

static void link_down(struct run *run)
{
    run_link_callbacks.on_down(run, "no pong for 6 s");
}

static void mute(struct run *run)
{
    atomic_store(&run->muted, true);
}

int main(void)
{
    struct run *run;
    char *ev;

    config_init_defaults(&cfg);

    /* A wake while the link is down: dropped, and the ear may spot again. */
    run = new_run();
    atomic_store(&run->request_open, true);
    ev = drain(run, &(struct item){.kind = ITEM_WAKE, .id = 1, .text = "hey computer"}, 1, NULL);
    CHECKF(strstr(ev, "\"event\":\"wake\"") && strstr(ev, "\"code\":\"link_down\"") &&
               strstr(ev, "\"state\":\"disconnected\""),
           "%s", ev);
    CHECK(run->current == 0 && !atomic_load(&run->request_open) && run->failed == 1);
    free(ev);

    /* Items of another request are ignored; the one in flight that lost
     * frames to a full queue fails (its own kind of item, no reason text). */
    open_request(run, 2, true);
    ev = drain(run,
               (const struct item[]){{.kind = ITEM_END, .id = 1, .text = "silence"},
                                     {.kind = ITEM_OVERFLOW, .id = 1},
                                     {.kind = ITEM_FRAME, .id = 1, .len = 3}},
               3, NULL);
    CHECKF(!strstr(ev, "\"event\":\"error\"") && !strstr(ev, "stream_end") && run->current == 2,
           "%s", ev);
    free(ev);
    ev = drain(run, &(struct item){.kind = ITEM_OVERFLOW, .id = 2}, 1, NULL);
    CHECKF(strstr(ev, "\"id\":2,\"code\":\"overflow\"") && strstr(ev, "\"state\":\"error\""), "%s",
           ev);
    CHECK(run->current == 0 && !atomic_load(&run->request_open) && run->failed == 2);
    free(ev);

    /* The answer: its words wait for response_end, where the policy
     * decides; then the request is over (nothing left to play). Words for
     * another request are not taken. */
    open_request(run, 3, false);
    ev = drain(run, NULL, 0, answer);
    CHECKF(!strstr(ev, "transcript") && !strstr(ev, "\"event\":\"intent\"") &&
               !strstr(ev, "sunny"),
           "words shown before the end: %s", ev);
    free(ev);
    ev = drain(run, NULL, 0, answer_end);
    /* (The default rules redact; nothing here is to be redacted.) */
    CHECKF(strstr(ev, "\"event\":\"policy\",\"id\":3,\"action\":\"redact\"") &&
               strstr(ev, "what is the weather") && strstr(ev, "sunny") &&
               strstr(ev, "\"event\":\"response_end\",\"id\":3") && !strstr(ev, "another request"),
           "%s", ev);
    CHECK(run->current == 0 && !atomic_load(&run->request_open) && run->failed == 2);
    free(ev);

    /* The link goes down mid-request: it fails. */
    open_request(run, 5, true);
    ev = drain(run, NULL, 0, link_down);
    CHECKF(strstr(ev, "\"event\":\"disconnected\"") && strstr(ev, "\"id\":5,\"code\":\"link_lost\""),
           "%s", ev);
    CHECK(run->current == 0 && !atomic_load(&run->request_open));
    free(ev);

    /* The ear thread's other news. */
    ev = drain(run,
               (const struct item[]){{.kind = ITEM_CAPTURE_LOST, .text = "device gone"},
                                     {.kind = ITEM_CAPTURE_RESTORED, .text = "mic:usb"},
                                     {.kind = ITEM_INPUT_ERROR, .text = "read error"}},
               3, NULL);
    CHECKF(strstr(ev, "\"code\":\"capture_lost\",\"message\":\"device gone\"") &&
               strstr(ev, "\"event\":\"capture_restored\",\"device\":\"mic:usb\""),
           "%s", ev);
    CHECK(run->input_done && run->input_status == 1);
    free(ev);

    /* A mute cancels the request in flight, and a wake heard before the
     * ear thread applied it is not taken. */
    open_request(run, 6, true);
    ev = drain(run, &(struct item){.kind = ITEM_WAKE, .id = 7, .text = "hey computer"}, 1, mute);
    CHECKF(strstr(ev, "\"id\":6,\"code\":\"muted\"") && strstr(ev, "\"state\":\"muted\"") &&
               !strstr(ev, "\"id\":7,\"code\""),
           "%s", ev);
    CHECK(run->current == 0 && !atomic_load(&run->request_open) && run->loop_muted);
    free(ev);
    free_run(run);
    return check_status();
}
