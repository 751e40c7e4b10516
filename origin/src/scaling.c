/*
 * scaling.c - the lifecycle's rules (see scaling.h): when to add numbers,
 * which to release, month boundaries, alert windows. Pure functions of
 * their inputs and now.
 */
#define _DEFAULT_SOURCE /* timegm */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaling.h"

unsigned dni__scale_up_count(const dni_scale_up_in_t *in)
{
    if (!in->enabled || in->overflows == 0 || in->numbers >= in->max)
        return 0;
    unsigned room = in->max - in->numbers;
    unsigned n = in->step_numbers ? in->step_numbers : 1;
    return n < room ? n : room;
}

unsigned dni__stockpile_missing(unsigned numbers, unsigned stockpile,
                                unsigned limit)
{
    unsigned want = stockpile < limit ? stockpile : limit;
    return numbers < want ? want - numbers : 0;
}

int64_t dni__step_index(double t, double step_s)
{
    if (!(step_s > 0))
        return 0;
    return (int64_t)floor(t / step_s);
}

int dni__search_plan(int toll_free, const char *area_code,
                     dni_search_step_t out[2])
{
    if (toll_free) {
        out[0].toll_free = 1;
        out[0].area_code = NULL;
        return 1;
    }
    out[0].toll_free = 0;
    out[0].area_code = area_code && *area_code ? area_code : NULL;
    out[1].toll_free = 1;
    out[1].area_code = NULL;
    return 2;
}

void dni__scale_down_policy_init(dni_scale_down_policy_t *p)
{
    p->idle_shown_s = 5 * 86400.0;
    p->idle_called_s = 10 * 86400.0;
    p->freeze_s = 30 * 86400.0;
    p->max_share = 0.2;
}

/* When a number was last of use: shown, called or acquired. */
static double idle_since(const dni_number_use_t *u)
{
    double t = u->last_shown > u->last_called ? u->last_shown : u->last_called;
    return t > u->acquired_at ? t : u->acquired_at;
}

typedef struct idle_ix {
    double since;
    size_t ix;
} idle_ix_t;

/* Longest idle first, then in the pool's order. */
static int by_idle(const void *a, const void *b)
{
    const idle_ix_t *x = a, *y = b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return x->ix < y->ix ? -1 : x->ix > y->ix;
}

size_t dni__scale_down_select(const dni_scale_down_in_t *in,
                              const dni_scale_down_policy_t *p, size_t *out,
                              size_t max_out, const char **why)
{
    double now = in->now;
    if (in->last_overflow > 0 && now - in->last_overflow < p->freeze_s) {
        *why = "frozen: the pool showed an overflow in the last 30 days";
        return 0;
    }
    /* The cap is a share of the pool as it was at the start of the month
     * (now plus what this month already released), so several runs in one
     * month never release more than the share in total. */
    size_t size_then = in->n + in->released_this_month;
    size_t cap = (size_t)floor(p->max_share * (double)size_then + 1e-9);
    if (cap <= in->released_this_month) {
        *why = "cap reached: at most 20% of the pool per month";
        return 0;
    }
    cap -= in->released_this_month;
    if (in->n <= in->stockpile) {
        *why = "the pool is at its stockpile";
        return 0;
    }
    if (cap > in->n - in->stockpile)
        cap = in->n - in->stockpile;
    double quiet_shown = p->idle_shown_s > in->attribution_window_s
                             ? p->idle_shown_s
                             : in->attribution_window_s;
    size_t k = 0;
    for (size_t i = 0; i < in->n && k < max_out; i++) {
        const dni_number_use_t *u = &in->numbers[i];
        if (!u->releasable || u->live_lease || u->on_hold)
            continue;
        double shown = u->last_shown > u->acquired_at ? u->last_shown
                                                      : u->acquired_at;
        if (now - shown < quiet_shown)
            continue;
        if (u->last_called > 0 && now - u->last_called < p->idle_called_s)
            continue;
        out[k++] = i;
    }
    if (k == 0) {
        *why = "no number is idle long enough";
        return 0;
    }
    idle_ix_t *order = malloc(k * sizeof *order);
    if (order) {
        for (size_t i = 0; i < k; i++) {
            order[i].since = idle_since(&in->numbers[out[i]]);
            order[i].ix = out[i];
        }
        qsort(order, k, sizeof *order, by_idle);
        for (size_t i = 0; i < k; i++)
            out[i] = order[i].ix;
        free(order);
    }
    if (k > cap)
        k = cap;
    *why = k ? "idle numbers released" : "cap reached";
    return k;
}

void dni__month_key(double t, char key[8])
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u;
    unsigned m = (unsigned)(tm.tm_mon + 1) % 100u;
    snprintf(key, 8, "%04u-%02u", y, m);
}

double dni__month_start(double t)
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (double)timegm(&tm);
}

int dni__month_end_due(double now, double created_at, char key[8])
{
    double start = dni__month_start(now);
    /* The second before this month began is in the month that ended. */
    dni__month_key(start - 1, key);
    return created_at < start;
}

double dni__quiet_window(double leases_per_day)
{
    if (!(leases_per_day >= 1))
        return 0;
    if (leases_per_day < 100)
        return 4 * 3600.0;
    if (leases_per_day <= 330)
        return 3600.0;
    return 900.0;
}

int dni__alert_allowed(double last, double now, double every_s)
{
    return last <= 0 || now - last >= every_s;
}

int dni__too_small(int scale_enabled, unsigned numbers, unsigned max,
                   uint64_t overflows_in_window)
{
    if (scale_enabled && numbers < max)
        return 0;
    return overflows_in_window >= DNI_TOO_SMALL_OVERFLOWS;
}

int dni__not_swapping(uint64_t count, double first, double last, double now,
                      double *per_day, double *window_s)
{
    *per_day = 0;
    *window_s = 0;
    if (count == 0)
        return 0;
    double span_days = (now - first) / 86400.0;
    if (span_days < 1)
        span_days = 1;
    *per_day = (double)count / span_days;
    *window_s = dni__quiet_window(*per_day);
    return *window_s > 0 && now - last >= *window_s;
}
