/*
 * fuzz_rewriter.c - libFuzzer target for the streaming number-swap
 * rewriter. Besides what the sanitizers catch, it asserts two properties
 * of the swap (docs/swap.md) on every input:
 *
 *   - chunking invariance: the output for the whole input equals the output
 *     when the same input is fed in pieces, split at positions derived from
 *     the input's own bytes (and, for short inputs, one byte at a time);
 *   - pass-through: an input holding no digit at all comes out unchanged.
 *
 * The first byte picks one of three rule sets (same-length swap, display
 * template, bare E.164) so every replacement path is exercised; the whole
 * input, first byte included, is the document.
 *
 *     make fuzz                      # FUZZ_TIME=300 by default
 *     build/fuzz/fuzz_rewriter -runs=0 tests/fuzz/corpus/fuzz_rewriter
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dni.h"

typedef struct out {
    char *p;
    size_t n, cap;
} out_t;

static int sink(const char *p, size_t n, void *ud)
{
    out_t *o = ud;
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1 << 16;
        while (cap < o->n + n)
            cap *= 2;
        char *q = realloc(o->p, cap);
        if (q == NULL)
            abort();
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->n, p, n);
    o->n += n;
    return 0;
}

static const char *const rule_sets[3][3] = {
    {"800-555-1234=+18885550000", "877-555-0100=+18665550199",
     "+44 20 7946 0000=+44 20 7946 1111"},
    {"800-555-1234=+442079460000@+## ## #### ####",
     "877-555-0100=+18665550199@+# (###) ###-####", NULL},
    {"800-555-1234=+442079460000", "+49 30 123456=+493012345678", NULL},
};

static dni_rewriter_t *rw[3];
static out_t whole, pieces;

static void setup(void)
{
    for (int s = 0; s < 3; s++) {
        dni_ruleset_t rules;
        dni_ruleset_init(&rules);
        for (int r = 0; r < 3 && rule_sets[s][r]; r++) {
            char why[128];
            if (dni_ruleset_add_spec(&rules, rule_sets[s][r], NULL, why,
                                     sizeof why) != DNI_OK) {
                fprintf(stderr, "fuzz_rewriter: rule %s: %s\n",
                        rule_sets[s][r], why);
                abort();
            }
        }
        if (dni_rewriter_new(&rw[s], &rules, sink, &whole, NULL) != DNI_OK)
            abort();
    }
}

/* Runs data through r in the chunks given by next_len() into o. */
static void run(dni_rewriter_t *r, out_t *o, const uint8_t *data, size_t size,
                int mode)
{
    /* The sink's ud is fixed at creation: route through `whole` and move
     * the bytes when the caller wants them elsewhere. */
    whole.n = 0;
    dni_rewriter_reset(r);
    size_t at = 0, k = 0, empties = 0;
    while (at < size) {
        size_t len;
        if (mode == 0)
            len = size - at;
        else if (mode == 1)
            len = 1;
        else {
            /* Lengths from the data itself: small pieces, sometimes empty
             * feeds, sometimes large ones. */
            uint8_t b = data[k++ % size];
            len = (b & 0x80) ? (size_t)(b & 0x7f) * 7 : (size_t)(b & 0x0f);
            if (len > size - at)
                len = size - at;
            if (len == 0 && ++empties > 2) {
                len = 1;
                empties = 0;
            }
        }
        if (dni_rewriter_feed(r, (const char *)data + at, len) != DNI_OK)
            abort();
        at += len;
    }
    if (dni_rewriter_finish(r) != DNI_OK)
        abort();
    if (o != &whole) {
        o->n = 0;
        sink(whole.p, whole.n, o);
    }
}

static void fail(const char *what, const out_t *a, const out_t *b)
{
    size_t i = 0;
    while (i < a->n && i < b->n && a->p[i] == b->p[i])
        i++;
    fprintf(stderr, "fuzz_rewriter: %s: outputs differ at offset %zu "
                    "(%zu vs %zu bytes)\n", what, i, a->n, b->n);
    abort();
}

static int same(const out_t *a, const out_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static out_t ref;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size == 0)
        return 0;
    dni_rewriter_t *r = rw[data[0] % 3];

    run(r, &ref, data, size, 0);

    /* No digit: nothing can match, every byte passes through. */
    int digits = 0;
    for (size_t i = 0; i < size && !digits; i++)
        digits = data[i] >= '0' && data[i] <= '9';
    if (!digits && (ref.n != size || memcmp(ref.p, data, size) != 0)) {
        out_t in = {(char *)data, size, size};
        fail("digit-free input not passed through", &ref, &in);
    }

    run(r, &pieces, data, size, 2);
    if (!same(&ref, &pieces))
        fail("data-derived chunking", &ref, &pieces);

    if (size <= 1024) {
        run(r, &pieces, data, size, 1);
        if (!same(&ref, &pieces))
            fail("one byte at a time", &ref, &pieces);
    }

    /* Every split point into two pieces, on short inputs. */
    if (size <= 256) {
        for (size_t cut = 1; cut < size; cut++) {
            whole.n = 0;
            dni_rewriter_reset(r);
            if (dni_rewriter_feed(r, (const char *)data, cut) != DNI_OK ||
                dni_rewriter_feed(r, (const char *)data + cut, size - cut) !=
                    DNI_OK ||
                dni_rewriter_finish(r) != DNI_OK)
                abort();
            if (!same(&ref, &whole))
                fail("split in two", &ref, &whole);
        }
    }
    return 0;
}
