#include "nn-builtin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* wakeword/embed.py's output for each model in wakeword/models/ built in. */
extern const uint8_t nn_builtin_hey_computer[];
extern const size_t nn_builtin_hey_computer_size;

static const struct {
    const char *name;
    const uint8_t *data;
    const size_t *size;
} builtins[] = {
    {"hey-computer", nn_builtin_hey_computer, &nn_builtin_hey_computer_size},
};

int nn_builtin_load(const char *entry, char *err, size_t errsz, struct nn_model **ret_model)
{
    const char *name = entry + strlen(NN_BUILTIN_PREFIX);

    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strcmp(name, builtins[i].name) == 0) {
            return nn_model_parse(builtins[i].data, *builtins[i].size, entry, err, errsz,
                                  ret_model);
        }
    }
    snprintf(err, errsz, "%s: no such built-in model (there is builtin:hey-computer)", entry);
    return -ENOENT;
}
