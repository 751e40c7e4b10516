/*
 * reports.c - GET /v1/reports/pools/{id}: how a pool is sized, from its
 * own traffic; GET /v1/pools/{id}/trace: that traffic as a `dni sim`
 * trace.
 *
 * Window: ?from=&to= (Unix seconds) or ?window=S ending now (default one
 * day). The report replays the window's trace (pool_trace.c) through the
 * core simulator, the same code as `dni sim`:
 *   simulation        what `dni sim --size N --recommend A` prints for the
 *                     export (N the pool's numbers, A ?accuracy=, default
 *                     0.95), byte for byte the same object;
 *   recommended_size  its recommended_size: the smallest pool whose replay
 *                     attributes at least A of the calls to their session;
 *   accuracy          the replay's accuracy at the current size.
 * Per traffic source (utm_source of the caller's session, else the edge's
 * search/social/other/direct), from the same replays (the sources compete
 * for the same numbers):
 *   recommended_size  the smallest size at which this source's calls reach
 *                     A (null when no size does);
 *   verdict           "needs more numbers" when that size is above the
 *                     current one, or no size reaches A but more numbers
 *                     would raise the source's accuracy; "too many
 *                     numbers" when A is still reached with at most 80 %
 *                     of the numbers; otherwise "just right". A source
 *                     without calls has no verdict (null).
 * The pool's own verdict follows the same rule from recommended_size.
 * Also: counts of the window (leases, overflow, calls by attribution;
 * attribution_rate is attributed / calls on pool numbers, null when there
 * was none), the rule of thumb (one number per 20 daily visitors) for
 * comparison, and the series for charts (?bucket=60|3600): per bucket the
 * most leases live at once, the pool's size, overflow, calls, attributed
 * calls.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define MAX_SOURCES 20
#define MAX_BUCKETS 20000

/* ---- the window -------------------------------------------------------- */

static int window_of(const dni_req_t *r, dni_resp_t *resp, double now,
                     double *from, double *to)
{
    const char *f = dni__req_query(r, "from"), *t = dni__req_query(r, "to");
    const char *w = dni__req_query(r, "window");
    char *end;
    double window = 86400;
    *to = now;
    if (t) {
        *to = strtod(t, &end);
        if (!*t || *end || !isfinite(*to)) {
            dni__resp_error(resp, 400, "to must be Unix seconds");
            return -1;
        }
    }
    if (w) {
        window = strtod(w, &end);
        if (!*w || *end || !(window > 0) || window > 366 * 86400.0) {
            dni__resp_error(resp, 400, "window must be seconds in (0, 1 year]");
            return -1;
        }
    }
    *from = *to - window;
    if (f) {
        if (w) {
            dni__resp_error(resp, 400, "give from or window, not both");
            return -1;
        }
        *from = strtod(f, &end);
        if (!*f || *end || !isfinite(*from)) {
            dni__resp_error(resp, 400, "from must be Unix seconds");
            return -1;
        }
    }
    if (!(*from < *to) || *to - *from > 366 * 86400.0) {
        dni__resp_error(resp, 400, "from must be before to, at most a year apart");
        return -1;
    }
    return 0;
}

/* The pool's settings, numbers and tracked tags into a fresh simulator. */
static dni_sim_t *sim_for(const cJSON *pool, const dni_pool_settings_t *s)
{
    dni_sim_t *sim = NULL;
    if (dni_sim_create(&sim, s, NULL) != DNI_OK)
        return NULL;
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(pool, "numbers"))
    {
        if (cJSON_IsString(n) &&
            dni_sim_add_number(sim, n->valuestring, strlen(n->valuestring)) < 0) {
            dni_sim_destroy(sim);
            return NULL;
        }
    }
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(pool, "tracked_tags"))
    {
        if (cJSON_IsString(n) &&
            dni_sim_track_tag(sim, n->valuestring, strlen(n->valuestring)) < 0) {
            dni_sim_destroy(sim);
            return NULL;
        }
    }
    return sim;
}

