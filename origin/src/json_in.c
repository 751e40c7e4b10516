/*
 * json_in.c - the strict JSON reader every request body goes through.
 *
 * One canonical form at the door: a body is refused unless it has exactly
 * one meaning. cJSON's own parser keeps the first of two equal keys (a
 * browser's JSON.parse keeps the last), passes invalid UTF-8 through, cuts
 * strings at an escaped NUL and turns 1e400 into infinity; any of these
 * lets the origin validate one value and store or send another. This
 * reader accepts RFC 8259 JSON and refuses, naming the key:
 *
 *   - a key given twice in one object (422);
 *   - a string holding \u0000 (422) or a lone surrogate escape (400);
 *   - bytes that are not UTF-8 (overlong forms, surrogates, > U+10FFFF) and
 *     raw control characters (400);
 *   - a number whose magnitude is 2^53 or more (integers from there on
 *     are not exact in a double, nor in the edge's JavaScript), that overflows or
 *     underflows to zero, or of more than 40 characters (422); JSON's
 *     grammar already has no hex, no leading '+' or '0', no NaN/Infinity;
 *   - nesting deeper than DNI_JSON_MAX_DEPTH (400), so recursion is bounded.
 *
 * The result is an ordinary cJSON tree, so what is stored and sent is
 * printed again from validated values, never copied from the input.
 * Duplicate keys are found with a hash set once an object has more than a
 * few keys, so a body of 100,000 keys costs linear time, not quadratic.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

typedef struct jin {
    const unsigned char *p, *end, *start;
    int depth;
    int status;        /* 0 while fine, else 400/422/500 */
    char *msg;
    size_t msglen;
    char path[192];    /* where we are, e.g. events[3].tags */
    size_t pathlen;
    char *buf;         /* scratch for decoded strings */
    size_t cap;
    /* Marking mode (dni__json_parse_marking): a string that is not
     * well-formed text is read with U+FFFD in place of each bad part and
     * reported here, once per string, instead of refusing the body. */
    void (*bad)(void *ud, const char *path, const char *reason);
    void *bad_ud;
    int bad_seen;      /* the string being read was reported already */
} jin_t;

