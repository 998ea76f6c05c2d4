/* Tests for the protocol codec: builders through the parser, malformed messages
 * that must be refused (never crash), and the binary frame's edges. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#include "check.h"

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Parses a builder's output, which must exist and be accepted. */
static bool parse_built(char *text, enum proto_type type, struct proto_msg *msg)
{
    char err[256] = "";
    int r;

    CHECK(text != NULL);
    if (!text) {
        return false;
    }
    r = proto_parse(text, strlen(text), msg, err, sizeof(err));
    CHECKF(r == 0, "%s: %s", text, err);
    if (r == 0) {
        CHECKF(msg->type == type, "%s parsed as %s", text, proto_type_name(msg->type));
        CHECK(streq(msg->type_name, proto_type_name(type)));
    }
    free(text);
    return r == 0;
}

static void test_round_trip(void)
{
    struct proto_slot slots[PROTO_SLOTS_MAX];
    char names[PROTO_SLOTS_MAX][16], values[PROTO_SLOTS_MAX][16];
    struct proto_msg m;
    char *text;

    if (parse_built(proto_build_hello("hark/0.1.0"), PROTO_HELLO, &m)) {
        CHECK(m.protocol == PROTO_VERSION);
        CHECK(streq(m.client, "hark/0.1.0"));
        CHECK(!m.has_id);
        proto_msg_finish(&m);
    }
    if (parse_built(
            proto_build_ready("devcloud \"quoted\" \\ \n\t\x01 caf\xc3\xa9 \xf0\x9f\x8e\x99"),
            PROTO_READY, &m)) {
        CHECK(m.protocol == PROTO_VERSION);
        CHECK(streq(m.server, "devcloud \"quoted\" \\ \n\t\x01 caf\xc3\xa9 \xf0\x9f\x8e\x99"));
        proto_msg_finish(&m);
    }

    /* The score is rounded to four decimals, and printed that way. */
    text = proto_build_start(UINT32_MAX, "hey hark", 0.873449999, 500);
    CHECK(text && strstr(text, "\"score\":0.8734,") != NULL);
    if (text) {
        printf("start: %s\n", text);
    }
    if (parse_built(text, PROTO_START, &m)) {
        CHECK(m.has_id && m.id == UINT32_MAX);
        CHECK(streq(m.phrase, "hey hark"));
        CHECK(fabs(m.score - 0.8734) < 1e-12);
        CHECK(m.preroll_ms == 500);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_start(0, "x", 1.0, 0), PROTO_START, &m)) {
        CHECK(m.has_id && m.id == 0 && m.score == 1.0 && m.preroll_ms == 0);
        proto_msg_finish(&m);
    }
    CHECK(proto_build_start(1, "x", NAN, 0) == NULL);
    CHECK(proto_build_start(1, "x", INFINITY, 0) == NULL);

    if (parse_built(proto_build_end(7, "max_length", 1500), PROTO_END, &m)) {
        CHECK(m.has_id && m.id == 7 && streq(m.reason, "max_length") && m.frames == 1500);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_cancel(8, "shutdown"), PROTO_CANCEL, &m)) {
        CHECK(m.has_id && m.id == 8 && streq(m.reason, "shutdown"));
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_ping(4000000000u), PROTO_PING, &m)) {
        CHECK(m.seq == 4000000000u && !m.has_id);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_pong(3), PROTO_PONG, &m)) {
        CHECK(m.seq == 3);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_transcript(9, "what's the weather"), PROTO_TRANSCRIPT, &m)) {
        CHECK(m.has_id && m.id == 9 && streq(m.text, "what's the weather"));
        proto_msg_finish(&m);
    }

    for (int i = 0; i < PROTO_SLOTS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "slot%d", i);
        snprintf(values[i], sizeof(values[i]), "value \"%d\"", i);
        slots[i] = (struct proto_slot){.name = names[i], .value = values[i]};
    }
    if (parse_built(proto_build_intent(10, "banking.balance", slots, PROTO_SLOTS_MAX, true),
                    PROTO_INTENT, &m)) {
        CHECK(m.has_id && m.id == 10 && streq(m.name, "banking.balance") && m.sensitive);
        CHECK(m.n_slots == PROTO_SLOTS_MAX);
        for (size_t i = 0; i < m.n_slots; i++) {
            CHECK(streq(m.slots[i].name, names[i]) && streq(m.slots[i].value, values[i]));
        }
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_intent(11, "weather", NULL, 0, false), PROTO_INTENT, &m)) {
        CHECK(m.n_slots == 0 && !m.sensitive && streq(m.name, "weather"));
        proto_msg_finish(&m);
    }

    if (parse_built(proto_build_response(12, "Sunny, 21 degrees.", true), PROTO_RESPONSE, &m)) {
        CHECK(m.has_id && m.id == 12 && streq(m.text, "Sunny, 21 degrees.") && m.audio);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_response(13, "", false), PROTO_RESPONSE, &m)) {
        CHECK(streq(m.text, "") && !m.audio);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_response_end(14, 3000), PROTO_RESPONSE_END, &m)) {
        CHECK(m.has_id && m.id == 14 && m.frames == 3000);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_error(15, "too_long", "more than 30 s"), PROTO_ERROR, &m)) {
        CHECK(m.has_id && m.id == 15 && streq(m.code, "too_long"));
        CHECK(streq(m.message, "more than 30 s"));
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_error(-1, "overloaded", NULL), PROTO_ERROR, &m)) {
        CHECK(!m.has_id && streq(m.code, "overloaded") && m.message == NULL);
        proto_msg_finish(&m);
    }
    if (parse_built(proto_build_error(UINT32_MAX, "x", "y"), PROTO_ERROR, &m)) {
        CHECK(m.has_id && m.id == UINT32_MAX);
        proto_msg_finish(&m);
    }
    CHECK(proto_build_error((int64_t)UINT32_MAX + 1, "x", "y") == NULL);

    /* A NULL where a string is required builds nothing. */
    CHECK(proto_build_hello(NULL) == NULL);
    CHECK(proto_build_transcript(1, NULL) == NULL);
    CHECK(proto_build_intent(1, "x", NULL, 1, false) == NULL);

    /* Finish accepts NULL, and twice. */
    proto_msg_finish(NULL);
    memset(&m, 0, sizeof(m));
    proto_msg_finish(&m);
    proto_msg_finish(&m);
}

