/* Everything `hark run` needs before its loop: the storage, the privacy
 * (policy, history, the interaction), the control socket, the update in
 * force, the sink, the ear, the encoder and the link. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "audio-sink.h"
#include "base-clock.h"
#include "base-err.h"
#include "capture.h"
#include "hark-build.h"
#include "hooks.h"
#include "identity.h"
#include "interaction.h"
#include "log.h"
#include "queue.h"
#include "run-internal.h"

/* Retention is applied every minute, or every epoch when epochs are shorter,
 * so that a short retention is kept to within an epoch. */
double run_purge_interval(const struct hark_config *cfg)
{
    uint64_t epoch = history_epoch_seconds(cfg->privacy.retention_s);

    return epoch < 60 ? (double)epoch : 60.0;
}

/* History off: nothing new is kept, but a history left from before still
 * expires (now, and with the others' purges), and the user is told. */
static void open_old_history(struct run *run, const struct history_params *on)
{
    struct history_params hp = *on;
    struct history_report rep;
    char err[ERRSZ];
    int r;

    hp.create = false;
    r = history_open(&hp, interaction_now_ms(), err, sizeof(err), &rep, &run->old_history);
    if (r == -ENOENT) {
        log_info("history is off: nothing of any request is kept");
        return;
    }
    if (r < 0) {
        log_warning("history is off, but the history left in %s cannot be opened to expire it: "
                    "%s; `hark history wipe --yes` destroys it",
                    hp.dir, err);
        return;
    }
    interaction_log_report(&rep);
    log_warning("history is off: nothing new is kept, but the history left in %s holds %zu "
                "record(s); they still expire by [privacy] retention while hark runs; `hark "
                "history wipe --yes` destroys them now",
                hp.dir, rep.records);
}

void run_purge_old_history(struct run *run)
{
    struct history_report rep;
    char err[ERRSZ];

    if (history_purge(run->old_history, interaction_now_ms(), err, sizeof(err), &rep) < 0) {
        log_warning("history: %s", err);
        return;
    }
    interaction_log_report(&rep);
}

/* The policy, and the history when there is one: both before any audio.
 * applied: the update in force, if any. */
static int setup_privacy(struct run *run, const char *storage, const struct update_bundle *applied)
{
    const struct hark_config *cfg = run->cfg;
    struct history_params hp = {
        .dir = storage,
        .passphrase_file = cfg->privacy.passphrase_file[0] ? cfg->privacy.passphrase_file : NULL,
        .retention_s = cfg->privacy.retention_s,
        .max_entries = cfg->privacy.max_entries,
        .create = true,
    };
    struct policy_rules rules;
    struct policy *policy;
    struct history_report rep;
    char err[ERRSZ];
    int r;

    run_policy_rules(cfg, applied, &rules);
    r = policy_new(&rules, err, sizeof(err), &policy);
    if (r < 0) {
        log_error("[privacy] %s", err);
        return r;
    }
    if (applied && update_has_policy(applied)) {
        log_info(cfg->privacy.policy_updates
                     ? "the rules the update carries replace those of [privacy]"
                     : "the update's rules are not used: [privacy] policy_updates is off");
    }
    if (cfg->privacy.history) {
        r = history_open(&hp, interaction_now_ms(), err, sizeof(err), &rep, &run->history);
        if (r < 0) {
            log_error("%s", err);
            policy_free(policy);
            return r;
        }
        interaction_log_report(&rep);
    } else {
        open_old_history(run, &hp);
    }
    r = interaction_new(policy, run->history, cfg->privacy.debug_recording,
                        &run->interaction);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    if (cfg->privacy.debug_recording && run->history) {
        log_warning("debug_recording is on: the audio of remembered requests is kept");
    }
    run->next_purge = now_mono_s() + run_purge_interval(cfg);
    return 0;
}

/* The hooks and the control socket; a mute kept from the last run. */
static int setup_control(struct run *run, const char *storage)
{
    char path[CONFIG_STRING_MAX + 32], err[ERRSZ];
    int r;

    r = hooks_new(run->cfg, &run->hooks);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    if (run->cfg->control.persist_mute) {
        snprintf(run->muted_path, sizeof(run->muted_path), "%s/muted", storage);
        if (access(run->muted_path, F_OK) == 0) {
            log_warning("starting muted (kept from the last run): `hark ctl unmute` to listen");
            atomic_store(&run->muted, true);
        }
    }
    r = config_control_socket(run->cfg, path, sizeof(path));
    if (r < 0) {
        log_error("the control socket's path is too long");
        return r;
    }
    r = control_new(path, &run_control_callbacks, run, err, sizeof(err), &run->control);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("control socket %s", path);
    return 0;
}

/* The update in force (1, *ret) or none (0). A stored update that fails its
 * checks stops hark: falling back to the config's pins could undo a
 * rotation away from a compromised server key. */
static int setup_update(struct run *run, struct update_bundle *ret)
{
    char err[ERRSZ], what[UPDATE_DESCRIBE_MAX];
    int r;

    r = update_store_load(run->storage, &run->update, err, sizeof(err));
    if (r >= 0) {
        r = update_store_load_applied(run->storage, &run->update, run->fingerprint, ret, err,
                                      sizeof(err));
    }
    if (r < 0) {
        log_error("%s; not connecting (a newer update, `hark verify-update --apply FILE`, "
                  "replaces it)",
                  err);
        return r;
    }
    if (r == 1) {
        update_describe(ret, what, sizeof(what));
        log_info("update %s in force: its server pins replace [cloud] pins", what);
    } else if (!run->update.have_key) {
        log_info("no release key provisioned: updates from the cloud will be refused");
    }
    return r;
}