static void fail(jin_t *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(jin_t *j, int status, const char *fmt, ...)
{
    if (j->status)
        return;
    j->status = status;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (status == 400 && !j->pathlen)
        snprintf(j->msg, j->msglen, "body is not valid JSON: %s at byte %zu",
                 what, (size_t)(j->p - j->start));
    else if (status == 400)
        snprintf(j->msg, j->msglen, "body is not valid JSON: %s in %s", what,
                 j->path);
    else if (j->pathlen)
        snprintf(j->msg, j->msglen, "%s: %s", j->path, what);
    else
        snprintf(j->msg, j->msglen, "%s", what);
}

/* A key as shown in a message: at most 48 bytes, cut on a character
 * boundary (keys are valid UTF-8 by then). */
static size_t show_len(const char *k)
{
    size_t n = strlen(k);
    if (n <= 48)
        return n;
    n = 48;
    while (n && ((unsigned char)k[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static size_t path_push_key(jin_t *j, const char *key)
{
    size_t old = j->pathlen;
    int n = snprintf(j->path + old, sizeof j->path - old, "%s%.*s",
                     old ? "." : "", (int)show_len(key), key);
    if (n > 0)
        j->pathlen = old + (size_t)n < sizeof j->path ? old + (size_t)n
                                                       : sizeof j->path - 1;
    return old;
}

static size_t path_push_index(jin_t *j, int i)
{
    size_t old = j->pathlen;
    int n = snprintf(j->path + old, sizeof j->path - old, "[%d]", i);
    if (n > 0)
        j->pathlen = old + (size_t)n < sizeof j->path ? old + (size_t)n
                                                       : sizeof j->path - 1;
    return old;
}

static void path_pop(jin_t *j, size_t old)
{
    j->pathlen = old;
    j->path[old] = 0;
}

static void skip_ws(jin_t *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int put(jin_t *j, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < *len + n + 1)
            cap *= 2;
        char *nb = realloc(j->buf, cap);
        if (!nb) {
            fail(j, 500, "out of memory");
            return -1;
        }
        j->buf = nb;
        j->cap = cap;
    }
    memcpy(j->buf + *len, s, n);
    *len += n;
    j->buf[*len] = 0;
    return 0;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The length of the one UTF-8 character at p (n bytes available), or 0
 * when it is not a valid, shortest-form encoding of a scalar value. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t dni__utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_char(p + i, n - i);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

/* A bad piece of text in a string: refuses the body (returns -1), or in
 * marking mode reports the string once and writes U+FFFD in its place. */
static int bad_text(jin_t *j, size_t *len, int status, const char *what)
{
    if (!j->bad) {
        fail(j, status, "%s", what);
        return -1;
    }
    if (!j->bad_seen) {
        j->bad_seen = 1;
        j->bad(j->bad_ud, j->path, what);
    }
    return put(j, len, "\xEF\xBF\xBD", 3);
}

/* Reads a string at j->p (on its opening quote) into j->buf; returns its
 * length or -1. */
static long read_string(jin_t *j)
{
    size_t len = 0;
    j->bad_seen = 0;
    j->p++; /* the quote */
    if (put(j, &len, "", 0))
        return -1;
    for (;;) {
        const unsigned char *run = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
               *j->p >= 0x20 && *j->p < 0x80)
            j->p++;
        if (j->p > run && put(j, &len, (const char *)run, (size_t)(j->p - run)))
            return -1;
        if (j->p >= j->end) {
            fail(j, 400, "unterminated string");
            return -1;
        }
        unsigned c = *j->p;
        if (c == '"') {
            j->p++;
            return (long)len;
        }
        if (c < 0x20) {
            fail(j, 400, "control character in a string");
            return -1;
        }
        if (c >= 0x80) {
            /* A run of multi-byte characters, each checked. */
            const unsigned char *r = j->p;
            size_t k;
            while (j->p < j->end && *j->p >= 0x80 &&
                   (k = utf8_char(j->p, (size_t)(j->end - j->p))))
                j->p += k;
            if (j->p == r) {
                j->p++; /* the bad byte */
                if (bad_text(j, &len, 400, "invalid UTF-8"))
                    return -1;
                continue;
            }
            if (put(j, &len, (const char *)r, (size_t)(j->p - r)))
                return -1;
            continue;
        }
        /* A backslash escape. */
        if (j->end - j->p < 2) {
            fail(j, 400, "unterminated string");
            return -1;
        }
        unsigned e = j->p[1];
        const char *simple = NULL;
        switch (e) {
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'b': simple = "\b"; break;
        case 'f': simple = "\f"; break;
        case 'n': simple = "\n"; break;
        case 'r': simple = "\r"; break;
        case 't': simple = "\t"; break;
        case 'u': break;
        default:
            fail(j, 400, "bad escape in a string");
            return -1;
        }
        if (simple) {
            if (put(j, &len, simple, 1))
                return -1;
            j->p += 2;
            continue;
        }
        unsigned cp;
        if (j->end - j->p < 6 || hex4(j->p + 2, &cp)) {
            fail(j, 400, "bad \\u escape");
            return -1;
        }
        j->p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            if (bad_text(j, &len, 400, "lone surrogate escape"))
                return -1;
            continue;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
                hex4(j->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                if (bad_text(j, &len, 400, "lone surrogate escape"))
                    return -1;
                continue;
            }
            j->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
            if (bad_text(j, &len, 422,
                         "a string holds a NUL character (\\u0000)"))
                return -1;
            continue;
        }
        char u[4];
        if (put(j, &len, u, utf8_encode(cp, u)))
            return -1;
    }
}

static cJSON *parse_value(jin_t *j);

/* A set of the keys of one object, for objects past a few keys. */
typedef struct keyset {
    const char **slot;
    size_t mask, n;
} keyset_t;

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* 1 when added, 0 when already there, -1 out of memory. */
static int keyset_add(keyset_t *ks, const char *k)
{
    if (2 * (ks->n + 1) > ks->mask + 1) {
        size_t cap = ks->slot ? 2 * (ks->mask + 1) : 64;
        const char **ns = calloc(cap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; ks->slot && i <= ks->mask; i++)
            if (ks->slot[i]) {
                size_t h = (size_t)key_hash(ks->slot[i]) & (cap - 1);
                while (ns[h])
                    h = (h + 1) & (cap - 1);
                ns[h] = ks->slot[i];
            }
        free(ks->slot);
        ks->slot = ns;
        ks->mask = cap - 1;
    }
    size_t h = (size_t)key_hash(k) & ks->mask;
    while (ks->slot[h]) {
        if (!strcmp(ks->slot[h], k))
            return 0;
        h = (h + 1) & ks->mask;
    }
    ks->slot[h] = k;
    ks->n++;
    return 1;
}

#define LINEAR_KEYS 8

static cJSON *parse_object(jin_t *j)
{
    cJSON *obj = cJSON_CreateObject();
    keyset_t ks = {NULL, 0, 0};
    int count = 0;
    if (!obj) {
        fail(j, 500, "out of memory");
        return NULL;
    }
    j->p++; /* { */
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return obj;
    }
    for (;;) {
        skip_ws(j);
        if (j->p >= j->end || *j->p != '"') {
            fail(j, 400, "expected a key");
            break;
        }
        long kl = read_string(j);
        if (kl < 0)
            break;
        char *key = malloc((size_t)kl + 1);
        if (!key) {
            fail(j, 500, "out of memory");
            break;
        }
        memcpy(key, j->buf, (size_t)kl + 1);
        /* Equal keys: linear while small, then a hash set. */
        int dup = 0;
        if (count < LINEAR_KEYS) {
            for (cJSON *it = obj->child; it && !dup; it = it->next)
                dup = !strcmp(it->string, key);
        } else {
            if (!ks.slot)
                for (cJSON *it = obj->child; it; it = it->next)
                    if (keyset_add(&ks, it->string) < 0) {
                        dup = -1;
                        break;
                    }
            if (dup == 0) {
                int r = keyset_add(&ks, key);
                dup = r < 0 ? -1 : r == 0;
            }
        }
        if (dup) {
            if (dup < 0)
                fail(j, 500, "out of memory");
            else
                fail(j, 422, "duplicated key \"%.*s\"", (int)show_len(key),
                     key);
            free(key);
            break;
        }
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':') {
            free(key);
            fail(j, 400, "expected ':'");
            break;
        }
        j->p++;
        size_t mark = path_push_key(j, key);
        cJSON *v = parse_value(j);
        path_pop(j, mark);
        if (!v) {
            free(key);
            break;
        }
        v->string = key;
        cJSON_AddItemToArray(obj, v);
        count++;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            free(ks.slot);
            return obj;
        }
        fail(j, 400, "expected ',' or '}'");
        break;
    }
    free(ks.slot);
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *parse_array(jin_t *j)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        fail(j, 500, "out of memory");
        return NULL;
    }
    j->p++; /* [ */
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return arr;
    }
    for (int i = 0;; i++) {
        size_t mark = path_push_index(j, i);
        cJSON *v = parse_value(j);
        path_pop(j, mark);
        if (!v)
            break;
        cJSON_AddItemToArray(arr, v);
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return arr;
        }
        fail(j, 400, "expected ',' or ']'");
        break;
    }
    cJSON_Delete(arr);
    return NULL;
}

