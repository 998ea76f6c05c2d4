/* Fuzz harness for certificates and pins: any bytes as a DER certificate
 * (pin_from_der, as the link pins the server's certificate) and as a
 * certificate file, PEM or DER (pin_from_file, as `hark pin` reads one,
 * through a memfd); any text as a pin (pin_is_valid) and as the config's
 * pins list ([cloud] pins, then config_cloud_pins). A pin made from a
 * certificate is well formed; a file without a PEM block gives the DER pin;
 * a refusal names the file; an accepted pins list splits into as many valid
 * pins as it has items. The CA file is not here: OpenSSL under libwebsockets
 * reads it, not hark. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "pin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A config line may be longer than a value may be, to reach that limit too. */
#define LINE_MAX_FUZZ (CONFIG_STRING_MAX + 64)

static int memfd = -1;
static char memfd_path[64];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %.300s\n", what, detail ? detail : "");
    abort();
}

/* The certificate as pin_from_der sees it. */
static bool check_der(const uint8_t *data, size_t size, char ret_pin[PIN_STRING_MAX])
{
    int r = pin_from_der(data, size, ret_pin);

    if (r == 0 && !pin_is_valid(ret_pin)) {
        fail("pin_from_der made a malformed pin", ret_pin);
    }
    if (r > 0) {
        fail("pin_from_der returned a positive value", NULL);
    }
    return r == 0;
}

/* The same bytes as a certificate file, read by name as `hark pin` does. */
static void check_file(const uint8_t *data, size_t size, const char *text, bool der_ok,
                       const char *der_pin)
{
    char pin[PIN_STRING_MAX], err[512];
    int r;

    if (memfd < 0) {
        memfd = memfd_create("fuzz-pin", MFD_CLOEXEC);
        if (memfd < 0) {
            fail("memfd_create", strerror(errno));
        }
        snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) < 0 || (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size)) {
        fail("memfd write", strerror(errno));
    }
    err[0] = '\0';
    r = pin_from_file(memfd_path, pin, err, sizeof(err));
    if (r < 0) {
        if (strncmp(err, memfd_path, strlen(memfd_path)) != 0) {
            fail("a refused file is not named", err);
        }
        /* Without a PEM block the file is DER: the same verdict as above. */
        if (!strstr(text, "-----BEGIN CERTIFICATE-----") && der_ok) {
            fail("pin_from_file refused what pin_from_der took", err);
        }
        return;
    }
    if (r > 0 || !pin_is_valid(pin)) {
        fail("pin_from_file made a malformed pin", pin);
    }
    if (!strstr(text, "-----BEGIN CERTIFICATE-----") && (!der_ok || strcmp(pin, der_pin) != 0)) {
        fail("pin_from_file and pin_from_der disagree on a DER file", pin);
    }
}

/* The first line of the text as the value of [cloud] pins. */
static void check_pins_list(const char *text)
{
    char conf[LINE_MAX_FUZZ + 32], err[512];
    char pins[CONFIG_MAX_PINS + 1][PIN_STRING_MAX];
    struct hark_config cfg;
    size_t len = strcspn(text, "\r\n");
    size_t items = 1, n;

    if (len > LINE_MAX_FUZZ) {
        len = LINE_MAX_FUZZ;
    }
    snprintf(conf, sizeof(conf), "[cloud]\npins = %.*s\n", (int)len, text);
    config_init_defaults(&cfg);
    if (config_load_string(&cfg, "fuzz.conf", conf, err, sizeof(err)) < 0) {
        if (strncmp(err, "fuzz.conf:", 10) != 0) {
            fail("a refused pins list has no located message", err);
        }
        return;
    }
    n = config_cloud_pins(&cfg, pins, CONFIG_MAX_PINS + 1);
    if (cfg.cloud.pins[strspn(cfg.cloud.pins, " ")] == '\0') {
        if (n != 0) {
            fail("an empty pins list gave pins", cfg.cloud.pins);
        }
        return;
    }
    for (const char *c = cfg.cloud.pins; *c; c++) {
        items += *c == ',';
    }
    if (n != items || n > CONFIG_MAX_PINS) {
        fail("an accepted pins list splits into another number of pins", cfg.cloud.pins);
    }
    for (size_t i = 0; i < n; i++) {
        if (!pin_is_valid(pins[i])) {
            fail("an accepted pins list holds a malformed pin", pins[i]);
        }
    }
}

/* config_cloud_pins on a value that was never checked must stay in bounds. */
static void check_unchecked_split(const char *text)
{
    char pins[CONFIG_MAX_PINS][PIN_STRING_MAX];
    struct hark_config cfg;

    config_init_defaults(&cfg);
    snprintf(cfg.cloud.pins, sizeof(cfg.cloud.pins), "%s", text);
    if (config_cloud_pins(&cfg, pins, CONFIG_MAX_PINS) > CONFIG_MAX_PINS) {
        fail("config_cloud_pins returned more than it may", cfg.cloud.pins);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char der_pin[PIN_STRING_MAX] = "";
    char *text;
    bool der_ok;

    text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';

    der_ok = check_der(data, size, der_pin);
    check_file(data, size, text, der_ok, der_pin);
    if (pin_is_valid(text) && strlen(text) >= PIN_STRING_MAX) {
        fail("pin_is_valid took a pin longer than PIN_STRING_MAX", text);
    }
    check_pins_list(text);
    check_unchecked_split(text);
    free(text);
    return 0;
}
