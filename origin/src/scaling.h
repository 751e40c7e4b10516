/*
 * scaling.h - the rules of a pool's number lifecycle, as pure functions.
 *
 * Every rule is a function of its inputs and `now` (Unix seconds): no
 * clock, no database, no provider. lifecycle.c gathers the figures,
 * calls a rule and carries out what it decided; tests/origin/
 * test_scaling.c checks each rule without a clock.
 */
#ifndef DNI_SCALING_H
#define DNI_SCALING_H

#include <stddef.h>
#include <stdint.h>

/* ---- growing ----------------------------------------------------------- */

/* A pool's auto-scaling settings and where it stands. */
typedef struct dni_scale_up_in {
    int enabled;
    unsigned step_numbers; /* numbers to add per step with overflow */
    unsigned max;          /* most numbers the pool may have */
    unsigned numbers;      /* numbers now, acquisitions in flight included */
    uint64_t overflows;    /* overflows counted during the step */
} dni_scale_up_in_t;

/* Numbers to acquire after a step: step_numbers when an overflow was
 * shown during it, never past max; 0 when disabled or no overflow. */
unsigned dni__scale_up_count(const dni_scale_up_in_t *in);

/* Numbers to acquire so the pool holds at least stockpile (acquisitions
 * in flight counted in numbers), never past limit. */
unsigned dni__stockpile_missing(unsigned numbers, unsigned stockpile,
                                unsigned limit);

/* The index of the step that contains t (steps of step_s seconds from
 * the Unix epoch); the step that just ended at now is index(now) - 1,
 * covering [ (i) * step_s, (i + 1) * step_s ). */
int64_t dni__step_index(double t, double step_s);

/* Where to look for new numbers, in order. */
typedef struct dni_search_step {
    int toll_free;
    const char *area_code; /* NULL: any */
} dni_search_step_t;

/*
 * The search plan for a pool's provider settings: a toll-free pool looks
 * for toll-free numbers only; a local pool looks for local numbers in its
 * area code first (any local number when it has none), then toll-free.
 * Writes up to 2 steps into out; returns how many.
 */
int dni__search_plan(int toll_free, const char *area_code,
                     dni_search_step_t out[2]);

/* ---- shrinking --------------------------------------------------------- */

/* One number of the pool as the scale-down sees it. Times are Unix
 * seconds; 0 means never. */
typedef struct dni_number_use {
    double acquired_at;  /* when the lifecycle got it */
    double last_shown;   /* when its latest lease stopped being live */
    double last_called;  /* start of its latest call */
    int live_lease;      /* a lease on it is live now */
    int on_hold;         /* a call on it is in progress */
    int releasable;      /* the lifecycle acquired it (a number listed by
                          * hand in the pool is never released) */
} dni_number_use_t;

typedef struct dni_scale_down_policy {
    double idle_shown_s;  /* not shown for at least this long: 5 days */
    double idle_called_s; /* not called for at least this long: 10 days */
    double freeze_s;      /* no release when an overflow was shown within
                           * this long: 30 days */
    double max_share;     /* at most this share of the pool per month: 0.2 */
} dni_scale_down_policy_t;

void dni__scale_down_policy_init(dni_scale_down_policy_t *p);

typedef struct dni_scale_down_in {
    const dni_number_use_t *numbers;
    size_t n;                  /* the pool's numbers (all of them) */
    unsigned stockpile;        /* never shrink below this many */
    unsigned released_this_month;
    double last_overflow;      /* latest overflow shown; 0 never */
    double attribution_window_s;
    double now;
} dni_scale_down_in_t;

/*
 * Chooses the numbers to release: not shown for idle_shown_s (and for the
 * pool's attribution window, so no late call can still be attributed to
 * one), not called for idle_called_s, no live lease, no call in progress,
 * acquired by the lifecycle. None when the pool showed an overflow within
 * freeze_s. At most floor(max_share x the pool's size at the start of the
 * month) per month (released_this_month counted), never below stockpile.
 * Longest idle first. Writes indexes into out[0..max_out); returns how
 * many. *why receives a static reason ("frozen: ...", "cap reached", ...).
 */
size_t dni__scale_down_select(const dni_scale_down_in_t *in,
                              const dni_scale_down_policy_t *p, size_t *out,
                              size_t max_out, const char **why);

/* ---- months ------------------------------------------------------------ */

/* "YYYY-MM" (UTC) of the month holding t into key[8]. */
void dni__month_key(double t, char key[8]);

/* Unix time of the first second of the month holding t (UTC). */
double dni__month_start(double t);

/*
 * The month-end scale-down due at now: writes the key of the month that
 * ended last (the one before now's month) and returns 1 when the pool
 * existed before that month ended (created_at < start of now's month);
 * else 0.
 */
int dni__month_end_due(double now, double created_at, char key[8]);

/* ---- alerts ------------------------------------------------------------ */

/*
 * How long a pool that normally makes leases may go without one before
 * "not swapping" is raised, from its usual traffic in leases per day:
 * 4 h under 100 a day, 1 h up to 330, 15 min above; 0 (never) under one
 * lease a day, when quiet hours are normal.
 */
double dni__quiet_window(double leases_per_day);

/* 1 when an alert of a kind last sent at last (0: never) may be sent at
 * now, given at most one per every_s. */
int dni__alert_allowed(double last, double now, double every_s);

/* "Pool too small" is judged over this window, from this many overflows. */
#define DNI_TOO_SMALL_WINDOW_S 3600.0
#define DNI_TOO_SMALL_OVERFLOWS 5

/*
 * 1 when a pool is too small: at least DNI_TOO_SMALL_OVERFLOWS overflows
 * in the last DNI_TOO_SMALL_WINDOW_S while auto-scaling cannot grow it
 * (scale_enabled 0, or numbers, counting purchases in flight, at max).
 * While auto-scaling can still add a number, overflow is its job.
 */
int dni__too_small(int scale_enabled, unsigned numbers, unsigned max,
                   uint64_t overflows_in_window);

/*
 * "Not swapping" from the leases of the last 7 days: count of them, the
 * start of the first and of the last, at now. Returns 1 when the pool
 * usually makes leases (count spread over the days since the first, at
 * least one day) and the last is older than dni__quiet_window() of that
 * rate; writes the rate (*per_day) and the window (*window_s) either way
 * (0 when count is 0).
 */
int dni__not_swapping(uint64_t count, double first, double last, double now,
                      double *per_day, double *window_s);

#endif /* DNI_SCALING_H */
