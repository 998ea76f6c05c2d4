/* `hark history`: what the user sees of, and can do to, what hark remembers.
 * Works beside a running `hark run` (the store locks each operation). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "audio-opus.h"
#include "audio-sink.h"
#include "base-err.h"
#include "base-le.h"
#include "cli.h"
#include "config.h"
#include "history-cmd.h"
#include "history.h"
#include "interaction.h"
#include "log.h"

struct cmd {
    struct hark_config cfg;
    char dir[CONFIG_STRING_MAX + 32];
    struct history *history;
    struct history_report opened; /* what opening found (and expired) */
};

/* Opens the history as the config says, without making one; read_only
 * (verify): without applying the retention or removing a torn tail, and
 * without logging what opening found (verify prints it). -ENOENT: there is
 * none (nothing was ever remembered, or it was wiped); a history with a
 * file missing is an error, logged. */
static int open_history(struct cmd *c, bool read_only)
{
    struct history_params hp = {
        .dir = c->dir,
        .passphrase_file =
            c->cfg.privacy.passphrase_file[0] ? c->cfg.privacy.passphrase_file : NULL,
        .retention_s = c->cfg.privacy.retention_s,
        .max_entries = c->cfg.privacy.max_entries,
        .create = false,
        .read_only = read_only,
    };
    char err[ERRSZ];
    int r;

    r = history_open(&hp, interaction_now_ms(), err, sizeof(err), &c->opened, &c->history);
    if (r == -ENOENT) {
        return r;
    }
    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    if (!read_only) {
        interaction_log_report(&c->opened);
    }
    return 0;
}

/* Text from the cloud as a terminal may show it (log_escape); NULL when
 * out of memory. */
static char *escaped(const char *s)
{
    size_t n = log_escape(NULL, 0, s);
    char *out = malloc(n + 1);

    if (out) {
        log_escape(out, n + 1, s);
    }
    return out;
}

/* printf's %s for cloud text, escaped; pad > 0 left-aligns it in that many
 * columns as %-Ns does. */
static void put_text(const char *s, int pad)
{
    char *e = escaped(s);

    printf("%-*s", pad, e ? e : "(out of memory)");
    free(e);
}

static void format_time(int64_t ms, bool utc, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (utc) {
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
        localtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    }
}

static const char *json_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* An interaction record as an object for --json: its stored fields plus the
 * id and time. NULL if the payload is not the JSON hark writes. */
static cJSON *record_json(const struct history_entry *e)
{
    char when[32];
    cJSON *o;

    o = cJSON_ParseWithLength((const char *)e->data, e->len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return NULL;
    }
    format_time(e->time_ms, true, when, sizeof(when));
    cJSON_DeleteItemFromObjectCaseSensitive(o, "v");
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    cJSON_AddStringToObject(o, "time", when);
    return o;
}

struct list_state {
    bool json;
    cJSON *array; /* export */
    size_t n;
};

static int on_list(void *userdata, const struct history_entry *e)
{
    struct list_state *st = userdata;
    char when[32], *line;
    cJSON *o;

    if (e->type != HISTORY_INTERACTION) {
        return 0;
    }
    o = record_json(e);
    if (!o) {
        log_warning("record %" PRIu64 " is not a request record: skipped", e->id);
        return 0;
    }
    st->n++;
    if (st->array) {
        cJSON_AddItemToArray(st->array, o);
        return 0;
    }
    if (st->json) {
        line = cJSON_PrintUnformatted(o);
        if (line) {
            printf("%s\n", line);
            free(line);
        }
    } else {
        format_time(e->time_ms, false, when, sizeof(when));
        printf("%6" PRIu64 "  %s  ", e->id, when);
        put_text(json_string(o, "policy"), 6);
        fputs("  ", stdout);
        put_text(json_string(o, "intent"), 16);
        fputs("  ", stdout);
        put_text(json_string(o, "transcript"), 0);
        fputc('\n', stdout);
    }
    cJSON_Delete(o);
    return 0;
}

static int walk(struct cmd *c, history_fn fn, void *userdata)
{
    struct history_report rep;
    char err[ERRSZ];
    int r = history_foreach(c->history, fn, userdata, err, sizeof(err), &rep);

    if (r < 0) {
        log_error("%s", err);
        return r;
    }
    if (rep.bad + rep.misplaced + rep.no_key > 0) {
        log_warning("%zu record(s) could not be read: see `hark history verify`",
                    rep.bad + rep.misplaced + rep.no_key);
    }
    return 0;
}

