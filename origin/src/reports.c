/*
 * reports.c - GET /v1/reports/pools/{id}[?window=S]: how a pool is sized.
 *
 * Over the last `window` seconds (default 86400): the peak number of
 * leases live at once (a sweep over lease starts and ends), overflow
 * count, calls and how many were attributed. The verdict:
 *   "more"        overflow happened, or the peak used >= 90% of the numbers
 *                 (visitors were, or nearly were, shown the fallback number);
 *   "fewer"       the peak used < 50% and nothing overflowed;
 *   "just right"  otherwise.
 * recommended_size keeps the peak at 80% of the pool (headroom for bursts),
 * plus one number per overflow seen in the worst hour. It is advice: it
 * is not capped by number_limit and nothing is resized automatically.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define MAX_SWEEP 200000

typedef struct edge_ev {
    double t;
    int d;
} edge_ev_t;

static int ev_cmp(const void *a, const void *b)
{
    const edge_ev_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->d - y->d; /* ends before starts at the same instant */
}

void dni__report_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *id = r->id;
    double window = 86400;
    const char *w = dni__req_query(r, "window");
    if (w) {
        char *end;
        window = strtod(w, &end);
        if (!*w || *end || !(window > 0) || window > 366 * 86400.0) {
            dni__resp_error(resp, 400, "window must be seconds in (0, 1 year]");
            return;
        }
    }
    double now = dni__now(), from = now - window;
    dni_db_t *db = dni__store_reader(o->store);
    cJSON *pool = dni__pool_load(db, id);
    if (!pool) {
        dni__store_reader_done(o->store, db);
        dni__resp_error(resp, 404, "no such pool");
        return;
    }
    dni_pool_settings_t s;
    dni__pool_settings(pool, &s);
    int numbers = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pool, "numbers"));

    edge_ev_t *evs = malloc(sizeof *evs * MAX_SWEEP * 2);
    size_t nev = 0;
    long long leases = 0;
    sqlite3_stmt *st = dni__stmt(
        db, "SELECT start, last_seen, last_join, released_at FROM leases"
            " WHERE pool_id = ?1 AND (released_at IS NULL OR released_at >= ?2)"
            " AND start <= ?3 LIMIT 200000");
    if (st && evs) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 2, from);
        sqlite3_bind_double(st, 3, now);
        while (sqlite3_step(st) == SQLITE_ROW) {
            double a = sqlite3_column_double(st, 0);
            double b = sqlite3_column_type(st, 3) != SQLITE_NULL
                           ? sqlite3_column_double(st, 3)
                           : dni_lease_end_time(&s, a, sqlite3_column_double(st, 1),
                                                sqlite3_column_double(st, 2));
            if (b < from)
                continue;
            leases++;
            evs[nev++] = (edge_ev_t){a < from ? from : a, 1};
            evs[nev++] = (edge_ev_t){b, -1};
        }
        sqlite3_reset(st);
    }
    qsort(evs, nev, sizeof *evs, ev_cmp);
    long long live = 0, peak = 0;
    for (size_t i = 0; i < nev; i++) {
        live += evs[i].d;
        if (live > peak)
            peak = live;
    }
    free(evs);

    long long overflow = 0, peak_hour_overflow = 0;
    st = dni__stmt(db, "SELECT coalesce(sum(n), 0), coalesce(max(n), 0) FROM"
                       " overflow_counts WHERE pool_id = ?1 AND hour >= ?2");
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(from / 3600));
        if (sqlite3_step(st) == SQLITE_ROW) {
            overflow = sqlite3_column_int64(st, 0);
            peak_hour_overflow = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
    }
    long long calls = 0, attributed = 0, unattributed = 0, fallback = 0;
    st = dni__stmt(db, "SELECT count(*), sum(kind = 'session'),"
                       " sum(kind = 'unattributed'),"
                       " sum(kind IN ('default', 'overflow')) FROM calls"
                       " WHERE pool_id = ?1 AND started_at >= ?2");
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 2, from);
        if (sqlite3_step(st) == SQLITE_ROW) {
            calls = sqlite3_column_int64(st, 0);
            attributed = sqlite3_column_int64(st, 1);
            unattributed = sqlite3_column_int64(st, 2);
            fallback = sqlite3_column_int64(st, 3);
        }
        sqlite3_reset(st);
    }
    dni__store_reader_done(o->store, db);

    double util = numbers ? (double)peak / numbers : (peak ? 1.0 : 0.0);
    const char *verdict = overflow > 0 || util >= 0.9 ? "more"
                          : util < 0.5 && numbers > 1 ? "fewer"
                                                      : "just right";
    long long rec = (long long)ceil((double)peak / 0.8) + peak_hour_overflow;
    if (rec < 1)
        rec = 1;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "pool", id);
    cJSON_AddNumberToObject(out, "window_s", window);
    cJSON_AddNumberToObject(out, "numbers", numbers);
    cJSON_AddNumberToObject(out, "leases", (double)leases);
    cJSON_AddNumberToObject(out, "peak_live_leases", (double)peak);
    cJSON_AddNumberToObject(out, "utilisation", util);
    cJSON_AddNumberToObject(out, "overflow", (double)overflow);
    cJSON_AddNumberToObject(out, "calls", (double)calls);
    cJSON_AddNumberToObject(out, "attributed", (double)attributed);
    cJSON_AddNumberToObject(out, "unattributed", (double)unattributed);
    cJSON_AddNumberToObject(out, "fallback_calls", (double)fallback);
    cJSON_AddNumberToObject(out, "attribution_rate",
                            calls - fallback > 0
                                ? (double)attributed / (double)(calls - fallback)
                                : 1.0);
    cJSON_AddStringToObject(out, "verdict", verdict);
    cJSON_AddNumberToObject(out, "recommended_size", (double)rec);
    cJSON_Delete(pool);
    dni__resp_json(resp, 200, out);
}
