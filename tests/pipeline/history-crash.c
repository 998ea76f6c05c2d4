/* The history's crash safety from outside: `append` appends records of
 * random sizes until it is killed, printing "appended ID" after each append
 * returned; `check MAXID` opens the history afterwards (removing a torn
 * tail), and checks that every id up to MAXID that max_entries keeps is
 * still readable. max_entries makes appends purge and rewrite the file
 * too, so kills land in those as well.
 * usage: history-crash DIR append | history-crash DIR check MAXID */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

/* Up to 256 KiB: a large write is where SIGKILL can land in the middle. */
#define RECORD_MAX (256 * 1024)
#define KEEP 100

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append_loop(const struct history_params *p)
{
    static uint8_t buf[RECORD_MAX];
    char err[512];
    struct history *h = NULL;

    if (history_open(p, now_ms(), err, sizeof(err), NULL, &h) < 0) {
        fprintf(stderr, "history-crash: %s\n", err);
        return 1;
    }
    srand((unsigned)getpid());
    for (;;) {
        /* Mostly small records, now and then a large one. */
        size_t len = rand() % 16 == 0 ? (size_t)rand() % RECORD_MAX : (size_t)rand() % 2000;
        uint64_t id = 0;

        memset(buf, 'a' + rand() % 26, len);
        if (history_append(h, HISTORY_INTERACTION, now_ms(), buf, len, err, sizeof(err), &id) < 0) {
            fprintf(stderr, "history-crash: %s\n", err);
            history_free(h);
            return 1;
        }
        printf("appended %" PRIu64 "\n", id);
        fflush(stdout);
    }
}

struct walk {
    uint64_t first;
    uint64_t next;
    int bad;
};

static int on_entry(void *userdata, const struct history_entry *e)
{
    struct walk *w = userdata;

    if (w->first == 0) {
        w->first = w->next = e->id;
    }
    if (e->id != w->next) {
        fprintf(stderr, "history-crash: record %" PRIu64 " where %" PRIu64 " was expected\n", e->id,
                w->next);
        w->bad = 1;
    }
    for (size_t i = 1; i < e->len; i++) {
        if (e->data[i] != e->data[0]) {
            fprintf(stderr, "history-crash: record %" PRIu64 " has wrong contents\n", e->id);
            w->bad = 1;
            break;
        }
    }
    w->next = e->id + 1;
    return 0;
}

static int check(const struct history_params *p, uint64_t max_id)
{
    struct history_report rep, vrep;
    struct walk w = {0};
    /* The newest KEEP - 1 printed ids: an appended but unprinted one may
     * have pushed the oldest of KEEP out. */
    uint64_t want_first = max_id > KEEP - 1 ? max_id - (KEEP - 2) : 1;
    char err[512];
    struct history *h = NULL;
    int r;

    if (history_open(p, now_ms(), err, sizeof(err), &rep, &h) < 0) {
        fprintf(stderr, "history-crash: %s\n", err);
        return 1;
    }
    if (history_foreach(h, on_entry, &w, err, sizeof(err), NULL) < 0 ||
        (r = history_verify(h, err, sizeof(err), &vrep)) != 0) {
        fprintf(stderr, "history-crash: %s\n", err);
        history_free(h);
        return 1;
    }
    history_free(h);
    if (w.bad || (max_id > 0 && (w.first == 0 || w.first > want_first || w.next <= max_id))) {
        fprintf(stderr,
                "history-crash: up to %" PRIu64 " printed as appended, %" PRIu64 " to %" PRIu64
                " readable\n",
                max_id, w.first, w.next - 1);
        return 1;
    }
    /* A torn tail removed is reported in torn_bytes alone: once cut, it is
     * no problem of the history (callers logged it twice from both). */
    if (rep.problem[0] != '\0') {
        fprintf(stderr, "history-crash: after a kill: %s\n", rep.problem);
        return 1;
    }
    /* No record yet (killed before the first append): the last id is 0. */
    printf("ok %" PRIu64 " torn %" PRIu64 "\n", w.next ? w.next - 1 : 0, rep.torn_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    struct history_params p = {.retention_s = 7 * 86400, .max_entries = KEEP, .create = true};

    if (argc < 3) {
        fprintf(stderr, "usage: history-crash DIR append | history-crash DIR check MAXID\n");
        return 2;
    }
    p.dir = argv[1];
    if (strcmp(argv[2], "append") == 0) {
        return append_loop(&p);
    }
    /* Check creates too: a kill may land before the first open finished
     * making the files (a lost record would still show as missing). */
    if (strcmp(argv[2], "check") == 0 && argc == 4) {
        return check(&p, strtoull(argv[3], NULL, 10));
    }
    fprintf(stderr, "usage: history-crash DIR append | history-crash DIR check MAXID\n");
    return 2;
}
