/*
 * attribution.c - which lease made a call: reads the lease history of the
 * called number and hands it to the core's dni_attribute(), so the origin
 * and the simulator apply exactly the same lease rules.
 *
 * A lease's live interval is [start, end): end is the time the edge
 * reported it over (`release`), or, while the edge has not, the end the
 * core's dni_lease_end_time() gives from the last heartbeat we know of.
 * Only leases that started before the call can have made it, and only the
 * latest DNI__SPANS of them are considered (older ones ended long before).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define DNI__SPANS 64

cJSON *dni__attribute_call(dni_db_t *db, const dni_pool_settings_t *s,
                           const char *number, double t, int *found,
                           char *edge, size_t edgelen, char *lease,
                           size_t leaselen, double *likelihood)
{
    dni_lease_span_t spans[DNI__SPANS];
    char edges[DNI__SPANS][65], leases[DNI__SPANS][129],
        visitors[DNI__SPANS][129];
    size_t n = 0;
    *found = 0;
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st = dni__stmt(
        db, "SELECT edge, lease, coalesce(visitor, ''), start, last_seen,"
            " last_join, released_at FROM leases WHERE number = ?1"
            " AND start <= ?2 ORDER BY start DESC LIMIT 64");
    if (!st)
        return arr;
    sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, t);
    while (n < DNI__SPANS && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(edges[n], sizeof edges[n], "%s", sqlite3_column_text(st, 0));
        snprintf(leases[n], sizeof leases[n], "%s", sqlite3_column_text(st, 1));
        snprintf(visitors[n], sizeof visitors[n], "%s",
                 sqlite3_column_text(st, 2));
        spans[n].start = sqlite3_column_double(st, 3);
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            spans[n].end = sqlite3_column_double(st, 6);
        else
            spans[n].end = dni_lease_end_time(s, spans[n].start,
                                              sqlite3_column_double(st, 4),
                                              sqlite3_column_double(st, 5));
        n++;
    }
    sqlite3_reset(st);
    dni_candidate_t cands[DNI__SPANS];
    int k = n ? dni_attribute(s, spans, n, t, cands, DNI__SPANS) : 0;
    for (int i = 0; i < k; i++) {
        size_t ix = cands[i].index;
        if (ix >= n)
            continue;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "edge", edges[ix]);
        cJSON_AddStringToObject(c, "lease", leases[ix]);
        cJSON_AddStringToObject(c, "visitor", visitors[ix]);
        cJSON_AddNumberToObject(c, "likelihood", cands[i].likelihood);
        cJSON_AddItemToArray(arr, c);
        if (!*found) {
            *found = 1;
            snprintf(edge, edgelen, "%s", edges[ix]);
            snprintf(lease, leaselen, "%s", leases[ix]);
            *likelihood = cands[i].likelihood;
        }
    }
    return arr;
}

int dni__call_attribute(dni_db_t *db, const char *sid, const char *to,
                        const dni_pool_settings_t *s, double start)
{
    int found = 0;
    char edge[65] = "", lease[129] = "";
    double lk = 0;
    cJSON *cands = dni__attribute_call(db, s, to, start, &found, edge,
                                       sizeof edge, lease, sizeof lease, &lk);
    char *text = cJSON_PrintUnformatted(cands);
    cJSON_Delete(cands);
    /* The row is written only when something differs: a sync that
     * revisits a call whose attribution stands costs one read. */
    sqlite3_stmt *st = dni__stmt(
        db, "UPDATE calls SET kind = ?2, lease_edge = ?3, lease_id = ?4,"
            " likelihood = ?5, candidates = ?6 WHERE sid = ?1 AND"
            " (kind IS NOT ?2 OR lease_edge IS NOT ?3 OR lease_id IS NOT ?4"
            " OR likelihood IS NOT ?5 OR candidates IS NOT ?6)");
    if (!st || !text) {
        free(text);
        return -1;
    }
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, found ? "session" : "unattributed", -1,
                      SQLITE_STATIC);
    if (found) {
        sqlite3_bind_text(st, 3, edge, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, lease, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 5, lk);
    }
    sqlite3_bind_text(st, 6, text, -1, free);
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(dni__db_handle(db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? changed > 0 : -1;
}

/* ---- SQL functions ----------------------------------------------------- */

static _Thread_local const dni_settings_map_t *tl_settings;

void dni__settings_map_use(const dni_settings_map_t *m) { tl_settings = m; }

const dni_pool_settings_t *dni__settings_map_find(const dni_settings_map_t *m,
                                                  const char *pool)
{
    for (size_t i = 0; m && pool && i < m->n; i++)
        if (!strcmp(m->ids[i], pool))
            return &m->settings[i];
    return NULL;
}

/*
 * dni_lease_end(pool, start, last_seen, last_join, released_at, window):
 * when the lease stopped (or will stop) being live, as the attribution
 * sees it: released_at when the edge said so, else the core's
 * dni_lease_end_time(); plus the pool's attribution_window_s when window
 * is 1 (how late a call may still be attributed to it). NULL when the
 * pool's settings are not known on this thread.
 */
static void fn_lease_end(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)argc;
    const dni_pool_settings_t *s = dni__settings_map_find(
        tl_settings, (const char *)sqlite3_value_text(v[0]));
    if (!s) {
        sqlite3_result_null(ctx);
        return;
    }
    double end;
    if (sqlite3_value_type(v[4]) != SQLITE_NULL)
        end = sqlite3_value_double(v[4]);
    else
        end = dni_lease_end_time(s, sqlite3_value_double(v[1]),
                                 sqlite3_value_double(v[2]),
                                 sqlite3_value_double(v[3]));
    if (sqlite3_value_int(v[5]))
        end += s->attribution_window_s;
    sqlite3_result_double(ctx, isfinite(end) ? end : 1e300);
}

