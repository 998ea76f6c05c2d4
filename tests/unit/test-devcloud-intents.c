/* Tests for hark-devcloud's intent rules: the sample intents.conf on a table of
 * transcripts (intent, slots, sensitivity, response), and rules files with
 * mistakes refused with FILE:LINE.
 * usage: test-devcloud-intents INTENTS.CONF */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intents.h"

#include "check.h"
#include "testdir.h"

struct case_ {
    const char *transcript;
    const char *intent;
    bool sensitive;
    const char *slot;  /* "name=value", or NULL for no slot */
    const char *reply; /* a part of the response, or NULL */
};

/* What PocketSphinx hears includes the wake phrase (and sometimes a word of
 * pre-roll noise before it); the rules must see past it. */
static const struct case_ cases[] = {
    {"hey computer what is the weather like in paris", "weather", false, "city=paris", "in paris"},
    {"hey computer what's the weather like in new york today", "weather", false, "city=new york",
     "in new york"},
    {"a computer will it rain tomorrow", "weather", false, NULL, "your area"},
    {"the computer what is the temperature in tokyo", "weather", false, "city=tokyo", NULL},
    {"hey computer is it sunny in san francisco", "weather", false, "city=san francisco", NULL},
    {"hey computer what time is it", "time", false, NULL, "It is "},
    {"computer what time is it in london", "time", false, NULL, NULL},
    {"hey computer set a timer for ten minutes", "timer", false, "duration=10 minutes",
     "for 10 minutes"},
    {"hey computer set a timer for twenty five seconds", "timer", false, "duration=25 seconds",
     NULL},
    {"hey computer start a countdown of one hundred and twenty seconds", "timer", false,
     "duration=120 seconds", NULL},
    {"hey computer set a timer for a minute", "timer", false, "duration=1 minute", NULL},
    {"hey computer set a timer", "timer", false, NULL, "five minutes"},
    {"hey computer turn on the lights in the kitchen", "lights", false, "room=kitchen",
     "in the kitchen"},
    {"hey computer dim the living room lamp", "lights", false, "room=living room", NULL},
    {"hey computer play some music", "music", false, NULL, "music"},
    {"hey computer play my favourite song", "music", false, NULL, NULL},
    {"hey computer what is my bank balance", "banking.balance", true, NULL, "balance"},
    {"hey computer how much money is in my account", "banking.balance", true, NULL, NULL},
    {"hey computer transfer fifty pounds to alice", "banking.transfer", true, NULL, NULL},
    {"hey computer send money to my brother", "banking.transfer", true, NULL, NULL},
    {"hey computer pay my electricity bill", "payment", true, NULL, "payment"},
    {"hey computer make a payment to the landlord", "payment", true, NULL, NULL},
    {"hey computer book a doctor's appointment", "health", true, NULL, "doctor's"},
    {"hey computer what was my blood pressure this morning", "health", true, NULL, NULL},
    /* A tie between a timer and a health word: the sensitive intent wins. */
    {"hey computer remind me to take my medicine", "health", true, NULL, NULL},
    {"hey computer tell me a joke", "unknown", false, NULL, "did not understand"},
    {"hey computer", "unknown", false, NULL, NULL},
    {"", "unknown", false, NULL, NULL},
    /* Case, punctuation and the wake phrase's own word do not matter. */
    {"Hey Computer, WHAT'S THE WEATHER?", "weather", false, NULL, NULL},
    /* "computer" later in the request is not a wake phrase. */
    {"hey computer play the computer music album", "music", false, NULL, NULL},
};

static void check_case(const struct intents *in, const struct case_ *c)
{
    struct intent_result r;

    intents_match(in, c->transcript, &r);
    CHECKF(strcmp(r.name, c->intent) == 0, "'%s': intent %s, expected %s", c->transcript, r.name,
          c->intent);
    CHECKF(r.sensitive == c->sensitive, "'%s': sensitive %d", c->transcript, r.sensitive);
    if (c->slot) {
        char name[64];
        const char *eq = strchr(c->slot, '=');
        bool found = false;

        snprintf(name, sizeof(name), "%.*s", (int)(eq - c->slot), c->slot);
        for (size_t i = 0; i < r.n_slots; i++) {
            if (strcmp(r.slots[i].name, name) == 0) {
                found = true;
                CHECKF(strcmp(r.slots[i].value, eq + 1) == 0, "'%s': slot %s = '%s', expected '%s'",
                      c->transcript, name, r.slots[i].value, eq + 1);
            }
        }
        CHECKF(found, "'%s': no slot %s", c->transcript, name);
    } else {
        CHECKF(r.n_slots == 0, "'%s': unexpected slot %s", c->transcript,
              r.n_slots ? r.slots[0].name : "");
    }
    if (c->reply) {
        CHECKF(strstr(r.response, c->reply) != NULL, "'%s': response '%s' lacks '%s'", c->transcript,
              r.response, c->reply);
    }
    CHECKF(strstr(r.request, "hey") != r.request, "'%s': request '%s' starts with the wake phrase",
          c->transcript, r.request);
}

/* Writes text to a file and loads it; returns the result, error in err. */
static int load_text(const char *name, const char *text, char *path, size_t pathsz, char *err,
                     size_t errsz)
{
    struct intents *in = NULL;
    FILE *f;
    int r;

    snprintf(path, pathsz, "%s/%s", testdir, name);
    f = fopen(path, "we");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    r = intents_load(path, err, errsz, &in);
    intents_free(in);
    return r;
}

struct bad {
    const char *text;
    unsigned line;      /* expected in the message; 0: no line */
    const char *reason; /* a part of the message */
};

