/* The redactor: replaces personal data in a transcript or answer with typed
 * markers such as [card]. ASR transcripts spell numbers out, so numbers in
 * words count as much as digits. Pure functions: no allocation but the
 * result (and redact_slot()'s one scratch copy). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What was found, for tests and the policy event. */
enum redact_kind {
    REDACT_CARD,      /* [card]   payment card number, Luhn-valid, 13-19 digits */
    REDACT_IBAN,      /* [iban]   IBAN, mod-97 valid */
    REDACT_PHONE,     /* [phone]  phone number */
    REDACT_EMAIL,     /* [email]  e-mail address, also "name at example dot com" */
    REDACT_ID,        /* [id]     national id patterns (US SSN, UK NI number, ...) */
    REDACT_SECRET,    /* [secret] a PIN, password or code after a trigger word */
    REDACT_NUMBER,    /* [number] a long run of digits otherwise unexplained */
    REDACT_BIRTHDATE, /* [birthdate] a date after "date of birth", "born on", ... */
    REDACT_ADDRESS,   /* [address] a street address or postcode after "my address is",
                       * "send it to", "live at", "my postcode is", ... */
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

/* Whether a slot's name says its value is a secret or a bank detail: one
 * of its words (split at anything but letters and digits, and at camelCase
 * humps; case ignored) is code, pin, password, passcode, cvv,
 * cvc, account, card, iban, secret, otp, token, ... alone, in the plural,
 * or glued to number/no/num/nr/id ("card_number", "pinCode", "account_no",
 * "security_code", "IBAN", "cardnumber"). Words that merely contain one
 * ("opinion", "discard", "accountant", "postcard") do not count, nor
 * "code" after country, language, currency, area, error, zip, post, ...
 * ("zip_code"). "sort_code" is a bank detail and counts. */
bool redact_slot_is_secret(const char *name);

/* The value of an intent's slot as it may be kept under the `redact`
 * policy. When redact_slot_is_secret(name), the slot is not kept at all:
 * *ret_value = NULL. Otherwise *ret_value is a newly allocated copy of
 * value redacted with redact_text()'s rules, the name's words standing
 * before it as the cue: slot "phone" = "oh two oh seven ..." is redacted
 * as "phone: oh two oh seven ..." is, to "[phone]"; the name itself is not
 * part of the result. A value is one thing, so one shaped like a spoken
 * e-mail address ("jane at example dot com") is one whatever the name.
 * ret_counts (optional, REDACT_KINDS entries) counts what was replaced,
 * all zero for a dropped slot. Returns 0, -EINVAL when name, value or
 * ret_value is NULL, -ENOMEM when out of memory; outputs are written only
 * on success. Pure, safe to call from any thread; its one scratch copy of
 * the value is wiped. */
int redact_slot(const char *name, const char *value, char **ret_value,
                unsigned ret_counts[REDACT_KINDS]);
