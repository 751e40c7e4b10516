/*
 * exports.c - the thin C ABI the JavaScript binding (wasm/dni.mjs) calls.
 *
 * This is the only file with export attributes. It is compiled into both
 * WebAssembly builds (the wasm32-wasi reactor and the Emscripten module) and
 * adds nothing to the core but what crossing the JS boundary needs:
 *
 *   - Every buffer lives in linear memory and travels as (pointer, length).
 *     Strings from JS are not NUL-terminated; they are copied here into a
 *     short-lived NUL-terminated heap copy because the core's text APIs take
 *     C strings. Nothing returned to JS has hidden ownership: a handle is
 *     freed by its own *_free export, and the only returned C strings are
 *     the core's static error texts.
 *   - Functions return 0 or a negative DNI_ error code, so JS can turn any
 *     failure into an Error carrying dni_strerror()'s text.
 *   - 64-bit counters cross as double (exact below 2^53), so JS never needs
 *     BigInt.
 *
 * The streaming rewriter gets a "stream": the rewriter plus one input
 * buffer JS writes each chunk into (reused, grown only when a bigger chunk
 * arrives) and one growable output buffer the sink appends to. JS reads the
 * output after each feed/finish; the next feed starts it again at length 0.
 */
#include <stdlib.h>
#include <string.h>

#include "dni.h"
#include "exports.h"

#define DNI_W_EXPORT(name) __attribute__((export_name(#name), used))

/* A NUL-terminated heap copy of s[0..n), or NULL when out of memory. The
 * caller frees it. */
static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- errors ------------------------------------------------------------ */

/* The core's sentence for err; a static string, never freed. */
DNI_W_EXPORT(dni_w_strerror) const char *dni_w_strerror(int err)
{
    return dni_strerror(err);
}

/* The symbolic name of err ("DNI_ENOTPHONE"); a static string. */
DNI_W_EXPORT(dni_w_err_name) const char *dni_w_err_name(int err)
{
    return dni_err_name(err);
}

/* ---- phone numbers ----------------------------------------------------- */

/*
 * Parses text[0..len) with --country country[0..country_len) (length 0:
 * North America) and writes the E.164 form, NUL-terminated, to
 * out[0..DNI_PHONE_MAX_DIGITS + 2). Returns DNI_OK, DNI_ENOTPHONE,
 * DNI_ECOUNTRY or DNI_ENOMEM.
 */
DNI_W_EXPORT(dni_w_phone_parse)
int dni_w_phone_parse(const char *text, size_t len, const char *country,
                      size_t country_len, char *out)
{
    char *cc = dup_text(country, country_len);
    if (cc == NULL)
        return DNI_ENOMEM;
    dni_phone_t ph;
    int rc = dni_phone_parse(&ph, text, len, cc);
    free(cc);
    if (rc == DNI_OK)
        memcpy(out, ph.e164, sizeof ph.e164);
    return rc;
}

/* ---- rulesets ---------------------------------------------------------- */

/* A new empty ruleset, freed by dni_w_ruleset_free(); NULL when out of
 * memory. */
DNI_W_EXPORT(dni_w_ruleset_new) dni_ruleset_t *dni_w_ruleset_new(void)
{
    dni_ruleset_t *rs = malloc(sizeof *rs);
    if (rs != NULL)
        dni_ruleset_init(rs);
    return rs;
}

DNI_W_EXPORT(dni_w_ruleset_free) void dni_w_ruleset_free(dni_ruleset_t *rs)
{
    free(rs);
}

/* Number of rules in rs. */
DNI_W_EXPORT(dni_w_ruleset_count) size_t dni_w_ruleset_count(dni_ruleset_t *rs)
{
    return rs->count;
}

/*
 * Adds spec[0..spec_len), written DEFAULT=REPLACEMENT[@TEMPLATE] as for
 * `dni swap --rule`, with country[0..country_len). On error returns the
 * core's code and writes one NUL-terminated line into why[0..why_len)
 * (why may be NULL).
 */
DNI_W_EXPORT(dni_w_ruleset_add_spec)
int dni_w_ruleset_add_spec(dni_ruleset_t *rs, const char *spec,
                           size_t spec_len, const char *country,
                           size_t country_len, char *why, size_t why_len)
{
    char *s = dup_text(spec, spec_len);
    char *cc = dup_text(country, country_len);
    int rc = DNI_ENOMEM;
    if (s != NULL && cc != NULL)
        rc = dni_ruleset_add_spec(rs, s, cc, why, why_len);
    free(s);
    free(cc);
    return rc;
}

/*
 * Adds from -> to with an optional template (tmpl_len 0: none); both
 * numbers are parsed with country. Returns DNI_OK or the code of the first
 * failing step (DNI_ENOTPHONE for from or to, DNI_ETEMPLATE, ...); *which
 * is set to 1 when from was at fault, 2 for to, 3 for the rule itself.
 */
