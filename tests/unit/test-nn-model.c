/* The neural model file's loader: a well-formed file loads with what was
 * written; each malformation is refused with a message that names the file
 * and what is wrong; every limit holds. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "check.h"
#include "nn-model.h"
#include "testdir.h"

static float weights[4][64 * 31 * 64 + 64];
static float huge[256 * 31 * 256 + 256];

/* A small valid model: 40 mels -> conv k5 16 -> depthwise k3 d2 -> conv k1 -> 1. */
static struct nn_model base(void)
{
    struct nn_model m = {
        .phrase = "hey computer",
        .features = {.sample_rate = 16000, .win = 400, .hop = 160, .n_fft = 512, .n_mels = 40,
                     .fmin = 60.0f, .fmax = 7600.0f, .log_floor = 1e-6f},
        .threshold = 0.5f,
        .trigger_frames = 3,
        .n_layers = 3,
    };
    m.layers[0] = (struct nn_layer){NN_LAYER_CONV, NN_ACT_RELU, 40, 16, 5, 1, weights[0],
                                    weights[0] + 16 * 5 * 40};
    m.layers[1] = (struct nn_layer){NN_LAYER_DEPTHWISE, NN_ACT_RELU, 16, 16, 3, 2, weights[1],
                                    weights[1] + 3 * 16};
    m.layers[2] = (struct nn_layer){NN_LAYER_CONV, NN_ACT_SIGMOID, 16, 1, 1, 1, weights[2],
                                    weights[2] + 16};
    return m;
}

static uint8_t *serialise(const struct nn_model *m, size_t *ret_size)
{
    uint8_t *buf = NULL;

    if (nn_model_serialise(m, &buf, ret_size) < 0) {
        fprintf(stderr, "cannot serialise\n");
        exit(1);
    }
    return buf;
}

static void rehash(uint8_t *buf, size_t size)
{
    mbedtls_sha256_ret(buf, size - 32, buf + size - 32, 0);
}

/* Parses and expects a refusal whose message holds want (and the name). */
static void expect_refused(const uint8_t *buf, size_t size, const char *want, int line)
{
    struct nn_model *m = NULL;
    char err[512] = "";
    int r = nn_model_parse(buf, size, "x.hwm", err, sizeof(err), &m);

    if (r != -EINVAL || strncmp(err, "x.hwm: ", 7) != 0 || !strstr(err, want)) {
        fprintf(stderr, "%s:%d: want a refusal with \"%s\", got %d \"%s\"\n", __FILE__, line,
                want, r, err);
        check_failures++;
    }
    nn_model_free(m);
}
#define REFUSED(buf, size, want) expect_refused(buf, size, want, __LINE__)

/* A model with one change, serialised and checksummed: the loader must
 * find what is wrong past the checksum. */
#define REFUSED_MODEL(change, want)                                                                \
    do {                                                                                           \
        struct nn_model m_ = base();                                                               \
        uint8_t *b_;                                                                               \
        size_t s_;                                                                                 \
        change;                                                                                    \
        b_ = serialise(&m_, &s_);                                                                  \
        expect_refused(b_, s_, want, __LINE__);                                                    \
        free(b_);                                                                                  \
    } while (0)

static void test_roundtrip(void)
{
    struct nn_model m = base(), *got = NULL;
    char err[512] = "";
    uint8_t *buf;
    size_t size;

    for (size_t i = 0; i < sizeof(weights[0]) / sizeof(float); i++) {
        weights[0][i] = (float)i * 1e-3f;
        weights[1][i] = -(float)i;
        weights[2][i] = 0.25f;
    }
    buf = serialise(&m, &size);
    CHECK(size == 128 + 3 * 32 + (16 * 5 * 40 + 16 + 3 * 16 + 16 + 16 + 1) * 4 + 32);
    CHECKF(nn_model_parse(buf, size, "ok.hwm", err, sizeof(err), &got) == 0, "%s", err);
    if (got) {
        CHECK(strcmp(got->phrase, "hey computer") == 0);
        CHECK(got->features.n_mels == 40 && got->features.hop == 160);
        CHECK(got->features.fmax == 7600.0f && got->features.log_floor == 1e-6f);
        CHECK(got->threshold == 0.5f && got->trigger_frames == 3);
        CHECK(got->n_layers == 3 && got->context == 1 + 4 + 2 * 2);
        CHECK(got->params == 16 * 5 * 40 + 16 + 3 * 16 + 16 + 16 + 1);
        CHECK(got->layers[1].type == NN_LAYER_DEPTHWISE && got->layers[1].dilation == 2);
        CHECK(got->layers[0].weights[123] == weights[0][123]);
        CHECK(got->layers[0].bias[15] == weights[0][16 * 5 * 40 + 15]);
        CHECK(got->layers[1].weights[47] == -47.0f);
        CHECK(got->layers[2].bias[0] == 0.25f);
    }
    nn_model_free(got);
    free(buf);
}

