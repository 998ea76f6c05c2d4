/* `hark run`'s chimes on the speaker: two rising notes at a wake, a
 * falling one when a request fails (loop thread). */
#include <math.h>

#include "audio-sink.h"
#include "base-err.h"
#include "capture.h"
#include "log.h"
#include "run-internal.h"

/* Two notes on the speaker, each note_ms long, faded in and out. Never into
 * an --output file, which holds answers only. */
static void play_chime(struct run *run, const double notes[2], unsigned note_ms)
{
    int16_t tone[AUDIO_RATE * 3 / 20]; /* room for 150 ms */
    size_t n = (size_t)note_ms * AUDIO_RATE / 1000;
    const size_t fade = AUDIO_RATE / 100;
    char err[ERRSZ];

    if (!run->device_sink) {
        return;
    }
    if (n > sizeof(tone) / sizeof(tone[0])) {
        n = sizeof(tone) / sizeof(tone[0]);
    }
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < n; i++) {
            double env = i < fade ? (double)i / fade : i > n - fade ? (double)(n - i) / fade : 1.0;
            tone[i] = (int16_t)(8000.0 * env * sin(2.0 * M_PI * notes[k] * (double)i / AUDIO_RATE));
        }
        if (audio_sink_write(run->sink, tone, n, err, sizeof(err)) < 0) {
            log_warning("%s", err);
            return;
        }
    }
}

/* Falling: a request could not be served, and the user hears that it was
 * not taken. */
void run_play_error_chime(struct run *run)
{
    static const double notes[2] = {660.0, 440.0};

    if (run->cfg->audio.error_chime) {
        play_chime(run, notes, 150);
    }
}

/* Rising: hark heard the wake phrase and is listening. */
void run_play_wake_chime(struct run *run)
{
    static const double notes[2] = {880.0, 1320.0};

    if (run->cfg->audio.wake_chime) {
        play_chime(run, notes, CHIME_NOTE_MS);
    }
}