DNI_W_EXPORT(dni_w_ruleset_add)
int dni_w_ruleset_add(dni_ruleset_t *rs, const char *from, size_t from_len,
                      const char *to, size_t to_len, const char *tmpl,
                      size_t tmpl_len, const char *country,
                      size_t country_len, int *which)
{
    char *cc = dup_text(country, country_len);
    char *t = dup_text(tmpl, tmpl_len);
    dni_phone_t f, r;
    int rc = DNI_ENOMEM;
    *which = 3;
    if (cc == NULL || t == NULL)
        goto out;
    /* A template with a NUL inside would be silently cut short. */
    if (memchr(tmpl, '\0', tmpl_len) != NULL) {
        rc = DNI_ETEMPLATE;
        goto out;
    }
    *which = 1;
    if ((rc = dni_phone_parse(&f, from, from_len, cc)) != DNI_OK)
        goto out;
    *which = 2;
    if ((rc = dni_phone_parse(&r, to, to_len, cc)) != DNI_OK)
        goto out;
    *which = 3;
    rc = dni_ruleset_add(rs, &f, &r, t);
out:
    free(cc);
    free(t);
    return rc;
}

/* ---- streams (rewriter + its buffers) ---------------------------------- */

struct dni_w_stream {
    dni_rewriter_t *rw;
    char *in;        /* JS writes the next chunk here */
    size_t in_cap;
    char *out;       /* the sink appends here; JS reads [0, out_len) */
    size_t out_len;
    size_t out_cap;
    int out_of_memory; /* the sink could not grow out */
};

static int stream_sink(const char *p, size_t n, void *ud)
{
    dni_w_stream_t *s = ud;
    if (n > s->out_cap - s->out_len) {
        size_t cap = s->out_cap ? s->out_cap : 4096;
        while (cap - s->out_len < n) {
            if (cap > ((size_t)-1) / 2)
                goto fail;
            cap *= 2;
        }
        char *grown = realloc(s->out, cap);
        if (grown == NULL)
            goto fail;
        s->out = grown;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    return 0;
fail:
    s->out_of_memory = 1;
    return -1;
}

/*
 * Creates a stream applying a copy of *rules (rules may be freed after),
 * with an input buffer of in_cap bytes. Sets *out and returns DNI_OK, or
 * returns DNI_ENOMEM / DNI_EINVAL. Free with dni_w_stream_free().
 */
DNI_W_EXPORT(dni_w_stream_new)
int dni_w_stream_new(const dni_ruleset_t *rules, size_t in_cap,
                     dni_w_stream_t **out)
{
    dni_w_stream_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return DNI_ENOMEM;
    if (in_cap > 0 && (s->in = malloc(in_cap)) == NULL) {
        free(s);
        return DNI_ENOMEM;
    }
    s->in_cap = in_cap;
    int rc = dni_rewriter_new(&s->rw, rules, stream_sink, s, NULL);
    if (rc != DNI_OK) {
        free(s->in);
        free(s);
        return rc;
    }
    *out = s;
    return DNI_OK;
}

DNI_W_EXPORT(dni_w_stream_free) void dni_w_stream_free(dni_w_stream_t *s)
{
    if (s == NULL)
        return;
    dni_rewriter_free(s->rw);
    free(s->in);
    free(s->out);
    free(s);
}

/*
 * The input buffer, grown to hold at least n bytes; NULL when out of
 * memory (the old buffer stays). Valid until the next call with a larger n
 * or dni_w_stream_free().
 */
DNI_W_EXPORT(dni_w_stream_input) char *dni_w_stream_input(dni_w_stream_t *s,
                                                          size_t n)
{
    if (n > s->in_cap) {
        char *grown = realloc(s->in, n);
        if (grown == NULL)
            return NULL;
        s->in = grown;
        s->in_cap = n;
    }
    return s->in;
}

/* Why a feed/finish failed: the sink's own failure is out of memory; any
 * other poisoning is what the core said. */
static int stream_result(dni_w_stream_t *s, int rc)
{
    if (rc != DNI_OK && s->out_of_memory)
        return DNI_ENOMEM;
    return rc;
}

/*
 * Feeds the first n bytes of the input buffer. The output buffer is
 * emptied first, so afterwards it holds exactly what this feed produced.
 */
DNI_W_EXPORT(dni_w_stream_feed) int dni_w_stream_feed(dni_w_stream_t *s,
                                                      size_t n)
{
    s->out_len = 0;
    if (n > s->in_cap)
        return DNI_EINVAL;
    return stream_result(s, dni_rewriter_feed(s->rw, s->in, n));
}

/* Ends the document; the output buffer holds what was held back. */
DNI_W_EXPORT(dni_w_stream_finish) int dni_w_stream_finish(dni_w_stream_t *s)
{
    s->out_len = 0;
    return stream_result(s, dni_rewriter_finish(s->rw));
}

/* Starts a new document with the same rules. */
DNI_W_EXPORT(dni_w_stream_reset) void dni_w_stream_reset(dni_w_stream_t *s)
{
    s->out_len = 0;
    s->out_of_memory = 0;
    dni_rewriter_reset(s->rw);
}

/* Where the last feed/finish's output starts, and its length. The pointer
 * is valid until the next feed/finish/reset/free. */
DNI_W_EXPORT(dni_w_stream_out) const char *dni_w_stream_out(dni_w_stream_t *s)
{
    return s->out;
}

DNI_W_EXPORT(dni_w_stream_out_len) size_t dni_w_stream_out_len(dni_w_stream_t *s)
{
    return s->out_len;
}

/* Numbers swapped so far in the current document. */
DNI_W_EXPORT(dni_w_stream_swaps) double dni_w_stream_swaps(dni_w_stream_t *s)
{
    return (double)dni_rewriter_swaps(s->rw);
}

/* Bytes one rewriter occupies (without the stream's buffers). */
DNI_W_EXPORT(dni_w_rewriter_memory) size_t dni_w_rewriter_memory(void)
{
    return dni_rewriter_memory();
}
