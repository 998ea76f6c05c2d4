/* What `hark run` needs of the values beyond their syntax (config_check):
 * the neural models load, the dictionary holds the phrases, the CA file and
 * the passphrase file are usable, the control socket's path fits. Creates
 * nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config-internal.h"
#include "kws.h"
#include "nn-builtin.h"
#include "nn-model.h"

/* "FILE:LINE: [section] name" for a value from the file, "FILE: [section]
 * name (the default)" for one that is not, then the message. */
__attribute__((format(printf, 6, 7))) static int check_fail(const struct hark_config *cfg,
                                                            const char *name, int r, char *err,
                                                            size_t errsz, const char *fmt, ...)
{
    const char *section = strchr(name, '.');
    const struct key *k;
    char sect[16], msg[MSG_MAX];
    const char *file = cfg->origin.file[0] ? cfg->origin.file : "(built-in defaults)";
    unsigned line;
    va_list ap;

    snprintf(sect, sizeof(sect), "%.*s", (int)(section - name), name);
    k = config_key_find(sect, section + 1);
    line = k ? cfg->origin.lines[k - config_keys] : 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line) {
        snprintf(err, errsz, "%s:%u: [%s] %s %s", file, line, sect, section + 1, msg);
    } else {
        snprintf(err, errsz, "%s: [%s] %s (the default) %s", file, sect, section + 1, msg);
    }
    return r;
}

static int check_model_dir(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *dir = cfg->wakeword.model_dir;
    struct stat st;

    if (stat(dir, &st) < 0) {
        int r = -errno;
        return check_fail(cfg, "wakeword.model_dir", r, err, errsz, "'%s': %s", dir,
                          strerror(-r));
    }
    if (!S_ISDIR(st.st_mode)) {
        return check_fail(cfg, "wakeword.model_dir", -ENOTDIR, err, errsz,
                          "'%s' is not a directory", dir);
    }
    return 0;
}

int config_load_models(const struct hark_config *cfg, struct nn_model **ret_models,
                       int *ret_phrase_model, char *err, size_t errsz)
{
    struct nn_model *models[CONFIG_MAX_MODELS] = {0};
    int phrase_model[CONFIG_MAX_PHRASES];
    size_t n = cfg->wakeword.n_models;
    int r = 0;

    for (size_t i = 0; i < CONFIG_MAX_PHRASES; i++) {
        phrase_model[i] = -1;
    }
    for (size_t m = 0; m < n && r == 0; m++) {
        const char *file = cfg->wakeword.models[m];
        size_t i = 0;

        r = nn_builtin_named(file) ? nn_builtin_load(file, err, errsz, &models[m])
                                   : nn_model_load(file, err, errsz, &models[m]);
        if (r < 0) {
            break;
        }
        while (i < cfg->wakeword.n_phrases &&
               strcmp(cfg->wakeword.phrases[i].text, models[m]->phrase) != 0) {
            i++;
        }
        if (i == cfg->wakeword.n_phrases) {
            snprintf(err, errsz, "%s: the model's phrase \"%s\" is not one of [wakeword] phrases",
                     file, models[m]->phrase);
            r = -EINVAL;
        } else if (phrase_model[i] >= 0) {
            snprintf(err, errsz, "%s: the model's phrase \"%s\" has a model already (%s)", file,
                     models[m]->phrase, cfg->wakeword.models[phrase_model[i]]);
            r = -EINVAL;
        } else {
            phrase_model[i] = (int)m;
        }
    }
    if (r < 0) {
        for (size_t m = 0; m < n; m++) {
            nn_model_free(models[m]);
        }
        return r;
    }
    memcpy(ret_models, models, n * sizeof(models[0]));
    memcpy(ret_phrase_model, phrase_model, cfg->wakeword.n_phrases * sizeof(phrase_model[0]));
    return 0;
}

/* Every model loads and has a phrase of its own. */
static int check_models(const struct hark_config *cfg, int *ret_phrase_model, char *err,
                        size_t errsz)
{
    struct nn_model *models[CONFIG_MAX_MODELS];
    char why[MSG_MAX];
    int r;

    r = config_load_models(cfg, models, ret_phrase_model, why, sizeof(why));
    if (r < 0) {
        return check_fail(cfg, "wakeword.model", r, err, errsz, "%s", why);
    }
    for (size_t m = 0; m < cfg->wakeword.n_models; m++) {
        nn_model_free(models[m]);
    }
    return 0;
}

/* The dictionary first, on its own line, so that a word missing from it is
 * then the phrases' fault. Only the phrases PocketSphinx hears: a phrase
 * that the neural detector alone hears need not be in it. */
