/*
 * signature.c - the telephony provider's webhook signature:
 * base64(HMAC-SHA1(auth token, URL + name1 + value1 + name2 + value2 ...))
 * with the POST parameters sorted by name (then value), compared in
 * constant time so the check leaks nothing about the expected value.
 *
 * Exactly as the provider's own helper library computes it: names and
 * values are ordered by UTF-16 code units (JavaScript's sort), not bytes,
 * and a parameter repeated with equal values is signed once per distinct
 * value (a=1&a=1 signs "a1"). tests/origin/signature.test.mjs signs random
 * parameter sets with that library and checks both agree.
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

/* The next UTF-16 code unit of a UTF-8 string (form.c has checked it is
 * valid UTF-8); 0 at the end. *lo holds the low surrogate still owed. */
static unsigned next_unit(const unsigned char **p, unsigned *lo)
{
    if (*lo) {
        unsigned u = *lo;
        *lo = 0;
        return u;
    }
    const unsigned char *s = *p;
    unsigned c = s[0], cp;
    if (!c)
        return 0;
    if (c < 0x80)
        cp = c, *p += 1;
    else if (c < 0xE0 && s[1])
        cp = ((c & 0x1F) << 6) | (s[1] & 0x3F), *p += 2;
    else if (c < 0xF0 && s[1] && s[2])
        cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F), *p += 3;
    else if (s[1] && s[2] && s[3])
        cp = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) |
             ((s[2] & 0x3F) << 6) | (s[3] & 0x3F),
        *p += 4;
    else
        cp = c, *p += 1;
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    *lo = 0xDC00 + (cp & 0x3FF);
    return 0xD800 + (cp >> 10);
}

/* Orders two strings as JavaScript's sort() does: by UTF-16 code units.
 * (Byte order differs for characters above U+FFFF, whose surrogates sort
 * before U+E000..U+FFFF.) */
int dni__utf16_cmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a,
                        *q = (const unsigned char *)b;
    unsigned plo = 0, qlo = 0;
    for (;;) {
        unsigned x = next_unit(&p, &plo), y = next_unit(&q, &qlo);
        if (x != y)
            return x < y ? -1 : 1;
        if (!x)
            return 0;
    }
}

static int pair_cmp(const void *a, const void *b)
{
    const dni_form_pair_t *x = *(const dni_form_pair_t *const *)a;
    const dni_form_pair_t *y = *(const dni_form_pair_t *const *)b;
    int c = dni__utf16_cmp(x->name, y->name);
    return c ? c : dni__utf16_cmp(x->value, y->value);
}

/* 1 when sorted[i] repeats sorted[i - 1] exactly: the provider signs each
 * distinct value of a repeated parameter once. */
static int repeats(const dni_form_pair_t **sorted, int i)
{
    return i > 0 && !strcmp(sorted[i]->name, sorted[i - 1]->name) &&
           !strcmp(sorted[i]->value, sorted[i - 1]->value);
}

void dni__signature_compute(const char *token, const char *url,
                            const dni_form_pair_t *pairs, int n,
                            char out[29])
{
    out[0] = 0;
    const dni_form_pair_t **sorted =
        malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    if (!sorted)
        return;
    for (int i = 0; i < n; i++)
        sorted[i] = &pairs[i];
    qsort(sorted, (size_t)n, sizeof *sorted, pair_cmp);

    size_t len = strlen(url);
    for (int i = 0; i < n; i++)
        if (!repeats(sorted, i))
            len += strlen(sorted[i]->name) + strlen(sorted[i]->value);
    char *msg = malloc(len + 1);
    if (!msg) {
        free(sorted);
        return;
    }
    size_t off = strlen(url);
    memcpy(msg, url, off);
    for (int i = 0; i < n; i++) {
        if (repeats(sorted, i))
            continue;
        size_t a = strlen(sorted[i]->name), b = strlen(sorted[i]->value);
        memcpy(msg + off, sorted[i]->name, a);
        memcpy(msg + off + a, sorted[i]->value, b);
        off += a + b;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha1(), token, (int)strlen(token), (unsigned char *)msg, len,
             mac, &maclen) &&
        maclen == 20)
        EVP_EncodeBlock((unsigned char *)out, mac, 20);
    free(msg);
    free(sorted);
}

int dni__signature_check(const char *token, const char *url,
                         const dni_form_pair_t *pairs, int n, const char *sig)
{
    char want[29];
    dni__signature_compute(token, url, pairs, n, want);
    if (!sig || !want[0] || strlen(sig) != strlen(want))
        return 0;
    return CRYPTO_memcmp(sig, want, strlen(want)) == 0;
}

/* The URL the provider signed: --public-url (or http://LISTEN) + the path
 * and query exactly as received. */
static void signed_url(const dni_origin_t *o, const dni_req_t *r, char *url,
                       size_t n)
{
    if (o->cfg.public_url) {
        /* A trailing '/' of --public-url is not doubled. */
        int bl = (int)strlen(o->cfg.public_url);
        if (bl > 0 && o->cfg.public_url[bl - 1] == '/')
            bl--;
        snprintf(url, n, "%.*s%s", bl, o->cfg.public_url, r->raw_uri);
    } else {
        snprintf(url, n, "http://%s%s", o->cfg.listen, r->raw_uri);
    }
}

/* A JSON body: the provider signs the URL alone, which carries bodySHA256
 * (hex SHA-256 of the body) as a query parameter. */
static int json_signed(const dni_req_t *r, const char *token, const char *url)
{
    const char *want = dni__req_query(r, "bodySHA256");
    const char *sig = dni__req_header(r, "X-Twilio-Signature");
    if (!want || !sig || strlen(want) != 64)
        return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(r->body, r->body_len, md, &mdlen, EVP_sha256(), NULL) ||
        mdlen != 32)
        return 0;
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcasecmp(hex, want) != 0)
        return 0;
    return dni__signature_check(token, url, NULL, 0, sig);
}

int dni__request_signed(const dni_origin_t *o, const dni_req_t *r,
                        const dni_form_pair_t *pairs, int n)
{
    if (!o->cfg.twilio_token)
        return o->cfg.allow_unsigned_webhooks;
    char url[4096];
    signed_url(o, r, url, sizeof url);
    if (!pairs && !dni__req_is_form(r))
        return json_signed(r, o->cfg.twilio_token, url);
    return dni__signature_check(o->cfg.twilio_token, url, pairs, n,
                                dni__req_header(r, "X-Twilio-Signature"));
}
