/* The cloud's URL as the link takes it: wss:// only, a host name or address,
 * a port 1-65535, a path (link_parse_url, link.h; the config checks
 * [cloud] url with it too). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "link-internal.h"

static bool is_hostname(const char *s, size_t len)
{
    if (len == 0 || len >= LINK_HOST_MAX || s[0] == '-' || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_') {
            return false;
        }
    }
    return true;
}

/* The authority (between "wss://" and the path) of url, after checking the
 * scheme and that it holds no credentials. */
static int split_scheme(const char *url, const char **ret_auth, const char **ret_auth_end,
                        char *err, size_t errsz)
{
    const char *auth;
    const char *auth_end;

    if (!url || !*url) {
        snprintf(err, errsz, "no cloud URL given");
        return -EINVAL;
    }
    if (strncasecmp(url, "ws://", 5) == 0) {
        snprintf(err, errsz, "%s: ws:// is not allowed: the link must be wss:// (TLS)", url);
        return -EINVAL;
    }
    if (strncasecmp(url, "wss://", 6) != 0) {
        snprintf(err, errsz, "%s: not a wss:// URL", url);
        return -EINVAL;
    }
    auth = url + 6;
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth))) {
        snprintf(err, errsz, "%s: credentials in the URL are not supported", url);
        return -EINVAL;
    }
    *ret_auth = auth;
    *ret_auth_end = auth_end;
    return 0;
}

/* "[IPv6]" or "[IPv6]:port": the address, checked, and the port's text
 * (NULL when there is none). */
static int split_bracketed(const char *url, const char *auth, const char *auth_end,
                           const char **ret_host, const char **ret_host_end,
                           const char **ret_port, char *err, size_t errsz)
{
    const char *host = auth + 1;
    const char *host_end = memchr(host, ']', (size_t)(auth_end - host));
    const char *p;
    struct in6_addr a6;
    char v6[INET6_ADDRSTRLEN + 1];

    if (!host_end) {
        snprintf(err, errsz, "%s: missing ']' after the IPv6 address", url);
        return -EINVAL;
    }
    size_t v6len = (size_t)(host_end - host);
    if (v6len == 0 || v6len >= sizeof(v6)) {
        snprintf(err, errsz, "%s: bad IPv6 address", url);
        return -EINVAL;
    }
    memcpy(v6, host, v6len);
    v6[v6len] = '\0';
    if (inet_pton(AF_INET6, v6, &a6) != 1) {
        snprintf(err, errsz, "%s: bad IPv6 address '%s'", url, v6);
        return -EINVAL;
    }
    *ret_port = NULL;
    p = host_end + 1;
    if (p < auth_end) {
        if (*p != ':') {
            snprintf(err, errsz, "%s: unexpected text after the IPv6 address", url);
            return -EINVAL;
        }
        *ret_port = p + 1;
    }
    *ret_host = host;
    *ret_host_end = host_end;
    return 0;
}

/* Splits the authority into the host and the port's text (NULL: none). */
static int split_authority(const char *url, const char *auth, const char *auth_end,
                           const char **ret_host, const char **ret_host_end,
                           const char **ret_port, char *err, size_t errsz)
{
    if (*auth == '[') {
        return split_bracketed(url, auth, auth_end, ret_host, ret_host_end, ret_port, err,
                               errsz);
    }
    const char *colon = memchr(auth, ':', (size_t)(auth_end - auth));

    *ret_host = auth;
    *ret_port = NULL;
    if (colon && memchr(colon + 1, ':', (size_t)(auth_end - colon - 1))) {
        /* Several colons and no brackets: a bare IPv6 address, no port. */
        *ret_host_end = auth_end;
    } else if (colon) {
        *ret_host_end = colon;
        *ret_port = colon + 1;
    } else {
        *ret_host_end = auth_end;
    }
    return 0;
}

/* Copies the host into ret_host and checks it is an IPv6 address or a
 * host name. */
static int check_host(const char *url, const char *host, const char *host_end,
                      char ret_host[LINK_HOST_MAX], char *err, size_t errsz)
{
    char buf[LINK_HOST_MAX];
    size_t hlen = (size_t)(host_end - host);

    if (hlen == 0) {
        snprintf(err, errsz, "%s: no host", url);
        return -EINVAL;
    }
    if (hlen >= sizeof(buf)) {
        snprintf(err, errsz, "%s: host name too long", url);
        return -EINVAL;
    }
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    if (memchr(buf, ':', hlen)) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, buf, &a6) != 1) {
            snprintf(err, errsz, "%s: bad IPv6 address '%s'", url, buf);
            return -EINVAL;
        }
    } else if (!is_hostname(buf, hlen)) {
        snprintf(err, errsz, "%s: bad host name '%s'", url, buf);
        return -EINVAL;
    }
    memcpy(ret_host, buf, hlen + 1);
    return 0;
}

/* The port from port_s up to auth_end: 1-65535, digits only. */
static int parse_port(const char *url, const char *port_s, const char *auth_end, long *ret_port,
                      char *err, size_t errsz)
{
    char *end = NULL;
    size_t plen = (size_t)(auth_end - port_s);
    long port;

    if (plen == 0 || plen > 5 || !isdigit((unsigned char)*port_s)) {
        snprintf(err, errsz, "%s: bad port", url);
        return -EINVAL;
    }
    errno = 0;
    port = strtol(port_s, &end, 10);
    if (end != auth_end || port < 1 || port > 65535) {
        snprintf(err, errsz, "%s: bad port (1-65535)", url);
        return -EINVAL;
    }
    *ret_port = port;
    return 0;
}

/* The path after the authority (PROTO_PATH when there is none). */
static int check_path(const char *url, const char *auth_end, const char **ret_path, char *err,
                      size_t errsz)
{
    const char *p = auth_end;

    if (*p == '\0') {
        p = PROTO_PATH;
    } else if (*p != '/') {
        snprintf(err, errsz, "%s: the path must start with '/'", url);
        return -EINVAL;
    }
    /* The path goes into the request line verbatim: nothing that could end
     * or split it. */
    for (const char *c = p; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f) {
            snprintf(err, errsz, "%s: spaces or control characters in the path", url);
            return -EINVAL;
        }
    }
    if (strlen(p) >= PATH_MAX_LEN) {
        snprintf(err, errsz, "%s: path too long", url);
        return -EINVAL;
    }
    *ret_path = p;
    return 0;
}

int link_parse_url(const char *url, char ret_host[LINK_HOST_MAX], int *ret_port,
                   const char **ret_path, char *err, size_t errsz)
{
    const char *auth;
    const char *auth_end;
    const char *host;
    const char *host_end;
    const char *port_s;
    const char *path;
    char host_buf[LINK_HOST_MAX];
    long port = 443;
    int r;

    r = split_scheme(url, &auth, &auth_end, err, errsz);
    if (r < 0) {
        return r;
    }
    r = split_authority(url, auth, auth_end, &host, &host_end, &port_s, err, errsz);
    if (r < 0) {
        return r;
    }
    r = check_host(url, host, host_end, host_buf, err, errsz);
    if (r < 0) {
        return r;
    }
    if (port_s) {
        r = parse_port(url, port_s, auth_end, &port, err, errsz);
        if (r < 0) {
            return r;
        }
    }
    r = check_path(url, auth_end, &path, err, errsz);
    if (r < 0) {
        return r;
    }
    memcpy(ret_host, host_buf, strlen(host_buf) + 1);
    *ret_port = (int)port;
    *ret_path = path;
    return 0;
}
