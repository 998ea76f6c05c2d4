/* Shared helpers for the TLS tests, see openssl-util.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openssl-util.h"

int run_command(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    r = system(cmd);
    if (r != 0) {
        fprintf(stderr, "command failed (%d): %s\n", r, cmd);
    }
    return r;
}

void openssl_pin(const char *pem, char out[PIN_STRING_MAX])
{
    char cmd[8192];
    char line[128] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der"
             " | openssl dgst -sha256 -binary | base64",
             pem);
    p = popen(cmd, "r");
    if (!p || !fgets(line, sizeof(line), p)) {
        fprintf(stderr, "cannot run: %s\n", cmd);
        exit(1);
    }
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    snprintf(out, PIN_STRING_MAX, "sha256/%s", line);
}
