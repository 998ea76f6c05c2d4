/* A request's words through the policy: whatever order the cloud's messages
 * come in, a dropped request's words reach no event and no history record,
 * a redacted one's are redacted in both, and an aborted one leaves nothing. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "events.h"
#include "history.h"
#include "interaction.h"
#include "policy.h"
#include "testdir.h"

#define CANARY "four seven one one nine two three eight"

static struct policy *policy;
static struct history *history;

/* The messages of one request, in the order given by `order`: t(ranscript),
 * i(ntent), r(esponse). */
static char *play(uint32_t id, const char *order, const char *intent, bool sensitive,
                  const char *transcript, const char *response, bool finish)
{
    struct proto_msg msg = {.type = PROTO_INTENT, .has_id = true, .id = id};
    struct interaction *in = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    const uint8_t opus[3] = {1, 2, 3};

    events_set_output(out);
    CHECK(interaction_new(policy, history, true, &in) == 0);
    interaction_begin(in, id);
    interaction_audio(in, opus, sizeof(opus));
    msg.name = (char *)intent;
    msg.sensitive = sensitive;
    msg.n_slots = 1;
    msg.slots[0].name = "account";
    msg.slots[0].value = (char *)CANARY;
    for (const char *o = order; *o; o++) {
        if (*o == 't') {
            interaction_transcript(in, transcript);
        } else if (*o == 'i') {
            interaction_intent(in, &msg);
        } else if (*o == 'r') {
            interaction_response(in, response);
        }
    }
    if (finish) {
        interaction_finish(in);
    } else {
        interaction_abort(in);
    }
    interaction_free(in);
    events_set_output(NULL);
    fclose(out);
    return buf;
}

struct scan {
    size_t records;
    bool canary;
    bool redacted;
};

static int on_record(void *userdata, const struct history_entry *e)
{
    struct scan *s = userdata;

    s->records++;
    if (memmem(e->data, e->len, CANARY, strlen(CANARY))) {
        s->canary = true;
    }
    if (memmem(e->data, e->len, "[number]", 8)) {
        s->redacted = true;
    }
    return 0;
}

static struct scan scan_history(void)
{
    struct scan s = {0};
    char err[256];

    CHECK(history_foreach(history, on_record, &s, err, sizeof(err), NULL) == 0);
    return s;
}

int main(void)
{
    static const char *orders[] = {"tir", "itr", "rti", "tri", "ri", "t"};
    const struct policy_rules rules = {
        .drop_intents = "banking.*",
        .drop_words = "password",
        .redact_intents = "",
        .redact_words = "",
        .allow_intents = "weather",
        .default_action = POLICY_REDACT,
    };
    char err[256];
    struct history_params hp = {.retention_s = 3600, .create = true};
    char *ev;
    size_t before;

    testdir_make("interaction");
    hp.dir = testdir;
    CHECK(policy_new(&rules, err, sizeof(err), &policy) == 0);
    CHECK(history_open(&hp, interaction_now_ms(), err, sizeof(err), NULL, &history) == 0);
    if (!policy || !history) {
        return check_status();
    }

    /* drop, by intent or by word, in every order of the messages */
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        const char *intent = strchr(orders[i], 'i') ? "banking.transfer" : NULL;
        const char *transcript = intent ? "send money to " CANARY : "my password is " CANARY;

        before = scan_history().records;
        ev = play(1, orders[i], "banking.transfer", false, transcript, "sent to " CANARY, true);
        CHECKF(!strstr(ev, "four seven"), "order '%s': dropped words shown:\n%s", orders[i], ev);
        CHECKF(strstr(ev, "\"action\":\"drop\""), "order '%s': no drop event:\n%s", orders[i], ev);
        CHECKF(!strstr(ev, "\"event\":\"transcript\"") && !strstr(ev, "\"event\":\"response\"") &&
                   !strstr(ev, "\"event\":\"intent\"") && !strstr(ev, "remembered"),
               "order '%s': events of a dropped request:\n%s", orders[i], ev);
        CHECK(scan_history().records == before);
        free(ev);
    }

    /* redact: events and the record hold [number], never the digits */
    ev = play(2, "tir", "shopping", false, "order to account " CANARY, "sent to " CANARY, true);
    CHECKF(!strstr(ev, "four seven") && strstr(ev, "\"text\":\"order to account [number]\"") &&
               strstr(ev, "\"account\":\"[number]\"") && strstr(ev, "\"action\":\"redact\""),
           "redact events:\n%s", ev);
    CHECK(strstr(ev, "\"event\":\"remembered\"") && strstr(ev, "\"audio\":true"));
    free(ev);
    CHECK(scan_history().redacted && !scan_history().canary);

    /* nothing said at all: nothing to remember */
    before = scan_history().records;
    ev = play(6, "", "weather", false, "", "", true);
    CHECKF(!strstr(ev, "remembered"), "%s", ev);
    CHECK(scan_history().records == before);
    free(ev);

    /* sensitive with no rule naming it: dropped */
    before = scan_history().records;
    ev = play(3, "tir", "shopping", true, "order to account " CANARY, "ok", true);
    CHECKF(strstr(ev, "\"rule\":\"sensitive\"") && !strstr(ev, "four seven"), "%s", ev);
    CHECK(scan_history().records == before);
    free(ev);

    /* an aborted request: nothing shown after the decision, nothing stored */
    before = scan_history().records;
    ev = play(4, "t", "weather", false, "weather in " CANARY, "", false);
    CHECKF(!strstr(ev, "four seven") && !strstr(ev, "transcript"), "%s", ev);
    CHECK(scan_history().records == before);
    free(ev);

    /* allow: as it is, and now the scan finds the canary (it can fail) */
    ev = play(5, "tir", "weather", false, "weather in " CANARY, "sunny", true);
    CHECKF(strstr(ev, "\"text\":\"weather in " CANARY "\""), "%s", ev);
    free(ev);
    CHECK(scan_history().canary);

    history_free(history);
    policy_free(policy);
    testdir_remove();
    return check_status();
}
