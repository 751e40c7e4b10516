/*
 * test_rule_swaps.c - the rewriter's swaps counted per rule
 * (dni_rewriter_rule_swaps), which the edge uses to learn which default
 * numbers a page shows: identity rules count without changing a byte,
 * swaps cancelled by data-dni-skip do not count, the counts are the same
 * for every chunking, and a reset starts them again.
 */
#include <stdlib.h>

#include "dni.h"
#include "harness.h"

typedef struct buf {
    char p[4096];
    size_t n;
} buf_t;

static int sink(const char *p, size_t n, void *ud)
{
    buf_t *b = ud;
    if (b->n + n > sizeof b->p)
        return 1;
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static const char page[] =
    "<title>Call 800-555-1234</title><p>Sales (800) 555-1234, support "
    "212-555-0100.</p><a href=\"tel:+18005551234\" title=\"800 555 1234\">"
    "x</a><span title=\"212.555.0100\" data-dni-skip>skipped</span>"
    "<script>var n = '800-555-0000';</script><p>800-555-0000</p>";

int main(void)
{
    dni_ruleset_t rules;
    dni_ruleset_init(&rules);
    char why[128];
    /* rule 0 swaps, rule 1 is an identity rule, rule 2 swaps, rule 3 is
     * never on the page */
    CHECK_INT(dni_ruleset_add_spec(&rules, "800-555-1234=+18885550001", NULL,
                                   why, sizeof why), DNI_OK);
    CHECK_INT(dni_ruleset_add_spec(&rules, "212-555-0100=+12125550100", NULL,
                                   why, sizeof why), DNI_OK);
    CHECK_INT(dni_ruleset_add_spec(&rules, "800-555-0000=+18885550002", NULL,
                                   why, sizeof why), DNI_OK);
    CHECK_INT(dni_ruleset_add_spec(&rules, "415-555-0100=+14155550111", NULL,
                                   why, sizeof why), DNI_OK);
    size_t len = sizeof page - 1;
    uint64_t want[4] = {4, 1, 1, 0};
    buf_t whole = {{0}, 0};
    for (size_t chunk = 1; chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 2) {
        buf_t out = {{0}, 0};
        dni_rewriter_t *rw = NULL;
        CHECK_INT(dni_rewriter_new(&rw, &rules, sink, &out, NULL), DNI_OK);
        if (rw == NULL)
            return harness_report();
        for (size_t at = 0; at < len; at += chunk)
            CHECK_INT(dni_rewriter_feed(rw, page + at,
                                        at + chunk > len ? len - at : chunk),
                      DNI_OK);
        CHECK_INT(dni_rewriter_finish(rw), DNI_OK);
        for (size_t i = 0; i < 4; i++)
            CHECK_INT(dni_rewriter_rule_swaps(rw, i), want[i]);
        CHECK_INT(dni_rewriter_rule_swaps(rw, 4), 0);
        CHECK_INT(dni_rewriter_rule_swaps(rw, 1000), 0);
        CHECK_INT(dni_rewriter_swaps(rw), 6);
        if (whole.n == 0)
            whole = out;
        else
            CHECK(out.n == whole.n && memcmp(out.p, whole.p, out.n) == 0);
        dni_rewriter_reset(rw);
        CHECK_INT(dni_rewriter_rule_swaps(rw, 0), 0);
        dni_rewriter_free(rw);
    }
    /* the identity rule left its number as it was */
    CHECK(strstr(whole.p, "support 212-555-0100.") != NULL);
    CHECK(strstr(whole.p, "(888) 555-0001") != NULL);
    return harness_report();
}
