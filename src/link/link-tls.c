/* The link's TLS checks: the server's SPKI pin in OpenSSL's verify callback
 * and again before the upgrade request is written, the CA file's chain and
 * host name, the dates of a pinned certificate, and the TLS alert that says
 * why a handshake failed (doc/architecture.md, "The cloud link"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "link-internal.h"

void link_pin_mismatch_reason(struct link *link, char *out, size_t outsz)
{
    char expected[48];

    if (link->n_pins == 1) {
        snprintf(expected, sizeof(expected), "the configured pin");
    } else {
        snprintf(expected, sizeof(expected), "one of the %zu configured pins", link->n_pins);
    }
    snprintf(out, outsz, "pin mismatch: server %s:%d presented %s, expected %s", link->host,
             link->port, link->seen_pin[0] ? link->seen_pin : "no certificate", expected);
}

static bool pin_configured(const struct link *link, const char *pin)
{
    for (size_t i = 0; i < link->n_pins; i++) {
        if (strcmp(link->pins[i], pin) == 0) {
            return true;
        }
    }
    return false;
}

static int pin_of_x509(X509 *cert, char ret_pin[PIN_STRING_MAX])
{
    unsigned char *der = NULL;
    int len;
    int r;

    if (!cert) {
        return -ENOENT;
    }
    len = i2d_X509(cert, &der);
    if (len <= 0) {
        return -EBADMSG;
    }
    r = pin_from_der(der, (size_t)len, ret_pin);
    OPENSSL_free(der);
    return r;
}

/* LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: OpenSSL asks once
 * per certificate from the top of the chain down to the leaf (depth 0), and
 * again for any error it finds. Returns 0 to accept this step. */
int link_tls_verify(struct link *link, X509_STORE_CTX *xctx, int preverify_ok)
{
    int depth = X509_STORE_CTX_get_error_depth(xctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(xctx);
    char pin[PIN_STRING_MAX];

    if (link_test_skip_verify) {
        X509_STORE_CTX_set_error(xctx, X509_V_OK);
        return 0;
    }
    if (depth > 0) {
        if (link->have_ca && !preverify_ok) {
            link->cert_error = X509_STORE_CTX_get_error(xctx);
            return 1;
        }
        /* Pin only: the chain does not matter, the leaf's key does. An
         * untrusted or incomplete chain must not fail before we got there. */
        X509_STORE_CTX_set_error(xctx, X509_V_OK);
        return 0;
    }

    if (pin_of_x509(cert, pin) < 0) {
        link->pin_mismatch = true;
        X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 1;
    }
    memcpy(link->seen_pin, pin, sizeof(pin));
    if (!pin_configured(link, pin)) {
        link->pin_ok = false;
        link->pin_mismatch = true;
        X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 1;
    }
    if (link->have_ca) {
        /* The CA file adds to the pin: OpenSSL's verdict on the chain, and
         * the host name (or IP address) the URL gave. */
        if (!preverify_ok) {
            link->cert_error = X509_STORE_CTX_get_error(xctx);
            return 1;
        }
        int ok = link->host_is_ip ? X509_check_ip_asc(cert, link->host, 0)
                                  : X509_check_host(cert, link->host, 0,
                                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
        if (ok != 1) {
            link->cert_error =
                link->host_is_ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH;
            X509_STORE_CTX_set_error(xctx, link->cert_error);
            return 1;
        }
    }
    link->pin_ok = true;
    X509_STORE_CTX_set_error(xctx, X509_V_OK);
    return 0;
}

/* "2020-01-31T12:00:00Z", or "?" when OpenSSL cannot read it. */
static void format_asn1_time(const ASN1_TIME *t, char out[32])
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 32, "?");
    }
}

/* Pin only, OpenSSL's verdict on the certificate (its dates included) is
 * overruled: the key is what is trusted, and a server whose certificate has
 * lapsed still holds it. It is accepted, but the user is told, once per
 * connection, with the peer and the dates. With a CA file OpenSSL's date
 * check stands and such a certificate never gets this far. */
static void warn_about_dates(struct link *link, SSL *ssl)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    const ASN1_TIME *not_before, *not_after;
    char from[32], until[32], msg[REASON_MAX];
    bool early, late;

    if (link->have_ca || !peer || !link->cb.on_warning) {
        return;
    }
    not_before = X509_get0_notBefore(peer);
    not_after = X509_get0_notAfter(peer);
    /* X509_cmp_current_time: 0 on an unreadable time, counted as outside. */
    early = X509_cmp_current_time(not_before) >= 0;
    late = X509_cmp_current_time(not_after) <= 0;
    if (!early && !late) {
        return;
    }
    format_asn1_time(not_before, from);
    format_asn1_time(not_after, until);
    snprintf(msg, sizeof(msg),
             "%s:%d: the pinned certificate %s (valid from %s until %s); accepted because its "
             "key is pinned: with pins alone hark does not check dates ([cloud] ca_file does)",
             link->host, link->port, late ? "has expired" : "is not yet valid", from, until);
    link->cb.on_warning(link->userdata, msg);
}

/* LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: the TLS handshake is done and
 * nothing has been sent yet. Check again, on the certificate the session
 * really has, that it carries a configured pin: if the verify callback was
 * skipped for any reason (a lws or OpenSSL change, session resumption), the
 * connection fails closed here. */
int link_tls_confirm_pin(struct link *link, struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(wsi);
    X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    char pin[PIN_STRING_MAX];
    int r = pin_of_x509(peer, pin);

    X509_free(peer);
    if (r == 0) {
        memcpy(link->seen_pin, pin, sizeof(pin));
    }
    if (r < 0 || !pin_configured(link, pin)) {
        char reason[REASON_MAX];
        link->pin_mismatch = true;
        /* lws 4.1 reports this failure with no CLIENT_CONNECTION_ERROR, only
         * WSI_DESTROY, which uses the recorded reason. */
        link_pin_mismatch_reason(link, reason, sizeof(reason));
        link_set_reason(link, "%s", reason);
        return -1;
    }
    if (!link->pin_ok) {
        link_set_reason(link, "%s:%d: the certificate (%s) was never verified: refusing to send",
                   link->host, link->port, pin);
        return -1;
    }
    warn_about_dates(link, ssl);
    return 0;
}

/* ---- TLS alerts ---------------------------------------------------------- */

/* When a handshake fails, lws 4.1 says little more than "connect SSL err 1";
 * the TLS alert says why ("protocol version", "handshake failure", ...).
 * lws's own LWS_CALLBACK_SSL_INFO crashes on client connections in 4.1.6,
 * so the callback is set on the client SSL_CTX directly. */
static int ssl_ctx_link_index = -1;

static void on_tls_info(const SSL *ssl, int where, int ret)
{
    struct link *link;

    if (!(where & SSL_CB_ALERT) || ssl_ctx_link_index < 0) {
        return;
    }
    link = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ctx_link_index);
    if (!link) {
        return;
    }
    snprintf(link->tls_alert, sizeof(link->tls_alert), "%s: %s",
             (where & SSL_CB_READ) ? "the server sent the TLS alert" : "we sent the TLS alert",
             SSL_alert_desc_string_long(ret));
}

void link_tls_watch_alerts(struct link *link, SSL_CTX *ctx)
{
    if (!ctx) {
        return;
    }
    if (ssl_ctx_link_index < 0) {
        ssl_ctx_link_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    if (ssl_ctx_link_index >= 0 && SSL_CTX_set_ex_data(ctx, ssl_ctx_link_index, link) == 1) {
        SSL_CTX_set_info_callback(ctx, on_tls_info);
    }
}
