/* The redactor (privacy/redact.c): a table of transcripts and answers with
 * what must come out, for every kind in digits and in words, and the
 * requests that must come out untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "redact.h"

struct redact_case {
    const char *in;
    const char *want;
};

/* Payment cards: 13 to 19 digits that pass the Luhn check. Bytes beyond
 * ASCII are written in octal, which unlike \x cannot run into the digits
 * after them. */
static const struct redact_case cards[] = {
    {"my card number is 4532 0151 1283 0366", "my card number is [card]"},
    {"4532015112830366", "[card]"},
    {"4532-0151-1283-0366", "[card]"},
    {"card: 4532 0151 1283 0366.", "card: [card]."},
    {"MY CARD NUMBER IS 4532015112830366", "MY CARD NUMBER IS [card]"},
    {"my card number is four five three two zero one five one one two eight three zero three "
     "six six",
     "my card number is [card]"},
    {"FOUR FIVE THREE TWO ZERO ONE FIVE ONE ONE TWO EIGHT THREE ZERO THREE SIX SIX", "[card]"},
    {"four five three two oh one five one one two eight three oh three double six please",
     "[card] please"},
    {"forty five thirty two oh one fifty one twelve eighty three oh three sixty six", "[card]"},
    {"amex 3782 822463 10005", "amex [card]"},
    {"the old visa 4222222222222 expired", "the old visa [card] expired"},
    {"5555 5555 5555 4444 expires 12/27", "[card] expires 12/27"},
    {"card 4532\302\2400151\302\2401283\302\2400366", "card [card]"}, /* no-break spaces */
    {"4532015112830366 at the start", "[card] at the start"},
    {"at the end 4532015112830366", "at the end [card]"},
    {"card:4532015112830366,", "card:[card],"},
    {"(4532015112830366)", "([card])"},
    {"x4532015112830366y", "[card]"},
    /* a transcript may punctuate the pauses between groups */
    {"card 4532, 0151, 1283, 0366.", "card [card]."},
    {"four five three two, zero one five one, one two eight three, zero three six six", "[card]"},
    {"caf\303\251 \342\230\225 4532015112830366 \303\274n\303\257",
     "caf\303\251 \342\230\225 [card] \303\274n\303\257"},
};

/* Luhn-invalid runs are no cards, but they are still long numbers. */
static const struct redact_case not_cards[] = {
    {"4532 0151 1283 0367", "[number]"},
    {"card 4532015112830367", "card [number]"},
    {"my card number is four five three two zero one five one one two eight three zero three "
     "six seven",
     "my card number is [number]"},
    {"4532 0151\n1283 0366", "[number]\n[number]"},
    {"4532,0151,1283,0367", "[number]"},
    /* a misheard digit must not let the rest through */
    {"four five three two, zero one five one, one two eight three, zero three six seven",
     "[number]"},
};

/* IBANs: a known country, its length, and mod 97 equal to 1. */
static const struct redact_case ibans[] = {
    {"my iban is GB82 WEST 1234 5698 7654 32", "my iban is [iban]"},
    {"GB82WEST12345698765432", "[iban]"},
    {"iban: DE89 3704 0044 0532 0130 00.", "iban: [iban]."},
    {"NL91ABNA0417164300 is mine", "[iban] is mine"},
    {"FR14 2004 1010 0505 0001 3M02 606", "[iban]"},
    {"gb82 west 1234 5698 7654 32", "[iban]"},
    {"my iban is g b eight two w e s t one two three four five six nine eight seven six five "
     "four three two thanks",
     "my iban is [iban] thanks"},
    /* mod 97 fails: what is left is a long number all the same */
    {"DE89 3704 0044 0532 0130 01", "[number]"},
    {"GB82WEST12345698765433", "[number]"},
};

static const struct redact_case phones[] = {
    {"call me on 020 7946 0958", "call me on [phone]"},
    {"call +44 20 7946 0958 now", "call [phone] now"},
    {"+442079460958", "[phone]"},
    {"(555) 123-4567", "[phone]"},
    {"555-123-4567", "[phone]"},
    {"555.123.4567", "[phone]"},
    {"1-800-555-0199", "[phone]"},
    {"+1 (555) 123-4567", "[phone]"},
    {"0044 20 7946 0958", "[phone]"},
    {"my mobile is 07700 900123", "my mobile is [phone]"},
    {"ring me at 555-1234", "ring me at [phone]"},
    {"the number is 5551234567", "the number is [phone]"},
    {"Call us: 020 7946 0958.", "Call us: [phone]."},
    {"call five five five one two three four", "call [phone]"},
    {"my number is oh seven seven double oh nine double oh one two three", "my number is [phone]"},
    {"phone me on oh two oh seven nine four six oh nine five eight please",
     "phone me on [phone] please"},
    {"plus four four two oh seven nine four six oh nine five eight", "[phone]"},
    {"call me on oh two oh, seven nine four six, oh nine five eight", "call me on [phone]"},
};