/* ---- per-source sizing ------------------------------------------------- */

/* Replays by size, kept so the sources' searches share them. */
typedef struct replays {
    dni_sim_t *sim;
    size_t calls;
    uint32_t sizes[64];
    uint8_t *outcomes[64];
    int n;
} replays_t;

static const uint8_t *outcomes_at(replays_t *rp, uint32_t size)
{
    for (int i = 0; i < rp->n; i++)
        if (rp->sizes[i] == size)
            return rp->outcomes[i];
    int slot = rp->n < 64 ? rp->n++ : (int)(size % 64);
    if (rp->n == 64 && rp->outcomes[slot])
        free(rp->outcomes[slot]);
    uint8_t *o = malloc(rp->calls + 1);
    dni_sim_result_t res;
    if (!o || dni_sim_run_outcomes(rp->sim, size, &res, o, rp->calls) != DNI_OK) {
        free(o);
        rp->outcomes[slot] = NULL;
        rp->sizes[slot] = UINT32_MAX;
        return NULL;
    }
    rp->sizes[slot] = size;
    rp->outcomes[slot] = o;
    return o;
}

typedef struct source {
    const char *name;
    size_t calls;
} source_t;

/* Correct calls of source (NULL: every call) in one replay. */
static size_t correct_of(const dni_trace_t *tr, const uint8_t *o,
                         const char *source)
{
    size_t k = 0;
    for (size_t i = 0; i < tr->calls; i++)
        if (o[i] == DNI_SIM_CORRECT &&
            (!source || !strcmp(tr->call_source[i], source)))
            k++;
    return k;
}

/* The verdict rule shared by the pool and its sources. */
static const char *verdict_of(int reachable, uint32_t rec, uint32_t size,
                              double acc_now, double acc_top, char *why,
                              size_t whylen)
{
    if (!reachable) {
        if (acc_top > acc_now) {
            snprintf(why, whylen, "no pool size reaches the target; one number "
                                  "per visit would attribute %.1f%% instead "
                                  "of %.1f%%", acc_top * 100, acc_now * 100);
            return "needs more numbers";
        }
        snprintf(why, whylen, "no pool size reaches the target: the calls "
                              "missed are ones no number could attribute "
                              "(unknown callers)");
        return "just right";
    }
    if (rec > size) {
        snprintf(why, whylen, "%u numbers reach the target; %u attribute "
                              "%.1f%%", rec, size, acc_now * 100);
        return "needs more numbers";
    }
    if ((double)rec <= 0.8 * size) {
        snprintf(why, whylen, "%u numbers still reach the target (%u now)",
                 rec, size);
        return "too many numbers";
    }
    snprintf(why, whylen, "%u numbers reach the target (%u now)", rec, size);
    return "just right";
}

static int src_cmp(const void *a, const void *b)
{
    const source_t *x = a, *y = b;
    if (x->calls != y->calls)
        return x->calls < y->calls ? 1 : -1;
    return strcmp(x->name, y->name);
}

