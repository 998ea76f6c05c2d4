/* The .hwm model file: strict parsing (every field checked, every size
 * limited, the checksum over the whole file) and serialisation. */
#include "nn-model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

/* Offsets of the v1 header (doc/wakeword.md, "The model file"). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_FILE_SIZE = 12,
    OFF_PHRASE = 16,
    OFF_SAMPLE_RATE = 80,
    OFF_WIN = 84,
    OFF_HOP = 88,
    OFF_N_FFT = 92,
    OFF_N_MELS = 96,
    OFF_FMIN = 100,
    OFF_FMAX = 104,
    OFF_LOG_FLOOR = 108,
    OFF_THRESHOLD = 112,
    OFF_TRIGGER = 116,
    OFF_N_LAYERS = 120,
    OFF_RESERVED = 124,
};

/* Offsets within a layer record. */
enum {
    LOFF_TYPE = 0,
    LOFF_ACT = 4,
    LOFF_IN = 8,
    LOFF_OUT = 12,
    LOFF_KERNEL = 16,
    LOFF_DILATION = 20,
    LOFF_RESERVED = 24, /* two words, zero */
};

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    put_u32(p, u);
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errsz, const char *name,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n;

    if (errsz == 0) {
        return -EINVAL;
    }
    n = snprintf(err, errsz, "%s: ", name);
    if (n >= 0 && (size_t)n < errsz) {
        va_start(ap, fmt);
        vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Lower-case words of a-z and ' separated by single spaces. */
static bool phrase_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool letter = (s[i] >= 'a' && s[i] <= 'z') || s[i] == '\'';

        if (!letter && !(s[i] == ' ' && s[i + 1] != ' ')) {
            return false;
        }
    }
    return true;
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* Parameters of one layer, or 0 when its shape is out of the limits (the
 * limits keep this far from overflow: 256 * 31 * 256 + 256). */
static uint32_t layer_params(const struct nn_layer *l)
{
    if (l->type == NN_LAYER_CONV) {
        return l->out_ch * l->kernel * l->in_ch + l->out_ch;
    }
    return l->kernel * l->in_ch + l->out_ch;
}

static int check_features(const struct nn_features *f, const char *name, char *err, size_t errsz)
{
    if (f->sample_rate != NN_SAMPLE_RATE) {
        return fail(err, errsz, name, "sample rate %u Hz (hark listens at %u Hz)", f->sample_rate,
                    NN_SAMPLE_RATE);
    }
    if (!is_pow2(f->n_fft) || f->n_fft < NN_FFT_MIN || f->n_fft > NN_FFT_MAX) {
        return fail(err, errsz, name, "FFT size %u is not a power of two from %u to %u",
                    f->n_fft, NN_FFT_MIN, NN_FFT_MAX);
    }
    if (f->win < 16 || f->win > f->n_fft) {
        return fail(err, errsz, name, "window of %u samples (16 to the FFT size %u)", f->win,
                    f->n_fft);
    }
    if (f->hop < 1 || f->hop > f->win) {
        return fail(err, errsz, name, "hop of %u samples (1 to the window, %u)", f->hop, f->win);
    }
    if (f->n_mels < 1 || f->n_mels > NN_MELS_MAX || f->n_mels > f->n_fft / 2) {
        return fail(err, errsz, name, "%u mel bands (1 to %u, at most half the FFT size)",
                    f->n_mels, NN_MELS_MAX);
    }
    if (!(f->fmin >= 0.0f) || !(f->fmax > f->fmin) || !(f->fmax <= f->sample_rate / 2.0f)) {
        return fail(err, errsz, name, "mel range %g to %g Hz (0 <= fmin < fmax <= %u)",
                    (double)f->fmin, (double)f->fmax, f->sample_rate / 2);
    }
    if (!(f->log_floor >= 1e-20f) || !(f->log_floor <= 1.0f)) {
        return fail(err, errsz, name, "log floor %g (1e-20 to 1)", (double)f->log_floor);
    }
    return 0;
}

/* Reads the layer table and checks that the shapes chain from the mel bands
 * to one sigmoid output. */
