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
#include <stddef.h>
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
    char *head;        /* copy of the head insert the rewriter points to */
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
    free(s->head);
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

/*
 * Sets the bytes to insert where the current document's head content
 * begins (dni_rewriter_set_head()); the n bytes at p are copied. Returns
 * DNI_OK, DNI_ENOMEM, or DNI_ESTATE once the document has begun.
 */
DNI_W_EXPORT(dni_w_stream_set_head)
int dni_w_stream_set_head(dni_w_stream_t *s, const char *p, size_t n)
{
    char *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        return DNI_ENOMEM;
    if (n > 0)
        memcpy(copy, p, n);
    int rc = dni_rewriter_set_head(s->rw, copy, n);
    if (rc != DNI_OK) {
        free(copy);
        return rc;
    }
    free(s->head);
    s->head = copy;
    return DNI_OK;
}

/* 1 once the head insert was written in the current document. */
DNI_W_EXPORT(dni_w_stream_head_written)
int dni_w_stream_head_written(dni_w_stream_t *s)
{
    return dni_rewriter_head_written(s->rw);
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
/* Swaps made by rule number i in the current document. */
DNI_W_EXPORT(dni_w_stream_rule_swaps)
double dni_w_stream_rule_swaps(dni_w_stream_t *s, uint32_t i)
{
    return (double)dni_rewriter_rule_swaps(s->rw, i);
}

DNI_W_EXPORT(dni_w_stream_swaps) double dni_w_stream_swaps(dni_w_stream_t *s)
{
    return (double)dni_rewriter_swaps(s->rw);
}

/* Bytes one rewriter occupies (without the stream's buffers). */
DNI_W_EXPORT(dni_w_rewriter_memory) size_t dni_w_rewriter_memory(void)
{
    return dni_rewriter_memory();
}

/* ---- pool settings ----------------------------------------------------- */

/* Settings by their JSON names (docs/configuration.md), so JS never needs the
 * struct's layout. "mode" is 0 (visitor) or 1 (tags). */
static double *settings_field(dni_pool_settings_t *s, const char *k, size_t n)
{
#define DNI_W_FIELD(name)                                                      \
    if (n == sizeof #name - 1 && memcmp(k, #name, n) == 0)                     \
        return &s->name;
    DNI_W_FIELD(buffer_s)
    DNI_W_FIELD(max_lease_s)
    DNI_W_FIELD(min_hold_s)
    DNI_W_FIELD(sticky_s)
    DNI_W_FIELD(attribution_window_s)
    DNI_W_FIELD(unconfirmed_hold_s)
#undef DNI_W_FIELD
    return NULL;
}

static int key_is(const char *k, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(k, name, n) == 0;
}

/* New settings holding the documented defaults; NULL when out of memory.
 * Freed by dni_w_settings_free(). */
DNI_W_EXPORT(dni_w_settings_new) dni_pool_settings_t *dni_w_settings_new(void)
{
    dni_pool_settings_t *s = malloc(sizeof *s);
    if (s != NULL)
        dni_pool_settings_init(s);
    return s;
}

DNI_W_EXPORT(dni_w_settings_free) void dni_w_settings_free(dni_pool_settings_t *s)
{
    free(s);
}

/* Sets key[0..n) to v. DNI_OK, DNI_ENOTFOUND (no such key) or DNI_ERANGE
 * (mode not 0/1, number_limit not a whole uint32). Timers are checked by
 * the pool/simulator when created. */
DNI_W_EXPORT(dni_w_settings_set)
int dni_w_settings_set(dni_pool_settings_t *s, const char *key, size_t n,
                       double v)
{
    double *f = settings_field(s, key, n);
    if (f != NULL) {
        *f = v;
        return DNI_OK;
    }
    if (key_is(key, n, "mode")) {
        if (v != 0 && v != 1)
            return DNI_ERANGE;
        s->mode = v == 0 ? DNI_MODE_VISITOR : DNI_MODE_TAGS;
        return DNI_OK;
    }
    if (key_is(key, n, "number_limit")) {
        if (!(v >= 0 && v <= 4294967295.0) || v != (double)(uint32_t)v)
            return DNI_ERANGE;
        s->number_limit = (uint32_t)v;
        return DNI_OK;
    }
    return DNI_ENOTFOUND;
}

/* The value of key[0..n); NaN when there is no such key. */
DNI_W_EXPORT(dni_w_settings_get)
double dni_w_settings_get(dni_pool_settings_t *s, const char *key, size_t n)
{
    double *f = settings_field(s, key, n);
    if (f != NULL)
        return *f;
    if (key_is(key, n, "mode"))
        return s->mode == DNI_MODE_TAGS ? 1 : 0;
    if (key_is(key, n, "number_limit"))
        return s->number_limit;
    return 0.0 / 0.0;
}

/* dni_lease_end_time() with the settings above. */
DNI_W_EXPORT(dni_w_lease_end_time)
double dni_w_lease_end_time(const dni_pool_settings_t *s, double start,
                            double last_seen, double last_join)
{
    return dni_lease_end_time(s, start, last_seen, last_join);
}

/* dni_lease_end() with the settings above; confirmed 0 or 1. */
DNI_W_EXPORT(dni_w_lease_end)
double dni_w_lease_end(const dni_pool_settings_t *s, double start,
                       double last_seen, double last_join, int confirmed)
{
    return dni_lease_end(s, start, last_seen, last_join, confirmed);
}

/* ---- the lease engine -------------------------------------------------- */

DNI_W_EXPORT(dni_w_pool_create)
int dni_w_pool_create(const dni_pool_settings_t *s, dni_pool_t **out)
{
    return dni_pool_create(out, s, NULL);
}

DNI_W_EXPORT(dni_w_pool_destroy) void dni_w_pool_destroy(dni_pool_t *p)
{
    dni_pool_destroy(p);
}

DNI_W_EXPORT(dni_w_pool_set_fallback)
int dni_w_pool_set_fallback(dni_pool_t *p, const char *def, size_t def_len,
                            const char *ovf, size_t ovf_len)
{
    return dni_pool_set_fallback(p, def, def_len, ovf, ovf_len);
}

DNI_W_EXPORT(dni_w_pool_add_number)
int dni_w_pool_add_number(dni_pool_t *p, const char *e164, size_t len)
{
    return dni_pool_add_number(p, e164, len);
}

DNI_W_EXPORT(dni_w_pool_remove_number)
int dni_w_pool_remove_number(dni_pool_t *p, const char *e164, size_t len,
                             double now)
{
    return dni_pool_remove_number(p, e164, len, now);
}

DNI_W_EXPORT(dni_w_pool_find_number)
int dni_w_pool_find_number(dni_pool_t *p, const char *e164, size_t len)
{
    return dni_pool_find_number(p, e164, len);
}

/* Writes the number in slot, NUL-terminated, to out[0..DNI_E164_SIZE). */
DNI_W_EXPORT(dni_w_pool_number_e164)
int dni_w_pool_number_e164(dni_pool_t *p, uint32_t slot, char *out)
{
    return dni_pool_number_e164(p, slot, out);
}

/* Assigns and writes the outcome to *out (layout in exports.h). */
DNI_W_EXPORT(dni_w_pool_assign)
int dni_w_pool_assign(dni_pool_t *p, const char *key, size_t len, double now,
                      dni_w_assignment_t *out)
{
    dni_assignment_t a;
    int rc = dni_pool_assign(p, key, len, now, &a);
    if (rc == DNI_OK) {
        out->kind = (int32_t)a.kind;
        out->lease = a.lease;
        out->slot = a.slot;
        memcpy(out->e164, a.e164, sizeof out->e164);
    }
    return rc;
}

DNI_W_EXPORT(dni_w_pool_seen)
int dni_w_pool_seen(dni_pool_t *p, uint32_t lease, double now)
{
    return dni_pool_seen(p, lease, now);
}

DNI_W_EXPORT(dni_w_pool_leave)
int dni_w_pool_leave(dni_pool_t *p, uint32_t lease, double now)
{
    return dni_pool_leave(p, lease, now);
}

DNI_W_EXPORT(dni_w_pool_tick) int dni_w_pool_tick(dni_pool_t *p, double now)
{
    return dni_pool_tick(p, now);
}

/* Starts a call; out gets {lease, likelihood, live} as doubles. */
DNI_W_EXPORT(dni_w_pool_call_start)
int dni_w_pool_call_start(dni_pool_t *p, uint32_t slot, double now,
                          double *out)
{
    dni_call_attribution_t a;
    int rc = dni_pool_call_start(p, slot, now, &a);
    if (rc >= 0) {
        out[0] = a.lease;
        out[1] = a.likelihood;
        out[2] = a.live;
    }
    return rc;
}

DNI_W_EXPORT(dni_w_pool_call_end)
int dni_w_pool_call_end(dni_pool_t *p, uint32_t slot, double now)
{
    return dni_pool_call_end(p, slot, now);
}

/* out gets {lease, slot, start, last_seen, last_join, end, joins, pinned}. */
DNI_W_EXPORT(dni_w_pool_lease_info)
int dni_w_pool_lease_info(dni_pool_t *p, uint32_t lease, double *out)
{
    dni_lease_info_t i;
    int rc = dni_pool_lease_info(p, lease, &i);
    if (rc == DNI_OK) {
        out[0] = i.lease;
        out[1] = i.slot;
        out[2] = i.start;
        out[3] = i.last_seen;
        out[4] = i.last_join;
        out[5] = i.end;
        out[6] = i.joins;
        out[7] = i.pinned;
        out[8] = i.confirmed;
    }
    return rc;
}

/* out gets DNI_W_STATS doubles, in dni_pool_stats_t's field order. */
DNI_W_EXPORT(dni_w_pool_stats) void dni_w_pool_stats(dni_pool_t *p, double *out)
{
    dni_pool_stats_t st;
    dni_pool_stats(p, &st);
    const double v[DNI_W_STATS] = {
        st.numbers,          st.free_numbers,     st.live_leases,
        (double)st.peak_live_leases, (double)st.leases,
        (double)st.overflows, (double)st.joins,   (double)st.sticky,
        (double)st.calls,    (double)st.calls_attributed, (double)st.bytes,
        (double)st.bytes_per_number, (double)st.bytes_per_lease};
    memcpy(out, v, sizeof v);
}

DNI_W_EXPORT(dni_w_pool_events_enable)
void dni_w_pool_events_enable(dni_pool_t *p, int on)
{
    dni_pool_events_enable(p, on);
}

/* Moves up to max events to out[0..max) (layout in exports.h). */
DNI_W_EXPORT(dni_w_pool_events_take)
size_t dni_w_pool_events_take(dni_pool_t *p, dni_w_event_t *out, size_t max)
{
    dni_pool_event_t ev[32];
    size_t done = 0;
    while (done < max) {
        size_t want = max - done < 32 ? max - done : 32;
        size_t got = dni_pool_events_take(p, ev, want);
        for (size_t i = 0; i < got; i++) {
            dni_w_event_t *o = &out[done + i];
            o->t = ev[i].t;
            o->likelihood = ev[i].likelihood;
            o->lease = ev[i].lease;
            o->slot = ev[i].slot;
            o->type = (int32_t)ev[i].type;
            o->reserved = 0;
        }
        done += got;
        if (got < want)
            break;
    }
    return done;
}

/* ---- persistence and the edge's hot path --------------------------- */

/* Bytes dni_w_pool_snapshot() needs now. */
DNI_W_EXPORT(dni_w_pool_snapshot_size)
size_t dni_w_pool_snapshot_size(dni_pool_t *p)
{
    return dni_pool_snapshot_size(p);
}

/* dni_pool_snapshot(): bytes written to out[0..cap), or DNI_ELIMIT. */
DNI_W_EXPORT(dni_w_pool_snapshot)
long dni_w_pool_snapshot(dni_pool_t *p, uint8_t *out, size_t cap)
{
    return dni_pool_snapshot(p, out, cap);
}

/* dni_pool_restore() from data[0..len) (JS copied the stored bytes in);
 * s NULL (0) keeps the snapshot's settings. *out gets the new pool. */
DNI_W_EXPORT(dni_w_pool_restore)
int dni_w_pool_restore(const uint8_t *data, size_t len,
                       const dni_pool_settings_t *s, dni_pool_t **out)
{
    return dni_pool_restore(out, data, len, s, NULL);
}

/* dni_pool_lookup(): the key's live lease id, 0 when it has none, or a
 * negative code. A double, so every uint32 id fits. */
DNI_W_EXPORT(dni_w_pool_lookup)
double dni_w_pool_lookup(dni_pool_t *p, const char *key, size_t len,
                         double now)
{
    uint32_t lease = 0;
    int rc = dni_pool_lookup(p, key, len, now, &lease);
    if (rc == DNI_ENOTFOUND)
        return 0;
    return rc < 0 ? rc : (double)lease;
}

DNI_W_EXPORT(dni_w_pool_end_lease)
int dni_w_pool_end_lease(dni_pool_t *p, uint32_t lease, double now)
{
    return dni_pool_end_lease(p, lease, now);
}

/* A heartbeat (leave 0) or a leave (1), and the lease's new end time in
 * *end: the edge's hot path in one call instead of two. */
DNI_W_EXPORT(dni_w_pool_touch)
int dni_w_pool_touch(dni_pool_t *p, uint32_t lease, double now, int leave,
                     double *end)
{
    int rc = leave ? dni_pool_leave(p, lease, now) : dni_pool_seen(p, lease, now);
    dni_lease_info_t i;
    if (rc == DNI_OK && dni_pool_lease_info(p, lease, &i) == DNI_OK)
        *end = i.end;
    return rc;
}

/* dni_tag_key_append() over a key buffer JS owns. */
DNI_W_EXPORT(dni_w_tag_key_append)
int dni_w_tag_key_append(char *key, size_t cap, size_t *len,
                         const char *value, size_t value_len, int has_value)
{
    return dni_tag_key_append(key, cap, len, has_value ? value : NULL,
                              value_len);
}

/* ---- the simulator ----------------------------------------------------- */

DNI_W_EXPORT(dni_w_sim_create)
int dni_w_sim_create(const dni_pool_settings_t *s, dni_sim_t **out)
{
    return dni_sim_create(out, s, NULL);
}

DNI_W_EXPORT(dni_w_sim_destroy) void dni_w_sim_destroy(dni_sim_t *sim)
{
    dni_sim_destroy(sim);
}

DNI_W_EXPORT(dni_w_sim_add_number)
int dni_w_sim_add_number(dni_sim_t *sim, const char *e164, size_t len)
{
    return dni_sim_add_number(sim, e164, len);
}

DNI_W_EXPORT(dni_w_sim_track_tag)
int dni_w_sim_track_tag(dni_sim_t *sim, const char *name, size_t len)
{
    return dni_sim_track_tag(sim, name, len);
}

DNI_W_EXPORT(dni_w_sim_tag)
int dni_w_sim_tag(dni_sim_t *sim, const char *name, size_t name_len,
                  const char *value, size_t value_len)
{
    return dni_sim_tag(sim, name, name_len, value, value_len);
}

DNI_W_EXPORT(dni_w_sim_visit)
int dni_w_sim_visit(dni_sim_t *sim, double t, const char *v, size_t len)
{
    return dni_sim_visit(sim, t, v, len);
}

DNI_W_EXPORT(dni_w_sim_hb)
int dni_w_sim_hb(dni_sim_t *sim, double t, const char *v, size_t len)
{
    return dni_sim_hb(sim, t, v, len);
}

DNI_W_EXPORT(dni_w_sim_leave)
int dni_w_sim_leave(dni_sim_t *sim, double t, const char *v, size_t len)
{
    return dni_sim_leave(sim, t, v, len);
}

DNI_W_EXPORT(dni_w_sim_call)
int dni_w_sim_call(dni_sim_t *sim, double t, const char *v, size_t len,
                   double duration)
{
    return dni_sim_call(sim, t, v, len, duration);
}

DNI_W_EXPORT(dni_w_sim_numbers) uint32_t dni_w_sim_numbers(dni_sim_t *sim)
{
    return dni_sim_numbers(sim);
}

/* dni_sim_report() into out[0..cap); *len gets the report's length (also
 * when DNI_ELIMIT says cap was too small, so JS can retry once). */
DNI_W_EXPORT(dni_w_sim_report)
int dni_w_sim_report(dni_sim_t *sim, uint32_t size, double recommend,
                     char *out, size_t cap, size_t *len)
{
    return dni_sim_report(sim, size, recommend, out, cap, len);
}

/* One replay: out gets DNI_W_SIM_RESULT doubles {size, visits, leases,
 * overflow, calls, correct, wrong, unattributed, peak_live_leases,
 * numbers_used}. */
DNI_W_EXPORT(dni_w_sim_run)
int dni_w_sim_run(dni_sim_t *sim, uint32_t size, double *out)
{
    dni_sim_result_t r;
    int rc = dni_sim_run(sim, size, &r);
    if (rc == DNI_OK) {
        const double v[DNI_W_SIM_RESULT] = {
            r.size,           (double)r.visits, (double)r.leases,
            (double)r.overflow, (double)r.calls, (double)r.correct,
            (double)r.wrong,  (double)r.unattributed, r.peak_live_leases,
            r.numbers_used};
        memcpy(out, v, sizeof v);
    }
    return rc;
}

/* The layouts JS reads by offset must not move. */
_Static_assert(sizeof(dni_w_event_t) == 32, "dni_w_event_t is 32 bytes");
_Static_assert(offsetof(dni_w_assignment_t, e164) == 12, "e164 at 12");

/* dni_attribute() over spans given as {start, end} double pairs; writes
 * {index, likelihood} pairs to out[0..2*max). Returns the count or a
 * negative code. */
DNI_W_EXPORT(dni_w_attribute)
int dni_w_attribute(const dni_pool_settings_t *s, const double *spans,
                    size_t n, double t, double *out, size_t max)
{
    dni_lease_span_t *sp = malloc((n ? n : 1) * sizeof *sp);
    dni_candidate_t *c = malloc((max ? max : 1) * sizeof *c);
    int rc = DNI_ENOMEM;
    if (sp != NULL && c != NULL) {
        for (size_t i = 0; i < n; i++) {
            sp[i].start = spans[2 * i];
            sp[i].end = spans[2 * i + 1];
        }
        rc = dni_attribute(s, sp, n, t, c, max);
        for (int i = 0; i < rc; i++) {
            out[2 * i] = (double)c[i].index;
            out[2 * i + 1] = c[i].likelihood;
        }
    }
    free(sp);
    free(c);
    return rc;
}
