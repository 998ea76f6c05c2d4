/* The neural wake-word model file (.hwm) and its strict loader: a versioned
 * header with the phrase and the feature settings, a layer table, float32
 * weights and a SHA-256 over the whole file. The format is in
 * doc/wakeword.md ("The model file"); this header and nn-model.c are its
 * reference. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define NN_MODEL_MAGIC "HARKWAKE"
#define NN_MODEL_VERSION 1u
#define NN_MODEL_HEADER_SIZE 128u
#define NN_MODEL_LAYER_SIZE 32u
#define NN_MODEL_CHECKSUM_SIZE 32u

/* Limits on every size the file states; a file past one is refused. */
#define NN_PHRASE_MAX 64u        /* phrase field, NUL included */
#define NN_SAMPLE_RATE 16000u    /* the only rate the ear has */
#define NN_FFT_MIN 64u
#define NN_FFT_MAX 2048u
#define NN_MELS_MAX 80u
#define NN_LAYERS_MAX 16u
#define NN_CHANNELS_MAX 256u
#define NN_KERNEL_MAX 31u
#define NN_DILATION_MAX 64u
#define NN_CONTEXT_MAX 400u      /* receptive field in frames (4 s at 10 ms) */
#define NN_PARAMS_MAX (512u * 1024u) /* weights and biases: 2 MiB of float32 */
#define NN_TRIGGER_MAX 100u
#define NN_MODEL_FILE_MAX                                                                          \
    (NN_MODEL_HEADER_SIZE + NN_LAYERS_MAX * NN_MODEL_LAYER_SIZE + NN_PARAMS_MAX * 4u +            \
     NN_MODEL_CHECKSUM_SIZE)

enum nn_layer_type {
    NN_LAYER_CONV = 1,      /* causal 1-D conv over time: in -> out channels */
    NN_LAYER_DEPTHWISE = 2, /* causal depthwise 1-D conv: one filter per channel */
};

enum nn_activation {
    NN_ACT_NONE = 0,
    NN_ACT_RELU = 1,
    NN_ACT_SIGMOID = 2, /* the last layer's, and only there */
};

/* The log-mel front end's settings, as the model was trained on them. */
struct nn_features {
    uint32_t sample_rate; /* NN_SAMPLE_RATE */
    uint32_t win;         /* analysis window (Hann), samples */
    uint32_t hop;         /* samples between frames: one score per hop */
    uint32_t n_fft;       /* power of two, >= win */
    uint32_t n_mels;      /* mel bands = the first layer's input channels */
    float fmin, fmax;     /* Hz, 0 <= fmin < fmax <= sample_rate / 2 */
    float log_floor;      /* log(max(mel energy, floor)) */
};

struct nn_layer {
    enum nn_layer_type type;
    enum nn_activation act;
    uint32_t in_ch, out_ch; /* equal for a depthwise layer */
    uint32_t kernel, dilation;
    /* conv: out_ch * kernel * in_ch weights, [out][tap][in]; depthwise:
     * kernel * in_ch, [tap][ch]; tap 0 is the oldest frame. Then out_ch
     * biases. Point into the model's own copy, aligned for float. */
    const float *weights;
    const float *bias;
};

/* A loaded model: a plain description, read-only once loaded. */
struct nn_model {
    char phrase[NN_PHRASE_MAX];
    struct nn_features features;
    float threshold;          /* default score to wake, 0 < t < 1 */
    uint32_t trigger_frames;  /* consecutive frames at or above it */
    uint32_t n_layers;
    struct nn_layer layers[NN_LAYERS_MAX];
    uint32_t context;         /* receptive field, frames */
    uint32_t params;          /* weights and biases, all layers */
    uint32_t max_channels;    /* widest layer input or output */
    float *data;              /* all weights, owned */
};

/* Parses a model from memory. name is what messages call it (the file).
 * Returns 0, or -EINVAL (malformed; err says what, starting with name) or
 * -ENOMEM. */
int nn_model_parse(const uint8_t *buf, size_t size, const char *name, char *err, size_t errsz,
                   struct nn_model **ret_model);

/* Reads and parses a model file (a regular file of at most
 * NN_MODEL_FILE_MAX bytes). Returns 0 or a negative errno; err names the
 * file and what is wrong. */
int nn_model_load(const char *path, char *err, size_t errsz, struct nn_model **ret_model);

void nn_model_free(struct nn_model *model);

/* Serialises a model description (layers' weights and biases included) in
 * the current format, checksum and all, into a malloc'd buffer. For tests
 * and tools; the trainer writes the same bytes from Python. */
int nn_model_serialise(const struct nn_model *model, uint8_t **ret_buf, size_t *ret_size);
