/* Tests for the device identity: provisioning writes an owner-only P-256 key
 * and a certificate whose pin is the fingerprint; loading refuses anything
 * others could read, a missing identity, and a key that is not the cert's. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "identity.h"
#include "pin.h"

#include "check.h"
#include "openssl-util.h"
#include "testdir.h"

static unsigned mode_of(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        return 07777;
    }
    return (unsigned)(st.st_mode & 07777);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (!d) {
        return 0;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* The certificate's content: P-256, self-signed subject, 20 years. */
static void check_certificate(const char *crt_path, const char *fingerprint)
{
    mbedtls_x509_crt crt;
    char subject[256] = "";
    char expect[128];
    char tag[13];

    mbedtls_x509_crt_init(&crt);
    CHECK(mbedtls_x509_crt_parse_file(&crt, crt_path) == 0);
    CHECK(mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY);
    CHECK(mbedtls_pk_ec(crt.pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1);
    CHECK(crt.sig_md == MBEDTLS_MD_SHA256);
    CHECK(crt.valid_to.year - crt.valid_from.year == 20);
    CHECK(crt.serial.len >= 8);
    CHECK(crt.ca_istrue == 0);
    CHECK(mbedtls_x509_dn_gets(subject, sizeof(subject), &crt.subject) > 0);

    memcpy(tag, fingerprint + 7, 12);
    tag[12] = '\0';
    for (size_t i = 0; i < 12; i++) {
        tag[i] = tag[i] == '+' ? '-' : tag[i] == '/' ? '_' : tag[i];
    }
    snprintf(expect, sizeof(expect), "CN=hark-device-%s, O=hark", tag);
    CHECK(strcmp(subject, expect) == 0);
    if (strcmp(subject, expect) != 0) {
        fprintf(stderr, "subject %s, expected %s\n", subject, expect);
    }
    CHECK(crt.issuer_raw.len == crt.subject_raw.len &&
          memcmp(crt.issuer_raw.p, crt.subject_raw.p, crt.issuer_raw.len) == 0);
    mbedtls_x509_crt_free(&crt);
}

int main(void)
{
    char dir[4200], other[4200], path[4300], path2[4300];
    char fp[PIN_STRING_MAX], fp2[PIN_STRING_MAX], fp3[PIN_STRING_MAX], pin[PIN_STRING_MAX];
    char err[1024];
    const char *crt_path = NULL;
    const char *key_path = NULL;

    umask(022);
    testdir_make("identity");
    /* Two levels that do not exist yet: both are created owner-only. */
    snprintf(dir, sizeof(dir), "%s/state/identity", testdir);

    /* Nothing there yet. */
    err[0] = '\0';
    CHECK(identity_load(dir, fp, &crt_path, &key_path, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "hark provision") != NULL && strstr(err, dir) != NULL);

    /* Provision: files 0600, directories 0700, nothing else left behind. */
    CHECK(identity_provision(dir, false, fp, err, sizeof(err)) == 0);
    CHECK(pin_is_valid(fp));
    CHECK(mode_of(dir) == 0700);
    snprintf(path, sizeof(path), "%s/state", testdir);
    CHECK(mode_of(path) == 0700);
    snprintf(path, sizeof(path), "%s/" IDENTITY_KEY_FILE, dir);
    CHECK(mode_of(path) == 0600);
    snprintf(path, sizeof(path), "%s/" IDENTITY_CERT_FILE, dir);
    CHECK(mode_of(path) == 0600);
    CHECK(count_entries(dir) == 2);

    /* Load: the same fingerprint, which is the certificate's pin (ours and
     * openssl's), and a key openssl can read. */
    CHECK(identity_load(dir, fp2, &crt_path, &key_path, err, sizeof(err)) == 0);
    CHECK(strcmp(fp, fp2) == 0);
    CHECK(crt_path && strcmp(crt_path, path) == 0);
    CHECK(key_path && strstr(key_path, IDENTITY_KEY_FILE) != NULL);
    CHECK(pin_from_file(path, pin, err, sizeof(err)) == 0 && strcmp(pin, fp) == 0);
    openssl_pin(path, pin);
    CHECK(strcmp(pin, fp) == 0);
    CHECK(run_command("openssl pkey -in '%s/" IDENTITY_KEY_FILE "' -noout 2>/dev/null", dir) == 0);
    CHECK(run_command("openssl x509 -in '%s' -noout -checkend 0 >/dev/null", path) == 0);
    CHECK(run_command("openssl verify -CAfile '%s' '%s' >/dev/null 2>&1", path, path) == 0);
    check_certificate(path, fp);

    /* No silent replacement; force makes a new identity. */
    CHECK(identity_provision(dir, false, fp2, err, sizeof(err)) == -EEXIST);
    CHECK(strstr(err, dir) != NULL);
    CHECK(identity_load(dir, fp2, &crt_path, &key_path, err, sizeof(err)) == 0);
    CHECK(strcmp(fp, fp2) == 0);
    /* A temp file left by a crash does not block provisioning. */
    snprintf(path2, sizeof(path2), "%s/." IDENTITY_KEY_FILE ".new", dir);
    CHECK(run_command("echo stale > '%s'", path2) == 0);
    CHECK(identity_provision(dir, true, fp2, err, sizeof(err)) == 0);
    CHECK(strcmp(fp, fp2) != 0);
    CHECK(count_entries(dir) == 2);
    CHECK(identity_load(dir, fp3, &crt_path, &key_path, err, sizeof(err)) == 0);
    CHECK(strcmp(fp2, fp3) == 0);

    /* Permissions: refused, naming the file and the fix. */
    static const struct {
        const char *file;
        mode_t mode;
    } loose[] = {{IDENTITY_KEY_FILE, 0644}, {IDENTITY_CERT_FILE, 0620}};
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, loose[i].file);
        CHECKF(chmod(path, loose[i].mode) == 0, "%s", path);
        err[0] = '\0';
        CHECKF(identity_load(dir, fp3, &crt_path, &key_path, err, sizeof(err)) == -EPERM,
               "%s mode %o", path, (unsigned)loose[i].mode);
        CHECKF(strstr(err, path) != NULL && strstr(err, "chmod 600") != NULL, "%s: %s", path, err);
        CHECKF(chmod(path, 0600) == 0, "%s", path);
    }
    CHECK(identity_load(dir, fp3, &crt_path, &key_path, err, sizeof(err)) == 0);

    /* Owned by someone else (root can arrange that). */
    if (geteuid() == 0) {
        snprintf(path, sizeof(path), "%s/" IDENTITY_KEY_FILE, dir);
        CHECK(chown(path, 12345, (gid_t)-1) == 0);
        err[0] = '\0';
        CHECK(identity_load(dir, fp3, &crt_path, &key_path, err, sizeof(err)) == -EPERM);
        CHECK(strstr(err, path) != NULL && strstr(err, "owned") != NULL);
        CHECK(chown(path, 0, (gid_t)-1) == 0);
    }

    /* A key that is not the certificate's. */
    snprintf(other, sizeof(other), "%s/other", testdir);
    CHECK(identity_provision(other, false, fp3, err, sizeof(err)) == 0);
    CHECK(run_command("cp '%s/" IDENTITY_KEY_FILE "' '%s/" IDENTITY_KEY_FILE "'", other, dir) == 0);
    err[0] = '\0';
    CHECK(identity_load(dir, fp3, &crt_path, &key_path, err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "does not match") != NULL);

    /* One file missing. */
    snprintf(path, sizeof(path), "%s/" IDENTITY_CERT_FILE, other);
    CHECK(unlink(path) == 0);
    err[0] = '\0';
    CHECK(identity_load(other, fp3, &crt_path, &key_path, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "hark provision") != NULL);

    testdir_remove();
    return check_status();
}
