/*
 * test_phone.c - parsing written phone numbers into E.164: every written
 * form the matching rule accepts, national numbers and --country, the
 * country-code table, and the inputs that must be refused.
 */
#include <string.h>

#include "dni.h"
#include "harness.h"

/* Parses text (NUL-terminated) for country and checks the E.164 result and
 * the country-code / NSN split. */
static void expect_phone(const char *text, const char *country,
                         const char *e164, int cc_len, int nsn_len)
{
    dni_phone_t p;
    int rc = dni_phone_parse(&p, text, strlen(text), country);
    if (!CHECK(rc == DNI_OK)) {
        fprintf(stderr, "     parse \"%s\" (country %s): %s\n", text,
                country ? country : "NULL", dni_err_name(rc));
        return;
    }
    CHECK_STR(p.e164, e164);
    CHECK_INT(p.cc_len, cc_len);
    CHECK_INT(p.nsn_len, nsn_len);
}

/* Parses text and checks it is refused with want, leaving *out zeroed. */
static void expect_error(const char *text, const char *country, int want)
{
    dni_phone_t p;
    memset(&p, 0x5a, sizeof p);
    int rc = dni_phone_parse(&p, text, strlen(text), country);
    if (!CHECK(rc == want))
        fprintf(stderr, "     parse \"%s\" (country %s): got %s, want %s\n",
                text, country ? country : "NULL", dni_err_name(rc),
                dni_err_name(want));
    dni_phone_t zero;
    memset(&zero, 0, sizeof zero);
    CHECK(memcmp(&p, &zero, sizeof p) == 0);
}

static void test_nanp_forms(void)
{
    /* Every plain-text form of section 1, read as North American. */
    static const char *const forms[] = {
        "(800) 555-1234",
        "800-555-1234",
        "800.555.1234",
        "1-800-555-1234",
        "1.800.555.1234",
        "+1 800 555 1234",
        "+1 (800) 555-1234",
        "+18005551234",
        "001 800 555 1234",
        "0018005551234",
        "8005551234",
        "18005551234",
        "800/555-1234",
        "800\xc2\xa0" "555\xc2\xa0" "1234",          /* raw U+00A0 */
        "800\xe2\x80\x91" "555\xe2\x80\x91" "1234",  /* U+2011 */
        "800\xe2\x80\x92" "555\xe2\x80\x92" "1234",  /* U+2012 */
        "800\xe2\x80\x93" "555\xe2\x80\x93" "1234",  /* U+2013 */
        "tel:+18005551234",
        "TEL:+1-800-555-1234",
        "  800-555-1234  ",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++)
        expect_phone(forms[i], NULL, "+18005551234", 1, 10);
    /* An empty country means North America too; so does "US" / "1". */
    expect_phone("800-555-1234", "", "+18005551234", 1, 10);
    expect_phone("800-555-1234", "US", "+18005551234", 1, 10);
    expect_phone("800-555-1234", "us", "+18005551234", 1, 10);
    expect_phone("800-555-1234", "1", "+18005551234", 1, 10);
    expect_phone("800-555-1234", "+1", "+18005551234", 1, 10);
    /* A number with its own country code ignores --country. */
    expect_phone("+1 800 555 1234", "GB", "+18005551234", 1, 10);
}

static void test_other_countries(void)
{
    expect_phone("+44 20 7946 0000", NULL, "+442079460000", 2, 10);
    expect_phone("00 44 20 7946 0000", NULL, "+442079460000", 2, 10);
    expect_phone("020 7946 0000", "GB", "+442079460000", 2, 10);
    expect_phone("020 7946 0000", "gb", "+442079460000", 2, 10);
    expect_phone("020 7946 0000", "44", "+442079460000", 2, 10);
    expect_phone("020 7946 0000", "+44", "+442079460000", 2, 10);
    expect_phone("20 7946 0000", "GB", "+442079460000", 2, 10);
    expect_phone("(020) 7946-0000", "UK", "+442079460000", 2, 10);
    expect_phone("030 123456", "DE", "+4930123456", 2, 8);
    expect_phone("+49 30 12345678", NULL, "+493012345678", 2, 10);
    expect_phone("+353 1 234 5678", NULL, "+35312345678", 3, 8);
    expect_phone("01 234 5678", "IE", "+35312345678", 3, 8);
    expect_phone("+7 495 123 45 67", NULL, "+74951234567", 1, 10);
    expect_phone("+61 2 9876 5432", NULL, "+61298765432", 2, 9);
    /* Longest E.164 number: 15 digits. */
    expect_phone("+99912345678901", NULL, "+99912345678901", 3, 11);
}

