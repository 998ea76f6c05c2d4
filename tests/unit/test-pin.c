/* Tests for pins: they must equal what the openssl command line computes for
 * certificates it made (EC and RSA, PEM and DER), and bad files are named. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pin.h"

#include "check.h"
#include "openssl-util.h"
#include "testdir.h"

/* Runs a shell command; the paths in it are ours (mkdtemp), never input. */
static size_t read_bytes(const char *path, uint8_t *buf, size_t sz)
{
    FILE *f = fopen(path, "rbe");
    size_t n;

    if (!f) {
        perror(path);
        exit(1);
    }
    n = fread(buf, 1, sz, f);
    fclose(f);
    return n;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wbe");

    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* Generates a self-signed certificate with the openssl command line and
 * checks pin_from_file (PEM and DER) and pin_from_der against it. */
static void check_cert(const char *name, const char *newkey, char ret_pin[PIN_STRING_MAX])
{
    char pem[4200], der[4200], expect[PIN_STRING_MAX], pin[PIN_STRING_MAX], err[512];
    uint8_t bytes[8192];

    snprintf(pem, sizeof(pem), "%s/%s.pem", testdir, name);
    snprintf(der, sizeof(der), "%s/%s.der", testdir, name);
    if (run_command("openssl req -x509 %s -nodes -keyout '%s/%s.key' -out '%s' -days 2 -subj /CN=%s "
            "2>/dev/null",
            newkey, testdir, name, pem, name) != 0 ||
        run_command("openssl x509 -in '%s' -outform der -out '%s'", pem, der) != 0) {
        exit(1);
    }
    openssl_pin(pem, expect);
    CHECK(pin_is_valid(expect));

    err[0] = '\0';
    CHECK(pin_from_file(pem, pin, err, sizeof(err)) == 0);
    CHECK(strcmp(pin, expect) == 0);
    if (strcmp(pin, expect) != 0) {
        fprintf(stderr, "%s PEM: got %s, openssl says %s (%s)\n", name, pin, expect, err);
    }
    CHECK(pin_is_valid(pin));

    memset(pin, 0, sizeof(pin));
    CHECK(pin_from_file(der, pin, err, sizeof(err)) == 0);
    CHECK(strcmp(pin, expect) == 0);

    size_t n = read_bytes(der, bytes, sizeof(bytes));
    memset(pin, 0, sizeof(pin));
    CHECK(pin_from_der(bytes, n, pin) == 0);
    CHECK(strcmp(pin, expect) == 0);
    CHECK(pin_from_der(bytes, n - 1, pin) < 0); /* truncated */
    CHECK(pin_from_der(bytes, 0, pin) < 0);

    memcpy(ret_pin, expect, PIN_STRING_MAX);
}

/* err must name the file and say something about why. */
static void check_bad_file(const char *path, const char *why)
{
    char pin[PIN_STRING_MAX];
    char err[1024] = "";

    CHECK(pin_from_file(path, pin, err, sizeof(err)) < 0);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, why) != NULL);
    if (!strstr(err, path) || !strstr(err, why)) {
        fprintf(stderr, "error for %s lacks the path or \"%s\": %s\n", path, why, err);
    }
}

int main(void)
{
    char ec_pin[PIN_STRING_MAX], rsa_pin[PIN_STRING_MAX], pin[PIN_STRING_MAX], err[1024];
    char path[4200];

    testdir_make("pin");

    check_cert("ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", ec_pin);
    check_cert("rsa", "-newkey rsa:2048", rsa_pin);
    CHECK(strcmp(ec_pin, rsa_pin) != 0);

    /* A chain file: the pin is the first certificate's (the leaf). */
    snprintf(path, sizeof(path), "%s/chain.pem", testdir);
    CHECK(run_command("cat '%s/rsa.pem' '%s/ec.pem' > '%s'", testdir, testdir, path) == 0);
    CHECK(pin_from_file(path, pin, err, sizeof(err)) == 0 && strcmp(pin, rsa_pin) == 0);

    /* PEM with text around it (as `openssl x509 -text` writes it). */
    snprintf(path, sizeof(path), "%s/text.pem", testdir);
    CHECK(run_command("openssl x509 -in '%s/ec.pem' -text > '%s'", testdir, path) == 0);
    CHECK(pin_from_file(path, pin, err, sizeof(err)) == 0 && strcmp(pin, ec_pin) == 0);

    /* Bad files: every error names the file. The bytes are written unless
     * NULL: missing.pem is not there; ec.key, a private key, is not a
     * certificate though it is PEM. */
    static const struct {
        const char *file, *bytes;
        size_t len;
        const char *why;
    } bad_files[] = {
        {"missing.pem", NULL, 0, "No such file"},
        {"empty.pem", "", 0, "empty"},
        {"garbage.bin", "\x30\x82\x01\x00 not a certificate at all", 30, "not a certificate"},
        {"garbage.txt", "hello\n", 6, "not a certificate"},
        {"bad.pem", "-----BEGIN CERTIFICATE-----\nnot!base64\n-----END CERTIFICATE-----\n", 65,
         "PEM"},
        {"ec.key", NULL, 0, "not a certificate"},
    };
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", testdir, bad_files[i].file);
        if (bad_files[i].bytes) {
            write_bytes(path, bad_files[i].bytes, bad_files[i].len);
        }
        check_bad_file(path, bad_files[i].why);
    }
    snprintf(path, sizeof(path), "%s/missing.pem", testdir);
    CHECK(pin_from_file(path, pin, err, sizeof(err)) == -ENOENT);
    check_bad_file(testdir, "not a regular file");

    /* pin_is_valid */
    CHECK(pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    CHECK(!pin_is_valid(NULL));
    CHECK(!pin_is_valid(""));
    CHECK(!pin_is_valid("sha256/"));
    CHECK(!pin_is_valid("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    CHECK(!pin_is_valid("sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    CHECK(!pin_is_valid("SHA256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"));   /* no padding */
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==")); /* too long */
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=")); /* not canonical */
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=")); /* base64url */
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu U=")); /* space */
    CHECK(!pin_is_valid("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= "));
    CHECK(!pin_is_valid("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 36 bytes */

    testdir_remove();
    return check_status();
}