static int do_list(struct cmd *c, bool json)
{
    struct list_state st = {.json = json};

    if (!c->history) {
        return 0;
    }
    if (!json) {
        printf("%6s  %-19s  %-6s  %-16s  %s\n", "ID", "TIME", "POLICY", "INTENT", "TRANSCRIPT");
    }
    return walk(c, on_list, &st) < 0 ? 1 : 0;
}

static int do_export(struct cmd *c)
{
    struct list_state st = {.json = true};
    cJSON *doc = cJSON_CreateObject();
    char when[32], *text;
    int r = 1;

    st.array = cJSON_AddArrayToObject(doc, "records");
    if (!doc || !st.array) {
        log_error("out of memory");
        goto out;
    }
    format_time(interaction_now_ms(), true, when, sizeof(when));
    cJSON_AddStringToObject(doc, "exported", when);
    cJSON_AddStringToObject(doc, "device_storage", c->dir);
    if (c->history && walk(c, on_list, &st) < 0) {
        goto out;
    }
    text = cJSON_Print(doc);
    if (!text) {
        log_error("out of memory");
        goto out;
    }
    printf("%s\n", text);
    free(text);
    r = 0;
out:
    cJSON_Delete(doc);
    return r;
}

/* One record by id, and the recordings that belong to it. */
struct find_state {
    uint64_t id;
    bool found;
    cJSON *record;
    int64_t time_ms;
    uint64_t audio_ids[8];
    size_t n_audio;
    uint32_t audio_frames;
    /* audio: the recording's packets, when asked for */
    bool want_audio;
    uint8_t *audio;
    size_t audio_len;
};

static int on_find(void *userdata, const struct history_entry *e)
{
    struct find_state *st = userdata;

    if (e->type == HISTORY_INTERACTION && e->id == st->id) {
        st->found = true;
        st->time_ms = e->time_ms;
        st->record = record_json(e);
    } else if (e->type == HISTORY_AUDIO && e->len >= INTERACTION_AUDIO_HEADER &&
               memcmp(e->data, INTERACTION_AUDIO_MAGIC, 8) == 0 && le_get(e->data + 8, 8) == st->id) {
        if (st->n_audio < sizeof(st->audio_ids) / sizeof(st->audio_ids[0])) {
            st->audio_ids[st->n_audio++] = e->id;
        }
        st->audio_frames += (uint32_t)le_get(e->data + 20, 4);
        if (st->want_audio && !st->audio) {
            st->audio = malloc(e->len);
            if (st->audio) {
                memcpy(st->audio, e->data, e->len);
                st->audio_len = e->len;
            }
        }
    }
    return 0;
}

