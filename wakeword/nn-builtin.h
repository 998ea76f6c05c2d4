/* The models built into hark (doc/wakeword.md): the default "hey computer"
 * one, so that the default config needs no file. In config they are named
 * "builtin:NAME". */
#ifndef HARK_NN_BUILTIN_H
#define HARK_NN_BUILTIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn-model.h"

#define NN_BUILTIN_PREFIX "builtin:"
/* The config entry that means "the built-in model of a phrase that has one"
 * (the default): see nn_builtin_for_phrase(). */
#define NN_BUILTIN_ANY "builtin"

/* Whether a config's model entry names a built-in model. */
static inline int nn_builtin_named(const char *entry)
{
    return entry[0] == 'b' && __builtin_strncmp(entry, NN_BUILTIN_PREFIX,
                                                sizeof(NN_BUILTIN_PREFIX) - 1) == 0;
}

/* Parses the built-in model "builtin:NAME" (entry). Returns 0, -ENOENT
 * (no such built-in model; err lists the ones there are), or what
 * nn_model_parse returns. */
int nn_builtin_load(const char *entry, char *err, size_t errsz, struct nn_model **ret_model);

/* "builtin:NAME", the built-in model for the wake phrase (lower case, words
 * separated by one space), or NULL if it has none. */
const char *nn_builtin_for_phrase(const char *phrase);

#endif