static int check_layers(struct nn_model *m, const uint8_t *table, const char *name, char *err,
                        size_t errsz)
{
    uint32_t prev = m->features.n_mels;

    m->context = 1;
    m->params = 0;
    m->max_channels = prev;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const uint8_t *r = table + i * NN_MODEL_LAYER_SIZE;
        struct nn_layer *l = &m->layers[i];
        uint32_t type = get_u32(r + LOFF_TYPE), act = get_u32(r + LOFF_ACT);
        bool last = i + 1 == m->n_layers;

        if (type != NN_LAYER_CONV && type != NN_LAYER_DEPTHWISE) {
            return fail(err, errsz, name, "layer %u: unknown type %u", i, type);
        }
        if (act > NN_ACT_SIGMOID) {
            return fail(err, errsz, name, "layer %u: unknown activation %u", i, act);
        }
        if (get_u32(r + LOFF_RESERVED) || get_u32(r + LOFF_RESERVED + 4)) {
            return fail(err, errsz, name, "layer %u: reserved fields are not zero", i);
        }
        l->type = (enum nn_layer_type)type;
        l->act = (enum nn_activation)act;
        l->in_ch = get_u32(r + LOFF_IN);
        l->out_ch = get_u32(r + LOFF_OUT);
        l->kernel = get_u32(r + LOFF_KERNEL);
        l->dilation = get_u32(r + LOFF_DILATION);
        if (l->in_ch < 1 || l->in_ch > NN_CHANNELS_MAX || l->out_ch < 1 ||
            l->out_ch > NN_CHANNELS_MAX) {
            return fail(err, errsz, name, "layer %u: %u -> %u channels (1 to %u)", i, l->in_ch,
                        l->out_ch, NN_CHANNELS_MAX);
        }
        if (l->in_ch != prev) {
            return fail(err, errsz, name,
                        "layer %u: takes %u channels but the %s gives %u (shapes do not chain)",
                        i, l->in_ch, i ? "layer before" : "front end (mel bands)", prev);
        }
        if (type == NN_LAYER_DEPTHWISE && l->out_ch != l->in_ch) {
            return fail(err, errsz, name, "layer %u: depthwise with %u -> %u channels", i,
                        l->in_ch, l->out_ch);
        }
        if (l->kernel < 1 || l->kernel > NN_KERNEL_MAX) {
            return fail(err, errsz, name, "layer %u: kernel %u (1 to %u)", i, l->kernel,
                        NN_KERNEL_MAX);
        }
        if (l->dilation < 1 || l->dilation > NN_DILATION_MAX) {
            return fail(err, errsz, name, "layer %u: dilation %u (1 to %u)", i, l->dilation,
                        NN_DILATION_MAX);
        }
        if ((act == NN_ACT_SIGMOID) != last) {
            return fail(err, errsz, name, "layer %u: %s", i,
                        last ? "the last layer's activation is not sigmoid"
                             : "sigmoid before the last layer");
        }
        if (last && l->out_ch != 1) {
            return fail(err, errsz, name, "layer %u: the last layer gives %u channels, not 1", i,
                        l->out_ch);
        }
        m->context += (l->kernel - 1) * l->dilation;
        if (m->context > NN_CONTEXT_MAX) {
            return fail(err, errsz, name, "the layers see %u frames (at most %u)", m->context,
                        NN_CONTEXT_MAX);
        }
        m->params += layer_params(l);
        if (m->params > NN_PARAMS_MAX) {
            return fail(err, errsz, name, "more than %u parameters", NN_PARAMS_MAX);
        }
        if (l->out_ch > m->max_channels) {
            m->max_channels = l->out_ch;
        }
        prev = l->out_ch;
    }
    return 0;
}