static cJSON *sources_json(const dni_trace_t *tr, replays_t *rp, uint32_t size,
                           uint32_t top, double target)
{
    source_t src[MAX_SOURCES + 1];
    size_t ns = 0, other = 0;
    /* Sources by calls; beyond MAX_SOURCES they are grouped. */
    source_t *all = calloc(tr->calls + 1, sizeof *all);
    size_t na = 0;
    for (size_t i = 0; all && i < tr->calls; i++) {
        size_t k = 0;
        while (k < na && strcmp(all[k].name, tr->call_source[i]))
            k++;
        if (k == na)
            all[na++] = (source_t){tr->call_source[i], 0};
        all[k].calls++;
    }
    if (all)
        qsort(all, na, sizeof *all, src_cmp);
    for (size_t k = 0; k < na; k++) {
        if (ns < MAX_SOURCES)
            src[ns++] = all[k];
        else
            other += all[k].calls;
    }
    cJSON *arr = cJSON_CreateArray();
    const uint8_t *now_o = outcomes_at(rp, size), *top_o = outcomes_at(rp, top);
    for (size_t k = 0; now_o && top_o && k < ns; k++) {
        const char *name = src[k].name;
        double calls = (double)src[k].calls;
        double acc_now = (double)correct_of(tr, now_o, name) / calls;
        double acc_top = (double)correct_of(tr, top_o, name) / calls;
        int reachable = (double)correct_of(tr, top_o, name) >= target * calls;
        uint32_t lo = 0, hi = top;
        while (reachable && lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            const uint8_t *o = outcomes_at(rp, mid);
            if (!o)
                break;
            if ((double)correct_of(tr, o, name) >= target * calls)
                hi = mid;
            else
                lo = mid + 1;
        }
        char why[200];
        const char *v = verdict_of(reachable, hi, size, acc_now, acc_top, why,
                                   sizeof why);
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "source", name);
        /* Each call is DNI__CALLER_DRAWS draws of who dialled: counts in
         * calls, to a tenth. */
        cJSON_AddNumberToObject(s, "calls", round(calls / DNI__CALLER_DRAWS * 10) / 10);
        cJSON_AddNumberToObject(s, "correct",
                                round((double)correct_of(tr, now_o, name) /
                                      DNI__CALLER_DRAWS * 10) / 10);
        cJSON_AddNumberToObject(s, "accuracy", round(acc_now * 10000) / 10000);
        if (reachable)
            cJSON_AddNumberToObject(s, "recommended_size", hi);
        else
            cJSON_AddNullToObject(s, "recommended_size");
        cJSON_AddStringToObject(s, "verdict", v);
        cJSON_AddStringToObject(s, "why", why);
        cJSON_AddItemToArray(arr, s);
    }
    if (other) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "source", "(other sources)");
        cJSON_AddNumberToObject(s, "calls", round((double)other / DNI__CALLER_DRAWS * 10) / 10);
        cJSON_AddNullToObject(s, "verdict");
        cJSON_AddStringToObject(s, "why", "grouped: too many sources to size each");
        cJSON_AddItemToArray(arr, s);
    }
    free(all);
    return arr;
}

/* ---- series ------------------------------------------------------------ */

typedef struct edge_ev {
    double t;
    int d;
} edge_ev_t;

static int edge_cmp(const void *a, const void *b)
{
    const edge_ev_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->d - y->d; /* ends before starts at the same instant */
}

/* Peak of live leases overall and per bucket, from the leases' spans. */
static long long live_peaks(dni_db_t *db, const char *id,
                            const dni_pool_settings_t *s, double from,
                            double to, double bucket, long long *per,
                            size_t nb, long long *leases)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT start, last_seen, last_join, released_at FROM leases"
            " WHERE pool_id = ?1 AND start < ?3 AND start >= ?2");
    if (!st)
        return 0;
    edge_ev_t *evs = NULL;
    size_t nev = 0, cap = 0;
    dni__bind_text(st, 1, id);
    dni__bind_double(st, 2, from - s->max_lease_s - 86400);
    dni__bind_double(st, 3, to);
    *leases = 0;
    while (dni__step(st) == DNI_ROW) {
        double a = dni__col_double(st, 0);
        double b = dni_lease_end_time(s, a, dni__col_double(st, 1),
                                      dni__col_double(st, 2));
        if (!dni__col_is_null(st, 3) &&
            dni__col_double(st, 3) < b)
            b = dni__col_double(st, 3);
        if (b < from)
            continue;
        if (a >= from)
            (*leases)++;
        if (nev + 2 > cap) {
            cap = cap ? cap * 2 : 1024;
            edge_ev_t *n = realloc(evs, cap * sizeof *n);
            if (!n)
                break;
            evs = n;
        }
        evs[nev++] = (edge_ev_t){a < from ? from : a, 1};
        evs[nev++] = (edge_ev_t){b, -1};
    }
    dni__reset(st);
    if (evs)
        qsort(evs, nev, sizeof *evs, edge_cmp);
    long long live = 0, peak = 0;
    for (size_t i = 0; i < nev; i++) {
        live += evs[i].d;
        if (evs[i].t >= to)
            break;
        if (live > peak)
            peak = live;
        double k = floor((evs[i].t - from) / bucket);
        if (k >= 0 && (size_t)k < nb && live > per[(size_t)k])
            per[(size_t)k] = live;
    }
    /* A bucket with no start or end in it holds what was live before it. */
    live = 0;
    size_t j = 0;
    for (size_t k = 0; k < nb; k++) {
        double bs = from + (double)k * bucket;
        while (j < nev && evs[j].t < bs)
            live += evs[j++].d;
        if (live > per[k])
            per[k] = live;
    }
    free(evs);
    return peak;
}