static const struct redact_case emails[] = {
    {"john.smith@example.com", "[email]"},
    {"email me at john.smith@example.com.", "email me at [email]."},
    {"J.Smith+news@mail.example.co.uk", "[email]"},
    {"contact: a.b@c.io", "contact: [email]"},
    {"john dot smith at example dot com", "[email]"},
    {"my email is john smith at example dot com", "my email is [email]"},
    {"jane at gmail dot com", "[email]"},
    {"send it to jane doe at example dot org", "send it to [email]"},
    {"write to support at example.com", "write to [email]"},
    {"john underscore smith ninety nine at hotmail dot co dot uk thanks", "[email] thanks"},
};

static const struct redact_case ids[] = {
    {"my ssn is 123-45-6789", "my ssn is [id]"},
    {"123-45-6789", "[id]"},
    {"the social is 123 45 6789", "the social is [id]"},
    {"my social security number is one two three four five six seven eight nine",
     "my social security number is [id]"},
    {"ni number AB123456C", "ni number [id]"},
    {"national insurance number: AB 12 34 56 C.", "national insurance number: [id]."},
    {"my national insurance number is a b one two three four five six c",
     "my national insurance number is [id]"},
    {"passport number is 123456789", "passport number is [id]"},
    {"passport X1234567", "passport [id]"},
    {"my driving licence number is 12345678", "my driving licence number is [id]"},
    {"my social security number is one two three, four five, six seven eight nine",
     "my social security number is [id]"},
};

/* The trigger word stays; what follows it is the secret. */
static const struct redact_case secrets[] = {
    {"my pin is four four two one", "my pin is [secret]"},
    {"the password is hunter two", "the password is [secret]"},
    {"the password is hunter two and my pin is 1234",
     "the password is [secret] and my pin is [secret]"},
    {"code is 1234", "code is [secret]"},
    {"security code: 482913", "security code: [secret]"},
    {"cvv 123", "cvv [secret]"},
    {"verification code is four eight two nine one three please",
     "verification code is [secret] please"},
    {"Your PIN is 1234.", "Your PIN is [secret]."},
    {"password: hunter2", "password: [secret]"},
    {"my password is correct horse battery staple", "my password is [secret]"},
    {"the door code is one nine eight four", "the door code is [secret]"},
    {"my pin is for four two one", "my pin is [secret]"},
    {"pin number four four two one", "pin number [secret]"},
    {"my pin's 4421", "my pin's [secret]"},
    {"the passcode is 0000, thanks", "the passcode is [secret], thanks"},
    {"the wifi password is sunshine123 please", "the wifi password is [secret] please"},
    {"the cvc is triple seven", "the cvc is [secret]"},
    {"the code is 4532015112830366", "the code is [secret]"},
    {"the pin is now 4421", "the pin is now [secret]"},
    {"the password is oh so secret", "the password is [secret]"},
};

static const struct redact_case numbers[] = {
    {"account number 12345678", "account number [number]"},
    {"order 123456 has shipped", "order [number] has shipped"},
    {"ref ABC1234567", "ref [number]"},
    {"123456", "[number]"},
    {"one two three four five six", "[number]"},
    {"my account number is one two three four five six seven eight",
     "my account number is [number]"},
    {"5551234567", "[number]"},
    {"the tracking number is 1Z999AA10123456784", "the tracking number is [number]"},
    {"sort code 12-34-56", "sort code [number]"},
    {"my order number is 123-456-7890", "my order number is [number]"},
};

/* What speech recognition really writes: "for" and "to" for four and two,
 * "won" and "ate" for one and eight, "treble" and "oh" inside digit runs. */
