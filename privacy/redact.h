/* The redactor: replaces personal data in a transcript or answer with typed
 * markers such as [card]. ASR transcripts spell numbers out, so numbers in
 * words count as much as digits. Pure functions; no allocation but the
 * result. */
#pragma once

#include <stddef.h>

/* What was found, for tests and the policy event. */
enum redact_kind {
    REDACT_CARD,     /* [card]   payment card number, Luhn-valid, 13-19 digits */
    REDACT_IBAN,     /* [iban]   IBAN, mod-97 valid */
    REDACT_PHONE,    /* [phone]  phone number */
    REDACT_EMAIL,    /* [email]  e-mail address, also "name at example dot com" */
    REDACT_ID,       /* [id]     national id patterns (US SSN, UK NI number, ...) */
    REDACT_SECRET,   /* [secret] a PIN, password or code after a trigger word */
    REDACT_NUMBER,   /* [number] a long run of digits otherwise unexplained */
    REDACT_KINDS
};

/* Returns a newly allocated copy of text with personal data replaced, and
 * counts what it replaced in ret_counts (optional, REDACT_KINDS entries).
 * NULL only when out of memory. Each replacement takes whole words; a
 * secret's trigger word stays ("my pin is [secret]"); every other byte,
 * UTF-8 included, is copied unchanged. Linear in the length of text, and
 * safe to call from any thread. */
char *redact_text(const char *text, unsigned ret_counts[REDACT_KINDS]);

/* The marker of a kind, "[card]" etc.; "[redacted]" for no kind. */
const char *redact_marker(enum redact_kind kind);