/* Limited page views of pool per hour in [from, to) added into per[] by
 * bucket (hourly buckets only: the counts are hourly); returns the total,
 * or -1 when the store has no such counts. */
static long long limited_in(dni_db_t *db, const char *id, double from,
                            double to, double bucket, long long *per,
                            size_t nb)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT hour, n FROM limited_counts WHERE pool_id = ?1 AND"
            " hour >= ?2 AND hour < ?3");
    if (!st)
        return -1;
    long long total = 0;
    dni__bind_text(st, 1, id);
    dni__bind_int64(st, 2, (int64_t)floor(from / 3600));
    dni__bind_int64(st, 3, (int64_t)ceil(to / 3600));
    while (dni__step(st) == DNI_ROW) {
        double t = (double)dni__col_int64(st, 0) * 3600;
        long long n = dni__col_int64(st, 1);
        total += n;
        double k = floor((t - from) / bucket);
        if (per && bucket >= 3600 && k >= 0 && (size_t)k < nb)
            per[(size_t)k] += n;
        else if (per && bucket >= 3600 && k < 0 && nb)
            per[0] += n; /* the hour the window starts in */
    }
    dni__reset(st);
    return total;
}

static cJSON *series_json(dni_db_t *db, const char *id,
                          const dni_pool_settings_t *s, double from, double to,
                          double bucket, int numbers, long long *peak,
                          long long *leases, long long *limited)
{
    size_t nb = (size_t)ceil((to - from) / bucket);
    if (nb > MAX_BUCKETS)
        nb = MAX_BUCKETS;
    long long *live = calloc(nb + 1, sizeof *live);
    long long *ovf = calloc(nb + 1, sizeof *ovf);
    long long *calls = calloc(nb + 1, sizeof *calls);
    long long *attr = calloc(nb + 1, sizeof *attr);
    long long *lim = calloc(nb + 1, sizeof *lim);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "bucket_s", bucket);
    cJSON *arr = cJSON_AddArrayToObject(out, "buckets");
    *peak = 0;
    *limited = -1;
    if (!live || !ovf || !calls || !attr || !lim)
        goto done;
    *limited = limited_in(db, id, from, to, bucket, lim, nb);
    *peak = live_peaks(db, id, s, from, to, bucket, live, nb, leases);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT CAST(floor((t - ?2) / ?4) AS BIGINT), count(*) FROM"
            " overflow_events WHERE pool_id = ?1 AND t >= ?2 AND t < ?3"
            " GROUP BY 1");
    if (st) {
        dni__bind_text(st, 1, id);
        dni__bind_double(st, 2, from);
        dni__bind_double(st, 3, to);
        dni__bind_double(st, 4, bucket);
        while (dni__step(st) == DNI_ROW) {
            int64_t k = dni__col_int64(st, 0);
            if (k >= 0 && (size_t)k < nb)
                ovf[k] = dni__col_int64(st, 1);
        }
        dni__reset(st);
    }
    st = dni__stmt(
        db, "SELECT CAST(floor((started_at - ?2) / ?4) AS BIGINT), count(*),"
            " sum(CASE WHEN kind = 'session' THEN 1 ELSE 0 END) FROM calls"
            " WHERE pool_id = ?1 AND"
            " started_at >= ?2 AND started_at < ?3 GROUP BY 1");
    if (st) {
        dni__bind_text(st, 1, id);
        dni__bind_double(st, 2, from);
        dni__bind_double(st, 3, to);
        dni__bind_double(st, 4, bucket);
        while (dni__step(st) == DNI_ROW) {
            int64_t k = dni__col_int64(st, 0);
            if (k >= 0 && (size_t)k < nb) {
                calls[k] = dni__col_int64(st, 1);
                attr[k] = dni__col_int64(st, 2);
            }
        }
        dni__reset(st);
    }
    for (size_t k = 0; k < nb; k++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "t", from + (double)k * bucket);
        cJSON_AddNumberToObject(b, "leases_live", (double)live[k]);
        cJSON_AddNumberToObject(b, "numbers", numbers);
        cJSON_AddNumberToObject(b, "overflow", (double)ovf[k]);
        if (*limited >= 0 && bucket >= 3600)
            cJSON_AddNumberToObject(b, "limited", (double)lim[k]);
        else
            cJSON_AddNullToObject(b, "limited"); /* counted per hour only */
        cJSON_AddNumberToObject(b, "calls", (double)calls[k]);
        cJSON_AddNumberToObject(b, "attributed", (double)attr[k]);
        cJSON_AddItemToArray(arr, b);
    }