static const struct redact_case asr[] = {
    {"account for five three to seven seven one nine", "account [number]"},
    {"card number for five three to zero one five one one to eight three zero three six six",
     "card number [card]"},
    {"my card number is for five three too oh one five won won to ate three oh three six six",
     "my card number is [card]"},
    {"my account number is treble seven four two one nine", "my account number is [number]"},
    {"my account number is double five three oh one nine", "my account number is [number]"},
    {"call me on oh seven seven oh oh nine treble oh one two", "call me on [phone]"},
    {"my pin is for for to won", "my pin is [secret]"},
};

/* A sort code has the shape of a date; after "sort code" it is none. */
static const struct redact_case sort_codes[] = {
    {"my sort code is 11-03-20", "my sort code is [number]"},
    {"sort code: 11.03.20", "sort code: [number]"},
    {"my sort code is one one oh three two oh", "my sort code is [number]"},
    {"sort code 40 47 84 account 12345678", "sort code [number] account [number]"},
    {"my sort code is 11 03 20 and the account is 12345678",
     "my sort code is [number] and the account is [number]"},
};

/* Secrets said the way people say them: the trigger and its "is" apart. */
static const struct redact_case natural_secrets[] = {
    {"the three digit code on the back of my card is seven three one",
     "the three digit code on the back of my card is [secret]"},
    {"the wifi password for the guest network is blue giraffe forty two",
     "the wifi password for the guest network is [secret]"},
    {"the security code is seven three one", "the security code is [secret]"},
    {"my passcode is one two three four", "my passcode is [secret]"},
    {"password is blue giraffe", "password is [secret]"},
    {"the pin for my phone is 4421", "the pin for my phone is [secret]"},
    {"the code for the gate is one nine eight four", "the code for the gate is [secret]"},
    {"the pin to unlock my phone is 2580", "the pin to unlock my phone is [secret]"},
    {"the access code for the building is 4 7 1 1", "the access code for the building is [secret]"},
};

static const struct redact_case cued_emails[] = {
    {"email the invoice to accounts at brightwater dot co dot uk", "email the invoice to [email]"},
    {"e-mail the report to finance at example dot com", "e-mail the report to [email]"},
    {"mail the photos to grandma at example dot org please", "mail the photos to [email] please"},
};

static const struct redact_case births[] = {
    {"my date of birth is the fourth of july nineteen eighty two",
     "my date of birth is [birthdate]"},
    {"i was born on 04/07/1982", "i was born on [birthdate]"},
    {"date of birth: 4th July 1982.", "date of birth: [birthdate]."},
    {"I was born on the 4th of July, 1982 in Leeds", "I was born on [birthdate] in Leeds"},
    {"dob 1982-07-04", "dob [birthdate]"},
    {"my birthday is july fourth", "my birthday is [birthdate]"},
    {"my birth date is twenty first march two thousand and one", "my birth date is [birthdate]"},
};

static const struct redact_case addresses[] = {
    {"my address is 42 elm street springfield", "my address is [address]"},
    {"send it to 42 acacia avenue", "send it to [address]"},
    {"send it to 42 acacia avenue please", "send it to [address] please"},
    {"deliver the parcel to forty two acacia avenue", "deliver the parcel to [address]"},
    {"my home address is flat 3, 12 high street, london", "my home address is [address]"},
    {"i live at 221b baker street", "i live at [address]"},
    {"my postcode is SW1A 1AA", "my postcode is [address]"},
    {"my zip code is 90210", "my zip code is [address]"},
    {"my post code is s w one a one a a", "my post code is [address]"},
    {"my zip code is nine oh two one oh", "my zip code is [address]"},
    {"my postcode is SW1A 1AA and i want the weather",
     "my postcode is [address] and i want the weather"},
    {"deliver to flat 2, 15 park road", "deliver to [address]"},
    {"my address is 42 elm street and my phone is 07700 900123",
     "my address is [address] and my phone is [phone]"},
    {"my address: 1600 pennsylvania avenue, washington", "my address: [address]"},
};

/* Several in one text, and the text around them kept byte for byte. */
static const struct redact_case mixed[] = {
    {"call 020 7946 0958 or email a.b@example.com, my pin is 1234",
     "call [phone] or email [email], my pin is [secret]"},
    {"card 4532015112830366, cvv 123 and ssn 123-45-6789",
     "card [card], cvv [secret] and ssn [id]"},
    {"  leading and trailing blanks 123456  ", "  leading and trailing blanks [number]  "},
};