/* Hand-written messages a peer might send: accepted, with what they mean. */
static void test_accepted(void)
{
    static const char *const ok[] = {
        /* Unknown fields are ignored; order does not matter; whitespace. */
        " { \"text\" : \"hi\", \"id\" : 1, \"type\" : \"transcript\", \"x\": [1, {\"y\": null}] } ",
        /* Whole numbers written as doubles. */
        "{\"type\":\"transcript\",\"id\":1.0,\"text\":\"hi\"}",
        "{\"type\":\"transcript\",\"id\":1e0,\"text\":\"hi\"}",
        "{\"type\":\"transcript\",\"id\":0.1e1,\"text\":\"hi\"}",
        /* Escapes, including a surrogate pair. */
        "{\"type\":\"transcript\",\"id\":1,\"text\":\"\\u0068\\u0069\"}",
        "{\"type\":\"response\",\"id\":1,\"text\":\"\\ud83c\\udf99\"}",
        /* An error without an id or a message, and with a null id. */
        "{\"type\":\"error\",\"code\":\"x\"}",
        "{\"type\":\"error\",\"id\":null,\"code\":\"x\",\"message\":null}",
    };
    struct proto_msg m;
    char err[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int r = proto_parse(ok[i], strlen(ok[i]), &m, err, sizeof(err));

        CHECKF(r == 0, "%s: %s", ok[i], err);
        if (r == 0) {
            CHECK(m.type != PROTO_UNKNOWN);
            if (m.type == PROTO_TRANSCRIPT) {
                CHECK(m.id == 1 && streq(m.text, "hi"));
            }
            if (m.type == PROTO_RESPONSE) {
                CHECK(streq(m.text, "\xf0\x9f\x8e\x99") && !m.audio);
            }
            if (m.type == PROTO_ERROR) {
                CHECK(!m.has_id && streq(m.code, "x") && !m.message);
            }
        }
        proto_msg_finish(&m);
    }
}

