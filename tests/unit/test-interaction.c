/* A request's words through the policy: whatever order the cloud's messages
 * come in, and however many of each it sends, a dropped request's words
 * reach no event and no history record, a redacted one's are redacted in
 * both, and an aborted one leaves nothing. Nothing is shown before the
 * request has ended. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "events.h"
#include "history.h"
#include "interaction.h"
#include "policy.h"
#include "redact.h"
#include "testdir.h"

#define CANARY "four seven one one nine two three eight"

static const struct policy_rules rules = {
    .drop_intents = "banking.*",
    .drop_words = "password",
    .redact_intents = "",
    .redact_words = "",
    .allow_intents = "weather",
    .default_action = POLICY_REDACT,
};
static struct history *history;

/* Every redaction the interaction makes passes through these (the test is
 * linked with --wrap=redact_text,--wrap=redact_slot), so that the test can
 * see each field redacted once: the event and the record show what one
 * redaction made. */
static unsigned text_redactions, slot_redactions;
char *__real_redact_text(const char *text, unsigned ret_counts[REDACT_KINDS]);
char *__wrap_redact_text(const char *text, unsigned ret_counts[REDACT_KINDS]);
int __real_redact_slot(const char *name, const char *value, char **ret_value,
                       unsigned ret_counts[REDACT_KINDS]);
int __wrap_redact_slot(const char *name, const char *value, char **ret_value,
                       unsigned ret_counts[REDACT_KINDS]);

char *__wrap_redact_text(const char *text, unsigned ret_counts[REDACT_KINDS])
{
    text_redactions++;
    return __real_redact_text(text, ret_counts);
}

int __wrap_redact_slot(const char *name, const char *value, char **ret_value,
                       unsigned ret_counts[REDACT_KINDS])
{
    slot_redactions++;
    return __real_redact_slot(name, value, ret_value, ret_counts);
}

/* A policy for one interaction, which owns it. */
static struct policy *new_policy(const struct policy_rules *r)
{
    struct policy *p = NULL;
    char err[256];

    CHECKF(policy_new(r, err, sizeof(err), &p) == 0, "%s", err);
    return p;
}

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
    CHECK(interaction_new(new_policy(&rules), history, true, &in) == 0);
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

/* One message of a scripted request: t(ranscript), i(ntent), r(esponse). */
struct step {
    char kind;
    const char *text; /* the intent's name for 'i' */
    bool sensitive;
};

/* Plays the steps; checks that nothing was shown before the end; returns the
 * events. */
static char *script(uint32_t id, const struct step *steps, size_t n)
{
    struct interaction *in = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    events_set_output(out);
    CHECK(interaction_new(new_policy(&rules), history, false, &in) == 0);
    interaction_begin(in, id);
    for (size_t i = 0; i < n; i++) {
        struct proto_msg msg = {.type = PROTO_INTENT, .has_id = true, .id = id};

        if (steps[i].kind == 't') {
            interaction_transcript(in, steps[i].text);
        } else if (steps[i].kind == 'i') {
            msg.name = (char *)steps[i].text;
            msg.sensitive = steps[i].sensitive;
            interaction_intent(in, &msg);
        } else {
            interaction_response(in, steps[i].text);
        }
    }
    fflush(out);
    CHECKF(len == 0, "request %u: shown before it ended: %s", id, buf);
    interaction_finish(in);
    /* Whatever comes after the end is not shown or kept. */
    interaction_transcript(in, "late " CANARY);
    interaction_finish(in);
    interaction_free(in);
    events_set_output(NULL);
    fclose(out);
    return buf;
}

#define SCRIPT(id, ...)                                                                            \
    script(id, (const struct step[]){__VA_ARGS__},                                                 \
           sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step))

/* Expects the request dropped by rule: no words, no record. */
static void expect_drop(const char *what, char *ev, const char *rule, size_t before);

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

