/* The policy engine: the default rules from the config table, rule order, the
 * sensitive flag, globs, word phrases, and bad lists. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "policy.h"

struct decision_case {
    const char *intent;
    const char *transcript;
    bool sensitive;
    enum policy_action action;
    const char *rule;
};

static void check_cases(const struct policy *p, const struct decision_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct decision_case *c = &cases[i];
        struct policy_decision d;

        policy_decide(p, c->intent, c->transcript, c->sensitive, &d);
        CHECKF(d.action == c->action && strcmp(d.rule, c->rule) == 0,
               "intent %s, '%s', sensitive %d: got %s (%s), want %s (%s)",
               c->intent ? c->intent : "(none)", c->transcript ? c->transcript : "(none)",
               c->sensitive, policy_action_name(d.action), d.rule, policy_action_name(c->action),
               c->rule);
    }
}

/* What hark does out of the box: the defaults in the config table. */
static void test_defaults(void)
{
    static const struct decision_case cases[] = {
        {"weather", "what is the weather like in paris", false, POLICY_REDACT, "default"},
        {"timer", "set a timer for ten minutes", false, POLICY_REDACT, "default"},
        {"banking.balance", "what is my balance", true, POLICY_DROP, "drop_intents banking.*"},
        {"banking.balance", "what is my balance", false, POLICY_DROP, "drop_intents banking.*"},
        {"payment", "pay the bill", false, POLICY_DROP, "drop_intents payment.*"},
        {"payment.card", "pay the bill", false, POLICY_DROP, "drop_intents payment.*"},
        {"health", "when is my doctor's appointment", true, POLICY_DROP, "drop_intents health.*"},
        {"password.reset", "reset it", false, POLICY_DROP, "drop_intents password.*"},
        {"pin", "change it", false, POLICY_DROP, "drop_intents pin.*"},
        {"pinball", "play pinball", false, POLICY_REDACT, "default"},
        {"unknown", "my password is hunter two", false, POLICY_DROP, "drop_words"},
        {"unknown", "What's my PIN?", false, POLICY_DROP, "drop_words"},
        {"unknown", "remember my pin number", false, POLICY_DROP, "drop_words"},
        {NULL, "the passcode for the door", false, POLICY_DROP, "drop_words"},
        {"music", "play spinning around", false, POLICY_REDACT, "default"},
        {"lights", "turn on the lights", true, POLICY_DROP, "sensitive"},
        {NULL, NULL, true, POLICY_DROP, "sensitive"},
        {NULL, NULL, false, POLICY_REDACT, "default"},
    };
    struct hark_config cfg;
    struct policy_rules rules;
    struct policy *p = NULL;
    char err[256];

    config_init_defaults(&cfg);
    config_policy_rules(&cfg, &rules);
    CHECK(policy_new(&rules, err, sizeof(err), &p) == 0);
    if (p) {
        check_cases(p, cases, sizeof(cases) / sizeof(cases[0]));
    }
    policy_free(p);
}

