/* Writes records into a history the way hark run would, for the tests of
 * `hark history` (tests/pipeline/history-cli.sh): any text, at any age.
 * usage: history-tool DIR append AGE_S TEXT   (prints the record's id) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"

int main(int argc, char **argv)
{
    struct history_params p = {.retention_s = HISTORY_RETENTION_MAX_S, .create = true};
    struct history *h = NULL;
    struct timespec ts;
    char err[512];
    uint64_t id = 0;
    int64_t now;

    if (argc != 5 || strcmp(argv[2], "append") != 0) {
        fprintf(stderr, "usage: history-tool DIR append AGE_S TEXT\n");
        return 2;
    }
    p.dir = argv[1];
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - strtoll(argv[3], NULL, 10) * 1000;
    if (history_open(&p, now, err, sizeof(err), NULL, &h) < 0 ||
        history_append(h, HISTORY_INTERACTION, now, argv[4], strlen(argv[4]), err, sizeof(err),
                       &id) < 0) {
        fprintf(stderr, "history-tool: %s\n", err);
        history_free(h);
        return 1;
    }
    history_free(h);
    printf("%" PRIu64 "\n", id);
    return 0;
}
