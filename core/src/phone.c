/*
 * phone.c - parsing phone numbers written by people into E.164.
 *
 * The rewriter's matching of numbers inside HTML lives in match.c; this
 * file only turns a rule's or an API's number into its canonical form.
 */
#include <string.h>

#include "dni.h"

/*
 * Two-digit country calling codes. Calling codes are prefix-free: "1" and
 * "7" are the only one-digit codes, the codes below are the two-digit
 * ones, and every other code has three digits.
 */
static const char *const two_digit_codes[] = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41",
    "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54",
    "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66",
    "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
};

size_t dni_phone_cc_length(const char *digits, size_t len)
{
    if (len == 0 || digits[0] < '1' || digits[0] > '9')
        return 0;
    if (digits[0] == '1' || digits[0] == '7')
        return 1;
    if (len < 2)
        return 0;
    for (size_t i = 0; i < sizeof two_digit_codes / sizeof *two_digit_codes;
         i++) {
        if (digits[0] == two_digit_codes[i][0] &&
            digits[1] == two_digit_codes[i][1])
            return 2;
    }
    return len >= 3 ? 3 : 0;
}

/* ISO 3166 alpha-2 codes accepted by --country, with their calling codes. */
static const struct {
    char iso[3];
    char cc[4];
} countries[] = {
    {"US", "1"},  {"CA", "1"},  {"PR", "1"},  {"GB", "44"}, {"UK", "44"},
    {"IE", "353"}, {"DE", "49"}, {"FR", "33"}, {"ES", "34"}, {"IT", "39"},
    {"NL", "31"}, {"BE", "32"}, {"CH", "41"}, {"AT", "43"}, {"SE", "46"},
    {"NO", "47"}, {"DK", "45"}, {"FI", "358"}, {"PL", "48"}, {"PT", "351"},
    {"AU", "61"}, {"NZ", "64"}, {"MX", "52"}, {"BR", "55"}, {"AR", "54"},
    {"IN", "91"}, {"JP", "81"}, {"ZA", "27"}, {"SG", "65"}, {"IL", "972"},
};

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int dni_country_code(const char *country, char cc[4])
{
    if (country == NULL || country[0] == '\0') {
        memcpy(cc, "1", 2);
        return DNI_OK;
    }
    const char *p = country[0] == '+' ? country + 1 : country;
    size_t n = strlen(p);
    if (n >= 1 && n <= 3 && strspn(p, "0123456789") == n) {
        if (dni_phone_cc_length(p, n) != n)
            return DNI_ECOUNTRY;
        memcpy(cc, p, n + 1);
        return DNI_OK;
    }
    if (n == 2 && p == country) {
        for (size_t i = 0; i < sizeof countries / sizeof *countries; i++) {
            if (upper(p[0]) == countries[i].iso[0] &&
                upper(p[1]) == countries[i].iso[1]) {
                memcpy(cc, countries[i].cc, strlen(countries[i].cc) + 1);
                return DNI_OK;
            }
        }
    }
    return DNI_ECOUNTRY;
}

/* Characters people put between the digits of a number they write down. */
static size_t separator_length(const char *p, size_t left)
{
    switch (p[0]) {
    case ' ':
    case '-':
    case '.':
    case '/':
    case '(':
    case ')':
    case '\t':
        return 1;
    case '\xc2':
        return (left >= 2 && p[1] == '\xa0') ? 2 : 0;
    case '\xe2':
        /* U+2011, U+2012, U+2013: non-breaking hyphen, figure and en dash */
        return (left >= 3 && p[1] == '\x80' && p[2] >= '\x91' &&
                p[2] <= '\x93')
                   ? 3
                   : 0;
    default:
        return 0;
    }
}

static int fill(dni_phone_t *out, const char *cc, size_t cc_len,
                const char *nsn, size_t nsn_len)
{
    /* NANP numbers are exactly ten digits with an area code of 2-9. */
    if (cc_len == 1 && cc[0] == '1' && (nsn_len != 10 || nsn[0] < '2'))
        return DNI_ENOTPHONE;
    if (nsn_len < 4 || cc_len + nsn_len > DNI_PHONE_MAX_DIGITS ||
        cc_len + nsn_len < 7)
        return DNI_ENOTPHONE;
    out->e164[0] = '+';
    memcpy(out->e164 + 1, cc, cc_len);
    memcpy(out->e164 + 1 + cc_len, nsn, nsn_len);
    out->e164[1 + cc_len + nsn_len] = '\0';
    out->cc_len = (uint8_t)cc_len;
    out->nsn_len = (uint8_t)nsn_len;
    return DNI_OK;
}

int dni_phone_parse(dni_phone_t *out, const char *text, size_t len,
                    const char *country)
{
    char cc[4];
    char digits[32];
    size_t nd = 0;
    int plus = 0;
    int rc;

    memset(out, 0, sizeof *out);
    rc = dni_country_code(country, cc);
    if (rc != DNI_OK)
        return rc;

    /* Optional "tel:" scheme, then leading and trailing blanks. */
    if (len >= 4 && upper(text[0]) == 'T' && upper(text[1]) == 'E' &&
        upper(text[2]) == 'L' && text[3] == ':') {
        text += 4;
        len -= 4;
    }
    while (len > 0 && (text[0] == ' ' || text[0] == '\t')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len > 0 && text[0] == '+') {
        plus = 1;
        text++;
        len--;
    }
    for (size_t i = 0; i < len;) {
        if (text[i] >= '0' && text[i] <= '9') {
            if (nd == sizeof digits)
                return DNI_ENOTPHONE;
            digits[nd++] = text[i++];
            continue;
        }
        size_t sep = separator_length(text + i, len - i);
        /* Separators stand between digits, but "(800) 555-1234" opens
         * with a parenthesis. */
        if (sep == 0 || (nd == 0 && text[i] != '('))
            return DNI_ENOTPHONE;
        i += sep;
    }
    if (nd == 0)
        return DNI_ENOTPHONE;

    const char *d = digits;
    if (!plus && nd > 2 && d[0] == '0' && d[1] == '0') {
        plus = 1; /* "00" international prefix */
        d += 2;
        nd -= 2;
    }
    if (plus) {
        size_t n = dni_phone_cc_length(d, nd);
        if (n == 0 || n >= nd)
            return DNI_ENOTPHONE;
        rc = fill(out, d, n, d + n, nd - n);
    } else {
        size_t cc_len = strlen(cc);
        char trunk = (cc_len == 1 && cc[0] == '1') ? '1' : '0';
        /* A national number may carry the trunk prefix. For +1 it is "1"
         * and only when eleven digits are written. */
        if (trunk == '1' ? (nd == 11 && d[0] == '1') : d[0] == '0') {
            d++;
            nd--;
        }
        rc = fill(out, cc, cc_len, d, nd);
    }
    if (rc != DNI_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
