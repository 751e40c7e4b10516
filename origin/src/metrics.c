/*
 * metrics.c - counters and a latency histogram, rendered in the Prometheus
 * text format at GET /metrics.
 *
 * Counters are plain integers updated with atomic builtins: no lock on the
 * request path. Statuses are kept per exact code for the few codes the
 * service answers with (one slot per code 100..599 per route is 500
 * counters a route, small enough to keep flat).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

/* Each slot's label, set by its first request (static strings). */
static const char *route_names[DNI_METRIC_SLOTS];

/* Upper bounds in seconds; one more bucket is +Inf. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

static uint64_t requests[DNI_METRIC_SLOTS][500];
static uint64_t hist[DNI_METRIC_SLOTS][NBUCKETS + 1];
static uint64_t latency_us_sum[DNI_METRIC_SLOTS];
static uint64_t stale_events, overflow_events, duplicates, sync_events;
static uint64_t refused_events, calls_expired;
static int64_t leases_live;

#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define LOAD(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

void dni__metrics_request(int route, const char *label, int status,
                          double seconds)
{
    if (route < 0 || route >= DNI_METRIC_SLOTS || status < 100 || status > 599)
        return;
    if (!__atomic_load_n(&route_names[route], __ATOMIC_ACQUIRE))
        __atomic_store_n(&route_names[route], label, __ATOMIC_RELEASE);
    ADD(requests[route][status - 100], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b])
        b++;
    ADD(hist[route][b], 1);
    ADD(latency_us_sum[route], (uint64_t)(seconds * 1e6));
}

void dni__metrics_add_stale(uint64_t n) { ADD(stale_events, n); }
void dni__metrics_add_overflow(uint64_t n) { ADD(overflow_events, n); }
void dni__metrics_add_duplicate(uint64_t n) { ADD(duplicates, n); }
void dni__metrics_add_events(uint64_t n) { ADD(sync_events, n); }
void dni__metrics_add_refused(uint64_t n) { ADD(refused_events, n); }
void dni__metrics_add_calls_expired(uint64_t n) { ADD(calls_expired, n); }
void dni__metrics_set_leases_live(int64_t n)
{
    __atomic_store_n(&leases_live, n, __ATOMIC_RELAXED);
}

static void (*extra_fn)(dni_jsonbuf_t *b, void *ud);
static void *extra_ud;

void dni__metrics_extra(void (*fn)(dni_jsonbuf_t *b, void *ud), void *ud)
{
    extra_ud = ud;
    extra_fn = fn;
}

char *dni__metrics_render(dni_store_t *store)
{
    dni_jsonbuf_t b = {0};
    dni__jsonbuf_fmt(&b, "# HELP dni_origin_requests_total HTTP requests by route and status.\n"
            "# TYPE dni_origin_requests_total counter\n");
    for (int r = 0; r < DNI_METRIC_SLOTS; r++)
        for (int s = 0; s < 500 && LOAD(route_names[r]); s++) {
            uint64_t n = LOAD(requests[r][s]);
            if (n)
                dni__jsonbuf_fmt(&b,
                    "dni_origin_requests_total{route=\"%s\",status=\"%d\"} "
                    "%llu\n",
                    route_names[r], s + 100, (unsigned long long)n);
        }
    dni__jsonbuf_fmt(&b, "# HELP dni_origin_request_duration_seconds Time from the request "
            "line to the answer.\n"
            "# TYPE dni_origin_request_duration_seconds histogram\n");
    for (int r = 0; r < DNI_METRIC_SLOTS; r++) {
        uint64_t cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++)
            cum += LOAD(hist[r][k]);
        if (!cum || !LOAD(route_names[r]))
            continue;
        uint64_t acc = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            acc += LOAD(hist[r][k]);
            if (k < NBUCKETS)
                dni__jsonbuf_fmt(&b,
                    "dni_origin_request_duration_seconds_bucket{route=\"%s\","
                    "le=\"%g\"} %llu\n",
                    route_names[r], buckets[k], (unsigned long long)acc);
            else
                dni__jsonbuf_fmt(&b,
                    "dni_origin_request_duration_seconds_bucket{route=\"%s\","
                    "le=\"+Inf\"} %llu\n",
                    route_names[r], (unsigned long long)acc);
        }
        dni__jsonbuf_fmt(&b,
            "dni_origin_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "dni_origin_request_duration_seconds_count{route=\"%s\"} %llu\n",
            route_names[r], (double)LOAD(latency_us_sum[r]) / 1e6,
            route_names[r], (unsigned long long)acc);
    }
    /* Open leases are counted from the store at scrape time (a partial
     * index holds exactly them), so the figure survives restarts. */
    dni_db_t *db = dni__store_reader(store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT count(*) FROM leases WHERE released_at IS NULL");
    if (st && dni__step(st) == DNI_ROW)
        dni__metrics_set_leases_live(dni__col_int64(st, 0));
    if (st)
        dni__reset(st);
    dni__store_reader_done(store, db);
    uint64_t commits = 0, jobs = 0;
    dni__store_counts(store, &commits, &jobs);
    dni__jsonbuf_fmt(&b,
        "# HELP dni_origin_leases_live Open leases reported by edges.\n"
        "# TYPE dni_origin_leases_live gauge\n"
        "dni_origin_leases_live %lld\n"
        "# HELP dni_origin_overflow_total Visitors shown the overflow or "
        "default number, as reported by edges.\n"
        "# TYPE dni_origin_overflow_total counter\n"
        "dni_origin_overflow_total %llu\n"
        "# HELP dni_origin_stale_events_total Sync events rejected for a "
        "stale epoch or a number not granted to the edge.\n"
        "# TYPE dni_origin_stale_events_total counter\n"
        "dni_origin_stale_events_total %llu\n"
        "# HELP dni_origin_sync_events_total Sync events applied.\n"
        "# TYPE dni_origin_sync_events_total counter\n"
        "dni_origin_sync_events_total %llu\n"
        "# HELP dni_origin_webhook_duplicates_total Webhooks for a (CallSid, "
        "status) already recorded.\n"
        "# TYPE dni_origin_webhook_duplicates_total counter\n"
        "dni_origin_webhook_duplicates_total %llu\n"
        "# HELP dni_origin_commits_total Group commits to disk.\n"
        "# TYPE dni_origin_commits_total counter\n"
        "dni_origin_commits_total %llu\n"
        "# HELP dni_origin_commit_jobs_total Write jobs committed.\n"
        "# TYPE dni_origin_commit_jobs_total counter\n"
        "dni_origin_commit_jobs_total %llu\n",
        (long long)__atomic_load_n(&leases_live, __ATOMIC_RELAXED),
        (unsigned long long)LOAD(overflow_events),
        (unsigned long long)LOAD(stale_events),
        (unsigned long long)LOAD(sync_events),
        (unsigned long long)LOAD(duplicates), (unsigned long long)commits,
        (unsigned long long)jobs);
    dni__jsonbuf_fmt(&b,
        "# HELP dni_origin_sync_events_refused_total Sync events refused as "
        "malformed (each reported to its edge by index; the rest of its "
        "batch applied).\n"
        "# TYPE dni_origin_sync_events_refused_total counter\n"
        "dni_origin_sync_events_refused_total %llu\n"
        "# HELP dni_origin_calls_expired_total Calls closed as expired: no "
        "status for max_call_s.\n"
        "# TYPE dni_origin_calls_expired_total counter\n"
        "dni_origin_calls_expired_total %llu\n",
        (unsigned long long)LOAD(refused_events),
        (unsigned long long)LOAD(calls_expired));
    dni__pool_metrics(store, &b);
    dni__postback_metrics(store, &b);
    if (extra_fn)
        extra_fn(&b, extra_ud);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
