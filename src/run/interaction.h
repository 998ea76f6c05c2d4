/* One request's words on the loop thread of `hark run`: every transcript,
 * intent and answer the cloud sends is held until the request has ended;
 * then the privacy policy decides on all of them together (the strictest
 * rule wins, whatever their order), and they are shown (as events) and
 * remembered (in the history) as the decision allows. A dropped request's
 * words are wiped unseen. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "policy.h"
#include "protocol.h"

/* The start of a debug recording record (HISTORY_AUDIO): this magic, the
 * interaction record's id (u64 LE), the sample rate (u32 LE) and the frame
 * count (u32 LE); then each Opus packet as a u16 LE length and its bytes. */
#define INTERACTION_AUDIO_MAGIC "HARKOPUS"
#define INTERACTION_AUDIO_HEADER 24

struct interaction;

/* The interaction owns the policy from here on, even when this fails: it is
 * the one owner of the rules in force. history NULL: nothing is remembered.
 * record_audio: keep the uplink of a remembered request (debug recording). */
int interaction_new(struct policy *policy, struct history *history, bool record_audio,
                    struct interaction **ret);
/* Frees the policy too. Accepts NULL. */
void interaction_free(struct interaction *in);

/* New rules (a signed update brought them), owned by the interaction from
 * here on: they decide from the next interaction_begin() on, never the
 * request open now. Rules given again before then replace these. */
void interaction_set_policy(struct interaction *in, struct policy *policy);

/* A new request; whatever the last one left is wiped, and rules given
 * since the last request take over. */
void interaction_begin(struct interaction *in, uint32_t id);

/* What the cloud said about the request: held, unseen. After the decision
 * (and with no request open) they are ignored. */
void interaction_transcript(struct interaction *in, const char *text);
void interaction_intent(struct interaction *in, const struct proto_msg *msg);
void interaction_response(struct interaction *in, const char *text);

/* One Opus packet of the uplink, for a debug recording. */
void interaction_audio(struct interaction *in, const uint8_t *opus, size_t len);

/* The cloud has said all it will (its answer is complete): decides on
 * everything held and shows it (the policy event, then the intent,
 * transcript and response as the decision allows). Once per request; later
 * calls return the same action. POLICY_DROP when no request is open. */
enum policy_action interaction_decide(struct interaction *in);

/* Decides if not yet decided, remembers what the decision allows, wipes
 * everything. Returns 0, or a negative errno when the history could not
 * take the record (logged, and shown as a not_remembered event). */
int interaction_finish(struct interaction *in);

/* The request failed (message: the cloud's error text, or NULL): decides on
 * everything held with the message weighed too, wipes it all, and returns
 * the message as the decision lets it be shown (malloc'd; NULL for drop or
 * no message). Nothing is shown or remembered. */
char *interaction_fail(struct interaction *in, const char *message);

/* The request ended without an answer from the cloud (cancelled, the link
 * went): wipes everything held, shows and remembers nothing. */
void interaction_abort(struct interaction *in);

/* Applies the history's retention now (the periodic purge). */
void interaction_purge(struct interaction *in);

/* Logs what opening or purging the history found: a torn tail, records that
 * fail verification, what expired. */
void interaction_log_report(const struct history_report *rep);

/* The current Unix time in milliseconds, as the history records it. */
int64_t interaction_now_ms(void);