static void expect_drop(const char *what, char *ev, const char *rule, size_t before)
{
    char want[128];

    /* rule "": any rule that drops */
    snprintf(want, sizeof(want), "\"action\":\"drop\",\"rule\":\"%s", rule);
    CHECKF(strstr(ev, want), "%s: not dropped by %s:\n%s", what, rule, ev);
    CHECKF(!strstr(ev, "four") && !strstr(ev, "nine") && !strstr(ev, "seven"),
           "%s: dropped words shown:\n%s", what, ev);
    CHECKF(!strstr(ev, "\"event\":\"transcript\"") && !strstr(ev, "\"event\":\"intent\"") &&
               !strstr(ev, "\"event\":\"response\"") && !strstr(ev, "remembered"),
           "%s: events of a dropped request:\n%s", what, ev);
    CHECKF(scan_history().records == before, "%s: remembered", what);
    free(ev);
}

/* The orders a cloud could use to slip words past a decision made early. */
static void misbehaving_orders(void)
{
    size_t before = scan_history().records;
    char *ev, *shown;

    /* the transcript with a drop word after an intent no rule names */
    ev = SCRIPT(20, {'i', "unknown", false}, {'t', "the password for my card is four nine two seven", false},
                {'r', "ok", false});
    expect_drop("intent first", ev, "drop_words", before);
    /* the same, the transcript first (as the cloud should) */
    ev = SCRIPT(21, {'t', "the password for my card is four nine two seven", false}, {'i', "unknown", false},
                {'r', "ok", false});
    expect_drop("transcript first", ev, "drop_words", before);
    /* a second transcript after the intent */
    ev = SCRIPT(22, {'t', "what is the weather", false}, {'i', "weather", false},
                {'t', "my password is four nine two seven", false}, {'r', "sunny", false});
    expect_drop("second transcript", ev, "drop_words", before);
    /* a second, dropped intent after one no rule names */
    ev = SCRIPT(23, {'t', "what is on account four nine two seven", false}, {'i', "unknown", false},
                {'i', "banking.balance", true}, {'r', "one hundred", false});
    expect_drop("second intent", ev, "", before);
    /* a sensitive flag on the first of two intents */
    ev = SCRIPT(24, {'t', "what is on account four nine two seven", false}, {'i', "shopping", true},
                {'i', "weather", false}, {'r', "sunny", false});
    expect_drop("first intent sensitive", ev, "sensitive", before);
    /* the drop word only in the answer */
    ev = SCRIPT(25, {'t', "tell me four nine two seven", false}, {'i', "unknown", false},
                {'r', "your password is four nine two seven", false});
    expect_drop("word in the response", ev, "drop_words", before);

    /* more messages than a request may hold: dropped as a whole */
    {
        struct step many[70];

        for (size_t i = 0; i < 70; i++) {
            many[i] = (struct step){'t', "seven", false};
        }
        ev = script(26, many, 70);
        expect_drop("too many", ev, "too_many_messages", before);
    }

    /* an error: its text is weighed and shown as decided */
    {
        struct interaction *in = NULL;

        CHECK(interaction_new(new_policy(&rules), history, false, &in) == 0);
        interaction_begin(in, 27);
        interaction_intent(in, &(struct proto_msg){.type = PROTO_INTENT, .name = "banking.transfer"});
        shown = interaction_fail(in, "account four nine two seven is locked");
        CHECKF(shown == NULL, "error text of a dropped request shown: %s", shown);
        free(shown);
        interaction_begin(in, 28);
        shown = interaction_fail(in, "your password four nine two seven expired");
        CHECKF(shown == NULL, "error text with a drop word shown: %s", shown);
        free(shown);
        interaction_begin(in, 29);
        interaction_intent(in, &(struct proto_msg){.type = PROTO_INTENT, .name = "shopping"});
        shown = interaction_fail(in, "order four seven one one nine two three eight failed");
        CHECKF(shown && !strstr(shown, "four") && strstr(shown, "[number]"),
               "error text of a redacted request: %s", shown ? shown : "(null)");
        free(shown);
        interaction_free(in);
    }
    CHECK(scan_history().records == before);
}

/* A history that cannot take the record (the file may not grow: as a full
 * disk): the request is not remembered, and an event says so. */
