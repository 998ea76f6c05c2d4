/* Streaming evaluation of the model's causal convolutions. Each layer keeps
 * its last (kernel - 1) * dilation + 1 input frames twice over in a row
 * buffer of twice that length, so its whole window is always contiguous:
 * the loops run over contiguous float arrays the compiler vectorises. */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn-mel.h"

struct layer_state {
    uint32_t span; /* frames the layer looks at */
    uint32_t pos;  /* row the next frame goes to (and to pos + span) */
    float *rows;   /* 2 * span rows of in_ch floats */
};

struct nn_net {
    const struct nn_model *model;
    uint64_t frames; /* since the last reset */
    struct layer_state layers[NN_LAYERS_MAX];
    float *a, *b; /* one layer's output, the next one's input: max_channels */
};

struct nn_detector {
    struct nn_model *model;
    struct nn_mel *mel;
    struct nn_net *net;
    float threshold;
    float *frame;      /* n_mels */
    uint32_t run;      /* frames in a row at or above the threshold */
    float run_max;
    uint64_t fed;      /* samples fed (and skipped) */
    uint64_t frame_end; /* one past the last sample of the next frame */
};

int nn_net_new(const struct nn_model *model, struct nn_net **ret_net)
{
    struct nn_net *net = calloc(1, sizeof(*net));

    if (!net) {
        return -ENOMEM;
    }
    net->model = model;
    for (uint32_t i = 0; i < model->n_layers; i++) {
        const struct nn_layer *l = &model->layers[i];
        struct layer_state *s = &net->layers[i];

        s->span = (l->kernel - 1) * l->dilation + 1;
        s->rows = calloc((size_t)2 * s->span * l->in_ch, sizeof(float));
        if (!s->rows) {
            goto out_free;
        }
    }
    net->a = calloc(model->max_channels, sizeof(float));
    net->b = calloc(model->max_channels, sizeof(float));
    if (!net->a || !net->b) {
        goto out_free;
    }
    *ret_net = net;
    return 0;

out_free:
    nn_net_free(net);
    return -ENOMEM;
}

void nn_net_free(struct nn_net *net)
{
    if (!net) {
        return;
    }
    for (uint32_t i = 0; i < NN_LAYERS_MAX; i++) {
        free(net->layers[i].rows);
    }
    free(net->a);
    free(net->b);
    free(net);
}

void nn_net_reset(struct nn_net *net)
{
    net->frames = 0;
    for (uint32_t i = 0; i < net->model->n_layers; i++) {
        net->layers[i].pos = 0;
    }
}

static void conv(const struct nn_layer *l, const float *restrict win, uint32_t span,
                 float *restrict out)
{
    uint32_t in = l->in_ch, k = l->kernel, d = l->dilation;

    for (uint32_t o = 0; o < l->out_ch; o++) {
        const float *restrict w = l->weights + (size_t)o * k * in;
        float acc = l->bias[o];

        for (uint32_t j = 0; j < k; j++) {
            const float *restrict x = win + (size_t)(span - 1 - (k - 1 - j) * d) * in;
            const float *restrict wj = w + (size_t)j * in;
            float s = 0.0f;

            for (uint32_t i = 0; i < in; i++) {
                s += wj[i] * x[i];
            }
            acc += s;
        }
        out[o] = acc;
    }
}

static void depthwise(const struct nn_layer *l, const float *restrict win, uint32_t span,
                      float *restrict out)
{
    uint32_t ch = l->in_ch, k = l->kernel, d = l->dilation;

    memcpy(out, l->bias, ch * sizeof(float));
    for (uint32_t j = 0; j < k; j++) {
        const float *restrict x = win + (size_t)(span - 1 - (k - 1 - j) * d) * ch;
        const float *restrict w = l->weights + (size_t)j * ch;

        for (uint32_t c = 0; c < ch; c++) {
            out[c] += w[c] * x[c];
        }
    }
}