static void test_order(void)
{
    static const struct decision_case cases[] = {
        /* drop beats everything, even an explicit allow */
        {"banking.balance", "balance", false, POLICY_DROP, "drop_intents banking.*"},
        {"weather", "my secret weather", false, POLICY_DROP, "drop_words"},
        /* sensitive: dropped unless named explicitly */
        {"health.steps", "how many steps", true, POLICY_ALLOW, "allow_intents health.steps"},
        {"notes.read", "read my notes", true, POLICY_REDACT, "redact_intents notes.*"},
        {"shopping", "add milk", true, POLICY_DROP, "sensitive"},
        /* a bare "*" is not an explicit allow of a sensitive one */
        {"shopping", "add milk", false, POLICY_ALLOW, "allow_intents *"},
        /* not sensitive: redact rules before allow */
        {"notes.read", "read my notes", false, POLICY_REDACT, "redact_intents notes.*"},
        {"weather", "call me on my mobile about the weather", false, POLICY_REDACT, "redact_words"},
        {"weather", "will it rain", false, POLICY_ALLOW, "allow_intents *"},
        {"health.steps", "how many steps", false, POLICY_ALLOW, "allow_intents health.steps"},
        /* word phrases: whole words in a row, prefixes with '*' */
        {"x", "this is my secretary", false, POLICY_ALLOW, "allow_intents *"},
        {"x", "call me maybe", false, POLICY_REDACT, "redact_words"},
        {"x", "call you me", false, POLICY_ALLOW, "allow_intents *"},
        {"x", "my mobiles", false, POLICY_REDACT, "redact_words"},
        {"x", "mobile", false, POLICY_ALLOW, "allow_intents *"},
        {"x", "  CALL   ME  ", false, POLICY_REDACT, "redact_words"},
        {"x", "call, me", false, POLICY_REDACT, "redact_words"},
        {"x", "recall me", false, POLICY_ALLOW, "allow_intents *"},
    };
    const struct policy_rules rules = {
        .drop_intents = "banking.*",
        .drop_words = "secret",
        .redact_intents = "notes.*",
        .redact_words = "call me, my mobile*",
        .allow_intents = "health.steps, *",
        .default_action = POLICY_DROP,
    };
    struct policy *p = NULL;
    char err[256];

    CHECK(policy_new(&rules, err, sizeof(err), &p) == 0);
    if (p) {
        check_cases(p, cases, sizeof(cases) / sizeof(cases[0]));
    }
    policy_free(p);
}

static void test_globs(void)
{
    static const struct {
        const char *glob, *name;
        bool match;
    } cases[] = {
        {"banking.*", "banking.balance", true},  {"banking.*", "banking", true},
        {"banking*", "banking", true},           {"banking*", "bankingx.y", true},
        {"*", "anything.at.all", true},          {"*.balance", "banking.balance", true},
        {"*.balance", "balance", false},         {"a*b*c", "aXXbYYc", true},
        {"a*b*c", "aXXbYY", false},              {"weather", "weather", true},
        {"weather", "weather.today", false},     {"weather", "WEATHER", true},
        {"**", "", true},                        {"x", "", false},
        {"banking.*", "bankingx", false},        {"banking.*", "bank", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct policy_rules rules = {
            .drop_intents = cases[i].glob,
            .drop_words = "",
            .redact_intents = "",
            .redact_words = "",
            .allow_intents = "",
            .default_action = POLICY_ALLOW,
        };
        struct policy *p = NULL;
        struct policy_decision d;
        char err[256];

        CHECK(policy_new(&rules, err, sizeof(err), &p) == 0);
        if (!p) {
            continue;
        }
        policy_decide(p, cases[i].name, NULL, false, &d);
        CHECKF((d.action == POLICY_DROP) == cases[i].match, "glob '%s' on '%s'", cases[i].glob,
               cases[i].name);
        policy_free(p);
    }
}

static void test_bad_lists(void)
{
    static const struct {
        const char *intents, *words, *err;
    } cases[] = {
        {"banking.*,", "", "drop_intents has an empty entry"},
        {"banking.*, ,payment", "", "drop_intents has an empty entry"},
        {"Banking", "", "drop_intents may hold only"},
        {"bank ing", "", "drop_intents may hold only"},
        {"", "pass*word", "drop_words may hold only"},
        {"", "*", "drop_words may hold only"},
        {"", "pin,,code", "drop_words has an empty entry"},
        {"", "a b c d e f g h i", "drop_words has a phrase of more than 8 words"},
        {"", "pin#", "drop_words may hold only"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct policy_rules rules = {
            .drop_intents = cases[i].intents,
            .drop_words = cases[i].words,
            .redact_intents = "",
            .redact_words = "",
            .allow_intents = "",
        };
        struct policy *p = NULL;
        char err[256] = "";

        CHECKF(policy_new(&rules, err, sizeof(err), &p) == -EINVAL, "'%s' / '%s' accepted",
               cases[i].intents, cases[i].words);
        CHECKF(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0, "got '%s', want '%s...'",
               err, cases[i].err);
        policy_free(p);
    }
}

int main(void)
{
    enum policy_action a;

    test_defaults();
    test_order();
    test_globs();
    test_bad_lists();
    CHECK(policy_action_parse("drop", &a) == 0 && a == POLICY_DROP);
    CHECK(policy_action_parse("Drop", &a) == -EINVAL);
    return check_status();
}