int dni__sql_register(sqlite3 *db)
{
    return sqlite3_create_function(db, "dni_lease_end", 6,
                                   SQLITE_UTF8 |
                                       SQLITE_DIRECTONLY,
                                   NULL, fn_lease_end, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* ---- latest call per number (writer thread) ---------------------------- */

/*
 * Which numbers had a call lately, so that a sync re-attributes only the
 * leases that can matter: a heartbeat on a lease whose number has had no
 * call since the lease started cannot change any call's attribution.
 * Kept by the writer thread alone (all jobs run there): loaded once from
 * calls (number, start) and raised by every webhook. A value too high
 * (a webhook job rolled back, a call whose start moved earlier) only costs
 * a useless check; it is never too low.
 */
typedef struct recent_entry {
    char number[24];
    double latest;
} recent_entry_t;

typedef struct recent_calls {
    recent_entry_t *v; /* open addressing; number[0] == 0 is empty */
    size_t mask, n;
    int loaded;
    int broken; /* could not load or grow: every number counts as called */
} recent_calls_t;

static _Thread_local recent_calls_t tl_recent;

static size_t hash_number(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static recent_entry_t *recent_slot(recent_calls_t *r, const char *number)
{
    size_t i = hash_number(number) & r->mask;
    while (r->v[i].number[0] && strcmp(r->v[i].number, number))
        i = (i + 1) & r->mask;
    return &r->v[i];
}

static void recent_put(recent_calls_t *r, const char *number, double t)
{
    if (r->broken || strlen(number) >= sizeof r->v[0].number)
        return;
    if (!r->v || 2 * (r->n + 1) > r->mask + 1) {
        size_t cap = r->v ? 2 * (r->mask + 1) : 1024;
        recent_entry_t *old = r->v;
        size_t oldcap = r->v ? r->mask + 1 : 0;
        r->v = calloc(cap, sizeof *r->v);
        if (!r->v) {
            r->v = old;
            r->broken = 1;
            return;
        }
        r->mask = cap - 1;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].number[0])
                *recent_slot(r, old[i].number) = old[i];
        free(old);
    }
    recent_entry_t *e = recent_slot(r, number);
    if (!e->number[0]) {
        snprintf(e->number, sizeof e->number, "%s", number);
        e->latest = t;
        r->n++;
    } else if (t > e->latest) {
        e->latest = t;
    }
}

static void recent_load(dni_db_t *db)
{
    recent_calls_t *r = &tl_recent;
    if (r->loaded)
        return;
    r->loaded = 1;
    sqlite3_stmt *st = dni__stmt(
        db, "SELECT to_number, max(started_at) FROM calls GROUP BY to_number");
    int rc = SQLITE_ERROR;
    if (st) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            recent_put(r, (const char *)sqlite3_column_text(st, 0),
                       sqlite3_column_double(st, 1));
        sqlite3_reset(st);
    }
    if (rc != SQLITE_DONE)
        r->broken = 1;
}

void dni__recent_call_forget(void)
{
    free(tl_recent.v);
    memset(&tl_recent, 0, sizeof tl_recent);
}

void dni__recent_call_note(dni_db_t *db, const char *number, double start)
{
    recent_load(db);
    recent_put(&tl_recent, number, start);
}

int dni__recent_call_since(dni_db_t *db, const char *number, double since)
{
    recent_load(db);
    recent_calls_t *r = &tl_recent;
    if (r->broken || strlen(number) >= sizeof r->v[0].number)
        return 1;
    if (!r->v)
        return 0;
    recent_entry_t *e = recent_slot(r, number);
    return e->number[0] && e->latest >= since;
}