#define MAX_NUMBER_CHARS 40
#define MAX_EXACT 9007199254740992.0 /* 2^53 */

static cJSON *parse_number(jin_t *j)
{
    const unsigned char *s = j->p, *q = s;
    int nonzero = 0;
    if (q < j->end && *q == '-')
        q++;
    if (q < j->end && *q == '0') {
        q++;
    } else if (q < j->end && *q >= '1' && *q <= '9') {
        while (q < j->end && *q >= '0' && *q <= '9')
            nonzero = 1, q++;
    } else {
        fail(j, 400, "bad number");
        return NULL;
    }
    if (q < j->end && *q == '.') {
        q++;
        if (q >= j->end || *q < '0' || *q > '9') {
            fail(j, 400, "bad number");
            return NULL;
        }
        while (q < j->end && *q >= '0' && *q <= '9')
            nonzero |= *q++ != '0';
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < j->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= j->end || *q < '0' || *q > '9') {
            fail(j, 400, "bad number");
            return NULL;
        }
        while (q < j->end && *q >= '0' && *q <= '9')
            q++;
    }
    size_t n = (size_t)(q - s);
    if (n > MAX_NUMBER_CHARS) {
        fail(j, 422, "number of more than %d characters", MAX_NUMBER_CHARS);
        return NULL;
    }
    char tmp[MAX_NUMBER_CHARS + 1];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    double v = strtod(tmp, NULL);
    if (!isfinite(v) || fabs(v) >= MAX_EXACT || (v == 0 && nonzero)) {
        fail(j, 422, "number %s is out of range (magnitude below 2^53)",
             tmp);
        return NULL;
    }
    j->p = q;
    cJSON *c = cJSON_CreateNumber(v);
    if (!c)
        fail(j, 500, "out of memory");
    return c;
}