static void test_unknown_type(void)
{
    static const char text[] = "{\"type\":\"telemetry\",\"id\":\"not checked\"}";
    struct proto_msg m;
    char err[256];
    int r = proto_parse(text, strlen(text), &m, err, sizeof(err));

    CHECKF(r == 0, "%s", err);
    if (r == 0) {
        CHECK(m.type == PROTO_UNKNOWN);
        CHECK(streq(m.type_name, "telemetry"));
        proto_msg_finish(&m);
    }
    CHECK(streq(proto_type_name(PROTO_UNKNOWN), "unknown"));
    CHECK(streq(proto_type_name((enum proto_type)999), "unknown"));
    CHECK(streq(proto_type_name(PROTO_RESPONSE_END), "response_end"));
}

/* A message that must be refused, and a word its reason must contain. */
struct bad {
    const char *text;
    const char *reason;
};

static char *repeat(const char *head, char c, size_t n, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + n + tl + 1);

    if (!s) {
        abort();
    }
    memcpy(s, head, hl);
    memset(s + hl, c, n);
    memcpy(s + hl + n, tail, tl + 1);
    return s;
}

static void expect_refused(const char *text, size_t len, int want, const char *reason)
{
    struct proto_msg m, untouched;
    char err[256] = "";
    int r;

    memset(&m, 0x5a, sizeof(m));
    memset(&untouched, 0x5a, sizeof(untouched));
    r = proto_parse(text, len, &m, err, sizeof(err));
    CHECKF(r == want, "%.80s: returned %d, expected %d (%s)", text, r, want, err);
    CHECKF(err[0] != '\0', "%.80s: no reason", text);
    if (reason) {
        CHECKF(strstr(err, reason) != NULL, "%.80s: reason \"%s\" lacks \"%s\"", text, err, reason);
    }
    /* ret_msg is written only on success. */
    CHECKF(memcmp(&m, &untouched, sizeof(m)) == 0, "%.80s: message written on failure", text);
}

