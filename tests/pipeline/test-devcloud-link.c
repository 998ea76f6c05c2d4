/* hark's own cloud link (src/link/link.c) against hark-devcloud: connect with a
 * device certificate and the server's pin, reach ready, stream a spoken
 * request as Opus frames, and check the answer: transcript, intent weather,
 * response, downlink speech frames in order, response_end with their count.
 * A cancelled request gets no answer and does not disturb the next one.
 * usage: test-devcloud-link URL PIN CERT KEY REQUEST.WAV */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sndfile.h>

#include "base-clock.h"
#include "audio-opus.h"
#include "link.h"
#include "protocol.h"

#include "check.h"

struct answer {
    bool ready;
    bool down;
    char down_reason[512];
    uint32_t id;
    char transcript[4096];
    char intent[64];
    bool sensitive;
    char city[64];
    char response[1024];
    bool response_audio;
    uint32_t frames; /* downlink frames received */
    bool seq_ok;
    bool ended;
    uint32_t end_frames;
    uint32_t other; /* messages for other requests */
    char error[128];
};

static void on_ready(void *userdata)
{
    struct answer *a = userdata;

    a->ready = true;
}

static void on_down(void *userdata, const char *reason)
{
    struct answer *a = userdata;

    a->down = true;
    snprintf(a->down_reason, sizeof(a->down_reason), "%s", reason);
    fprintf(stderr, "link down: %s\n", reason);
}

static void on_message(void *userdata, const struct proto_msg *msg)
{
    struct answer *a = userdata;

    if (msg->has_id && msg->id != a->id) {
        a->other++;
        return;
    }
    switch (msg->type) {
    case PROTO_TRANSCRIPT:
        snprintf(a->transcript, sizeof(a->transcript), "%s", msg->text);
        break;
    case PROTO_INTENT:
        snprintf(a->intent, sizeof(a->intent), "%s", msg->name);
        a->sensitive = msg->sensitive;
        for (size_t i = 0; i < msg->n_slots; i++) {
            if (strcmp(msg->slots[i].name, "city") == 0) {
                snprintf(a->city, sizeof(a->city), "%s", msg->slots[i].value);
            }
        }
        break;
    case PROTO_RESPONSE:
        snprintf(a->response, sizeof(a->response), "%s", msg->text);
        a->response_audio = msg->audio;
        break;
    case PROTO_RESPONSE_END:
        a->ended = true;
        a->end_frames = msg->frames;
        break;
    case PROTO_ERROR:
        snprintf(a->error, sizeof(a->error), "%s: %s", msg->code, msg->message ? msg->message : "");
        a->ended = true;
        break;
    default:
        break;
    }
}

static void on_bad_message(void *userdata, const char *why)
{
    fprintf(stderr, "bad message from the server: %s\n", why);
    check_failures++;
}

static void on_frame(void *userdata, const struct proto_frame *frame)
{
    struct answer *a = userdata;

    if (frame->id != a->id) {
        a->other++;
        return;
    }
    if (frame->seq != a->frames) {
        a->seq_ok = false;
    }
    a->frames++;
}

static void on_wake(void *userdata)
{
}

static const struct link_callbacks callbacks = {
    .on_ready = on_ready,
    .on_down = on_down,
    .on_message = on_message,
    .on_bad_message = on_bad_message,
    .on_frame = on_frame,
    .on_wake = on_wake,
};

/* Runs the link until done() or the deadline. */
static bool run_until(struct link *link, struct answer *a, bool (*done)(const struct answer *),
                      double seconds)
{
    double deadline = now_mono_s() + seconds;

    while (!done(a) && !a->down && now_mono_s() < deadline) {
        link_run(link, 50);
    }
    return done(a);
}

static bool is_ready(const struct answer *a)
{
    return a->ready;
}

static bool is_ended(const struct answer *a)
{
    return a->ended;
}

static bool never(const struct answer *a)
{
    return false;
}

/* Sends a built message and frees it, servicing the link while its bounded
 * queue is full. */
static int send_json(struct link *link, char *json)
{
    int r = json ? -ENOBUFS : -ENOMEM;

    for (int tries = 0; r == -ENOBUFS && tries < 1000; tries++) {
        r = link_send_text(link, json);
        if (r == -ENOBUFS) {
            link_run(link, 10);
        }
    }
    free(json);
    return r;
}

/* Sends a frame, servicing the link while its bounded queue is full. */
static int send_frame(struct link *link, uint32_t id, uint32_t seq, const uint8_t *opus,
                      size_t len)
{
    for (int tries = 0; tries < 1000; tries++) {
        int r = link_send_audio(link, id, seq, opus, len);

        if (r != -ENOBUFS) {
            return r;
        }
        link_run(link, 10);
    }
    return -ETIMEDOUT;
}