static void append_fails(void)
{
    struct rlimit old, none;
    struct interaction *in = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int r;

    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    events_set_output(out);
    CHECK(interaction_new(new_policy(&rules), history, false, &in) == 0);
    interaction_begin(in, 40);
    interaction_transcript(in, "what is the weather");
    interaction_intent(in, &(struct proto_msg){.type = PROTO_INTENT, .name = "weather"});
    none = (struct rlimit){.rlim_cur = 0, .rlim_max = old.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &none) == 0);
    r = interaction_finish(in);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    interaction_free(in);
    events_set_output(NULL);
    fclose(out);
    CHECKF(r < 0, "a failed append was reported as success: %d", r);
    CHECKF(strstr(buf, "\"event\":\"not_remembered\",\"id\":40,") && !strstr(buf, "remembered\",\"id\":40,\"record"),
           "no not_remembered event:\n%s", buf);
    free(buf);
}

/* The weather request, decided and then dropped unremembered. */
static enum policy_action weather(struct interaction *in, uint32_t id)
{
    enum policy_action action;

    interaction_begin(in, id);
    interaction_transcript(in, "what is the weather");
    interaction_intent(in, &(struct proto_msg){.type = PROTO_INTENT, .name = "weather"});
    action = interaction_decide(in);
    interaction_abort(in);
    return action;
}

/* New rules (a signed update's) arrive while a request is open: that request
 * is decided by the rules it began with, the next one by the new rules; rules
 * given twice before then leave only the last. The interaction owns them
 * all (the sanitizer build finds a leak or a double free). */
static void rules_between_requests(void)
{
    const struct policy_rules drop_weather = {
        .drop_intents = "weather",
        .drop_words = "",
        .redact_intents = "",
        .redact_words = "",
        .allow_intents = "",
        .default_action = POLICY_REDACT,
    };
    const struct policy_rules allow_all = {
        .drop_intents = "",
        .drop_words = "",
        .redact_intents = "",
        .redact_words = "",
        .allow_intents = "*",
        .default_action = POLICY_ALLOW,
    };
    struct interaction *in = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    enum policy_action first, during, second;

    events_set_output(out);
    CHECK(interaction_new(new_policy(&rules), NULL, false, &in) == 0);
    first = weather(in, 60);
    interaction_begin(in, 61);
    interaction_intent(in, &(struct proto_msg){.type = PROTO_INTENT, .name = "weather"});
    interaction_set_policy(in, new_policy(&allow_all));
    interaction_set_policy(in, new_policy(&drop_weather));
    during = interaction_decide(in);
    interaction_abort(in);
    second = weather(in, 62);
    interaction_free(in);
    events_set_output(NULL);
    fclose(out);
    free(buf);
    CHECKF(first == POLICY_ALLOW, "weather under the first rules: %s", policy_action_name(first));
    CHECKF(during == POLICY_ALLOW, "the open request was decided by rules that came during it: %s",
           policy_action_name(during));
    CHECKF(second == POLICY_DROP, "the next request was not decided by the last rules given: %s",
           policy_action_name(second));
}

int main(void)
{
    static const char *orders[] = {"tir", "itr", "rti", "tri", "ri", "t"};
    char err[256];
    struct history_params hp = {.retention_s = 3600, .create = true};
    char *ev;
    size_t before;

    testdir_make("interaction");
    hp.dir = testdir;
    CHECK(history_open(&hp, interaction_now_ms(), err, sizeof(err), NULL, &history) == 0);
    if (!history) {
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

    misbehaving_orders();
    append_fails();
    rules_between_requests();

    /* redact: events and the record hold [number], never the digits; the
     * transcript, the response and the slot are each redacted once, for the
     * events and the record together */
    text_redactions = slot_redactions = 0;
    ev = play(2, "tir", "shopping", false, "order to account " CANARY, "sent to " CANARY, true);
    CHECKF(text_redactions == 2 && slot_redactions == 1,
           "%u texts and %u slots redacted for one transcript, one response and one slot",
           text_redactions, slot_redactions);
    CHECKF(!strstr(ev, "four seven") && strstr(ev, "\"text\":\"order to account [number]\"") &&
               strstr(ev, "\"slots\":{}") /* "account" names a secret: left out */ && strstr(ev, "\"action\":\"redact\""),
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
    testdir_remove();
    return check_status();
}