static void test_malformed(void)
{
    static const struct bad bad[] = {
        /* Not JSON, or not an object. */
        {"", "empty"},
        {"not json", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":1", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":1,}", "not JSON"},
        {"{'type':'ping','seq':1}", "not JSON"},
        {"[{\"type\":\"ping\",\"seq\":1}]", "not a JSON object"},
        {"\"ping\"", "not a JSON object"},
        {"42", "not a JSON object"},
        {"null", "not a JSON object"},
        {"{\"type\":\"ping\",\"seq\":1}x", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":1}{}", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":1} 1", "not JSON"},
        /* Where cJSON alone would be lenient. */
        {"{\"type\":\"ping\",\"seq\":01}", "number"},
        {"{\"type\":\"ping\",\"seq\":1.}", "number"},
        {"{\"type\":\"ping\",\"seq\":-}", "number"},
        {"{\"type\":\"ping\",\"seq\":1,\"x\":[1e]}", "number"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"a\tb\"}", "control character"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"a\\u0000b\"}", "NUL"},
        {"{\"type\":\"transcript\",\"id\":1,\"x\":\"\\u0000\",\"text\":\"a\"}", "NUL"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"caf\xc3\"}", "UTF-8"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"\xc0\xaf\"}", "UTF-8"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"\xed\xa0\x80\"}", "UTF-8"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":\"\\ud800\"}", "not JSON"},
        {"{\"type\":\"ping\",\"seq\":1,\"seq\":2}", "twice"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":false,\"sensitive\":true}",
         "twice"},
        {"{\"type\":\"ping\",\"type\":\"pong\",\"seq\":1}", "twice"},
        /* type. */
        {"{}", "\"type\" is missing"},
        {"{\"seq\":1}", "\"type\" is missing"},
        {"{\"type\":1}", "\"type\" is not a string"},
        {"{\"type\":null}", "\"type\" is not a string"},
        {"{\"Type\":\"ping\",\"seq\":1}", "\"type\" is missing"},
        /* ids. */
        {"{\"type\":\"transcript\",\"text\":\"hi\"}", "\"id\" is missing"},
        {"{\"type\":\"transcript\",\"id\":\"1\",\"text\":\"hi\"}", "\"id\" is not a whole number"},
        {"{\"type\":\"transcript\",\"id\":1.5,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":-1,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":4294967296,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":1e999,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":-1e999,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":null,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":true,\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":[1],\"text\":\"hi\"}", "\"id\""},
        {"{\"type\":\"transcript\",\"id\":NaN,\"text\":\"hi\"}", "not JSON"},
        {"{\"type\":\"error\",\"id\":-1,\"code\":\"x\"}", "\"id\""},
        {"{\"type\":\"error\",\"id\":\"1\",\"code\":\"x\"}", "\"id\""},
        /* Required fields per type, and their types. */
        {"{\"type\":\"transcript\",\"id\":1}", "transcript: \"text\" is missing"},
        {"{\"type\":\"transcript\",\"id\":1,\"text\":7}", "\"text\" is not a string"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\"}", "intent: \"sensitive\" is missing"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":\"yes\"}",
         "intent: \"sensitive\" is not a boolean"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":1}", "not a boolean"},
        {"{\"type\":\"intent\",\"id\":1,\"sensitive\":true}", "\"name\" is missing"},
        {"{\"type\":\"response\",\"id\":1,\"text\":\"t\",\"audio\":\"true\"}", "not a boolean"},
        {"{\"type\":\"response\",\"id\":1}", "\"text\" is missing"},
        {"{\"type\":\"response_end\",\"id\":1}", "\"frames\" is missing"},
        {"{\"type\":\"response_end\",\"id\":1,\"frames\":-3}", "\"frames\""},
        {"{\"type\":\"error\",\"id\":1}", "\"code\" is missing"},
        /* update: canonical base64 of 1 to 3072 bytes. */
        {"{\"type\":\"update\"}", "\"bundle\" is missing"},
        {"{\"type\":\"update\",\"bundle\":5}", "\"bundle\" is not a string"},
        {"{\"type\":\"update\",\"bundle\":\"\"}", "\"bundle\" is empty"},
        {"{\"type\":\"update\",\"bundle\":\"SGFyaw\"}", "not the base64"},
        {"{\"type\":\"update\",\"bundle\":\"SGFy aw==\"}", "not the base64"},
        {"{\"type\":\"update\",\"bundle\":\"SGFyaw==\\n\"}", "not the base64"},
        {"{\"type\":\"update\",\"bundle\":\"SGFyax==\"}", "not the base64"},
        {"{\"type\":\"update\",\"bundle\":\"!!!!\"}", "not the base64"},
        {"{\"type\":\"error\",\"code\":\"x\",\"message\":5}", "\"message\" is not a string"},
        {"{\"type\":\"ping\"}", "\"seq\" is missing"},
        {"{\"type\":\"pong\",\"seq\":0.5}", "\"seq\""},
        {"{\"type\":\"hello\",\"client\":\"c\"}", "\"protocol\" is missing"},
        {"{\"type\":\"hello\",\"protocol\":1}", "\"client\" is missing"},
        {"{\"type\":\"hello\",\"protocol\":\"1\",\"client\":\"c\"}", "\"protocol\""},
        {"{\"type\":\"ready\",\"protocol\":1}", "\"server\" is missing"},
        {"{\"type\":\"end\",\"id\":1,\"reason\":\"silence\"}", "\"frames\" is missing"},
        {"{\"type\":\"end\",\"id\":1,\"frames\":3}", "\"reason\" is missing"},
        {"{\"type\":\"cancel\",\"id\":1,\"reason\":false}", "\"reason\" is not a string"},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":\"high\",\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":16000,\"channels\":1,\"frame_ms\":20}",
         "\"score\" is not a finite number"},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":1e999,\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":16000,\"channels\":1,\"frame_ms\":20}",
         "\"score\" is not a finite number"},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":0.5,\"preroll_ms\":500,"
         "\"codec\":\"pcm\",\"rate\":16000,\"channels\":1,\"frame_ms\":20}",
         "\"codec\" is \"pcm\""},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":0.5,\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":48000,\"channels\":1,\"frame_ms\":20}",
         "\"rate\" is 48000, not 16000"},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":0.5,\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":16000,\"channels\":2,\"frame_ms\":20}",
         "\"channels\""},
        {"{\"type\":\"start\",\"id\":1,\"phrase\":\"p\",\"score\":0.5,\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":16000,\"channels\":1}",
         "\"frame_ms\" is missing"},
        {"{\"type\":\"start\",\"id\":1,\"score\":0.5,\"preroll_ms\":500,"
         "\"codec\":\"opus\",\"rate\":16000,\"channels\":1,\"frame_ms\":20}",
         "\"phrase\" is missing"},
        /* Slots. */
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":[]}",
         "\"slots\" is not an object"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":\"a=b\"}",
         "\"slots\" is not an object"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":{\"a\":1}}",
         "slot \"a\" is not a string"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":{\"a\":null}}",
         "slot \"a\" is not a string"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,"
         "\"slots\":{\"a\":{\"b\":\"c\"}}}",
         "slot \"a\" is not a string"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,"
         "\"slots\":{\"a\":\"1\",\"a\":\"2\"}}",
         "slot \"a\" is given twice"},
        {"{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":{"
         "\"s0\":\"v\",\"s1\":\"v\",\"s2\":\"v\",\"s3\":\"v\",\"s4\":\"v\",\"s5\":\"v\","
         "\"s6\":\"v\",\"s7\":\"v\",\"s8\":\"v\",\"s9\":\"v\",\"s10\":\"v\",\"s11\":\"v\","
         "\"s12\":\"v\",\"s13\":\"v\",\"s14\":\"v\",\"s15\":\"v\",\"s16\":\"v\"}}",
         "more than 16 slots"},
    };
    char *s;
    size_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(bad[i].text, strlen(bad[i].text), -EBADMSG, bad[i].reason);
    }
    n = sizeof(bad) / sizeof(bad[0]);

    /* A NUL byte inside the text (websocket text may carry one). */
    static const char nul[] = "{\"type\":\"ping\",\"seq\":1}\0garbage";
    expect_refused(nul, sizeof(nul) - 1, -EBADMSG, "NUL byte");
    static const char nul2[] = "{\"type\":\"transcript\",\"id\":1,\"text\":\"a\0b\"}";
    expect_refused(nul2, sizeof(nul2) - 1, -EBADMSG, "NUL byte");
    n += 2;

    /* Oversized: one byte past the limit, and far past it. */
    s = repeat("{\"type\":\"transcript\",\"id\":1,\"text\":\"hi\",\"pad\":\"", 'a', PROTO_TEXT_MAX,
               "\"}");
    expect_refused(s, PROTO_TEXT_MAX + 1, -EMSGSIZE, "16384");
    expect_refused(s, strlen(s), -EMSGSIZE, NULL);
    free(s);
    n += 2;

    /* Exactly at the limit is fine. */
    {
        static const char head[] = "{\"type\":\"ping\",\"seq\":1,\"pad\":\"";
        struct proto_msg m;
        char err[256];

        s = repeat(head, 'a', PROTO_TEXT_MAX - (sizeof(head) - 1) - 2, "\"}");
        CHECK(strlen(s) == PROTO_TEXT_MAX);
        CHECKF(proto_parse(s, strlen(s), &m, err, sizeof(err)) == 0, "%s", err);
        proto_msg_finish(&m);
        free(s);
    }

    /* A string field one byte too long; a slot name and value too long. */
    s = repeat("{\"type\":\"transcript\",\"id\":1,\"text\":\"", 'x', PROTO_STRING_MAX + 1, "\"}");
    expect_refused(s, strlen(s), -EBADMSG, "longer than 4096");
    free(s);
    s = repeat("{\"type\":\"transcript\",\"id\":1,\"text\":\"", 'x', PROTO_STRING_MAX, "\"}");
    {
        struct proto_msg m;
        char err[256];

        CHECKF(proto_parse(s, strlen(s), &m, err, sizeof(err)) == 0, "%s", err);
        CHECK(m.text && strlen(m.text) == PROTO_STRING_MAX);
        proto_msg_finish(&m);
    }
    free(s);
    s = repeat(
        "{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":{\"a\":\"", 'v',
        PROTO_STRING_MAX + 1, "\"}}");
    expect_refused(s, strlen(s), -EBADMSG, "slot \"a\" is longer than 4096");
    free(s);
    s = repeat("{\"type\":\"intent\",\"id\":1,\"name\":\"n\",\"sensitive\":true,\"slots\":{\"", 'k',
               PROTO_STRING_MAX + 1, "\":\"v\"}}");
    expect_refused(s, strlen(s), -EBADMSG, "slot name is longer");
    free(s);
    s = repeat("{\"type\":\"", 't', PROTO_STRING_MAX + 1, "\"}");
    expect_refused(s, strlen(s), -EBADMSG, "\"type\" is longer");
    free(s);
    n += 4;

    /* Deep nesting: cJSON stops at CJSON_NESTING_LIMIT (1000) instead of
     * recursing through 10000 levels. */
    s = repeat("", '[', 10000, "");
    expect_refused(s, strlen(s), -EBADMSG, "not JSON");
    free(s);
    s = repeat("{\"type\":\"ping\",\"seq\":1,\"x\":", '[', 5000, "");
    expect_refused(s, strlen(s), -EBADMSG, "not JSON");
    free(s);
    {
        /* 5000 opened and closed: valid JSON, still too deep for cJSON. */
        static const char head[] = "{\"type\":\"ping\",\"seq\":1,\"x\":";
        size_t h = sizeof(head) - 1;
        char *t = malloc(h + 10000 + 2);

        if (!t) {
            abort();
        }
        memcpy(t, head, h);
        memset(t + h, '[', 5000);
        memset(t + h + 5000, ']', 5000);
        memcpy(t + h + 10000, "}", 2);
        expect_refused(t, strlen(t), -EBADMSG, "not JSON");
        free(t);
    }
    s = repeat("", '{', 10000, "");
    expect_refused(s, strlen(s), -EBADMSG, "not JSON");
    free(s);
    n += 4;

    /* No text at all, and no place for the result. */
    {
        struct proto_msg m;
        char err[64];

        CHECK(proto_parse(NULL, 5, &m, err, sizeof(err)) == -EINVAL);
        CHECK(proto_parse("{}", 2, NULL, err, sizeof(err)) == -EINVAL);
        /* A NULL or zero-sized err buffer is allowed. */
        CHECK(proto_parse("{}", 2, &m, NULL, 0) == -EBADMSG);
        CHECK(proto_parse("{}", 2, &m, err, 0) == -EBADMSG);
    }
    printf("malformed: %zu messages refused\n", n);
    CHECK(n >= 30);
}

