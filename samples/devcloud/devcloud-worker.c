/* hark-devcloud's worker thread: a request's audio recognised with
 * PocketSphinx, mapped to an intent, answered with flite; the models it
 * loads at start. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "asr.h"
#include "audio-opus.h"
#include "audio-sink.h"
#include "base-clock.h"
#include "base-err.h"
#include "devcloud-internal.h"
#include "hark-build.h"
#include "intents.h"
#include "log.h"
#include "pin.h"
#include "protocol.h"
#include "registry.h"
#include "servercert.h"
#include "tts.h"
#include "wsout.h"

/* ---- the worker thread: recognition, intent, synthesis ---- */

void devcloud_job_free(struct job *job)
{
    if (!job) {
        return;
    }
    devcloud_wipe_free(job->pcm, job->n_pcm * sizeof(*job->pcm));
    if (job->transcript) {
        devcloud_wipe_free(job->transcript, strlen(job->transcript));
    }
    explicit_bzero(&job->intent, sizeof(job->intent));
    tts_packets_finish(&job->packets);
    free(job);
}

/* Cuts text to fit a protocol string field, at a word boundary. */
static void fit_string(char *text)
{
    size_t len = strlen(text);

    if (len < PROTO_STRING_MAX) {
        return;
    }
    len = PROTO_STRING_MAX - 1;
    while (len > 0 && text[len] != ' ') {
        len--;
    }
    text[len] = '\0';
}

static void process(struct devcloud *dc, struct job *job)
{
    int16_t *speech = NULL;
    size_t n_speech = 0;
    double t0, t1;
    int r;

    t0 = now_mono_s();
    r = asr_decode(dc->asr, job->pcm, job->n_pcm, &job->transcript);
    t1 = now_mono_s();
    job->asr_s = t1 - t0;
    /* The request's audio is not needed any more. */
    devcloud_wipe_free(job->pcm, job->n_pcm * sizeof(*job->pcm));
    job->pcm = NULL;
    if (r < 0) {
        job->error = r;
        return;
    }
    fit_string(job->transcript);
    intents_match(dc->intents, job->transcript, &job->intent);
    r = tts_synthesize(dc->tts, job->intent.response, &speech, &n_speech);
    if (r >= 0) {
        job->speech_s = (double)n_speech / AUDIO_OPUS_FRAME / 50.0;
        r = tts_encode(speech, n_speech, PROTO_DOWNLINK_FRAMES_MAX, &job->packets);
        free(speech);
    }
    job->tts_s = now_mono_s() - t1;
    if (r < 0) {
        job->error = r;
    }
}

static void *worker_main(void *userdata)
{
    struct devcloud *dc = userdata;

    pthread_mutex_lock(&dc->lock);
    for (;;) {
        struct job *job;

        while (!dc->todo.head && !dc->stopping) {
            pthread_cond_wait(&dc->cond, &dc->lock);
        }
        if (dc->stopping) {
            break;
        }
        job = dc->todo.head;
        dc->todo.head = job->next;
        if (!dc->todo.head) {
            dc->todo.tail = NULL;
        }
        job->next = NULL;
        pthread_mutex_unlock(&dc->lock);

        process(dc, job);

        pthread_mutex_lock(&dc->lock);
        job_list_push(&dc->done, job);
        /* The context outlives the worker (joined before it is destroyed). */
        lws_cancel_service(dc->ctx);
    }
    pthread_mutex_unlock(&dc->lock);
    return NULL;
}

int devcloud_load_models(struct devcloud *dc)
{
    char lm[PATH_MAX], err[1024];
    struct asr_params ap = {
        .hmm = HARK_MODEL_DIR,
        .dict = HARK_DICT,
        .decoder_log = dc->opt.verbose >= 2,
    };
    double t0 = now_mono_s();
    int r;

    r = intents_load(dc->opt.intents_path, err, sizeof(err), &dc->intents);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("%zu intents from %s", intents_count(dc->intents), dc->opt.intents_path);
    if (dc->opt.asr_lm) {
        snprintf(lm, sizeof(lm), "%s", dc->opt.asr_lm);
    } else if (asr_default_lm(HARK_MODEL_DIR, lm, sizeof(lm)) < 0) {
        log_error("the model path is too long");
        return -ENAMETOOLONG;
    }
    ap.lm = lm;
    r = asr_new(&ap, err, sizeof(err), &dc->asr);
    if (r < 0) {
        log_error("speech recognition: %s", err);
        return r;
    }
    r = tts_new(err, sizeof(err), &dc->tts);
    if (r < 0) {
        log_error("speech synthesis: %s", err);
        return r;
    }
    log_info("speech recognition (%s) and synthesis (flite, slt) ready in %.1f s", lm,
             now_mono_s() - t0);
    return 0;
}

int devcloud_start_worker(struct devcloud *dc)
{
    sigset_t all, old;
    int r;

    /* Signals are for the main thread, whose poll they interrupt. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = -pthread_create(&dc->worker, NULL, worker_main, dc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        log_error("cannot start the worker thread: %s", strerror(-r));
        return r;
    }
    dc->worker_started = true;
    return 0;
}

void devcloud_stop_worker(struct devcloud *dc)
{
    struct job *job, *next;
    struct conn *conn;

    if (dc->worker_started) {
        pthread_mutex_lock(&dc->lock);
        dc->stopping = true;
        pthread_cond_signal(&dc->cond);
        pthread_mutex_unlock(&dc->lock);
        pthread_join(dc->worker, NULL);
        dc->worker_started = false;
    }
    /* The jobs go now; the connections (closed later) must not point at them. */
    for (conn = dc->conns; conn; conn = conn->next) {
        conn->job = NULL;
        conn->state = REQ_NONE;
    }
    for (job = dc->todo.head; job; job = next) {
        next = job->next;
        devcloud_job_free(job);
    }
    for (job = dc->done.head; job; job = next) {
        next = job->next;
        devcloud_job_free(job);
    }
    dc->todo = dc->done = (struct job_list){0};
}