done:
    free(live);
    free(ovf);
    free(calls);
    free(attr);
    free(lim);
    return out;
}

/* ---- GET /v1/reports/pools/{id} ---------------------------------------- */

void dni__report_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *id = r->id;
    double now = dni__now(), from, to;
    if (window_of(r, resp, now, &from, &to))
        return;
    double target = 0.95, bucket = 3600;
    const char *a = dni__req_query(r, "accuracy");
    if (a) {
        char *end;
        target = strtod(a, &end);
        if (!*a || *end || !(target >= 0 && target <= 1)) {
            dni__resp_error(resp, 400, "accuracy must be a fraction in [0, 1]");
            return;
        }
    }
    const char *b = dni__req_query(r, "bucket");
    if (b) {
        if (strcmp(b, "60") && strcmp(b, "3600")) {
            dni__resp_error(resp, 400, "bucket must be 60 or 3600");
            return;
        }
        bucket = atof(b);
    }
    dni_db_t *db = dni__store_reader(o->store);
    /* One read transaction: every figure describes the same state. */
    dni__snapshot_begin(db);
    cJSON *pool = dni__pool_load(db, id);
    if (!pool) {
        dni__snapshot_end(db);
        dni__store_reader_done(o->store, db);
        dni__resp_error(resp, 404, "no such pool");
        return;
    }
    dni_pool_settings_t s;
    dni__pool_settings(pool, &s);
    int numbers = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pool, "numbers"));

    dni_trace_t tr;
    int trace_rc = dni__trace_build(db, id, &s, from, to, now, &tr);
    long long peak = 0, leases = 0, limited = -1;
    cJSON *series = series_json(db, id, &s, from, to, bucket, numbers, &peak,
                                &leases, &limited);
    long long calls = 0, attributed = 0, unattributed = 0, deflt = 0, ovfc = 0;
    dni_stmt_t *st = dni__stmt(
        db, "SELECT count(*),"
            " coalesce(sum(CASE WHEN kind = 'session' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN kind = 'unattributed' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN kind = 'default' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN kind = 'overflow' THEN 1 ELSE 0 END), 0)"
            " FROM calls"
            " WHERE pool_id = ?1 AND started_at >= ?2 AND started_at < ?3");
    if (st) {
        dni__bind_text(st, 1, id);
        dni__bind_double(st, 2, from);
        dni__bind_double(st, 3, to);
        if (dni__step(st) == DNI_ROW) {
            calls = dni__col_int64(st, 0);
            attributed = dni__col_int64(st, 1);
            unattributed = dni__col_int64(st, 2);
            deflt = dni__col_int64(st, 3);
            ovfc = dni__col_int64(st, 4);
        }
        dni__reset(st);
    }
    dni__snapshot_end(db);
    dni__store_reader_done(o->store, db);
    if (trace_rc) {
        dni__trace_free(&tr);
        cJSON_Delete(series);
        cJSON_Delete(pool);
        dni__resp_error(resp, 500, "cannot read the pool's traffic");
        return;
    }

    /* The simulation, exactly as `dni sim` runs it on the export. */
    dni_sim_t *sim = sim_for(pool, &s);
    char text[1024];
    int simrc = sim ? dni__trace_feed(&tr, sim) : DNI_ENOMEM;
    if (simrc == DNI_OK)
        simrc = dni_sim_report(sim, 0, target, text, sizeof text, NULL);
    if (simrc != DNI_OK) {
        dni_sim_destroy(sim);
        dni__trace_free(&tr);
        cJSON_Delete(series);
        cJSON_Delete(pool);
        dni__resp_errorf(resp, 500, "simulation failed: %s", dni_strerror(simrc));
        return;
    }
    cJSON *simulation = cJSON_Parse(text);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(simulation, "recommended_size");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(simulation, "accuracy");
    const cJSON *visits = cJSON_GetObjectItemCaseSensitive(simulation, "visits");
    uint64_t nvisits = cJSON_IsNumber(visits) ? (uint64_t)visits->valuedouble : 0;
    uint32_t size = (uint32_t)numbers;
    uint32_t top = nvisits > size ? (uint32_t)nvisits : size;

    replays_t rp;
    memset(&rp, 0, sizeof rp);
    rp.sim = sim;
    rp.calls = tr.calls;
    cJSON *sources = sources_json(&tr, &rp, size, top, target);
    const char *verdict = NULL;
    char why[200] = "no calls in the window";
    if (tr.calls) {
        const uint8_t *on = outcomes_at(&rp, size), *ot = outcomes_at(&rp, top);
        double acc_now = on ? (double)correct_of(&tr, on, NULL) / (double)tr.calls : 0;
        double acc_top = ot ? (double)correct_of(&tr, ot, NULL) / (double)tr.calls : 0;
        verdict = verdict_of(cJSON_IsNumber(rec),
                             cJSON_IsNumber(rec) ? (uint32_t)rec->valuedouble : 0,
                             size, acc_now, acc_top, why, sizeof why);
    }
    for (int i = 0; i < rp.n; i++)
        free(rp.outcomes[i]);
    dni_sim_destroy(sim);

    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "pool", id);
    cJSON_AddNumberToObject(out, "from", from);
    cJSON_AddNumberToObject(out, "to", to);
    cJSON_AddNumberToObject(out, "window_s", to - from);
    cJSON_AddNumberToObject(out, "numbers", numbers);
    cJSON_AddNumberToObject(out, "leases", (double)leases);
    cJSON_AddNumberToObject(out, "peak_live_leases", (double)peak);
    cJSON_AddNumberToObject(out, "utilisation", numbers ? (double)peak / numbers : 0);
    cJSON_AddNumberToObject(out, "overflow", (double)tr.overflow);
    /* Page views shown the default number because the visitor's address
     * spent its lease budget: not a matter of pool size, so reported
     * apart and never replayed. */
    if (limited >= 0)
        cJSON_AddNumberToObject(out, "limited", (double)limited);
    else
        cJSON_AddNullToObject(out, "limited");
    cJSON_AddNumberToObject(out, "calls", (double)calls);
    cJSON_AddNumberToObject(out, "attributed", (double)attributed);
    cJSON_AddNumberToObject(out, "unattributed", (double)unattributed);
    cJSON_AddNumberToObject(out, "overflow_calls", (double)ovfc);
    cJSON_AddNumberToObject(out, "fallback_calls", (double)(deflt + ovfc));
    long long on_pool = attributed + unattributed;
    if (on_pool > 0)
        cJSON_AddNumberToObject(out, "attribution_rate",
                                (double)attributed / (double)on_pool);
    else
        cJSON_AddNullToObject(out, "attribution_rate");
    cJSON_AddNumberToObject(out, "target_accuracy", target);
    if (cJSON_IsNumber(acc))
        cJSON_AddNumberToObject(out, "accuracy", acc->valuedouble);
    else
        cJSON_AddNullToObject(out, "accuracy");
    if (cJSON_IsNumber(rec))
        cJSON_AddNumberToObject(out, "recommended_size", rec->valuedouble);
    else
        cJSON_AddNullToObject(out, "recommended_size");
    if (verdict)
        cJSON_AddStringToObject(out, "verdict", verdict);
    else
        cJSON_AddNullToObject(out, "verdict");
    cJSON_AddStringToObject(out, "why", why);
    /* One number per 20 daily visitors, the usual vendor advice. */
    double days = (to - from) / 86400;
    cJSON_AddNumberToObject(out, "rule_of_thumb_size",
                            ceil((double)nvisits / (days > 0 ? days : 1) / 20));
    /* How the replay's callers were chosen (pool_trace.c, caller_model.c). */
    cJSON *cm = cJSON_AddObjectToObject(out, "callers");
    cJSON_AddNumberToObject(cm, "late_share", round(tr.late_share * 10000) / 10000);
    cJSON_AddNumberToObject(cm, "not_the_attributed_session",
                            round(tr.moved_calls * 10) / 10);
    cJSON_AddNumberToObject(cm, "draws_per_call", DNI__CALLER_DRAWS);
    cJSON_AddItemToObject(out, "sources", sources);
    cJSON_AddItemToObject(out, "simulation", simulation);
    if (tr.truncated)
        cJSON_AddStringToObject(out, "warning", "the window holds more events "
                                                "than one report replays; "
                                                "shorten it");
    cJSON_AddItemToObject(out, "series", series);
    dni__trace_free(&tr);
    cJSON_Delete(pool);
    dni__resp_json(resp, 200, out);
}