/* The update message: any bytes up to the limit go through base64 and back;
 * one more does not fit, neither built nor parsed. */
static void test_update(void)
{
    static uint8_t bundle[PROTO_UPDATE_MAX + 1];
    struct proto_msg msg;
    char err[256] = "", *text;
    size_t sizes[] = {1, 2, 3, 100, PROTO_UPDATE_MAX};
    size_t len;

    for (size_t i = 0; i < sizeof(bundle); i++) {
        bundle[i] = (uint8_t)(i * 131 + 7);
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (parse_built(proto_build_update(bundle, sizes[i]), PROTO_UPDATE, &msg)) {
            CHECK(msg.bundle_len == sizes[i] && memcmp(msg.bundle, bundle, sizes[i]) == 0);
            CHECK(!msg.has_id);
            proto_msg_finish(&msg);
        }
    }
    CHECK(proto_build_update(bundle, PROTO_UPDATE_MAX + 1) == NULL);
    CHECK(proto_build_update(bundle, 0) == NULL);
    CHECK(proto_build_update(NULL, 1) == NULL);

    /* 3073 bytes are 4100 characters: over the string limit. */
    text = malloc(PROTO_TEXT_MAX);
    if (!text) {
        CHECK(!"malloc");
        return;
    }
    strcpy(text, "{\"type\":\"update\",\"bundle\":\"");
    len = strlen(text);
    memset(text + len, 'Q', 4100);
    strcpy(text + len + 4100, "\"}");
    CHECK(proto_parse(text, strlen(text), &msg, err, sizeof(err)) == -EBADMSG);
    CHECKF(strstr(err, "\"bundle\" is longer than 4096 bytes"), "%s", err);
    free(text);
}