static const char good_tail[] = "fallback unknown response=\"no\"\n";

static const struct bad bads[] = {
    {"# nothing but a comment\n", 0, "no fallback"},
    {"\nintent x words=a response=\"r\"\nbogus y\n", 3, "unknown directive"},
    {"intent x words=a response=\"unterminated\n", 1, "unterminated quote"},
    {"intent x response=\"r\"\n", 1, "words= is missing"},
    {"intent x words=a\n", 1, "response= is missing"},
    {"intent x words=a sensitive=maybe response=\"r\"\n", 1, "neither yes nor no"},
    {"intent x words=a colour=red response=\"r\"\n", 1, "unknown key 'colour'"},
    {"intent x words=a response=\"r\"\nintent x words=b response=\"s\"\n", 2, "defined twice"},
    {"intent X! words=a response=\"r\"\n", 1, "a name"},
    {"intent x words=a,,b response=\"r\"\n", 1, "empty entry"},
    {"intent x words=Rain response=\"r\"\n", 1, "lower-case"},
    {"intent x words=a response=\"in {city}\"\n", 1, "{city} is not a slot"},
    {"intent x words=a slots=city response=\"r\"\n\n", 1, "slot 'city' is not defined"},
    {"intent x words=a response=\"{oops\"\n", 1, "'{' without '}'"},
    {"slot city kind=list\n", 1, "needs values="},
    {"slot n kind=float\n", 1, "neither list nor number"},
    {"slot time kind=number\n", 1, "built in"},
    {"fallback a response=\"r\"\nfallback b response=\"s\"\n", 2, "a second fallback"},
    {"strip\n", 1, "words of a wake phrase"},
    {"intent x words=a response=\"r\" \"stray\"\n", 1, "unexpected '\"'"},
    {"intent x words=a response=\"r\"x\n", 1, "after the closing quote"},
};

static void check_bad(size_t i, const struct bad *b)
{
    char name[32], path[4200], err[1024], want[4300], text[1024];
    int r;

    snprintf(name, sizeof(name), "bad%zu.conf", i);
    /* Every file but the first has a fallback at its end, so that the
     * mistake under test is the only one. */
    snprintf(text, sizeof(text), "%s%s", b->text, i == 0 ? "" : good_tail);
    r = load_text(name, text, path, sizeof(path), err, sizeof(err));
    CHECKF(r == -EINVAL, "%s: loaded (%d) a file with a mistake: %s", name, r, b->text);
    if (b->line) {
        snprintf(want, sizeof(want), "%s:%u: ", path, b->line);
    } else {
        snprintf(want, sizeof(want), "%s: ", path);
    }
    CHECKF(strncmp(err, want, strlen(want)) == 0, "%s: message '%s' does not start '%s'", name, err,
          want);
    CHECKF(strstr(err, b->reason) != NULL, "%s: message '%s' lacks '%s'", name, err, b->reason);
}

int main(int argc, char **argv)
{
    struct intents *in = NULL;
    char err[1024], path[4200];
    size_t n_cases = sizeof(cases) / sizeof(cases[0]);
    int r;

    if (argc != 2) {
        fprintf(stderr, "usage: %s INTENTS.CONF\n", argv[0]);
        return 2;
    }
    testdir_make("devcloud-intents");
    r = intents_load(argv[1], err, sizeof(err), &in);
    if (r < 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    CHECKF(intents_count(in) == 10, "the sample has %zu intents, expected 10", intents_count(in));
    for (size_t i = 0; i < n_cases; i++) {
        check_case(in, &cases[i]);
    }
    /* A transcript far longer than anything said in 30 s. */
    {
        size_t len = 200000;
        char *huge = malloc(len + 1);
        struct intent_result res;

        for (size_t i = 0; i < len; i++) {
            huge[i] = "weather "[i % 8];
        }
        huge[len] = '\0';
        intents_match(in, huge, &res);
        CHECKF(strcmp(res.name, "weather") == 0, "a huge transcript: %s", res.name);
        free(huge);
    }
    intents_free(in);

    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        check_bad(i, &bads[i]);
    }
    /* A good small file with slots defined after their intents, comments,
     * prefixes and quoting. */
    r = load_text("good.conf",
                  "# comment\n"
                  "   \n"
                  "strip ok google\n"
                  "intent greet words=hello,hi* slots=who response=\"Hello \\\"{who|you}\\\"!\"\n"
                  "slot who kind=list values=\"alice,bob smith\" # trailing comment\n"
                  "fallback none response=\"?\"\n",
                  path, sizeof(path), err, sizeof(err));
    CHECKF(r == 0, "good.conf: %s", err);
    if (r == 0) {
        struct intent_result res;

        intents_load(path, err, sizeof(err), &in);
        intents_match(in, "ok google hiya bob smith", &res);
        CHECKF(strcmp(res.name, "greet") == 0, "good.conf: %s", res.name);
        CHECKF(strcmp(res.response, "Hello \"bob smith\"!") == 0, "good.conf: '%s'", res.response);
        CHECKF(strcmp(res.request, "hiya bob smith") == 0, "good.conf: request '%s'", res.request);
        intents_match(in, "ok google hello", &res);
        CHECKF(strcmp(res.response, "Hello \"you\"!") == 0, "good.conf default: '%s'", res.response);
        intents_free(in);
    }
    r = intents_load("/nonexistent/intents.conf", err, sizeof(err), &in);
    CHECKF(r == -ENOENT && strstr(err, "/nonexistent/intents.conf"), "missing file: %d %s", r, err);

    testdir_remove();
    printf("%zu transcripts, %zu bad rules files\n", n_cases, sizeof(bads) / sizeof(bads[0]));
    return check_status();
}
