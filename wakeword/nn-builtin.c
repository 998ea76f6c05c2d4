#include "nn-builtin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* wakeword/embed.py's output for each model in wakeword/models/ built in. */
extern const uint8_t nn_builtin_hey_computer[];
extern const size_t nn_builtin_hey_computer_size;

static const struct {
    const char *entry;
    const char *phrase; /* the model's own, checked by nn-builtin.sh */
    const char *name;
    const uint8_t *data;
    const size_t *size;
} builtins[] = {
    {"builtin:hey-computer", "hey computer", "hey-computer", nn_builtin_hey_computer,
     &nn_builtin_hey_computer_size},
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

const char *nn_builtin_for_phrase(const char *phrase)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strcmp(phrase, builtins[i].phrase) == 0) {
            return builtins[i].entry;
        }
    }
    return NULL;
}