/* What holds for the file as a whole: magic, version, size, checksum. */
static int check_file(const uint8_t *buf, size_t size, const char *name, char *err,
                      size_t errsz)
{
    uint8_t hash[32];
    uint32_t version, file_size;

    if (size < 8 || memcmp(buf + OFF_MAGIC, NN_MODEL_MAGIC, 8) != 0) {
        return fail(err, errsz, name, "not a hark wake-word model (bad magic)");
    }
    if (size < NN_MODEL_HEADER_SIZE + NN_MODEL_CHECKSUM_SIZE) {
        return fail(err, errsz, name, "truncated: %zu bytes, shorter than the header", size);
    }
    version = get_u32(buf + OFF_VERSION);
    if (version != NN_MODEL_VERSION) {
        return fail(err, errsz, name, "format version %u (this hark reads version %u)", version,
                    NN_MODEL_VERSION);
    }
    file_size = get_u32(buf + OFF_FILE_SIZE);
    if (file_size > size) {
        return fail(err, errsz, name, "truncated: %zu bytes, the header says %u", size,
                    file_size);
    }
    if (file_size < size) {
        return fail(err, errsz, name, "%zu trailing bytes after the %u the header gives",
                    size - file_size, file_size);
    }
    if (size > NN_MODEL_FILE_MAX) {
        return fail(err, errsz, name, "%zu bytes (at most %u)", size, NN_MODEL_FILE_MAX);
    }
    if (mbedtls_sha256_ret(buf, size - NN_MODEL_CHECKSUM_SIZE, hash, 0) != 0) {
        return fail(err, errsz, name, "cannot compute the checksum");
    }
    if (memcmp(hash, buf + size - NN_MODEL_CHECKSUM_SIZE, sizeof(hash)) != 0) {
        return fail(err, errsz, name, "checksum mismatch: the file is damaged");
    }
    return 0;
}

/* The phrase field: NUL-terminated, zero-padded, words as phrase_ok wants. */
static int read_phrase(struct nn_model *m, const uint8_t *buf, const char *name, char *err,
                       size_t errsz)
{
    memcpy(m->phrase, buf + OFF_PHRASE, NN_PHRASE_MAX);
    if (!memchr(m->phrase, '\0', NN_PHRASE_MAX)) {
        return fail(err, errsz, name, "the phrase is not terminated within %u bytes",
                    NN_PHRASE_MAX);
    }
    for (size_t i = strlen(m->phrase); i < NN_PHRASE_MAX; i++) {
        if (m->phrase[i] != '\0') {
            return fail(err, errsz, name, "bytes after the phrase's end are not zero");
        }
    }
    if (!phrase_ok(m->phrase)) {
        return fail(err, errsz, name, "phrase \"%.*s\" is not lower-case words (a-z, ') "
                    "separated by single spaces", (int)NN_PHRASE_MAX, m->phrase);
    }
    return 0;
}

/* The header's fields after the file size, each checked. */
static int read_header(struct nn_model *m, const uint8_t *buf, const char *name, char *err,
                       size_t errsz)
{
    uint32_t reserved;
    int r = read_phrase(m, buf, name, err, errsz);

    if (r < 0) {
        return r;
    }
    m->features = (struct nn_features){
        .sample_rate = get_u32(buf + OFF_SAMPLE_RATE),
        .win = get_u32(buf + OFF_WIN),
        .hop = get_u32(buf + OFF_HOP),
        .n_fft = get_u32(buf + OFF_N_FFT),
        .n_mels = get_u32(buf + OFF_N_MELS),
        .fmin = get_f32(buf + OFF_FMIN),
        .fmax = get_f32(buf + OFF_FMAX),
        .log_floor = get_f32(buf + OFF_LOG_FLOOR),
    };
    r = check_features(&m->features, name, err, errsz);
    if (r < 0) {
        return r;
    }
    m->threshold = get_f32(buf + OFF_THRESHOLD);
    if (!(m->threshold > 0.0f && m->threshold < 1.0f)) {
        return fail(err, errsz, name, "threshold %g (between 0 and 1)", (double)m->threshold);
    }
    m->trigger_frames = get_u32(buf + OFF_TRIGGER);
    if (m->trigger_frames < 1 || m->trigger_frames > NN_TRIGGER_MAX) {
        return fail(err, errsz, name, "trigger of %u frames (1 to %u)", m->trigger_frames,
                    NN_TRIGGER_MAX);
    }
    m->n_layers = get_u32(buf + OFF_N_LAYERS);
    if (m->n_layers < 1 || m->n_layers > NN_LAYERS_MAX) {
        return fail(err, errsz, name, "%u layers (1 to %u)", m->n_layers, NN_LAYERS_MAX);
    }
    reserved = get_u32(buf + OFF_RESERVED);
    if (reserved != 0) {
        return fail(err, errsz, name, "reserved header field is %u, not 0", reserved);
    }
    return 0;
}

