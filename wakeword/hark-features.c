/* hark-features: the neural detector's front end (and network) as a tool,
 * so the trainer computes its features with the very code hark runs.
 * Reads lines "IN OUT" on stdin: IN raw 16 kHz mono s16le audio, OUT where
 * to write float32 little-endian frames of n_mels features (or, with
 * --scores MODEL, one score per frame once the network has its context).
 * usage: hark-features [--win N --hop N --fft N --mels N --fmin HZ --fmax HZ
 *                      --floor F | --scores MODEL] < list */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn-mel.h"
#include "nn.h"

#define CHUNK 4096

static int number(const char *s, double *ret)
{
    char *end;

    errno = 0;
    *ret = strtod(s, &end);
    return errno || end == s || *end ? -EINVAL : 0;
}

static int run_file(const char *in_path, const char *out_path, struct nn_mel *mel,
                    struct nn_net *net, uint32_t n_mels)
{
    FILE *in = fopen(in_path, "rbe"), *out = NULL;
    int16_t buf[CHUNK];
    float frame[NN_MELS_MAX];
    size_t got;
    int r = 0;

    if (!in) {
        fprintf(stderr, "hark-features: %s: %s\n", in_path, strerror(errno));
        return -1;
    }
    out = fopen(out_path, "wbe");
    if (!out) {
        fprintf(stderr, "hark-features: %s: %s\n", out_path, strerror(errno));
        fclose(in);
        return -1;
    }
    nn_mel_reset(mel);
    if (net) {
        nn_net_reset(net);
    }
    while ((got = fread(buf, sizeof(int16_t), CHUNK, in)) > 0) {
        const int16_t *p = buf;

        while (nn_mel_next(mel, &p, &got, frame)) {
            float score;

            if (!net) {
                r |= fwrite(frame, sizeof(float), n_mels, out) != n_mels;
            } else if (nn_net_push(net, frame, &score)) {
                r |= fwrite(&score, sizeof(float), 1, out) != 1;
            }
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "hark-features: %s: read error\n", in_path);
        r = 1;
    }
    fclose(in);
    if (fclose(out) != 0 || r) {
        fprintf(stderr, "hark-features: %s: write error\n", out_path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct nn_features f = {.sample_rate = NN_SAMPLE_RATE, .win = 400, .hop = 160, .n_fft = 512,
                            .n_mels = 40, .fmin = 60.0f, .fmax = 7600.0f, .log_floor = 1e-6f};
    struct nn_model *model = NULL;
    struct nn_mel *mel = NULL;
    struct nn_net *net = NULL;
    char line[8192], err[512];
    int status = 0;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        double v;

        if (i + 1 >= argc) {
            fprintf(stderr, "hark-features: %s needs a value\n", opt);
            return 2;
        }
        if (strcmp(opt, "--scores") == 0) {
            if (nn_model_load(argv[++i], err, sizeof(err), &model) < 0) {
                fprintf(stderr, "hark-features: %s\n", err);
                return 1;
            }
            f = model->features;
            continue;
        }
        if (number(argv[++i], &v) < 0) {
            fprintf(stderr, "hark-features: %s: not a number: %s\n", opt, argv[i]);
            return 2;
        }
        if (strcmp(opt, "--win") == 0) {
            f.win = (uint32_t)v;
        } else if (strcmp(opt, "--hop") == 0) {
            f.hop = (uint32_t)v;
        } else if (strcmp(opt, "--fft") == 0) {
            f.n_fft = (uint32_t)v;
        } else if (strcmp(opt, "--mels") == 0) {
            f.n_mels = (uint32_t)v;
        } else if (strcmp(opt, "--fmin") == 0) {
            f.fmin = (float)v;
        } else if (strcmp(opt, "--fmax") == 0) {
            f.fmax = (float)v;
        } else if (strcmp(opt, "--floor") == 0) {
            f.log_floor = (float)v;
        } else {
            fprintf(stderr, "hark-features: unknown option %s\n", opt);
            return 2;
        }
    }
    if (nn_mel_new(&f, &mel) < 0 || (model && nn_net_new(model, &net) < 0)) {
        fprintf(stderr, "hark-features: feature settings out of range, or out of memory\n");
        status = 2;
        goto out;
    }
    while (fgets(line, sizeof(line), stdin)) {
        char *in = line, *out;

        line[strcspn(line, "\n")] = '\0';
        out = strchr(line, ' ');
        if (!out) {
            fprintf(stderr, "hark-features: a line is not \"IN OUT\": %s\n", line);
            status = 2;
            goto out;
        }
        *out++ = '\0';
        if (run_file(in, out, mel, net, f.n_mels) < 0) {
            status = 1;
            goto out;
        }
    }
    if (fflush(stdout) != 0) {
        status = 1;
    }
out:
    nn_net_free(net);
    nn_mel_free(mel);
    nn_model_free(model);
    return status;
}
