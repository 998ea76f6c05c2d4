/* The protocol's inside, for its own files only. */
#pragma once

#include <stddef.h>

/* cJSON is lenient where a peer must not be: it takes raw control characters
 * inside strings, cuts a string at \u0000 without saying so (so "a\u0000b"
 * would silently arrive as "a"), reads 01 and 1. as numbers and never looks
 * at UTF-8. One pass holds the text to RFC 8259 on those points; the grammar
 * itself is left to cJSON. 0, or -EBADMSG with the reason in err. */
int proto_check_text(const unsigned char *s, size_t len, char *err, size_t errsz);