/* The weights after the layer table: exactly as many as the layers need,
 * all finite; each layer gets its slice. */
static int read_weights(struct nn_model *m, const uint8_t *buf, size_t size, const char *name,
                        char *err, size_t errsz)
{
    size_t expect = NN_MODEL_HEADER_SIZE + (size_t)m->n_layers * NN_MODEL_LAYER_SIZE +
                    (size_t)m->params * 4 + NN_MODEL_CHECKSUM_SIZE;
    const uint8_t *w;

    if (expect != size) {
        return fail(err, errsz, name, "the layers need %zu bytes of weights, the file has %zd",
                    (size_t)m->params * 4,
                    (ssize_t)size - (ssize_t)(expect - (size_t)m->params * 4));
    }
    m->data = malloc((size_t)m->params * sizeof(float));
    if (!m->data) {
        return -ENOMEM;
    }
    w = buf + NN_MODEL_HEADER_SIZE + m->n_layers * NN_MODEL_LAYER_SIZE;
    for (uint32_t i = 0; i < m->params; i++) {
        m->data[i] = get_f32(w + 4 * (size_t)i);
        if (!isfinite(m->data[i])) {
            return fail(err, errsz, name, "weight %u is not a finite number", i);
        }
    }
    for (uint32_t i = 0, at = 0; i < m->n_layers; i++) {
        struct nn_layer *l = &m->layers[i];

        l->weights = m->data + at;
        l->bias = l->weights + layer_params(l) - l->out_ch;
        at += layer_params(l);
    }
    return 0;
}

int nn_model_parse(const uint8_t *buf, size_t size, const char *name, char *err, size_t errsz,
                   struct nn_model **ret_model)
{
    struct nn_model *m = NULL;
    int r;

    r = check_file(buf, size, name, err, errsz);
    if (r < 0) {
        return r;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        return -ENOMEM;
    }
    r = read_header(m, buf, name, err, errsz);
    if (r < 0) {
        goto out_free;
    }
    if (size < NN_MODEL_HEADER_SIZE + m->n_layers * NN_MODEL_LAYER_SIZE + NN_MODEL_CHECKSUM_SIZE) {
        r = fail(err, errsz, name, "truncated: the layer table of %u layers does not fit",
                 m->n_layers);
        goto out_free;
    }
    r = check_layers(m, buf + NN_MODEL_HEADER_SIZE, name, err, errsz);
    if (r < 0) {
        goto out_free;
    }
    r = read_weights(m, buf, size, name, err, errsz);
    if (r < 0) {
        goto out_free;
    }
    *ret_model = m;
    return 0;

out_free:
    nn_model_free(m);
    return r;
}

int nn_model_load(const char *path, char *err, size_t errsz, struct nn_model **ret_model)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s", path, strerror(-r));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = fail(err, errsz, path, "not a regular file");
        goto out_close;
    }
    if (st.st_size > (off_t)NN_MODEL_FILE_MAX) {
        r = fail(err, errsz, path, "%jd bytes (a model is at most %u)", (intmax_t)st.st_size,
                 NN_MODEL_FILE_MAX);
        goto out_close;
    }
    /* One byte more than the limit, to see a file that grew since fstat. */
    buf = malloc(NN_MODEL_FILE_MAX + 1);
    if (!buf) {
        r = -ENOMEM;
        goto out_close;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, NN_MODEL_FILE_MAX + 1 - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = -errno;
            snprintf(err, errsz, "%s: %s", path, strerror(-r));
            goto out_free;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
        if (got > NN_MODEL_FILE_MAX) {
            r = fail(err, errsz, path, "more than %u bytes (a model is at most that)",
                     NN_MODEL_FILE_MAX);
            goto out_free;
        }
    }
    r = nn_model_parse(buf, got, path, err, errsz, ret_model);

