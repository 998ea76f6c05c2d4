/* The device identity: an EC P-256 key and a self-signed certificate made on
 * the device with mbedTLS, stored owner-only, and checked before each use. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "base-file.h"

/* A P-256 key in PEM is ~230 bytes and the certificate ~600; room to spare. */
#define KEY_PEM_MAX 1024
#define CRT_DER_MAX 2048
#define CRT_PEM_MAX 4096
#define SPKI_MAX 512
#define SERIAL_BYTES 16
#define VALIDITY_YEARS 20
#define CN_FINGERPRINT_CHARS 12

static const char drbg_personalization[] = "hark identity_provision";

/* Paths returned by identity_load: valid until its next call. */
static char loaded_cert_path[PATH_MAX];
static char loaded_key_path[PATH_MAX];

/* mkdir -p with 0700 for every directory we create; existing ones are left
 * as they are (they are the user's). */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            return -errno;
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) < 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The pin of a public key: the same computation as pin_from_der() does on a
 * certificate, needed before the certificate exists (its CN contains it). */
static int pin_of_key(mbedtls_pk_context *pk, char ret_pin[PIN_STRING_MAX])
{
    unsigned char spki[SPKI_MAX];
    unsigned char hash[32];
    size_t olen = 0;
    int n;

    n = mbedtls_pk_write_pubkey_der(pk, spki, sizeof(spki));
    if (n <= 0) {
        return -EIO;
    }
    if (mbedtls_sha256_ret(spki + sizeof(spki) - (size_t)n, (size_t)n, hash, 0) != 0) {
        return -EIO;
    }
    memcpy(ret_pin, "sha256/", 7);
    if (mbedtls_base64_encode((unsigned char *)ret_pin + 7, PIN_STRING_MAX - 7, &olen, hash,
                              sizeof(hash)) != 0) {
        return -EIO;
    }
    ret_pin[7 + olen] = '\0';
    return 0;
}

/* "YYYYMMDDhhmmss" in UTC, as mbedtls_x509write_crt_set_validity wants. */
static int format_time(time_t t, int add_years, char out[16])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        return -EOVERFLOW;
    }
    tm.tm_year += add_years;
    if (tm.tm_mon == 1 && tm.tm_mday == 29) {
        tm.tm_mday = 28; /* the target year may not be a leap year */
    }
    return strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14 ? 0 : -EOVERFLOW;
}

/* Writes data to DIR/.NAME.new, created exclusively and owner-only, and
 * flushes it to disk; the caller renames it into place, so that a crash
 * never leaves a half-written key under the real name. */
static int write_temp(const char *tmp_path, const unsigned char *data, size_t len)
{
    /* A temp file left by an earlier crash: ours, and never in use. */
    if (unlink(tmp_path) < 0 && errno != ENOENT) {
        return -errno;
    }
    return file_write_new(tmp_path, data, len, 0600);
}

static bool file_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Builds the self-signed certificate for pk (DER, at the end of der[]). */
static int make_certificate(mbedtls_pk_context *pk, const char *subject,
                            mbedtls_ctr_drbg_context *drbg, unsigned char *der, size_t dersz,
                            size_t *ret_len)
{
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    unsigned char serial_bytes[SERIAL_BYTES];
    char not_before[16];
    char not_after[16];
    time_t now = time(NULL);
    int n;
    int r;

    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);

    /* A random positive serial, as RFC 5280 asks (at most 20 bytes). */
    if (mbedtls_ctr_drbg_random(drbg, serial_bytes, sizeof(serial_bytes)) != 0) {
        r = -EIO;
        goto cleanup;
    }
    serial_bytes[0] = (unsigned char)((serial_bytes[0] & 0x7f) | 0x01);
    if (mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof(serial_bytes)) != 0) {
        r = -ENOMEM;
        goto cleanup;
    }
    if (format_time(now, 0, not_before) < 0 || format_time(now, VALIDITY_YEARS, not_after) < 0) {
        r = -EOVERFLOW;
        goto cleanup;
    }

    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, pk);
    mbedtls_x509write_crt_set_issuer_key(&crt, pk);
    if (mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&crt, subject) != 0 ||
        mbedtls_x509write_crt_set_serial(&crt, &serial) != 0 ||
        mbedtls_x509write_crt_set_validity(&crt, not_before, not_after) != 0 ||
        /* An end-entity certificate: it must never sign other certificates. */
        mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1) != 0 ||
        mbedtls_x509write_crt_set_subject_key_identifier(&crt) != 0) {
        r = -EINVAL;
        goto cleanup;
    }
    n = mbedtls_x509write_crt_der(&crt, der, dersz, mbedtls_ctr_drbg_random, drbg);
    if (n <= 0) {
        r = -EIO;
        goto cleanup;
    }
    *ret_len = (size_t)n;
    r = 0;

