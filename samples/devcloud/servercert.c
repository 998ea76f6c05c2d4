/* The development cloud's key and certificate (see servercert.h), made with
 * OpenSSL: it is the TLS library under libwebsockets here, and it writes the
 * subjectAltName extension that mbedTLS 2.28 has no writer for. */
#define _GNU_SOURCE
#include "servercert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base-file.h"

#define VALIDITY_DAYS (10 * 365)
#define SERIAL_BITS 127

/* A key (pkey) or a certificate (x509) as PEM in DIR/NAME, 0600. The key
 * goes through a secure-heap memory BIO, which OpenSSL wipes when freed, so
 * its bytes do not linger in a stdio buffer. */
static int write_pem(const char *dir, const char *name, EVP_PKEY *pkey, X509 *x509)
{
    BIO *bio = BIO_new(pkey ? BIO_s_secmem() : BIO_s_mem());
    char *data = NULL;
    long len;
    int r = -EIO;

    if (!bio) {
        return -ENOMEM;
    }
    if (pkey ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
             : PEM_write_bio_X509(bio, x509)) {
        len = BIO_get_mem_data(bio, &data);
        if (len > 0) {
            r = file_write_atomic(dir, name, ".new", data, (size_t)len, 0600);
        }
    }
    BIO_free(bio);
    return r;
}

static int add_ext(X509 *x509, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x509, x509, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return -EINVAL;
    }
    ok = X509_add_ext(x509, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -ENOMEM;
}

static int make_cert(EVP_PKEY *pkey, X509 **ret_x509)
{
    X509 *x509 = X509_new();
    X509_NAME *name;
    BIGNUM *serial = BN_new();
    int r = -EIO;

    if (!x509 || !serial) {
        r = -ENOMEM;
        goto fail;
    }
    /* A random positive serial, as RFC 5280 wants them unique. */
    if (!X509_set_version(x509, 2) ||
        !BN_rand(serial, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509))) {
        goto fail;
    }
    /* An hour back, for clocks a little behind. */
    if (!X509_gmtime_adj(X509_getm_notBefore(x509), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x509), (long)VALIDITY_DAYS * 24 * 3600)) {
        goto fail;
    }
    name = X509_get_subject_name(x509);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"hark-devcloud", -1, -1, 0) ||
        !X509_set_issuer_name(x509, name) || !X509_set_pubkey(x509, pkey)) {
        goto fail;
    }
    /* Usable as its own trust anchor (a client's CA file) as well as pinned. */
    if (add_ext(x509, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x509, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x509, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") < 0) {
        goto fail;
    }
    if (X509_sign(x509, pkey, EVP_sha256()) <= 0) {
        goto fail;
    }
    BN_free(serial);
    *ret_x509 = x509;
    return 0;

fail:
    BN_free(serial);
    X509_free(x509);
    return r;
}

static int generate(const char *dir, const char *key_path, const char *cert_path, char *err,
                    size_t errsz)
{
    EVP_PKEY *pkey = NULL;
    X509 *x509 = NULL;
    int r;

    pkey = EVP_EC_gen("P-256");
    if (!pkey) {
        snprintf(err, errsz, "cannot make an EC P-256 key");
        return -EIO;
    }
    r = make_cert(pkey, &x509);
    if (r < 0) {
        snprintf(err, errsz, "cannot make the server certificate");
        goto finish;
    }
    /* The certificate first: a key without its certificate is useless, a
     * certificate without its key is noticed at the next start. */
    r = write_pem(dir, SERVERCERT_CERT_FILE, NULL, x509);
    if (r < 0) {
        snprintf(err, errsz, "%s: %s", cert_path, strerror(-r));
        goto finish;
    }
    r = write_pem(dir, SERVERCERT_KEY_FILE, pkey, NULL);
    if (r < 0) {
        snprintf(err, errsz, "%s: %s", key_path, strerror(-r));
        unlink(cert_path);
        goto finish;
    }
    r = file_sync_dir(dir);
    if (r < 0) {
        snprintf(err, errsz, "%s: cannot flush the directory: %s", dir, strerror(-r));
    }
finish:
    X509_free(x509);
    EVP_PKEY_free(pkey); /* frees the private scalar with BN_clear_free */
    return r;
}

int servercert_ensure(const char *dir, char ret_key_path[PATH_MAX], char ret_cert_path[PATH_MAX],
                      bool *ret_created, char *err, size_t errsz)
{
    struct stat st_key, st_cert;
    bool have_key, have_cert;
    int r;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot create the state directory: %s", dir, strerror(errno));
        return r;
    }
    if (file_join(ret_key_path, PATH_MAX, dir, SERVERCERT_KEY_FILE) < 0 ||
        file_join(ret_cert_path, PATH_MAX, dir, SERVERCERT_CERT_FILE) < 0) {
        snprintf(err, errsz, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    have_key = lstat(ret_key_path, &st_key) == 0;
    have_cert = lstat(ret_cert_path, &st_cert) == 0;
    if (have_key && have_cert) {
        if (!S_ISREG(st_key.st_mode) || (st_key.st_mode & 077) != 0 || st_key.st_uid != geteuid()) {
            snprintf(err, errsz,
                     "%s: the key must be a regular file only its owner can read "
                     "(chmod 600)",
                     ret_key_path);
            return -EPERM;
        }
        *ret_created = false;
        return 0;
    }
    if (have_key != have_cert) {
        snprintf(err, errsz, "%s: %s is there without %s; remove it to make a new pair", dir,
                 have_key ? SERVERCERT_KEY_FILE : SERVERCERT_CERT_FILE,
                 have_key ? SERVERCERT_CERT_FILE : SERVERCERT_KEY_FILE);
        return -EINVAL;
    }
    r = generate(dir, ret_key_path, ret_cert_path, err, errsz);
    if (r < 0) {
        return r;
    }
    *ret_created = true;
    return 0;
}
