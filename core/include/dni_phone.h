/*
 * dni_phone.h - phone numbers: parsing to E.164 and the digit forms the
 * rewriter matches. Included from dni.h; do not include directly.
 */
#ifndef DNI_PHONE_H
#define DNI_PHONE_H

/* Longest E.164 number: 15 digits. */
#define DNI_PHONE_MAX_DIGITS 15

/*
 * A phone number in E.164. e164 is "+" followed by 8..15 digits and a NUL;
 * the first cc_len digits are the country calling code, the remaining
 * nsn_len digits the national significant number (NSN).
 */
typedef struct dni_phone {
    char e164[DNI_PHONE_MAX_DIGITS + 2];
    uint8_t cc_len;
    uint8_t nsn_len;
} dni_phone_t;

/*
 * Parses text[0..len) as a phone number and normalises it into *out.
 *
 * Accepts any recognisable written form: "+1 (800) 555-1234",
 * "1.800.555.1234", "00 44 20 7946 0000", "tel:+18005551234". Separators
 * (space, - . / ( ) and U+00A0) are ignored. A number with a leading "+" or
 * "00" carries its country code; otherwise it is taken as national to
 * `country`, whose trunk prefix ("1" for +1, "0" elsewhere) may be written.
 *
 * country: NULL or "" for North America (+1); a calling code in digits
 * ("44", "+44"); or an ISO 3166 alpha-2 code from a short built-in list
 * ("US", "GB", "DE", ...; case-insensitive).
 *
 * Returns DNI_OK, DNI_ENOTPHONE (text is not a phone number; *out is left
 * zeroed) or DNI_ECOUNTRY (country is not understood).
 */
int dni_phone_parse(dni_phone_t *out, const char *text, size_t len,
                    const char *country);

/*
 * Resolves a --country argument to its calling code digits, written to
 * cc[0..4) with a NUL. Returns DNI_OK or DNI_ECOUNTRY.
 */
int dni_country_code(const char *country, char cc[4]);

/*
 * Length (1..3) of the country calling code at the start of digits, using
 * the prefix-free ITU assignment, or 0 when digits cannot start one.
 */
size_t dni_phone_cc_length(const char *digits, size_t len);

#endif /* DNI_PHONE_H */