static int literal(jin_t *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static cJSON *parse_value(jin_t *j)
{
    skip_ws(j);
    if (j->p >= j->end) {
        fail(j, 400, "unexpected end");
        return NULL;
    }
    cJSON *v = NULL;
    switch (*j->p) {
    case '{':
    case '[':
        if (++j->depth > DNI_JSON_MAX_DEPTH) {
            fail(j, 400, "nested deeper than %d levels", DNI_JSON_MAX_DEPTH);
            return NULL;
        }
        v = *j->p == '{' ? parse_object(j) : parse_array(j);
        j->depth--;
        return v;
    case '"': {
        long n = read_string(j);
        if (n < 0)
            return NULL;
        v = cJSON_CreateString(j->buf);
        break;
    }
    case 't':
        if (literal(j, "true"))
            v = cJSON_CreateTrue();
        else
            return fail(j, 400, "unexpected character"), NULL;
        break;
    case 'f':
        if (literal(j, "false"))
            v = cJSON_CreateFalse();
        else
            return fail(j, 400, "unexpected character"), NULL;
        break;
    case 'n':
        if (literal(j, "null"))
            v = cJSON_CreateNull();
        else
            return fail(j, 400, "unexpected character"), NULL;
        break;
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return parse_number(j);
        fail(j, 400, "unexpected character");
        return NULL;
    }
    if (!v)
        fail(j, 500, "out of memory");
    return v;
}

cJSON *dni__json_parse(const char *text, size_t len, int *status, char *msg,
                       size_t msglen)
{
    return dni__json_parse_marking(text, len, status, msg, msglen, NULL,
                                   NULL);
}

cJSON *dni__json_parse_marking(const char *text, size_t len, int *status,
                               char *msg, size_t msglen,
                               void (*bad)(void *ud, const char *path,
                                           const char *reason),
                               void *ud)
{
    jin_t j;
    memset(&j, 0, sizeof j);
    j.bad = bad;
    j.bad_ud = ud;
    j.start = j.p = (const unsigned char *)text;
    j.end = j.p + len;
    j.msg = msg;
    j.msglen = msglen;
    msg[0] = 0;
    cJSON *v = parse_value(&j);
    if (v) {
        skip_ws(&j);
        if (j.p != j.end) {
            fail(&j, 400, "unexpected data after the value");
            cJSON_Delete(v);
            v = NULL;
        }
    }
    free(j.buf);
    *status = v ? 0 : j.status ? j.status : 400;
    return v;
}
