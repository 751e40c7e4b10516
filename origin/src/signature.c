/*
 * signature.c - the telephony provider's webhook signature:
 * base64(HMAC-SHA1(auth token, URL + name1 + value1 + name2 + value2 ...))
 * with the POST parameters sorted by name (then value), compared in
 * constant time so the check leaks nothing about the expected value.
 */
#define _POSIX_C_SOURCE 200809L

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

static int pair_cmp(const void *a, const void *b)
{
    const dni_form_pair_t *x = *(const dni_form_pair_t *const *)a;
    const dni_form_pair_t *y = *(const dni_form_pair_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
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
        len += strlen(sorted[i]->name) + strlen(sorted[i]->value);
    char *msg = malloc(len + 1);
    if (!msg) {
        free(sorted);
        return;
    }
    size_t off = strlen(url);
    memcpy(msg, url, off);
    for (int i = 0; i < n; i++) {
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