int nn_net_push(struct nn_net *net, const float *frame, float *ret_score)
{
    const struct nn_model *m = net->model;
    const float *in = frame;

    for (uint32_t i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        struct layer_state *s = &net->layers[i];
        float *out = i % 2 ? net->b : net->a;
        size_t row = l->in_ch;

        memcpy(s->rows + s->pos * row, in, row * sizeof(float));
        memcpy(s->rows + (s->pos + s->span) * row, in, row * sizeof(float));
        /* The window, oldest first: rows pos + 1 .. pos + span. */
        if (l->type == NN_LAYER_CONV) {
            conv(l, s->rows + (s->pos + 1) * row, s->span, out);
        } else {
            depthwise(l, s->rows + (s->pos + 1) * row, s->span, out);
        }
        s->pos = s->pos + 1 == s->span ? 0 : s->pos + 1;
        if (l->act == NN_ACT_RELU) {
            for (uint32_t c = 0; c < l->out_ch; c++) {
                out[c] = out[c] > 0.0f ? out[c] : 0.0f;
            }
        } else if (l->act == NN_ACT_SIGMOID) {
            out[0] = 1.0f / (1.0f + expf(-out[0]));
        }
        in = out;
    }
    net->frames++;
    if (net->frames < m->context) {
        return 0;
    }
    *ret_score = in[0];
    return 1;
}

int nn_detector_new(struct nn_model *model, float threshold, struct nn_detector **ret_det)
{
    struct nn_detector *det;
    int r;

    if (!isnan(threshold) && !(threshold > 0.0f && threshold < 1.0f)) {
        return -EINVAL;
    }
    det = calloc(1, sizeof(*det));
    if (!det) {
        return -ENOMEM;
    }
    det->threshold = isnan(threshold) ? model->threshold : threshold;
    det->frame = calloc(model->features.n_mels, sizeof(float));
    if (!det->frame) {
        r = -ENOMEM;
        goto out_free;
    }
    r = nn_mel_new(&model->features, &det->mel);
    if (r < 0) {
        goto out_free;
    }
    r = nn_net_new(model, &det->net);
    if (r < 0) {
        goto out_free;
    }
    det->model = model;
    det->frame_end = model->features.win;
    *ret_det = det;
    return 0;

out_free:
    nn_detector_free(det);
    return r;
}

void nn_detector_free(struct nn_detector *det)
{
    if (!det) {
        return;
    }
    nn_net_free(det->net);
    nn_mel_free(det->mel);
    free(det->frame);
    nn_model_free(det->model);
    free(det);
}

const struct nn_model *nn_detector_model(const struct nn_detector *det)
{
    return det->model;
}

static void restart(struct nn_detector *det)
{
    nn_mel_reset(det->mel);
    nn_net_reset(det->net);
    det->run = 0;
    det->run_max = 0.0f;
    det->frame_end = det->fed + det->model->features.win;
}

int nn_detector_feed(struct nn_detector *det, const int16_t *samples, size_t n,
                     struct nn_detection *ret_detection)
{
    const int16_t *p = samples;
    size_t left = n;

    while (nn_mel_next(det->mel, &p, &left, det->frame)) {
        uint64_t end = det->frame_end;
        float score;

        det->frame_end += det->model->features.hop;
        if (!nn_net_push(det->net, det->frame, &score)) {
            continue;
        }
        if (score < det->threshold) {
            det->run = 0;
            det->run_max = 0.0f;
            continue;
        }
        det->run++;
        det->run_max = score > det->run_max ? score : det->run_max;
        if (det->run >= det->model->trigger_frames) {
            det->fed += n;
            *ret_detection = (struct nn_detection){
                .score = det->run_max, .end = end, .detected_at = det->fed};
            restart(det);
            return NN_WAKE;
        }
    }
    det->fed += n;
    return 0;
}

void nn_detector_skip(struct nn_detector *det, uint64_t n)
{
    det->fed += n;
    restart(det);
}