static void test_frames(void)
{
    uint8_t packet[PROTO_OPUS_MAX + 1];
    uint8_t out[PROTO_BINARY_MAX + 16];
    struct proto_frame fr;
    int len;

    for (size_t i = 0; i < sizeof(packet); i++) {
        packet[i] = (uint8_t)(i * 7 + 1);
    }

    /* Big-endian header, packet after it. */
    len =
        proto_frame_pack(PROTO_FRAME_UPLINK, 0x01020304u, 0xA0B0C0D0u, packet, 3, out, sizeof(out));
    CHECK(len == PROTO_FRAME_HEADER + 3);
    CHECK(out[0] == 1 && out[1] == 1 && out[2] == 2 && out[3] == 3 && out[4] == 4);
    CHECK(out[5] == 0xA0 && out[6] == 0xB0 && out[7] == 0xC0 && out[8] == 0xD0);
    CHECK(memcmp(out + 9, packet, 3) == 0);
    CHECK(proto_frame_parse(out, (size_t)len, &fr) == 0);
    CHECK(fr.kind == PROTO_FRAME_UPLINK && fr.id == 0x01020304u && fr.seq == 0xA0B0C0D0u);
    CHECK(fr.opus == out + PROTO_FRAME_HEADER && fr.opus_len == 3);

    /* The largest packet, downlink, extreme id and seq. */
    len = proto_frame_pack(PROTO_FRAME_DOWNLINK, UINT32_MAX, 0, packet, PROTO_OPUS_MAX, out,
                           PROTO_BINARY_MAX);
    CHECK(len == PROTO_BINARY_MAX);
    CHECK(proto_frame_parse(out, (size_t)len, &fr) == 0);
    CHECK(fr.kind == PROTO_FRAME_DOWNLINK && fr.id == UINT32_MAX && fr.seq == 0);
    CHECK(fr.opus_len == PROTO_OPUS_MAX && memcmp(fr.opus, packet, PROTO_OPUS_MAX) == 0);

    /* One byte. */
    len = proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, 1, out, PROTO_FRAME_HEADER + 1);
    CHECK(len == PROTO_FRAME_HEADER + 1);
    CHECK(proto_frame_parse(out, (size_t)len, &fr) == 0 && fr.opus_len == 1);

    /* Packing refuses: empty, 1276 bytes, no room, unknown kind, NULL. */
    CHECK(proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, 0, out, sizeof(out)) == -EINVAL);
    CHECK(proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, PROTO_OPUS_MAX + 1, out,
                           sizeof(out)) == -EINVAL);
    CHECK(proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, 10, out, PROTO_FRAME_HEADER + 9) ==
          -EINVAL);
    CHECK(proto_frame_pack((enum proto_frame_kind)3, 1, 1, packet, 10, out, sizeof(out)) ==
          -EINVAL);
    CHECK(proto_frame_pack((enum proto_frame_kind)0, 1, 1, packet, 10, out, sizeof(out)) ==
          -EINVAL);
    CHECK(proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, NULL, 10, out, sizeof(out)) == -EINVAL);
    CHECK(proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, 10, NULL, sizeof(out)) == -EINVAL);

    /* Parsing refuses: short headers, header only (0-byte packet), 1276
     * bytes of packet, unknown kinds. */
    memset(&fr, 0x5a, sizeof(fr));
    len = proto_frame_pack(PROTO_FRAME_UPLINK, 1, 1, packet, PROTO_OPUS_MAX, out, sizeof(out));
    for (size_t n = 0; n <= PROTO_FRAME_HEADER; n++) {
        CHECK(proto_frame_parse(out, n, &fr) == -EBADMSG);
    }
    out[PROTO_BINARY_MAX] = 0;
    CHECK(proto_frame_parse(out, PROTO_BINARY_MAX + 1, &fr) == -EBADMSG);
    CHECK(proto_frame_parse(NULL, 0, &fr) == -EBADMSG);
    for (int kind = 0; kind < 256; kind++) {
        out[0] = (uint8_t)kind;
        CHECK((proto_frame_parse(out, 20, &fr) == 0) == (kind == 1 || kind == 2));
    }
    CHECK(proto_frame_parse(out, 20, NULL) == -EINVAL);
}

