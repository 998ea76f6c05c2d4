/* Fuzz harness for the neural model file's loader: any bytes as a model
 * file, as they are and again with the size field and the checksum made to
 * fit (so the fuzzer reaches the fields behind the checksum). A refusal
 * names the file; an accepted model is within every limit, its shapes
 * chain, its weights are finite, and it serialises back to the same bytes. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "nn-model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %.300s\n", what, detail ? detail : "");
    abort();
}

static void check_model(const struct nn_model *m, const uint8_t *data, size_t size)
{
    uint32_t prev = m->features.n_mels, context = 1, params = 0;
    uint8_t *again = NULL;
    size_t again_size = 0;

    if (m->n_layers < 1 || m->n_layers > NN_LAYERS_MAX || m->context > NN_CONTEXT_MAX ||
        m->params > NN_PARAMS_MAX || m->features.n_mels > NN_MELS_MAX ||
        m->max_channels > NN_CHANNELS_MAX) {
        fail("an accepted model is past a limit", m->phrase);
    }
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        uint32_t n = l->type == NN_LAYER_CONV ? l->out_ch * l->kernel * l->in_ch
                                              : l->kernel * l->in_ch;

        if (l->in_ch != prev || (l->type == NN_LAYER_DEPTHWISE && l->out_ch != l->in_ch)) {
            fail("an accepted model's shapes do not chain", m->phrase);
        }
        for (uint32_t k = 0; k < n; k++) {
            if (!isfinite(l->weights[k])) {
                fail("an accepted model has a weight that is not finite", m->phrase);
            }
        }
        for (uint32_t k = 0; k < l->out_ch; k++) {
            if (!isfinite(l->bias[k])) {
                fail("an accepted model has a bias that is not finite", m->phrase);
            }
        }
        context += (l->kernel - 1) * l->dilation;
        params += n + l->out_ch;
        prev = l->out_ch;
    }
    if (prev != 1 || context != m->context || params != m->params) {
        fail("an accepted model's sizes disagree with its layers", m->phrase);
    }
    if (nn_model_serialise(m, &again, &again_size) < 0) {
        fail("an accepted model cannot be serialised", m->phrase);
    }
    if (again_size != size || memcmp(again, data, size) != 0) {
        fail("an accepted model does not serialise back to its bytes", m->phrase);
    }
    free(again);
}

static void parse(const uint8_t *data, size_t size)
{
    struct nn_model *m = NULL;
    char err[512] = "";
    int r = nn_model_parse(data, size, "fuzz.hwm", err, sizeof(err), &m);

    if (r < 0) {
        if (m) {
            fail("a refusal returned a model", err);
        }
        if (r != -ENOMEM && strncmp(err, "fuzz.hwm: ", 10) != 0) {
            fail("a refusal does not name the file", err);
        }
        return;
    }
    if (r > 0 || !m) {
        fail("nn_model_parse returned no model or a positive value", err);
    }
    check_model(m, data, size);
    nn_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;

    parse(data, size);
    if (size < NN_MODEL_HEADER_SIZE + NN_MODEL_CHECKSUM_SIZE || size > NN_MODEL_FILE_MAX) {
        return 0;
    }
    fixed = malloc(size);
    if (!fixed) {
        return 0;
    }
    memcpy(fixed, data, size);
    memcpy(fixed, NN_MODEL_MAGIC, 8);
    fixed[8] = 1;
    fixed[9] = fixed[10] = fixed[11] = 0;
    fixed[12] = (uint8_t)size;
    fixed[13] = (uint8_t)(size >> 8);
    fixed[14] = (uint8_t)(size >> 16);
    fixed[15] = (uint8_t)(size >> 24);
    mbedtls_sha256_ret(fixed, size - NN_MODEL_CHECKSUM_SIZE, fixed + size - NN_MODEL_CHECKSUM_SIZE,
                       0);
    parse(fixed, size);
    free(fixed);
    return 0;
}