static int parse_id(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0) {
        log_error("history: '%s' is not a record id (see `hark history list`)", s);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

static int find(struct cmd *c, uint64_t id, struct find_state *st)
{
    st->id = id;
    if (!c->history || walk(c, on_find, st) < 0) {
        return -EIO;
    }
    if (!st->found) {
        log_error("history: no request %" PRIu64 " (see `hark history list`)", id);
        return -ENOENT;
    }
    if (!st->record) {
        log_error("history: record %" PRIu64 " is not a request record", id);
        return -EBADMSG;
    }
    return 0;
}

static int do_show(struct cmd *c, uint64_t id)
{
    struct find_state st = {0};
    const cJSON *slots, *s;
    char when[32];

    if (find(c, id, &st) < 0) {
        cJSON_Delete(st.record);
        return 1;
    }
    format_time(st.time_ms, false, when, sizeof(when));
    printf("id:          %" PRIu64 "\ntime:        %s\n", id, when);
    fputs("policy:      ", stdout);
    put_text(json_string(st.record, "policy"), 0);
    fputs(" (", stdout);
    put_text(json_string(st.record, "rule"), 0);
    fputs(")\nintent:      ", stdout);
    put_text(json_string(st.record, "intent"), 0);
    fputc('\n', stdout);
    slots = cJSON_GetObjectItemCaseSensitive(st.record, "slots");
    cJSON_ArrayForEach(s, slots)
    {
        if (cJSON_IsString(s)) {
            fputs("slot:        ", stdout);
            put_text(s->string ? s->string : "", 0);
            fputs(" = ", stdout);
            put_text(s->valuestring, 0);
            fputc('\n', stdout);
        }
    }
    fputs("transcript:  ", stdout);
    put_text(json_string(st.record, "transcript"), 0);
    fputs("\nresponse:    ", stdout);
    put_text(json_string(st.record, "response"), 0);
    fputc('\n', stdout);
    if (st.n_audio > 0) {
        printf("recording:   %.1f s (`hark history audio %" PRIu64 " FILE.wav`)\n",
               st.audio_frames * 0.02, id);
    }
    cJSON_Delete(st.record);
    return 0;
}

static int delete_one(struct cmd *c, uint64_t id)
{
    struct find_state st = {0};
    char err[ERRSZ];
    int r;

    r = find(c, id, &st);
    cJSON_Delete(st.record);
    if (r < 0) {
        return 1;
    }
    /* The recording first: a request is never left behind by its audio. */
    for (size_t i = 0; i < st.n_audio; i++) {
        if (history_delete(c->history, st.audio_ids[i], err, sizeof(err)) < 0) {
            log_error("%s", err);
            return 1;
        }
    }
    if (history_delete(c->history, id, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    fprintf(stderr, "request %" PRIu64 " deleted%s; its key is destroyed when its epoch "
                    "expires\n",
            id, st.n_audio ? " with its recording" : "");
    return 0;
}

static int do_delete(struct cmd *c, const char *arg)
{
    uint64_t id;

    if (strcmp(arg, "--last") == 0) {
        if (!c->history || history_last(c->history, HISTORY_INTERACTION, &id) < 0) {
            log_error("history: nothing to delete");
            return 1;
        }
    } else if (parse_id(arg, &id) < 0) {
        return 2;
    }
    return delete_one(c, id);
}

static int do_purge(struct cmd *c)
{
    struct history_report rep;
    char err[ERRSZ];

    if (!c->history) {
        printf("0 records expired, 0 keys destroyed\n");
        return 0;
    }
    if (history_purge(c->history, interaction_now_ms(), err, sizeof(err), &rep) < 0) {
        log_error("%s", err);
        return 1;
    }
    /* Opening applied the retention already: count that too. */
    printf("%zu records expired, %zu keys destroyed\n", c->opened.expired + rep.expired,
           c->opened.keys_destroyed + rep.keys_destroyed);
    return 0;
}

/* Read only: verify never changes the history, and exits 1 on any problem
 * history_verify counts, the header's included. */
static int do_verify(struct cmd *c)
{
    struct history_report rep;
    char err[ERRSZ];
    int problems;

    if (!c->history) {
        printf("no history in %s\n", c->dir);
        return 0;
    }
    problems = history_verify(c->history, err, sizeof(err), &rep);
    if (problems < 0) {
        log_error("%s", err);
        return 1;
    }
    printf("%zu records: %zu readable (%zu deleted), %zu modified, %zu out of place, "
           "%zu without a key\n",
           rep.records, rep.readable, rep.deleted, rep.bad, rep.misplaced, rep.no_key);
    if (rep.header_bad) {
        printf("header: fails authentication (modified or corrupt)\n");
    } else if (rep.slot_bad) {
        printf("header: one slot fails authentication (modified or corrupt)\n");
    }
    if (rep.torn_kept > 0) {
        printf("end: an incomplete last record (%llu bytes)\n",
               (unsigned long long)rep.torn_kept);
    }
    if (rep.problem[0]) {
        printf("first problem: %s\n", rep.problem);
    }
    return problems > 0 ? 1 : 0;
}

static int do_audio(struct cmd *c, uint64_t id, const char *path)
{
    struct find_state st = {.want_audio = true};
    struct audio_opus_decoder *dec = NULL;
    struct audio_sink *sink = NULL;
    int16_t pcm[AUDIO_OPUS_FRAME * 6];
    char err[ERRSZ];
    int status = 1;
    size_t pos;

    if (find(c, id, &st) < 0) {
        goto out;
    }
    if (!st.audio) {
        log_error("history: request %" PRIu64 " has no recording (see [privacy] debug_recording)",
                  id);
        goto out;
    }
    if (audio_opus_decoder_new(&dec) < 0) {
        log_error("cannot set up the Opus decoder");
        goto out;
    }
    if (audio_sink_open(path, err, sizeof(err), &sink) < 0) {
        log_error("%s", err);
        goto out;
    }
    for (pos = INTERACTION_AUDIO_HEADER; pos + 2 <= st.audio_len;) {
        size_t len = (size_t)le_get(st.audio + pos, 2);
        ssize_t n;

        if (pos + 2 + len > st.audio_len) {
            log_error("history: recording of request %" PRIu64 " is cut short", id);
            goto out;
        }
        n = audio_opus_decode(dec, st.audio + pos + 2, len, pcm, sizeof(pcm) / sizeof(pcm[0]));
        if (n > 0 && audio_sink_write(sink, pcm, (size_t)n, err, sizeof(err)) < 0) {
            log_error("%s", err);
            goto out;
        }
        pos += 2 + len;
    }
    audio_sink_drain(sink, 0);
    status = 0;
out:
    audio_sink_free(sink);
    audio_opus_decoder_free(dec);
    explicit_bzero(pcm, sizeof(pcm));
    if (st.audio) {
        explicit_bzero(st.audio, st.audio_len);
        free(st.audio);
    }
    cJSON_Delete(st.record);
    return status;
}

static int do_wipe(struct cmd *c, int argc, char **argv)
{
    char err[ERRSZ];
    int n;

    if (argc != 2 || strcmp(argv[1], "--yes") != 0) {
        log_error("history wipe destroys every remembered request and its keys for good: "
                  "confirm with `hark history wipe --yes`");
        return 2;
    }
    history_free(c->history);
    c->history = NULL;
    n = history_wipe(c->dir, err, sizeof(err));
    if (n < 0) {
        log_error("%s", err);
        return 1;
    }
    fprintf(stderr, "history wiped: %d file(s) removed from %s\n", n, c->dir);
    return 0;
}

static int want_args(char **argv, int argc, int n, const char *shape)
{
    if (argc != n) {
        log_error("usage: hark history %s %s", argv[0], shape);
        return -EINVAL;
    }
    return 0;
}

static int dispatch(struct cmd *c, int argc, char **argv)
{
    const char *sub = argv[0];
    uint64_t id;

    if (strcmp(sub, "list") == 0) {
        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
            log_error("usage: hark history list [--json]");
            return 2;
        }
        return do_list(c, argc == 2);
    }
    if (strcmp(sub, "export") == 0) {
        if (argc != 2 || strcmp(argv[1], "--json") != 0) {
            log_error("usage: hark history export --json");
            return 2;
        }
        return do_export(c);
    }
    if (strcmp(sub, "show") == 0) {
        if (want_args(argv, argc, 2, "ID") < 0 || parse_id(argv[1], &id) < 0) {
            return 2;
        }
        return do_show(c, id);
    }
    if (strcmp(sub, "delete") == 0) {
        if (want_args(argv, argc, 2, "ID|--last") < 0) {
            return 2;
        }
        return do_delete(c, argv[1]);
    }
    if (strcmp(sub, "purge") == 0) {
        return want_args(argv, argc, 1, "") < 0 ? 2 : do_purge(c);
    }
    if (strcmp(sub, "verify") == 0) {
        return want_args(argv, argc, 1, "") < 0 ? 2 : do_verify(c);
    }
    if (strcmp(sub, "audio") == 0) {
        if (want_args(argv, argc, 3, "ID FILE.wav") < 0 || parse_id(argv[1], &id) < 0) {
            return 2;
        }
        return do_audio(c, id, argv[2]);
    }
    if (strcmp(sub, "wipe") == 0) {
        return do_wipe(c, argc, argv);
    }
    log_error("history: unknown command '%s'", sub);
    cli_command_usage(stderr, "history");
    return 2;
}

static bool known(const char *sub)
{
    static const char *const subs[] = {"list",   "show",   "delete", "purge", "export",
                                       "verify", "audio", "wipe"};

    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i]) == 0) {
            return true;
        }
    }
    return false;
}