/* Harmless requests and answers: not a byte may change. */
static const char *const untouched[] = {
    "",
    "[card]",
    "set a timer for ten minutes",
    "wake me at seven thirty",
    "what is the weather like in paris today",
    "the twenty first of november twenty twenty six",
    "2026-11-21",
    "on 21/11/2026",
    "21.11.2026",
    "2026-11-21T14:30",
    "at 14:30",
    "set an alarm for 6:45 am",
    "half past four",
    "ten past four",
    "it costs twenty nine pounds ninety nine",
    "$1,299.99",
    "it costs $1,299,999.99",
    "\342\202\25415", /* €15 */
    "it costs \342\202\2541500000",
    "the population is 67330000 people",
    "play song number five",
    "turn the volume to eleven",
    "three hundred people",
    "one two three",
    "one two three four five",
    "12345",
    "1,234,567",
    "in 2019, 2020, 2021, 2022",
    "scores 45, 52, 61, 38, 47, 55, 29",
    "call 3, 4, 5 people",
    "my licence expires in 2027",
    "how much is car insurance for 2026",
    "in 1939-1945",
    "season 2025-26",
    "pi is 3.14159",
    "version 1.2.3",
    "room 1204",
    "the meeting is in room four oh six",
    "the year two thousand and twenty six",
    "in nineteen eighty four",
    "five hundred and fifty five",
    "minus twenty three degrees",
    "it is 21 degrees",
    "score was 3-2",
    "call 911",
    "call nine one one",
    "call mum",
    "the area code is 020",
    "error code 404",
    "pin the tab",
    "pin it to the top",
    "the pin is in the drawer",
    "change my pin",
    "what is my password",
    "reset the password please",
    "the password is incorrect",
    "the password is wrong.",
    "the code is not working",
    "the code review is at three",
    "source code is on github",
    "zip code is 90210",
    "look at google dot com",
    "search for cats at amazon dot com",
    "meet me at the station at 7.30",
    "remind me on the 3rd of may at 9am",
    "add eggs, milk and bread to the list",
    "what's 2+2",
    "Chapter 11, verse 3",
    /* the homophones only inside digit runs, the cues only with their values */
    "set a timer for five minutes",
    "two tickets to paris",
    "a table for two at eight",
    "from nine to five",
    "it's twenty to five",
    "count to ten",
    "i ate two eggs",
    "we won two to one",
    "one for all and all for one",
    "add four to the list",
    "set a timer for twenty five minutes",
    "it is ten to four",
    "remind me to call mum at five to six",
    "the score was four to two",
    "my date of birth is wrong",
    "what is my date of birth",
    "mozart was born in 1756",
    "my address is changing",
    "what is my address",
    "the address is on the letter",
    "my email address is the same",
    "the weather at 42 degrees",
    "drive to the station",
    "send it to mum",
    "send it to the office",
    "zip code is 90210",
    "what is the postcode for london",
    "the code review is at three",
    "the password for the wifi is on the fridge",
    "the code on the back of the box",
    "the security code on the back is three digits",
    "the password for my bank is eight characters long",
    "my pin for the bank is wrong",
    "the code for this bug is in the repo",
    "what year was i born",
    "i live at home",
    "happy birthday to you",
    "my birthday party is on saturday",
    "send it to the address on file",
    "what's the weather in my zip code",
    "i ate for two",
    "two for one pizza deal",
    "what's the code for the gate",
    "the sort of code that works",
    "search for cats at amazon dot com",
    "book two tickets for the 4th of july",
    "treble clef",
    "UTF-8 \303\274n\303\257c\303\266d\303\251 \342\230\225 text",
};

static unsigned count_markers(const char *text, enum redact_kind kind)
{
    const char *m = redact_marker(kind);
    unsigned count = 0;

    for (const char *p = text; (p = strstr(p, m)); p += strlen(m)) {
        count++;
    }
    return count;
}

/* Checks the output and the counts: what was replaced is what the expected
 * text has in markers beyond those already in the input. */
static void check_case(const char *in, const char *want)
{
    unsigned counts[REDACT_KINDS];
    char *got;

    memset(counts, 0xff, sizeof(counts));
    got = redact_text(in, counts);
    CHECKF(got && strcmp(got, want) == 0,
           "\n  input:    \"%s\"\n  expected: \"%s\"\n  got:      \"%s\"", in, want,
           got ? got : "(null)");
    for (int k = 0; k < REDACT_KINDS; k++) {
        unsigned expected = count_markers(want, k) - count_markers(in, k);

        CHECKF(counts[k] == expected, "\"%s\": %s counted %u, expected %u", in, redact_marker(k),
               counts[k], expected);
    }
    free(got);
}

