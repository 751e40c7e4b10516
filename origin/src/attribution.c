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
