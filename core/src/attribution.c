/*
 * attribution.c - which lease made a call: the candidates among the leases
 * a number had, each with a likelihood, best first.
 *
 * The rule (docs/pool.md): the leases live at the call's time t are
 * the candidates and share the likelihood equally (1.0 for a single one).
 * When none is live, the lease that ended last is the only candidate if it
 * ended at most attribution_window_s before t; its likelihood falls
 * linearly from 1.0 just after the end to 0.5 at the edge of the window
 * (still the best guess there is, but a weaker one):
 *
 *     likelihood = 1 - 0.5 * (t - end) / attribution_window_s
 *
 * Ties between live candidates go to the lease that started last (the most
 * recent visitor shown the number), then to the lower index, so the order
 * never depends on the order of the input.
 */
#include <math.h>

#include "dni.h"

/* Does candidate a come before candidate b in the answer? */
static int ranks_before(const dni_lease_span_t *spans, const dni_candidate_t *a,
                        const dni_candidate_t *b)
{
    if (a->likelihood != b->likelihood)
        return a->likelihood > b->likelihood;
    if (spans[a->index].start != spans[b->index].start)
        return spans[a->index].start > spans[b->index].start;
    return a->index < b->index;
}

/* Inserts c into out[0..*n) kept best first, holding at most max. */
static void insert_ranked(const dni_lease_span_t *spans, dni_candidate_t *out,
                          size_t *n, size_t max, dni_candidate_t c)
{
    size_t i = *n;
    if (i == max) {
        if (max == 0 || !ranks_before(spans, &c, &out[max - 1]))
            return;
        i = max - 1; /* the worst one drops out */
    } else {
        (*n)++;
    }
    while (i > 0 && ranks_before(spans, &c, &out[i - 1])) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = c;
}

int dni_attribute(const dni_pool_settings_t *s, const dni_lease_span_t *spans,
                  size_t n, double t, dni_candidate_t *out, size_t max)
{
    if (s == NULL || (n > 0 && spans == NULL) || (max > 0 && out == NULL) ||
        isnan(t) || isnan(s->attribution_window_s))
        return DNI_EINVAL;
    size_t live = 0;
    size_t last = n; /* the span that ended last before t */
    for (size_t i = 0; i < n; i++) {
        double start = spans[i].start, end = spans[i].end;
        if (isnan(start) || isnan(end) || end < start)
            return DNI_EINVAL;
        if (start <= t && t <= end)
            live++;
        else if (end < t && (last == n || end > spans[last].end ||
                             (end == spans[last].end &&
                              start > spans[last].start)))
            last = i;
    }
    size_t written = 0;
    if (live > 0) {
        double share = 1.0 / (double)live;
        for (size_t i = 0; i < n; i++) {
            if (spans[i].start <= t && t <= spans[i].end) {
                dni_candidate_t c = {i, share};
                insert_ranked(spans, out, &written, max, c);
            }
        }
        return (int)written;
    }
    double window = s->attribution_window_s;
    if (last == n || !(window > 0) || t - spans[last].end > window)
        return 0;
    if (max == 0)
        return 0;
    out[0].index = last;
    out[0].likelihood =
        isinf(window) ? 1.0 : 1.0 - 0.5 * (t - spans[last].end) / window;
    return 1;
}
