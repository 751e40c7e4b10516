/*
 * form.c - application/x-www-form-urlencoded decoding, for provider
 * webhooks. Strict: a malformed %-escape is an error rather than a guess,
 * because the decoded values feed the signature check byte for byte; a NUL
 * (raw or %00) is refused because C strings would end there, so the
 * signature would cover text the handler never sees (x=1%00junk); names
 * and values must be UTF-8, as everything the origin stores.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "origin.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) ('+' is a space); NULL on a bad escape or no memory. */
static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *w++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            if (hi == 0 && lo == 0) { /* NUL would cut the text */
                free(out);
                return NULL;
            }
            *w++ = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == 0) {
            free(out);
            return NULL;
        } else {
            *w++ = s[i];
        }
    }
    *w = 0;
    size_t len = (size_t)(w - out);
    if (dni__utf8_valid_prefix(out, len) != len) {
        free(out);
        return NULL;
    }
    return out;
}

int dni__form_parse(const char *body, size_t len, dni_form_pair_t *out,
                    int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            if (n == max) {
                dni__form_free(out, n);
                return -1;
            }
            const char *eq = memchr(body + i, '=', end - i);
            size_t nl = eq ? (size_t)(eq - (body + i)) : end - i;
            out[n].name = decode(body + i, nl);
            out[n].value = eq ? decode(eq + 1, (size_t)(body + end - eq - 1))
                              : decode("", 0);
            if (!out[n].name || !out[n].value) {
                dni__form_free(out, n + 1);
                return -1;
            }
            n++;
        }
        i = end + 1;
    }
    return n;
}

void dni__form_free(dni_form_pair_t *pairs, int n)
{
    for (int i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
        pairs[i].name = pairs[i].value = NULL;
    }
}