#define RUN_TABLE(table, positives)                                                                \
    do {                                                                                           \
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {                            \
            check_case(table[i].in, table[i].want);                                                \
        }                                                                                          \
        positives += sizeof(table) / sizeof(table[0]);                                             \
    } while (0)

static void test_markers(void)
{
    CHECK(strcmp(redact_marker(REDACT_CARD), "[card]") == 0);
    CHECK(strcmp(redact_marker(REDACT_IBAN), "[iban]") == 0);
    CHECK(strcmp(redact_marker(REDACT_PHONE), "[phone]") == 0);
    CHECK(strcmp(redact_marker(REDACT_EMAIL), "[email]") == 0);
    CHECK(strcmp(redact_marker(REDACT_ID), "[id]") == 0);
    CHECK(strcmp(redact_marker(REDACT_SECRET), "[secret]") == 0);
    CHECK(strcmp(redact_marker(REDACT_NUMBER), "[number]") == 0);
    CHECK(strcmp(redact_marker(REDACT_BIRTHDATE), "[birthdate]") == 0);
    CHECK(strcmp(redact_marker(REDACT_ADDRESS), "[address]") == 0);
    CHECK(strcmp(redact_marker(REDACT_KINDS), "[redacted]") == 0);
}

/* ret_counts is optional, and counts add up within one text. */
static void test_counts(void)
{
    unsigned counts[REDACT_KINDS];
    char *got = redact_text("my pin is 1234 and the code is 5678, card 4532015112830366 or "
                            "4532015112830366",
                            counts);

    CHECK(got != NULL);
    CHECK(counts[REDACT_SECRET] == 2);
    CHECK(counts[REDACT_CARD] == 2);
    CHECK(counts[REDACT_PHONE] == 0 && counts[REDACT_NUMBER] == 0);
    free(got);
    got = redact_text("4532015112830366", NULL);
    CHECK(got && strcmp(got, "[card]") == 0);
    free(got);
}

/* 64 KiB of input, the largest a transcript or an answer may be: long runs
 * and long words pass in time (the test's timeout) and in one piece. */
static void test_large(void)
{
    size_t n = 64 * 1024;
    char *text = malloc(n + 1), *got;

    if (!text) {
        CHECK(text != NULL);
        return;
    }
    memset(text, '7', n);
    text[n] = '\0';
    got = redact_text(text, NULL);
    CHECK(got && strcmp(got, "[number]") == 0);
    free(got);

    for (size_t i = 0; i < n; i++) {
        text[i] = "one "[i % 4];
    }
    got = redact_text(text, NULL);
    CHECK(got && strcmp(got, "[number] ") == 0);
    free(got);

    for (size_t i = 0; i < n; i++) {
        text[i] = "set a timer for ten minutes. "[i % 29];
    }
    got = redact_text(text, NULL);
    CHECK(got && strcmp(got, text) == 0);
    free(got);
    free(text);
}

/* Slots under the redact policy: a name that says secret drops the slot,
 * as a word of the name in any of the ways names are written; a name that
 * only contains the letters does not. */
static void test_slot_names(void)
{
    static const char *const secret[] = {
        "code",          "pin",           "PIN",        "pinCode",  "pin-code",
        "card_number",   "cardNumber",    "cardnumber", "CardNo",   "account_no",
        "accountNumber", "accounts",      "iban",       "IBAN",     "security_code",
        "password",      "wifi.password", "passcode",   "cvv",      "cvc",
        "otp",           "access_token",  "secret",     "sortCode", "door code",
    };
    static const char *const innocent[] = {
        "opinion",      "discard",      "accountant", "postcard",  "pinecone",  "barcode_type",
        "country_code", "languageCode", "error_code", "recipient", "duration",  "time",
        "city",         "query",        "",           "pinned",    "scorecard", "cardigan",
        "zip_code",     "postCode",     "spinner",
    };
    char *v;
    unsigned counts[REDACT_KINDS];

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        CHECKF(redact_slot_is_secret(secret[i]), "\"%s\" says no secret", secret[i]);
        v = (char *)"unchanged";
        memset(counts, 0xff, sizeof(counts));
        CHECK(redact_slot(secret[i], "four nine two seven", &v, counts) == 0);
        CHECKF(v == NULL, "slot \"%s\" kept as \"%s\"", secret[i], v ? v : "");
        for (int k = 0; k < REDACT_KINDS; k++) {
            CHECK(counts[k] == 0);
        }
    }
    for (size_t i = 0; i < sizeof(innocent) / sizeof(innocent[0]); i++) {
        CHECKF(!redact_slot_is_secret(innocent[i]), "\"%s\" says secret", innocent[i]);
    }
}