cleanup:
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    return r;
}

/* Where identity_provision writes: the two files and their temporaries. */
struct provision_paths {
    char key[PATH_MAX];
    char crt[PATH_MAX];
    char key_tmp[PATH_MAX];
    char crt_tmp[PATH_MAX];
};

static int join_provision_paths(const char *dir, struct provision_paths *paths, char *err,
                                size_t errsz)
{
    if (file_join(paths->key, sizeof(paths->key), dir, IDENTITY_KEY_FILE) < 0 ||
        file_join(paths->crt, sizeof(paths->crt), dir, IDENTITY_CERT_FILE) < 0 ||
        file_join(paths->key_tmp, sizeof(paths->key_tmp), dir, "." IDENTITY_KEY_FILE ".new") < 0 ||
        file_join(paths->crt_tmp, sizeof(paths->crt_tmp), dir, "." IDENTITY_CERT_FILE ".new") <
            0) {
        snprintf(err, errsz, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Replacing a registered identity locks the device out until the new
 * fingerprint is registered: only on explicit request (force). */
static int refuse_existing(const char *dir, const struct provision_paths *paths, char *err,
                           size_t errsz)
{
    bool key = file_exists(paths->key);
    bool crt = file_exists(paths->crt);

    if (!key && !crt) {
        return 0;
    }
    if (key && crt) {
        snprintf(err, errsz,
                 "%s already holds a device identity; not replacing it (`hark provision "
                 "--show` prints its fingerprint; --force makes a new one, which must be "
                 "registered with the cloud again)",
                 dir);
    } else {
        snprintf(err, errsz,
                 "%s holds only part of a device identity (%s but no %s); not replacing it "
                 "(--force makes a new one, which must be registered with the cloud again)",
                 dir, key ? IDENTITY_KEY_FILE : IDENTITY_CERT_FILE,
                 key ? IDENTITY_CERT_FILE : IDENTITY_KEY_FILE);
    }
    return -EEXIST;
}

/* Seeds drbg and makes a new P-256 key in pk, with its fingerprint. */
static int generate_key(mbedtls_entropy_context *entropy, mbedtls_ctr_drbg_context *drbg,
                        mbedtls_pk_context *pk, char ret_fingerprint[PIN_STRING_MAX], char *err,
                        size_t errsz)
{
    int r;

    if (mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, entropy,
                              (const unsigned char *)drbg_personalization,
                              sizeof(drbg_personalization) - 1) != 0) {
        snprintf(err, errsz, "cannot seed the random generator");
        return -EIO;
    }
    if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random,
                            drbg) != 0) {
        snprintf(err, errsz, "cannot generate the device key");
        return -EIO;
    }
    r = pin_of_key(pk, ret_fingerprint);
    if (r < 0) {
        snprintf(err, errsz, "cannot compute the device fingerprint");
        return r;
    }
    return 0;
}

/* CN=hark-device-<12 fingerprint chars>: base64 made safe for a file name
 * and a distinguished name ('+' and '/' are not). */
static void subject_of(const char fingerprint[PIN_STRING_MAX], char *subject, size_t subjectsz)
{
    char tag[CN_FINGERPRINT_CHARS + 1];

    memcpy(tag, fingerprint + 7, CN_FINGERPRINT_CHARS);
    tag[CN_FINGERPRINT_CHARS] = '\0';
    for (size_t i = 0; i < CN_FINGERPRINT_CHARS; i++) {
        if (tag[i] == '+') {
            tag[i] = '-';
        } else if (tag[i] == '/') {
            tag[i] = '_';
        }
    }
    snprintf(subject, subjectsz, "CN=hark-device-%s,O=hark", tag);
}

/* The certificate for pk, checked to carry it, and the key, both in PEM.
 * ret_pem_len counts the certificate's terminating NUL. */
static int encode_identity(mbedtls_pk_context *pk, mbedtls_ctr_drbg_context *drbg,
                           const char fingerprint[PIN_STRING_MAX],
                           unsigned char key_pem[KEY_PEM_MAX], unsigned char crt_pem[CRT_PEM_MAX],
                           size_t *ret_pem_len, char *err, size_t errsz)
{
    unsigned char crt_der[CRT_DER_MAX];
    char check[PIN_STRING_MAX];
    char subject[128];
    size_t crt_len = 0;
    int r;

    subject_of(fingerprint, subject, sizeof(subject));
    r = make_certificate(pk, subject, drbg, crt_der, sizeof(crt_der), &crt_len);
    if (r < 0) {
        snprintf(err, errsz, "cannot create the device certificate");
        return r;
    }
    /* x509write_crt_der writes at the end of the buffer. */
    const unsigned char *der = crt_der + sizeof(crt_der) - crt_len;
    r = pin_from_der(der, crt_len, check);
    if (r < 0 || strcmp(check, fingerprint) != 0) {
        snprintf(err, errsz, "the new certificate does not carry the new key");
        return -EIO;
    }
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                 der, crt_len, crt_pem, CRT_PEM_MAX, ret_pem_len) != 0) {
        snprintf(err, errsz, "cannot encode the device certificate");
        return -EIO;
    }
    if (mbedtls_pk_write_key_pem(pk, key_pem, KEY_PEM_MAX) != 0) {
        snprintf(err, errsz, "cannot encode the device key");
        return -EIO;
    }
    return 0;
}

