/*
 * dni_pool.h - the number-pool lease engine. Included from dni.h; do not
 * include directly.
 */
#ifndef DNI_POOL_H
#define DNI_POOL_H

/* How visitors map to leases. */
typedef enum dni_pool_mode {
    DNI_MODE_VISITOR = 0, /* one number per visitor session */
    DNI_MODE_TAGS = 1     /* visitors with equal tracked tags share one */
} dni_pool_mode_t;

/*
 * The timers and limits of a pool (DESIGN.md section 2). Times are in
 * seconds. dni_pool_settings_init() fills in the documented defaults.
 */
typedef struct dni_pool_settings {
    dni_pool_mode_t mode;
    double buffer_s;             /* default 60 */
    double max_lease_s;          /* default 1800 */
    double min_hold_s;           /* default 300 */
    double sticky_s;             /* default 2592000 (30 days) */
    double attribution_window_s; /* default 86400 */
    uint32_t number_limit;       /* 0: the number of numbers added */
} dni_pool_settings_t;

void dni_pool_settings_init(dni_pool_settings_t *s);

/*
 * The time a lease stops being live, ignoring calls in progress:
 * min(max(last_seen + buffer_s, start + min_hold_s), last_join + max_lease_s)
 * where last_join is the start in visitor mode and the latest join of a
 * visitor in tags mode. The lease is live while now <= this time.
 */
double dni_lease_end_time(const dni_pool_settings_t *s, double start,
                          double last_seen, double last_join);

/* One lease on a number, for attribution: when it was live. end is the
 * time it stopped being live (+INFINITY while it still is). */
typedef struct dni_lease_span {
    double start;
    double end;
} dni_lease_span_t;

/* An attribution candidate: which span, and how likely it made the call. */
typedef struct dni_candidate {
    size_t index;
    double likelihood;
} dni_candidate_t;

/*
 * Attribution of a call at time t on one number, given the leases that
 * number had (spans[0..n), any order): the candidates are the spans whose
 * live interval contains t; when there is none, the span that ended last,
 * if it ended at most attribution_window_s before t. Writes up to max
 * candidates to out, best first, and returns how many (0 when the call is
 * unattributed), or a negative error code.
 */
int dni_attribute(const dni_pool_settings_t *s, const dni_lease_span_t *spans,
                  size_t n, double t, dni_candidate_t *out, size_t max);

#endif /* DNI_POOL_H */