struct slot_case {
    const char *name, *value, *want;
};

/* The name is the cue: "recipient" makes a spoken address of what would
 * be "jane at example" in a sentence, "phone" a phone number of seven
 * digits. */
static void test_slot_values(void)
{
    static const struct slot_case cases[] = {
        {"recipient", "jane at example dot com", "[email]"},
        {"email", "jane at example dot com", "[email]"},
        {"to", "jane.doe@example.com", "[email]"},
        {"phone", "five five five one two three four", "[phone]"},
        {"contact", "020 7946 0958", "[phone]"},
        {"passport_number", "123456789", "[id]"},
        {"message", "my pin is 1234 and call me", "my pin is [secret] and call me"},
        {"duration", "ten minutes", "ten minutes"},
        {"time", "seven thirty", "seven thirty"},
        {"city", "paris", "paris"},
        {"line2", "42", "42"},
        {"number", "five", "five"},
        {"recipient", "", ""},
        {"", "4532015112830366", "[card]"},
        {"my_phone", "[phone]", "[phone]"},
        /* a value is one thing: an address whatever the name */
        {"contact", "accounts at brightwater dot co dot uk", "[email]"},
        {"item", "jane doe at example dot org", "[email]"},
        {"date_of_birth", "the fourth of july nineteen eighty two", "[birthdate]"},
        {"birthday", "4th July 1982", "[birthdate]"},
        {"address", "42 elm street springfield", "[address]"},
        {"note", "card for five three to zero one five one one to eight three zero three six six",
         "card [card]"},
        {"zip_code", "90210", "90210"},
        {"item", "two tickets to paris", "two tickets to paris"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *v = NULL;
        unsigned counts[REDACT_KINDS], total = 0;
        int r = redact_slot(cases[i].name, cases[i].value, &v, counts);

        CHECKF(r == 0 && v && strcmp(v, cases[i].want) == 0,
               "slot \"%s\" = \"%s\": expected \"%s\", got %d \"%s\"", cases[i].name,
               cases[i].value, cases[i].want, r, v ? v : "(null)");
        for (int k = 0; k < REDACT_KINDS; k++) {
            total += counts[k];
        }
        CHECK(total == (strcmp(cases[i].value, cases[i].want) != 0));
        free(v);
    }
    /* without the name, the same words are a sentence */
    {
        char *v = redact_text("jane at example dot com", NULL);

        CHECK(v && strcmp(v, "jane at example dot com") == 0);
        free(v);
    }
}

/* Arguments: NULLs are refused and nothing is written. */
static void test_slot_args(void)
{
    char *v = (char *)"unchanged";

    CHECK(redact_slot(NULL, "x", &v, NULL) == -EINVAL);
    CHECK(redact_slot("x", NULL, &v, NULL) == -EINVAL);
    CHECK(redact_slot("x", "x", NULL, NULL) == -EINVAL);
    CHECK(strcmp(v, "unchanged") == 0);
}

int main(void)
{
    size_t positives = 0, negatives = sizeof(untouched) / sizeof(untouched[0]);

    RUN_TABLE(cards, positives);
    RUN_TABLE(not_cards, positives);
    RUN_TABLE(ibans, positives);
    RUN_TABLE(phones, positives);
    RUN_TABLE(emails, positives);
    RUN_TABLE(ids, positives);
    RUN_TABLE(secrets, positives);
    RUN_TABLE(numbers, positives);
    RUN_TABLE(asr, positives);
    RUN_TABLE(sort_codes, positives);
    RUN_TABLE(natural_secrets, positives);
    RUN_TABLE(cued_emails, positives);
    RUN_TABLE(births, positives);
    RUN_TABLE(addresses, positives);
    RUN_TABLE(mixed, positives);
    for (size_t i = 0; i < negatives; i++) {
        check_case(untouched[i], untouched[i]);
    }
    test_markers();
    test_counts();
    test_large();
    test_slot_names();
    test_slot_values();
    test_slot_args();
    printf("%zu cases: %zu redacted, %zu untouched\n", positives + negatives, positives, negatives);
    return check_status();
}