/* Writes both files under temporary names and renames them into place, so
 * that a crash never leaves a half-written key under the real name; the
 * temporaries are removed if that fails. */
static int install_identity(const char *dir, const struct provision_paths *paths,
                            const unsigned char *key_pem, const unsigned char *crt_pem,
                            size_t pem_len, char *err, size_t errsz)
{
    int r;

    r = write_temp(paths->key_tmp, key_pem, strlen((const char *)key_pem));
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot write: %s", paths->key_tmp, strerror(-r));
        goto remove_temps;
    }
    /* pem_len counts the terminating NUL. */
    r = write_temp(paths->crt_tmp, crt_pem, pem_len - 1);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot write: %s", paths->crt_tmp, strerror(-r));
        goto remove_temps;
    }
    if (rename(paths->key_tmp, paths->key) < 0 || rename(paths->crt_tmp, paths->crt) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot put the identity in place: %s", dir, strerror(-r));
        goto remove_temps;
    }
    r = file_sync_dir(dir);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot sync: %s", dir, strerror(-r));
    }
    return r;

remove_temps:
    unlink(paths->key_tmp);
    unlink(paths->crt_tmp);
    return r;
}

int identity_provision(const char *dir, bool force, char ret_fingerprint[PIN_STRING_MAX], char *err,
                       size_t errsz)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    struct provision_paths paths;
    unsigned char key_pem[KEY_PEM_MAX];
    unsigned char crt_pem[CRT_PEM_MAX];
    char fingerprint[PIN_STRING_MAX];
    size_t pem_len = 0;
    int r;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&pk);

    r = join_provision_paths(dir, &paths, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = make_dirs(dir);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot create the identity directory: %s", dir, strerror(-r));
        goto cleanup;
    }
    if (!force) {
        r = refuse_existing(dir, &paths, err, errsz);
        if (r < 0) {
            goto cleanup;
        }
    }
    r = generate_key(&entropy, &drbg, &pk, fingerprint, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = encode_identity(&pk, &drbg, fingerprint, key_pem, crt_pem, &pem_len, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = install_identity(dir, &paths, key_pem, crt_pem, pem_len, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    memcpy(ret_fingerprint, fingerprint, PIN_STRING_MAX);

cleanup:
    mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return r;
}

/* Opens path and checks it is a regular file of ours that nobody else may
 * read or write. Returns the open descriptor (for reading it without a
 * second look-up) or a negative errno with err set. other: the identity's
 * other file, or NULL; a missing path beside it is half an identity. */
static int open_private(const char *path, const char *other, const char *dir, char *err,
                        size_t errsz)
{
    struct stat st;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && other && file_exists(other)) {
            /* `hark provision` alone would refuse to touch the other file. */
            snprintf(err, errsz,
                     "%s holds only part of a device identity (no %s): `hark provision --force` "
                     "makes a new one, which must be registered with the cloud again",
                     dir, path);
        } else if (e == ENOENT) {
            snprintf(err, errsz, "no device identity in %s: run `hark provision`", dir);
        } else {
            snprintf(err, errsz, "%s: cannot open: %s", path, strerror(e));
        }
        return -e;
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        snprintf(err, errsz, "%s: cannot stat: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file", path);
        close(fd);
        return -EPERM;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errsz, "%s: owned by uid %u, not by this user (uid %u)", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -EPERM;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errsz, "%s: readable or writable by others (mode %03o): chmod 600 %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return -EPERM;
    }
    return fd;
}

/* Reads a whole (small) file into a NUL-terminated buffer, as the mbedTLS
 * PEM parsers want it. */
static int read_pem(int fd, unsigned char *buf, size_t bufsz, size_t *ret_len)
{
    int r = file_read_fd(fd, buf, bufsz - 1, ret_len);

    if (r == 0) {
        buf[*ret_len] = '\0';
    }
    return r;
}

/* The device key from key_fd (opened by open_private) into key; the PEM
 * text is wiped from the stack whatever happens. */