/* Damage the bytes of a good file: magic, version, sizes, checksum. */
static void test_damage(void)
{
    struct nn_model m = base();
    uint8_t *buf, *big;
    size_t size;

    buf = serialise(&m, &size);
    REFUSED(buf, 0, "bad magic");
    REFUSED(buf, 7, "bad magic");
    REFUSED((const uint8_t *)"HARKWAKX", 8, "bad magic");
    REFUSED(buf, 100, "shorter than the header");
    /* Every shorter length is refused, and says it is truncated. */
    for (size_t n = 160; n < size; n += 37) {
        REFUSED(buf, n, "truncated");
    }
    REFUSED(buf, size - 1, "truncated");

    big = calloc(1, size + 5);
    memcpy(big, buf, size);
    REFUSED(big, size + 5, "5 trailing bytes");
    free(big);

    buf[8] = 2;
    REFUSED(buf, size, "format version 2");
    buf[8] = 1;
    buf[size / 2] ^= 0x40;
    REFUSED(buf, size, "checksum mismatch");
    buf[size / 2] ^= 0x40;
    buf[size - 1] ^= 1;
    REFUSED(buf, size, "checksum mismatch");
    buf[size - 1] ^= 1;

    /* A reserved field set, with a checksum that fits. */
    buf[124] = 1;
    rehash(buf, size);
    REFUSED(buf, size, "reserved header field");
    buf[124] = 0;
    buf[128 + 24] = 1;
    rehash(buf, size);
    REFUSED(buf, size, "layer 0: reserved");
    buf[128 + 24] = 0;
    /* The file-size field agrees with a file cut short in the middle of the weights. */
    buf[12] = (uint8_t)(size - 8);
    buf[13] = (uint8_t)((size - 8) >> 8);
    rehash(buf, size - 8);
    REFUSED(buf, size - 8, "the layers need");
    free(buf);
}

static void test_fields(void)
{
    REFUSED_MODEL(strcpy(m_.phrase, "Hey Computer"), "phrase");
    REFUSED_MODEL(strcpy(m_.phrase, "hey  computer"), "phrase");
    REFUSED_MODEL(strcpy(m_.phrase, " hey"), "phrase");
    REFUSED_MODEL(m_.phrase[0] = '\0', "phrase");
    REFUSED_MODEL(m_.features.sample_rate = 8000, "sample rate 8000");
    REFUSED_MODEL(m_.features.n_fft = 500, "FFT size 500");
    REFUSED_MODEL(m_.features.n_fft = 4096, "FFT size 4096");
    REFUSED_MODEL(m_.features.win = 600, "window of 600");
    REFUSED_MODEL(m_.features.hop = 0, "hop of 0");
    REFUSED_MODEL(m_.features.hop = 401, "hop of 401");
    REFUSED_MODEL(m_.features.n_mels = 81, "81 mel bands");
    REFUSED_MODEL(m_.features.fmax = 9000.0f, "mel range");
    REFUSED_MODEL(m_.features.fmin = NAN, "mel range");
    REFUSED_MODEL(m_.features.log_floor = 0.0f, "log floor");
    REFUSED_MODEL(m_.threshold = 1.0f, "threshold");
    REFUSED_MODEL(m_.threshold = NAN, "threshold");
    REFUSED_MODEL(m_.trigger_frames = 0, "trigger of 0");
    REFUSED_MODEL(m_.trigger_frames = 101, "trigger of 101");
    REFUSED_MODEL(m_.n_layers = 0, "0 layers");
}

static void sixteen_layers(struct nn_model *m, float many[][32])
{
    m->n_layers = NN_LAYERS_MAX;
    for (unsigned i = 1; i < NN_LAYERS_MAX; i++) {
        m->layers[i] = (struct nn_layer){NN_LAYER_DEPTHWISE, NN_ACT_RELU, 16, 16, 1, 1, many[i],
                                         many[i] + 16};
    }
    m->layers[NN_LAYERS_MAX - 1].act = NN_ACT_SIGMOID;
}