out_free:
    free(buf);
out_close:
    close(fd);
    return r;
}

void nn_model_free(struct nn_model *model)
{
    if (!model) {
        return;
    }
    free(model->data);
    free(model);
}

int nn_model_serialise(const struct nn_model *m, uint8_t **ret_buf, size_t *ret_size)
{
    uint32_t params = 0;
    size_t size;
    uint8_t *buf, *w;

    if (m->n_layers > NN_LAYERS_MAX) {
        return -EINVAL;
    }
    /* Shapes past the limits may be written (to test the loader), up to
     * where the sizes could overflow. */
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];

        if (l->in_ch > 4096 || l->out_ch > 4096 || l->kernel > 1024 || l->out_ch < 1) {
            return -EINVAL;
        }
        params += layer_params(l);
    }
    if (params > 4 * NN_PARAMS_MAX) {
        return -EINVAL;
    }
    size = NN_MODEL_HEADER_SIZE + (size_t)m->n_layers * NN_MODEL_LAYER_SIZE + (size_t)params * 4 +
           NN_MODEL_CHECKSUM_SIZE;
    buf = calloc(1, size);
    if (!buf) {
        return -ENOMEM;
    }
    memcpy(buf + OFF_MAGIC, NN_MODEL_MAGIC, 8);
    put_u32(buf + OFF_VERSION, NN_MODEL_VERSION);
    put_u32(buf + OFF_FILE_SIZE, (uint32_t)size);
    memcpy(buf + OFF_PHRASE, m->phrase, strnlen(m->phrase, NN_PHRASE_MAX - 1));
    put_u32(buf + OFF_SAMPLE_RATE, m->features.sample_rate);
    put_u32(buf + OFF_WIN, m->features.win);
    put_u32(buf + OFF_HOP, m->features.hop);
    put_u32(buf + OFF_N_FFT, m->features.n_fft);
    put_u32(buf + OFF_N_MELS, m->features.n_mels);
    put_f32(buf + OFF_FMIN, m->features.fmin);
    put_f32(buf + OFF_FMAX, m->features.fmax);
    put_f32(buf + OFF_LOG_FLOOR, m->features.log_floor);
    put_f32(buf + OFF_THRESHOLD, m->threshold);
    put_u32(buf + OFF_TRIGGER, m->trigger_frames);
    put_u32(buf + OFF_N_LAYERS, m->n_layers);
    w = buf + NN_MODEL_HEADER_SIZE + m->n_layers * NN_MODEL_LAYER_SIZE;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const struct nn_layer *l = &m->layers[i];
        uint8_t *r = buf + NN_MODEL_HEADER_SIZE + i * NN_MODEL_LAYER_SIZE;
        uint32_t n = layer_params(l);

        put_u32(r + LOFF_TYPE, l->type);
        put_u32(r + LOFF_ACT, l->act);
        put_u32(r + LOFF_IN, l->in_ch);
        put_u32(r + LOFF_OUT, l->out_ch);
        put_u32(r + LOFF_KERNEL, l->kernel);
        put_u32(r + LOFF_DILATION, l->dilation);
        for (uint32_t k = 0; k < n - l->out_ch; k++) {
            put_f32(w + 4 * (size_t)k, l->weights[k]);
        }
        for (uint32_t k = 0; k < l->out_ch; k++) {
            put_f32(w + 4 * (size_t)(n - l->out_ch + k), l->bias[k]);
        }
        w += 4 * (size_t)n;
    }
    if (mbedtls_sha256_ret(buf, size - NN_MODEL_CHECKSUM_SIZE, buf + size - NN_MODEL_CHECKSUM_SIZE,
                           0) != 0) {
        free(buf);
        return -EIO;
    }
    *ret_buf = buf;
    *ret_size = size;
    return 0;
}
