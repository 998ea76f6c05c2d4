/* JSON Lines event output, see events.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "events.h"

static FILE *events_out;
/* The errno of the first line that could not be written: by the time the
 * program ends and checks its output, errno says something else. */
static int write_errno;

void events_set_output(FILE *out)
{
    events_out = out;
}

static FILE *out(void)
{
    return events_out ? events_out : stdout;
}

/* Strings in events come from config and the decoder; escape them anyway so
 * that no value can break the line format. */
static void write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void finish_line(FILE *f)
{
    fputs("}\n", f);
    if (fflush(f) != 0 && write_errno == 0) {
        write_errno = errno;
    }
}

/* The events whose one field (after the id, if any) is a string. */
static void event_string(const char *event, const char *key, const char *value)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"%s\",\"%s\":", event, key);
    write_string(f, value);
    finish_line(f);
}

static void event_id_string(const char *event, uint32_t id, const char *key, const char *value)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"%s\",\"id\":%" PRIu32 ",\"%s\":", event, id, key);
    write_string(f, value);
    finish_line(f);
}

int events_write_error(void)
{
    return -write_errno;
}

void events_wake(double t, const char *phrase, const char *detector, double score, double verify)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"wake\",\"t\":%.3f,\"phrase\":", t);
    write_string(f, phrase);
    fputs(",\"detector\":", f);
    write_string(f, detector);
    fprintf(f, ",\"score\":%.3f", score);
    if (isfinite(verify)) {
        fprintf(f, ",\"verify\":%.3f", verify);
    }
    finish_line(f);
}

void events_utterance_end(double t, const char *reason, double duration_s)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"utterance_end\",\"t\":%.3f,\"reason\":", t);
    write_string(f, reason);
    fprintf(f, ",\"duration_s\":%.3f", duration_s);
    finish_line(f);
}

void events_connected(const char *url)
{
    event_string("connected", "url", url);
}

void events_disconnected(const char *reason)
{
    event_string("disconnected", "reason", reason);
}

void events_stream_start(uint32_t id, double preroll_s)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"stream_start\",\"id\":%" PRIu32 ",\"preroll_s\":%.3f", id, preroll_s);
    finish_line(f);
}

void events_stream_end(uint32_t id, const char *reason, double duration_s, uint32_t frames,
                       uint64_t bytes)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"stream_end\",\"id\":%" PRIu32 ",\"reason\":", id);
    write_string(f, reason);
    fprintf(f, ",\"duration_s\":%.3f,\"frames\":%" PRIu32 ",\"bytes\":%" PRIu64, duration_s, frames,
            bytes);
    finish_line(f);
}

void events_transcript(uint32_t id, const char *text)
{
    event_id_string("transcript", id, "text", text);
}

void events_intent(uint32_t id, const char *name, bool sensitive, const char *const *slots,
                   size_t n_slots)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"intent\",\"id\":%" PRIu32 ",\"name\":", id);
    write_string(f, name);
    fprintf(f, ",\"sensitive\":%s,\"slots\":{", sensitive ? "true" : "false");
    for (size_t i = 0; i < n_slots; i++) {
        if (i > 0) {
            fputc(',', f);
        }
        write_string(f, slots[2 * i]);
        fputc(':', f);
        write_string(f, slots[2 * i + 1]);
    }
    fputc('}', f);
    finish_line(f);
}

void events_response(uint32_t id, const char *text)
{
    event_id_string("response", id, "text", text);
}

void events_response_end(uint32_t id, double audio_s)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"response_end\",\"id\":%" PRIu32 ",\"audio_s\":%.3f", id, audio_s);
    finish_line(f);
}

void events_error(bool has_id, uint32_t id, const char *code, const char *message)
{
    FILE *f = out();

    fputs("{\"event\":\"error\"", f);
    if (has_id) {
        fprintf(f, ",\"id\":%" PRIu32, id);
    }
    fputs(",\"code\":", f);
    write_string(f, code);
    fputs(",\"message\":", f);
    write_string(f, message);
    finish_line(f);
}

void events_policy(uint32_t id, const char *action, const char *rule)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"policy\",\"id\":%" PRIu32 ",\"action\":", id);
    write_string(f, action);
    fputs(",\"rule\":", f);
    write_string(f, rule);
    finish_line(f);
}

void events_remembered(uint32_t id, uint64_t record_id, bool audio)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"remembered\",\"id\":%" PRIu32 ",\"record\":%" PRIu64 ",\"audio\":%s",
            id, record_id, audio ? "true" : "false");
    finish_line(f);
}

void events_not_remembered(uint32_t id, const char *reason)
{
    event_id_string("not_remembered", id, "reason", reason);
}

void events_state(const char *state)
{
    event_string("state", "state", state);
}

void events_capture_lost(const char *message)
{
    events_error(false, 0, "capture_lost", message);
}

void events_capture_restored(const char *device)
{
    event_string("capture_restored", "device", device);
}

void events_update_applied(uint64_t version, size_t n_pins, bool policy)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"update_applied\",\"version\":%" PRIu64 ",\"pins\":%zu,\"policy\":%s",
            version, n_pins, policy ? "true" : "false");
    finish_line(f);
}

void events_update_refused(const char *reason)
{
    event_string("update_refused", "reason", reason);
}