/* ---- GET /v1/pools/{id}/trace ------------------------------------------ */

void dni__trace_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    double now = dni__now(), from, to;
    if (window_of(r, resp, now, &from, &to))
        return;
    dni_db_t *db = dni__store_reader(o->store);
    dni__snapshot_begin(db);
    cJSON *pool = dni__pool_load_settings(db, r->id);
    dni_trace_t tr;
    memset(&tr, 0, sizeof tr);
    int rc = -1;
    if (pool) {
        dni_pool_settings_t s;
        dni__pool_settings(pool, &s);
        rc = dni__trace_build(db, r->id, &s, from, to, now, &tr);
    }
    dni__snapshot_end(db);
    dni__store_reader_done(o->store, db);
    if (!pool) {
        dni__resp_error(resp, 404, "no such pool");
        return;
    }
    cJSON_Delete(pool);
    dni_jsonbuf_t b = {0};
    if (rc || dni__trace_write(&tr, &b)) {
        dni__trace_free(&tr);
        free(b.p);
        dni__resp_error(resp, 500, "cannot read the pool's traffic");
        return;
    }
    dni__trace_free(&tr);
    if (!b.p) {
        b.p = calloc(1, 1);
        b.len = 0;
    }
    dni__resp_take(resp, 200, b.p, b.len, "application/x-ndjson");
}
