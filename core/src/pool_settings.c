/*
 * pool_settings.c - the defaults of a pool's timers and the one formula
 * that says when a lease stops being live. Shared by the engine (pool.c),
 * the simulator (sim.c) and the origin, which recomputes lease ends from
 * stored history, so all three agree to the bit.
 */
#include <math.h>

#include "core_internal.h"

void dni_pool_settings_init(dni_pool_settings_t *s)
{
    s->mode = DNI_MODE_VISITOR;
    s->buffer_s = 60;
    s->max_lease_s = 1800;
    s->min_hold_s = 300;
    s->sticky_s = 2592000;
    s->attribution_window_s = 86400;
    s->number_limit = 0;
    s->unconfirmed_hold_s = 60;
}

int dni__pool_settings_valid(const dni_pool_settings_t *s)
{
    const double timers[] = {s->buffer_s, s->max_lease_s, s->min_hold_s,
                             s->sticky_s, s->attribution_window_s,
                             s->unconfirmed_hold_s};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (isnan(timers[i]) || timers[i] < 0)
            return 0;
    return s->mode == DNI_MODE_VISITOR || s->mode == DNI_MODE_TAGS;
}

double dni_lease_end_time(const dni_pool_settings_t *s, double start,
                          double last_seen, double last_join)
{
    /* Heartbeats (and a leave) extend the lease to last_seen + buffer_s,
     * but never below the minimum hold a visitor without JavaScript gets;
     * the maximum lease caps both, counted from the latest join so a new
     * visitor sharing a tags-mode lease gets its full time. */
    double seen_end = last_seen + s->buffer_s;
    double hold_end = start + s->min_hold_s;
    double end = seen_end > hold_end ? seen_end : hold_end;
    double cap = last_join + s->max_lease_s;
    return end < cap ? end : cap;
}

double dni_lease_end(const dni_pool_settings_t *s, double start,
                     double last_seen, double last_join, int confirmed)
{
    /* Until the page's script or a second page view shows a person is
     * there, a lease holds only unconfirmed_hold_s: a script that loads
     * pages holds numbers that long, not min_hold_s. */
    double end = dni_lease_end_time(s, start, last_seen, last_join);
    if (!confirmed) {
        double hold = start + s->unconfirmed_hold_s;
        if (hold < end)
            end = hold;
    }
    return end;
}