static void test_refused(void)
{
    expect_error("", NULL, DNI_ENOTPHONE);
    expect_error("   ", NULL, DNI_ENOTPHONE);
    expect_error("abc", NULL, DNI_ENOTPHONE);
    expect_error("800-FLOWERS", NULL, DNI_ENOTPHONE);
    expect_error("800-555-123", NULL, DNI_ENOTPHONE);   /* nine digits */
    expect_error("800-555-12345", NULL, DNI_ENOTPHONE); /* eleven, no trunk */
    expect_error("+1 800 555 12345", NULL, DNI_ENOTPHONE);
    expect_error("123-555-1234", NULL, DNI_ENOTPHONE); /* area code 1xx */
    expect_error("+", NULL, DNI_ENOTPHONE);
    expect_error("++18005551234", NULL, DNI_ENOTPHONE);
    expect_error("+1234567890123456", NULL, DNI_ENOTPHONE); /* 16 digits */
    expect_error("+44 12", NULL, DNI_ENOTPHONE);
    expect_error("800_555_1234", NULL, DNI_ENOTPHONE);
    expect_error("-800-555-1234", NULL, DNI_ENOTPHONE);
    expect_error("800-555-1234", "ZZ", DNI_ECOUNTRY);
    expect_error("800-555-1234", "4", DNI_ECOUNTRY);
    expect_error("800-555-1234", "USA", DNI_ECOUNTRY);
    expect_error("800-555-1234", "+GB", DNI_ECOUNTRY);
}

/* Length of the parse input is len, not up to the NUL: a number must not be
 * read past its end. */
static void test_length_bound(void)
{
    dni_phone_t p;
    const char *text = "800-555-1234999";
    CHECK_INT(dni_phone_parse(&p, text, 12, NULL), DNI_OK);
    CHECK_STR(p.e164, "+18005551234");
    CHECK_INT(dni_phone_parse(&p, text, 11, NULL), DNI_ENOTPHONE);
}

static void test_country_codes(void)
{
    char cc[4];
    CHECK_INT(dni_country_code(NULL, cc), DNI_OK);
    CHECK_STR(cc, "1");
    CHECK_INT(dni_country_code("GB", cc), DNI_OK);
    CHECK_STR(cc, "44");
    CHECK_INT(dni_country_code("de", cc), DNI_OK);
    CHECK_STR(cc, "49");
    CHECK_INT(dni_country_code("+33", cc), DNI_OK);
    CHECK_STR(cc, "33");
    CHECK_INT(dni_country_code("353", cc), DNI_OK);
    CHECK_STR(cc, "353");
    CHECK_INT(dni_country_code("IE", cc), DNI_OK);
    CHECK_STR(cc, "353");
    CHECK_INT(dni_country_code("QQ", cc), DNI_ECOUNTRY);
    CHECK_INT(dni_country_code("44x", cc), DNI_ECOUNTRY);
    CHECK_INT(dni_country_code("4412", cc), DNI_ECOUNTRY);

    CHECK_INT(dni_phone_cc_length("18005551234", 11), 1);
    CHECK_INT(dni_phone_cc_length("74951234567", 11), 1);
    CHECK_INT(dni_phone_cc_length("442079460000", 12), 2);
    CHECK_INT(dni_phone_cc_length("4930123", 7), 2);
    CHECK_INT(dni_phone_cc_length("35312345678", 11), 3);
    CHECK_INT(dni_phone_cc_length("0123", 4), 0);
    CHECK_INT(dni_phone_cc_length("", 0), 0);
    CHECK_INT(dni_phone_cc_length("4", 1), 0);
}

int main(void)
{
    test_nanp_forms();
    test_other_countries();
    test_refused();
    test_length_bound();
    test_country_codes();
    return harness_report();
}