static int check_phrases(const struct hark_config *cfg, const int *phrase_model, char *err,
                         size_t errsz)
{
    struct kws_phrase phrases[CONFIG_MAX_PHRASES];
    bool neural_only = config_combine(cfg) == CONFIG_COMBINE_NEURAL;
    const char *dict = cfg->wakeword.dict;
    size_t n = 0;
    char why[MSG_MAX];
    int fd, r;

    for (size_t i = 0; i < cfg->wakeword.n_phrases; i++) {
        if (phrase_model[i] < 0 || !neural_only) {
            phrases[n++] = (struct kws_phrase){.text = cfg->wakeword.phrases[i].text,
                                               .threshold = cfg->wakeword.phrases[i].threshold};
        }
    }
    /* PocketSphinx is not loaded then: neither its model nor its dictionary
     * is needed. */
    if (n == 0) {
        return 0;
    }
    r = check_model_dir(cfg, err, errsz);
    if (r < 0) {
        return r;
    }

    fd = open(dict, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "wakeword.dict", r, err, errsz, "'%s': %s", dict, strerror(-r));
    }
    close(fd);
    r = kws_check_phrases(dict, phrases, n, why, sizeof(why));
    if (r < 0) {
        return check_fail(cfg, "wakeword.phrases", r, err, errsz, "cannot be spotted: %s", why);
    }
    return 0;
}

/* What OpenSSL will load as the trust anchors: at least one PEM
 * certificate. A missing or wrong file would otherwise show up as every
 * server certificate being rejected, retried for ever. */
static int check_ca_file(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *path = cfg->cloud.ca_file;
    unsigned n = 0;
    X509 *x;
    BIO *bio;
    int fd, r;

    if (!path[0]) {
        return 0;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "cloud.ca_file", r, err, errsz, "'%s': %s", path, strerror(-r));
    }
    bio = BIO_new_fd(fd, BIO_CLOSE);
    if (!bio) {
        close(fd);
        return check_fail(cfg, "cloud.ca_file", -ENOMEM, err, errsz, "'%s': out of memory",
                          path);
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (n == 0) {
        return check_fail(cfg, "cloud.ca_file", -EINVAL, err, errsz,
                          "'%s' holds no PEM certificate", path);
    }
    return 0;
}

/* The history reads it only after it has taken its lock file; the same
 * rules as the history's (privacy/history.c), checked before anything is
 * created. */
static int check_passphrase_file(const struct hark_config *cfg, char *err, size_t errsz)
{
    const char *path = cfg->privacy.passphrase_file;
    struct stat st;
    int fd, r = 0;

    if (!path[0] || !cfg->privacy.history) {
        return 0;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return check_fail(cfg, "privacy.passphrase_file", r, err, errsz, "'%s': %s", path,
                          strerror(-r));
    }
    if (fstat(fd, &st) < 0) {
        r = check_fail(cfg, "privacy.passphrase_file", -errno, err, errsz, "'%s': %s", path,
                       strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' is not a regular file", path);
    } else if (st.st_uid != geteuid()) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' is owned by uid %u, not by this user (uid %u)", path,
                       (unsigned)st.st_uid, (unsigned)geteuid());
    } else if (st.st_mode & 0077) {
        r = check_fail(cfg, "privacy.passphrase_file", -EPERM, err, errsz,
                       "'%s' may be used by others (mode %03o): chmod 600 %s", path,
                       (unsigned)(st.st_mode & 0777), path);
    }
    close(fd);
    return r;
}

static int check_socket(const struct hark_config *cfg, char *err, size_t errsz)
{
    char path[PATH_MAX];
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    if (config_control_socket(cfg, path, sizeof(path)) < 0 || strlen(path) > max) {
        return check_fail(cfg, "control.socket", -ENAMETOOLONG, err, errsz,
                          "'%s' is too long for a socket (at most %zu bytes)", path, max);
    }
    return 0;
}

int config_check(const struct hark_config *cfg, char *err, size_t errsz)
{
    int phrase_model[CONFIG_MAX_PHRASES];
    int r;

    r = check_models(cfg, phrase_model, err, errsz);
    if (r >= 0) {
        r = check_phrases(cfg, phrase_model, err, errsz);
    }
    if (r >= 0) {
        r = check_ca_file(cfg, err, errsz);
    }
    if (r >= 0) {
        r = check_passphrase_file(cfg, err, errsz);
    }
    if (r >= 0) {
        r = check_socket(cfg, err, errsz);
    }
    return r < 0 ? r : 0;
}