static int stream(struct link *link, uint32_t id, const int16_t *pcm, size_t n, size_t max_frames,
                  uint32_t *ret_frames)
{
    struct audio_opus_encoder *enc;
    uint32_t seq = 0;
    int r;

    r = audio_opus_encoder_new(24000, 5, &enc);
    if (r < 0) {
        return r;
    }
    for (size_t at = 0; at + AUDIO_OPUS_FRAME <= n && seq < max_frames; at += AUDIO_OPUS_FRAME) {
        uint8_t packet[PROTO_OPUS_MAX];
        ssize_t len = audio_opus_encode(enc, pcm + at, packet, sizeof(packet));

        if (len <= 0) {
            r = (int)len;
            break;
        }
        r = send_frame(link, id, seq, packet, (size_t)len);
        if (r < 0) {
            break;
        }
        seq++;
    }
    audio_opus_encoder_free(enc);
    *ret_frames = seq;
    return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
    const char *pins[1];
    struct link_params params = {0};
    struct answer a = {.seq_ok = true};
    struct link *link = NULL;
    SF_INFO info = {0};
    SNDFILE *sf;
    int16_t *pcm;
    size_t n;
    uint32_t frames = 0;
    char err[512];
    double t0;
    int r;

    if (argc != 6) {
        fprintf(stderr, "usage: %s URL PIN CERT KEY REQUEST.WAV\n", argv[0]);
        return 2;
    }
    sf = sf_open(argv[5], SFM_READ, &info);
    if (!sf || info.samplerate != 16000 || info.channels != 1) {
        fprintf(stderr, "%s: want a 16 kHz mono file\n", argv[5]);
        return 1;
    }
    pcm = calloc((size_t)info.frames + 1, sizeof(*pcm));
    n = (size_t)sf_read_short(sf, pcm, info.frames);
    sf_close(sf);

    pins[0] = argv[2];
    params.url = argv[1];
    params.pins = pins;
    params.n_pins = 1;
    params.cert_path = argv[3];
    params.key_path = argv[4];
    params.client_name = "hark-test/0";
    r = link_new(&params, &callbacks, &a, err, sizeof(err), &link);
    if (r < 0) {
        fprintf(stderr, "FAIL: link_new: %s\n", err);
        return 1;
    }
    CHECKF(run_until(link, &a, is_ready, 15), "not ready: %s", a.down_reason);

    /* A cancelled request: a few frames, then cancel; nothing comes back. */
    a.id = 1;
    CHECKF(send_json(link, proto_build_start(1, "hey computer", 0.9, 500)) == 0, "start 1");
    r = stream(link, 1, pcm, n, 20, &frames);
    CHECKF(r == 0, "stream 1: %s", strerror(-r));
    CHECKF(send_json(link, proto_build_cancel(1, "test")) == 0, "cancel 1");

    /* The real request. */
    a.id = 2;
    t0 = now_mono_s();
    CHECKF(send_json(link, proto_build_start(2, "hey computer", 0.9, 500)) == 0, "start 2");
    r = stream(link, 2, pcm, n, PROTO_UPLINK_FRAMES_MAX, &frames);
    CHECKF(r == 0, "stream 2: %s", strerror(-r));
    CHECKF(send_json(link, proto_build_end(2, "silence", frames)) == 0, "end 2");
    CHECKF(run_until(link, &a, is_ended, 60), "no response_end within 60 s");
    printf("answered in %.2f s: transcript \"%s\", intent %s (city %s), response \"%s\", "
           "%u downlink frames\n",
           now_mono_s() - t0, a.transcript, a.intent, a.city, a.response, a.frames);
    CHECKF(a.error[0] == '\0', "error %s", a.error);
    CHECKF(strstr(a.transcript, "weather") != NULL, "transcript '%s'", a.transcript);
    CHECKF(strcmp(a.intent, "weather") == 0 && !a.sensitive, "intent %s", a.intent);
    CHECKF(strstr(a.response, "sunny") != NULL && a.response_audio, "response '%s'", a.response);
    CHECKF(a.frames > 50 && a.seq_ok, "%u downlink frames, in order: %d", a.frames, a.seq_ok);
    CHECKF(a.end_frames == a.frames, "response_end says %u frames, %u came", a.end_frames, a.frames);
    /* Nothing for the cancelled request, even a little later. */
    run_until(link, &a, never, 1.0);
    CHECKF(a.other == 0, "%u messages for the cancelled request", a.other);
    CHECKF(!a.down, "link went down: %s", a.down_reason);

    /* Too long: more than 1500 frames (30 s) ends the request with too_long. */
    {
        size_t n_long = (size_t)(PROTO_UPLINK_FRAMES_MAX + 1) * AUDIO_OPUS_FRAME;
        int16_t *quiet = calloc(n_long, sizeof(*quiet));

        a = (struct answer){.id = 3, .seq_ok = true, .ready = true};
        CHECKF(quiet != NULL, "calloc");
        CHECKF(send_json(link, proto_build_start(3, "hey computer", 0.9, 500)) == 0, "start 3");
        r = stream(link, 3, quiet, n_long, PROTO_UPLINK_FRAMES_MAX + 1, &frames);
        CHECKF(r == 0 && frames == PROTO_UPLINK_FRAMES_MAX + 1, "stream 3: %d, %u frames", r,
              frames);
        CHECKF(send_json(link, proto_build_end(3, "max_length", frames)) == 0, "end 3");
        CHECKF(run_until(link, &a, is_ended, 30), "no answer to a request that is too long");
        CHECKF(strncmp(a.error, "too_long:", 9) == 0, "error '%s', expected too_long", a.error);
        run_until(link, &a, never, 1.0);
        CHECKF(a.transcript[0] == '\0' && a.frames == 0 && a.end_frames == 0,
              "a request that was too long was answered");
        free(quiet);
    }

    link_free(link);
    free(pcm);
    return check_status();
}