/* The audio of a run: the queue from the ear thread, the Opus codec, the
 * sink for the answers, the ear and the source it hears. */
static int setup_audio(struct run *run)
{
    struct audio_source_options sopts = {.realtime = run->opts->realtime};
    const char *input;
    char err[ERRSZ];
    int r;

    input = run->opts->input ? run->opts->input : run->cfg->audio.input;
    sopts.ring_ms = run->cfg->audio.ring_ms;

    r = queue_new(QUEUE_ITEMS, sizeof(struct item), &run->queue);
    if (r < 0) {
        log_error("out of memory");
        return r;
    }
    r = audio_opus_encoder_new((int)run->cfg->cloud.bitrate, (int)run->cfg->cloud.complexity,
                               &run->encoder);
    if (r >= 0) {
        r = audio_opus_decoder_new(&run->decoder);
    }
    if (r < 0) {
        log_error("cannot set up the Opus codec: %s", strerror(-r));
        return r;
    }
    if (run->opts->output) {
        r = audio_sink_open(run->opts->output, err, sizeof(err), &run->sink);
    } else {
        r = audio_sink_open_device(run->cfg->audio.output, err, sizeof(err), &run->sink);
    }
    /* A headless machine still shows the answers as events; a file or a
     * speaker that was asked for by name must be there. */
    if (r < 0 && (run->opts->output || strcmp(run->cfg->audio.output, "speaker") != 0)) {
        log_error("%s", err);
        return r;
    }
    if (r < 0) {
        log_warning("%s: answers are shown, not played", err);
    } else {
        log_info("answers play on %s", audio_sink_describe(run->sink));
    }
    run->device_sink = run->sink && !run->opts->output;
    r = ear_new(run->cfg, &run_ear_callbacks, run, err, sizeof(err), &run->ear);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    if (run->device_sink && run->cfg->audio.wake_chime) {
        ear_set_chime(run->ear, CHIME_MS + run->cfg->audio.chime_tail_ms);
    }
    r = audio_source_open(input, &sopts, err, sizeof(err), &run->source);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("listening to %s", audio_source_describe(run->source));
    run->live = audio_source_is_live(run->source);
    return 0;
}

/* Everything that can fail before audio flows, each failure logged once. */
int run_setup(struct run *run)
{
    char pins[UPDATE_PINS_MAX][PIN_STRING_MAX];
    const char *pin_list[UPDATE_PINS_MAX];
    const char *cert_path, *key_path;
    struct update_bundle applied;
    struct link_params lp;
    char err[ERRSZ];
    size_t n_pins;
    bool updated;
    int r;

    if (!run->cfg->cloud.url[0]) {
        log_error("no cloud configured: set [cloud] url (and pins) in the config file");
        return -EINVAL;
    }
    /* All of the configuration, before anything is created (the history,
     * the control socket, an --output file). */
    r = config_check(run->cfg, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    r = config_storage_dir(run->cfg, run->storage, sizeof(run->storage));
    if (r < 0) {
        log_error("no storage directory: set [storage] dir");
        return r;
    }
    r = identity_load(run->storage, run->fingerprint, &cert_path, &key_path, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    log_info("device %s", run->fingerprint);
    r = setup_update(run, &applied);
    if (r < 0) {
        return r;
    }
    updated = r == 1;
    if (updated) {
        n_pins = applied.n_pins;
        memcpy(pins, applied.pins, sizeof(applied.pins));
    } else {
        n_pins = config_cloud_pins(run->cfg, pins, CONFIG_MAX_PINS);
    }
    if (n_pins == 0) {
        log_error("no [cloud] pins configured: hark talks only to a server whose key it knows "
                  "(`hark pin CERT.pem` prints a certificate's pin)");
        return -EINVAL;
    }
    for (size_t i = 0; i < n_pins; i++) {
        pin_list[i] = pins[i];
    }
    /* The same pin twice is one key: no backup. */
    if (pin_count_distinct(pin_list, n_pins) == 1) {
        log_warning("only one server pin: add a backup pin so the server's key can be rotated");
    }
    r = setup_privacy(run, run->storage, updated ? &applied : NULL);
    if (r < 0) {
        return r;
    }
    r = setup_control(run, run->storage);
    if (r < 0) {
        return r;
    }

    r = setup_audio(run);
    if (r < 0) {
        return r;
    }
    snprintf(run->url, sizeof(run->url), "%s", run->cfg->cloud.url);
    lp = (struct link_params){
        .url = run->cfg->cloud.url,
        .pins = pin_list,
        .n_pins = n_pins,
        .ca_file = run->cfg->cloud.ca_file[0] ? run->cfg->cloud.ca_file : NULL,
        .cert_path = cert_path,
        .key_path = key_path,
        .client_name = "hark/" HARK_VERSION,
    };
    r = link_new(&lp, &run_link_callbacks, run, err, sizeof(err), &run->link);
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    return 0;
}
