/* Fuzz harness for the config parser: any text is either refused with a
 * FILE:LINE message and the defaults kept, or accepted and then survives a
 * dump and reload unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hark_config cfg, defaults, again;
    char err[512], *text, *dumped = NULL;
    size_t dumped_len = 0;
    FILE *f;

    text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    config_init_defaults(&defaults);
    config_init_defaults(&cfg);

    if (config_load_string(&cfg, "fuzz.conf", text, err, sizeof(err)) < 0) {
        if (strncmp(err, "fuzz.conf:", 10) != 0 || memcmp(&cfg, &defaults, sizeof(cfg)) != 0) {
            fprintf(stderr, "refused without a located message or with changes: %s\n", err);
            abort();
        }
        free(text);
        return 0;
    }
    f = open_memstream(&dumped, &dumped_len);
    if (!f) {
        abort();
    }
    config_dump(&cfg, f);
    fclose(f);
    config_init_defaults(&again);
    /* The values, not where they came from (the dump has its own lines). */
    if (config_load_string(&again, "dump.conf", dumped, err, sizeof(err)) < 0 ||
        memcmp(&cfg, &again, offsetof(struct hark_config, origin)) != 0) {
        fprintf(stderr, "accepted config does not survive a dump: %s\n", err);
        abort();
    }
    free(dumped);
    free(text);
    return 0;
}