int history_cmd_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *config_path = NULL;
    struct cmd *c;
    int o, r, status;

    /* '+': the options of the subcommand are its own. */
    while ((o = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            cli_command_usage(stdout, "history");
            return 0;
        default:
            cli_command_usage(stderr, "history");
            return 2;
        }
    }
    if (optind >= argc) {
        cli_command_usage(stderr, "history");
        return 2;
    }
    if (!known(argv[optind])) {
        log_error("history: unknown command '%s'", argv[optind]);
        cli_command_usage(stderr, "history");
        return 2;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        log_error("out of memory");
        return 1;
    }
    if (cli_load_config(config_path, &c->cfg) < 0) {
        status = 1;
        goto out;
    }
    if (config_storage_dir(&c->cfg, c->dir, sizeof(c->dir)) < 0) {
        log_error("no storage directory: set [storage] dir");
        status = 1;
        goto out;
    }
    /* Wipe needs no key: it must work when the key is lost or damaged. */
    if (strcmp(argv[optind], "wipe") != 0) {
        r = open_history(c, strcmp(argv[optind], "verify") == 0);
        if (r < 0 && r != -ENOENT) {
            status = 1;
            goto out;
        }
    }
    status = dispatch(c, argc - optind, argv + optind);
out:
    history_free(c->history);
    free(c);
    return status;
}