static int read_key(int key_fd, const char *key_path, mbedtls_pk_context *key, char *err,
                    size_t errsz)
{
    unsigned char key_pem[KEY_PEM_MAX * 4];
    size_t key_len = 0;
    int r = read_pem(key_fd, key_pem, sizeof(key_pem), &key_len);

    if (r < 0) {
        snprintf(err, errsz, "%s: cannot read: %s", key_path, strerror(-r));
    } else if (mbedtls_pk_parse_key(key, key_pem, key_len + 1, NULL, 0) != 0) {
        snprintf(err, errsz, "%s: not a private key (PEM)", key_path);
        r = -EBADMSG;
    }
    mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
    return r;
}

int identity_load(const char *dir, char ret_fingerprint[PIN_STRING_MAX], const char **ret_cert_path,
                  const char **ret_key_path, char *err, size_t errsz)
{
    mbedtls_pk_context key;
    mbedtls_x509_crt crt;
    unsigned char crt_pem[CRT_PEM_MAX * 4];
    char fingerprint[PIN_STRING_MAX];
    char key_path[PATH_MAX], crt_path[PATH_MAX];
    size_t crt_len = 0;
    int key_fd = -1;
    int crt_fd = -1;
    int r;

    mbedtls_pk_init(&key);
    mbedtls_x509_crt_init(&crt);

    if (file_join(key_path, sizeof(key_path), dir, IDENTITY_KEY_FILE) < 0 ||
        file_join(crt_path, sizeof(crt_path), dir, IDENTITY_CERT_FILE) < 0) {
        snprintf(err, errsz, "%s: path too long", dir);
        r = -ENAMETOOLONG;
        goto cleanup;
    }
    key_fd = open_private(key_path, crt_path, dir, err, errsz);
    if (key_fd < 0) {
        r = key_fd;
        goto cleanup;
    }
    crt_fd = open_private(crt_path, key_path, dir, err, errsz);
    if (crt_fd < 0) {
        r = crt_fd;
        goto cleanup;
    }
    /* Both are read through the descriptors checked above, not looked up
     * again by name. */
    r = read_pem(crt_fd, crt_pem, sizeof(crt_pem), &crt_len);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot read: %s", crt_path, strerror(-r));
        goto cleanup;
    }
    if (mbedtls_x509_crt_parse(&crt, crt_pem, crt_len + 1) != 0 ||
        pin_from_der(crt.raw.p, crt.raw.len, fingerprint) < 0) {
        snprintf(err, errsz, "%s: not a certificate (PEM)", crt_path);
        r = -EBADMSG;
        goto cleanup;
    }

    /* The key must belong to the certificate: a mismatched pair (say, an
     * interrupted re-provision) would only fail later, inside the TLS
     * handshake, with a far less helpful message. */
    r = read_key(key_fd, key_path, &key, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
        snprintf(err, errsz, "%s does not match %s: provision the device again", key_path,
                 crt_path);
        r = -EINVAL;
        goto cleanup;
    }

    memcpy(loaded_cert_path, crt_path, sizeof(loaded_cert_path));
    memcpy(loaded_key_path, key_path, sizeof(loaded_key_path));
    memcpy(ret_fingerprint, fingerprint, PIN_STRING_MAX);
    *ret_cert_path = loaded_cert_path;
    *ret_key_path = loaded_key_path;
    r = 0;

cleanup:
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&crt);
    if (key_fd >= 0) {
        close(key_fd);
    }
    if (crt_fd >= 0) {
        close(crt_fd);
    }
    return r;
}

int identity_fingerprint(const char *dir, char ret_fingerprint[PIN_STRING_MAX], char *err,
                         size_t errsz)
{
    mbedtls_pk_context key;
    char key_path[PATH_MAX];
    char fingerprint[PIN_STRING_MAX];
    int key_fd = -1;
    int r;

    mbedtls_pk_init(&key);
    if (file_join(key_path, sizeof(key_path), dir, IDENTITY_KEY_FILE) < 0) {
        snprintf(err, errsz, "%s: path too long", dir);
        r = -ENAMETOOLONG;
        goto cleanup;
    }
    key_fd = open_private(key_path, NULL, dir, err, errsz);
    if (key_fd < 0) {
        r = key_fd;
        goto cleanup;
    }
    r = read_key(key_fd, key_path, &key, err, errsz);
    if (r < 0) {
        goto cleanup;
    }
    r = pin_of_key(&key, fingerprint);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot compute the fingerprint", key_path);
        goto cleanup;
    }
    memcpy(ret_fingerprint, fingerprint, PIN_STRING_MAX);
    r = 0;

cleanup:
    mbedtls_pk_free(&key);
    if (key_fd >= 0) {
        close(key_fd);
    }
    return r;
}