/* One field of a doc table row ("`name` (what it is)"), which must be the
 * parser's i-th field of type, optional in both or in neither. A piece that
 * does not start with a name goes on describing the field before it. */
static void doc_field(enum proto_type type, char *piece, size_t *i)
{
    const char *want;
    char *name, *end;
    bool required = false, doc_required;

    piece += strspn(piece, " ");
    if (*piece != '`') {
        return;
    }
    name = piece + 1;
    end = strchr(name, '`');
    if (!end) {
        CHECKF(end, "%s: an unclosed ` in the fields of %s", "doc/protocol.md", proto_type_name(type));
        return;
    }
    *end = '\0';
    doc_required = strncmp(end + 1, " (optional", 10) != 0;
    want = proto_field_name(type, *i, &required);
    CHECKF(streq(want, name), "doc/protocol.md: %s's field %zu is `%s`, the parser's \"%s\"",
           proto_type_name(type), *i + 1, name, want ? want : "(none)");
    CHECKF(!streq(want, name) || required == doc_required,
           "doc/protocol.md: %s's `%s` is %s there, %s in the parser", proto_type_name(type), name,
           doc_required ? "required" : "optional", required ? "required" : "optional");
    (*i)++;
}

/* doc/protocol.md's message tables ("| `type` | fields | when |" under
 * "### Client to server" and "### Server to client") list every type's
 * fields in the parser's order, with "(optional" after the name of each that
 * may be left out: the doc and the field table are one list. */