static void test_shapes(void)
{
    static float many[NN_LAYERS_MAX + 1][32];

    REFUSED_MODEL(m_.layers[0].in_ch = 39, "layer 0: takes 39 channels but the front end");
    REFUSED_MODEL(m_.layers[1].in_ch = m_.layers[1].out_ch = 8, "layer 1: takes 8 channels");
    REFUSED_MODEL(m_.layers[1].out_ch = 8, "depthwise with 16 -> 8");
    REFUSED_MODEL(m_.layers[2].out_ch = 2, "gives 2 channels, not 1");
    REFUSED_MODEL(m_.layers[2].act = NN_ACT_RELU, "not sigmoid");
    REFUSED_MODEL(m_.layers[0].act = NN_ACT_SIGMOID, "sigmoid before the last layer");
    REFUSED_MODEL(m_.layers[1].type = 3, "layer 1: unknown type 3");
    REFUSED_MODEL(m_.layers[1].act = 7, "unknown activation 7");
    REFUSED_MODEL(m_.layers[0].kernel = 32, "kernel 32");
    REFUSED_MODEL(m_.layers[0].kernel = 0, "kernel 0");
    REFUSED_MODEL(m_.layers[1].dilation = 65, "dilation 65");
    REFUSED_MODEL(m_.layers[1].dilation = 0, "dilation 0");
    REFUSED_MODEL((m_.layers[0].out_ch = 257, m_.layers[1].in_ch = m_.layers[1].out_ch = 257,
                   m_.layers[2].in_ch = 257),
                  "257 channels");
    /* Receptive field: 31 taps at dilation 64 on three layers is past 400 frames. */
    REFUSED_MODEL((m_.layers[0].kernel = 31, m_.layers[0].dilation = 8, m_.layers[1].kernel = 31,
                   m_.layers[1].dilation = 8),
                  "see 481 frames");
    /* Parameters: 80 x 31 x 256 is past the limit on its own, and so past
     * the file size limit. */
    REFUSED_MODEL((m_.features.n_mels = 80, m_.layers[0].in_ch = 80, m_.layers[0].out_ch = 256,
                   m_.layers[0].kernel = 31, m_.layers[1].in_ch = m_.layers[1].out_ch = 256,
                   m_.layers[2].in_ch = 256, m_.n_layers = 3,
                   m_.layers[0].weights = huge, m_.layers[0].bias = huge + 80 * 31 * 256),
                  "bytes (at most 2097824)");
    /* Sixteen layers, the last of 16 channels. */
    REFUSED_MODEL(sixteen_layers(&m_, many), "gives 16 channels, not 1");
    /* A weight that is not a number. */
    weights[1][5] = NAN;
    REFUSED_MODEL((void)0, "weight");
    weights[1][5] = INFINITY;
    REFUSED_MODEL((void)0, "not a finite number");
    weights[1][5] = 0.0f;
}

/* A layer count past the limit cannot be serialised: write it by hand. */
static void test_layer_count(void)
{
    struct nn_model m = base();
    uint8_t *buf;
    size_t size;

    buf = serialise(&m, &size);
    buf[120] = NN_LAYERS_MAX + 1;
    rehash(buf, size);
    REFUSED(buf, size, "17 layers");
    free(buf);
}

static void write_file(const char *path, const uint8_t *buf, size_t size)
{
    FILE *f = fopen(path, "wbe");

    if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        exit(1);
    }
}

static void test_load(void)
{
    struct nn_model m = base(), *got = NULL;
    char err[512] = "", *path = testdir_path("m.hwm");
    uint8_t *buf;
    size_t size;

    buf = serialise(&m, &size);
    write_file(path, buf, size);
    CHECKF(nn_model_load(path, err, sizeof(err), &got) == 0, "%s", err);
    CHECK(got && got->params == 16 * 5 * 40 + 16 + 3 * 16 + 16 + 16 + 1);
    nn_model_free(got);
    got = NULL;

    write_file(path, buf, size - 1);
    CHECK(nn_model_load(path, err, sizeof(err), &got) == -EINVAL && !got);
    CHECKF(strncmp(err, path, strlen(path)) == 0 && strstr(err, "truncated"), "%s", err);

    CHECK(nn_model_load(testdir_path("none.hwm"), err, sizeof(err), &got) == -ENOENT);
    CHECKF(strstr(err, "none.hwm: ") != NULL, "%s", err);
    CHECK(nn_model_load(testdir, err, sizeof(err), &got) == -EINVAL);
    CHECKF(strstr(err, "not a regular file") != NULL, "%s", err);
    free(buf);

    /* Larger than any model may be: refused before reading it all. */
    buf = calloc(1, NN_MODEL_FILE_MAX + 1);
    memcpy(buf, NN_MODEL_MAGIC, 8);
    write_file(path, buf, NN_MODEL_FILE_MAX + 1);
    CHECK(nn_model_load(path, err, sizeof(err), &got) == -EINVAL);
    CHECKF(strstr(err, "at most") != NULL, "%s", err);
    free(buf);
}

int main(void)
{
    testdir_make("nn-model");
    test_roundtrip();
    test_damage();
    test_fields();
    test_shapes();
    test_layer_count();
    test_load();
    testdir_remove();
    return check_status();
}
