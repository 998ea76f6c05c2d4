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

int link_parse_url(const char *url, char ret_host[LINK_HOST_MAX], int *ret_port,
                   const char **ret_path, char *err, size_t errsz)
{
    const char *p;
    const char *auth;
    const char *auth_end;
    const char *host;
    const char *host_end;
    const char *port_s = NULL;
    char buf[LINK_HOST_MAX];
    long port = 443;

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

    if (*auth == '[') {
        /* [IPv6] or [IPv6]:port */
        host = auth + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end) {
            snprintf(err, errsz, "%s: missing ']' after the IPv6 address", url);
            return -EINVAL;
        }
        struct in6_addr a6;
        char v6[INET6_ADDRSTRLEN + 1];
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
        p = host_end + 1;
        if (p < auth_end) {
            if (*p != ':') {
                snprintf(err, errsz, "%s: unexpected text after the IPv6 address", url);
                return -EINVAL;
            }
            port_s = p + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', (size_t)(auth_end - auth));
        host = auth;
        if (colon && memchr(colon + 1, ':', (size_t)(auth_end - colon - 1))) {
            /* Several colons and no brackets: a bare IPv6 address, no port. */
            host_end = auth_end;
        } else if (colon) {
            host_end = colon;
            port_s = colon + 1;
        } else {
            host_end = auth_end;
        }
    }

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

    if (port_s) {
        char *end = NULL;
        size_t plen = (size_t)(auth_end - port_s);
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
    }

    p = auth_end;
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

    memcpy(ret_host, buf, hlen + 1);
    *ret_port = (int)port;
    *ret_path = p;
    return 0;
}
