/* Events on stdout, one JSON object per line (JSON Lines): the interface that
 * scripts, tests and the demo read. Nothing else is written to stdout. Events
 * are written by one thread (the loop thread in `hark run`). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void events_set_output(FILE *out);
/* 0, or the negative errno of the first event that could not be written
 * (each event is flushed at once, so its error is not left for the end). */
int events_write_error(void);

/* detector: "neural" or "pocketsphinx"; score: that detector's (0 to 1);
 * verify: the second pass's, left out when NAN. */
void events_wake(double t, const char *phrase, const char *detector, double score, double verify);
void events_utterance_end(double t, const char *reason, double duration_s);

void events_connected(const char *url);
void events_disconnected(const char *reason);
void events_stream_start(uint32_t id, double preroll_s);
void events_stream_end(uint32_t id, const char *reason, double duration_s, uint32_t frames,
                       uint64_t bytes);
void events_transcript(uint32_t id, const char *text);
/* slot names and values alternate in slots (2 * n_slots strings). */
void events_intent(uint32_t id, const char *name, bool sensitive, const char *const *slots,
                   size_t n_slots);
void events_response(uint32_t id, const char *text);
void events_response_end(uint32_t id, double audio_s);
/* has_id false: an error about the link or the device, not one request. */
void events_error(bool has_id, uint32_t id, const char *code, const char *message);
/* What the privacy policy decided for a request: never its words. */
void events_policy(uint32_t id, const char *action, const char *rule);
/* The request was written into the history as record record_id. */
void events_remembered(uint32_t id, uint64_t record_id, bool audio);
/* The policy let the request be remembered, but the history could not take
 * it (reason: what failed, e.g. a full disk; never the request's words). */
void events_not_remembered(uint32_t id, const char *reason);
/* What `hark run` is doing: idle, listening, thinking, speaking, muted,
 * error, disconnected (the hooks' states). */
void events_state(const char *state);
/* The capture device failed or vanished (code capture_lost); hark reopens it
 * with backoff. */
void events_capture_lost(const char *message);
/* It opened again: device says which, as `hark -v` logs it. */
void events_capture_restored(const char *device);
/* The cloud pushed a signed update (doc/updates.md) and it was stored: its
 * pins take effect at the next connection, its rules at the next request. */
void events_update_applied(uint64_t version, size_t n_pins, bool policy);
/* ... or it was refused: why (bad signature, a replay, ...). */
void events_update_refused(const char *reason);
