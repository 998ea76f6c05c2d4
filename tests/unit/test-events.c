/* The events on stdout (src/run/events.c): every event is one line that is
 * one JSON object, whatever its strings hold (quotes, backslashes, control
 * characters, a line break), with the fields doc/cli.md names; a write that
 * fails is reported, not lost. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "events.h"

#define NASTY "a \"quoted\" \\ back\nslash\t\x01\x1f end"

/* The one line written by write(), parsed; NULL (and a failed check) when it
 * is not exactly one line holding one object. */
static cJSON *one_event(void (*write)(void), const char *what)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cJSON *o = NULL;

    events_set_output(out);
    write();
    events_set_output(NULL);
    fclose(out);
    CHECKF(len > 0 && buf[len - 1] == '\n' && memchr(buf, '\n', len) == buf + len - 1,
           "%s: not one line: %s", what, buf);
    o = cJSON_Parse(buf);
    CHECKF(cJSON_IsObject(o), "%s: not a JSON object: %s", what, buf);
    free(buf);
    return o;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void wake(void)
{
    events_wake(1.25, NASTY, "neural", 0.875, NAN);
}

static void wake_verified(void)
{
    events_wake(1.25, "hey computer", "pocketsphinx", 0.5, 0.75);
}

static void stream_end(void)
{
    events_stream_end(4000000000u, NASTY, 2.5, 125, 5000000000ull);
}

static void intent(void)
{
    static const char *const slots[] = {"city", NASTY, "when", "today"};

    events_intent(7, "weather", true, slots, 2);
}

static void error_no_id(void)
{
    events_error(false, 9, "link_down", NASTY);
}

static void capture_lost(void)
{
    events_capture_lost(NASTY);
}

int main(void)
{
    cJSON *o;
    FILE *full;

    o = one_event(wake, "wake");
    CHECK(streq(str(o, "event"), "wake") && streq(str(o, "phrase"), NASTY));
    CHECK(streq(str(o, "detector"), "neural") && num(o, "t") == 1.25 && num(o, "score") == 0.875);
    CHECKF(!cJSON_GetObjectItemCaseSensitive(o, "verify"), "a wake without a second pass has a verify");
    cJSON_Delete(o);
    o = one_event(wake_verified, "wake, verified");
    CHECK(num(o, "verify") == 0.75);
    cJSON_Delete(o);

    o = one_event(stream_end, "stream_end");
    CHECK(streq(str(o, "event"), "stream_end") && num(o, "id") == 4000000000.0);
    CHECK(streq(str(o, "reason"), NASTY) && num(o, "frames") == 125 &&
          num(o, "bytes") == 5000000000.0 && num(o, "duration_s") == 2.5);
    cJSON_Delete(o);

    o = one_event(intent, "intent");
    {
        const cJSON *slots = cJSON_GetObjectItemCaseSensitive(o, "slots");

        CHECK(streq(str(o, "name"), "weather") && cJSON_IsTrue(cJSON_GetObjectItem(o, "sensitive")));
        CHECK(cJSON_GetArraySize(slots) == 2 && streq(str(slots, "city"), NASTY) &&
              streq(str(slots, "when"), "today"));
    }
    cJSON_Delete(o);

    /* An error about the link names no request. */
    o = one_event(error_no_id, "error");
    CHECK(streq(str(o, "code"), "link_down") && streq(str(o, "message"), NASTY));
    CHECKF(!cJSON_GetObjectItemCaseSensitive(o, "id"), "an error without a request has an id");
    cJSON_Delete(o);

    o = one_event(capture_lost, "capture_lost");
    CHECK(streq(str(o, "event"), "error") && streq(str(o, "code"), "capture_lost") &&
          streq(str(o, "message"), NASTY));
    cJSON_Delete(o);

    /* A full disk (or a closed pipe) is reported by the first event that
     * could not be written, and stays reported. */
    CHECK(events_write_error() == 0);
    full = fopen("/dev/full", "we");
    CHECK(full);
    if (full) {
        events_set_output(full);
        events_state("idle");
        events_set_output(NULL);
        fclose(full);
        CHECKF(events_write_error() == -ENOSPC, "a failed write gave %d", events_write_error());
    }
    return check_status();
}