static void test_doc(const char *path)
{
    FILE *f = fopen(path, "re");
    char line[4096];
    bool tables = false, seen[PROTO_UPDATE + 1] = {false};
    size_t rows = 0;

    CHECKF(f, "%s: cannot open", path);
    while (f && fgets(line, sizeof(line), f)) {
        enum proto_type type = PROTO_UNKNOWN;
        char *name = line + 3, *cell, *end, *piece;
        size_t i = 0;
        int depth = 0;
        bool quoted = false;

        if (strncmp(line, "### ", 4) == 0) {
            tables = strstr(line, "Client to server") || strstr(line, "Server to client");
        }
        if (!tables || strncmp(line, "| `", 3) != 0 || !(end = strchr(name, '`')) ||
            !(cell = strchr(end, '|')) || !strchr(cell + 1, '|')) {
            continue;
        }
        *end = '\0';
        *strchr(++cell, '|') = '\0';
        for (int t = PROTO_UNKNOWN + 1; t <= PROTO_UPDATE; t++) {
            type = streq(proto_type_name((enum proto_type)t), name) ? (enum proto_type)t : type;
        }
        CHECKF(type != PROTO_UNKNOWN, "%s: a row for \"%s\", a type the parser does not know", path,
               name);
        if (type == PROTO_UNKNOWN) {
            continue;
        }
        seen[type] = true;
        rows++;
        /* The fields are separated by the commas outside parentheses and
         * quotes. */
        for (char *p = piece = cell;; p++) {
            char c = *p;

            quoted ^= c == '`';
            depth += !quoted && c == '(' ? 1 : !quoted && c == ')' ? -1 : 0;
            if (c == '\0' || (c == ',' && depth == 0 && !quoted)) {
                *p = '\0';
                doc_field(type, piece, &i);
                if (c == '\0') {
                    break;
                }
                piece = p + 1;
            }
        }
        CHECKF(!proto_field_name(type, i, NULL), "%s: %s has %zu fields there, more in the parser",
               path, name, i);
    }
    if (f) {
        fclose(f);
    }
    for (int t = PROTO_UNKNOWN + 1; t <= PROTO_UPDATE; t++) {
        CHECKF(seen[t], "%s: no row for %s", path, proto_type_name((enum proto_type)t));
    }
    CHECK(rows == PROTO_UPDATE);
}

/* With an argument (the docs suite): only doc/protocol.md against the
 * field table. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        test_doc(argv[1]);
        return check_status();
    }
    test_round_trip();
    test_accepted();
    test_unknown_type();
    test_malformed();
    test_update();
    test_frames();
    return check_status();
}
