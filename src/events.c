/* JSON Lines event output, see events.h. */
#include <stdio.h>

#include "events.h"

static FILE *events_out;

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
    fflush(f);
}

void events_wake(double t, const char *phrase, double score)
{
    FILE *f = out();

    fprintf(f, "{\"event\":\"wake\",\"t\":%.3f,\"phrase\":", t);
    write_string(f, phrase);
    fprintf(f, ",\"score\":%.3f", score);
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
