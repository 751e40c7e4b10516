/*
 * jsonbuf.c - a growable text buffer, for JSON answers too large or too
 * hot to go through a cJSON tree (a sync answer lists thousands of
 * grants) and for the metrics page. The caller writes the structure; this
 * file escapes strings and formats numbers. Out of memory is remembered in the buffer (every later
 * write is a no-op) and checked once at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

void dni__jsonbuf_put(dni_jsonbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void dni__jsonbuf_raw(dni_jsonbuf_t *b, const char *s)
{
    dni__jsonbuf_put(b, s, strlen(s));
}

void dni__jsonbuf_fmt(dni_jsonbuf_t *b, const char *fmt, ...)
{
    /* Most pieces are short: format on the stack, and only a longer one
     * (a metrics line with labels) goes round a second time. */
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        dni__jsonbuf_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dni__jsonbuf_put(b, big, (size_t)n);
    free(big);
}

/* A JSON string literal of s (quotes, backslashes and control characters
 * escaped; other bytes are passed through, as cJSON does). */
void dni__jsonbuf_str(dni_jsonbuf_t *b, const char *s)
{
    dni__jsonbuf_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        dni__jsonbuf_put(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            dni__jsonbuf_put(b, e, 2);
        } else {
            dni__jsonbuf_fmt(b, "\\u%04x", c);
        }
        run = s + 1;
    }
    dni__jsonbuf_put(b, run, (size_t)(s - run));
    dni__jsonbuf_put(b, "\"", 1);
}

/* A whole number, without printf (the grant lists hold thousands). */
void dni__jsonbuf_int(dni_jsonbuf_t *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    unsigned long long u =
        v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    dni__jsonbuf_put(b, tmp + i, sizeof tmp - i);
}

/* Integers print exactly; times keep their fractions. Whole
 * milliseconds (what edges send and the clock mostly gives) are written
 * without printf, with at most three decimals: the same double when read
 * back. */
void dni__jsonbuf_time(dni_jsonbuf_t *b, double t)
{
    double ms = t * 1000;
    int64_t v = ms >= 0 && ms < 9e15 ? llround(ms) : -1;
    if (v < 0 || (double)v / 1000 != t) {
        dni__jsonbuf_fmt(b, "%.17g", t);
        return;
    }
    dni__jsonbuf_int(b, v / 1000);
    int frac = (int)(v % 1000), decimals = 3;
    for (; decimals > 0 && frac % 10 == 0; decimals--)
        frac /= 10;
    char d[4] = {'.'};
    for (int k = decimals; k > 0; k--, frac /= 10)
        d[k] = (char)('0' + frac % 10);
    if (decimals)
        dni__jsonbuf_put(b, d, (size_t)decimals + 1);
}
