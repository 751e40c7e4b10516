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
    dni_stmt_t *st = dni__stmt(
        db, "SELECT edge, lease, coalesce(visitor, ''), start, last_seen,"
            " last_join, released_at FROM leases WHERE number = ?1"
            " AND start <= ?2 ORDER BY start DESC LIMIT 64");
    if (!st)
        return arr;
    dni__bind_text(st, 1, number);
    dni__bind_double(st, 2, t);
    while (n < DNI__SPANS && dni__step(st) == DNI_ROW) {
        snprintf(edges[n], sizeof edges[n], "%s", dni__col_text(st, 0));
        snprintf(leases[n], sizeof leases[n], "%s", dni__col_text(st, 1));
        snprintf(visitors[n], sizeof visitors[n], "%s",
                 dni__col_text(st, 2));
        spans[n].start = dni__col_double(st, 3);
        if (!dni__col_is_null(st, 6))
            spans[n].end = dni__col_double(st, 6);
        else
            spans[n].end = dni_lease_end_time(s, spans[n].start,
                                              dni__col_double(st, 4),
                                              dni__col_double(st, 5));
        n++;
    }
    dni__reset(st);
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

int dni__call_attribute_why(dni_db_t *db, const char *sid, const char *to,
                            const dni_pool_settings_t *s, double start,
                            const char *reason)
{
    /* What the call holds now; a match set by hand is never undone. */
    dni_stmt_t *st = dni__stmt(
        db, "SELECT kind, lease_edge, lease_id, manual_at IS NOT NULL,"
            " (SELECT started_at FROM call_changes h WHERE h.sid = calls.sid"
            " ORDER BY id DESC LIMIT 1), status FROM calls WHERE sid = ?1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, sid);
    if (dni__step(st) != DNI_ROW) {
        dni__reset(st);
        return 0;
    }
    dni_call_match_t prev;
    dni__call_match_read(&prev, st, 0);
    int manual = dni__col_int(st, 3);
    int had_history = !dni__col_is_null(st, 4);
    double prev_start = dni__col_double(st, 4);
    /* Only a completed call owes a postback (dni__postback_consider). */
    const char *status = dni__col_text(st, 5);
    int completed = status && !strcmp(status, "completed");
    dni__reset(st);
    if (manual)
        return 0;

    int found = 0;
    dni_call_match_t now;
    memset(&now, 0, sizeof now);
    cJSON *cands = dni__attribute_call(db, s, to, start, &found, now.edge,
                                       sizeof now.edge, now.lease,
                                       sizeof now.lease, &now.likelihood);
    snprintf(now.kind, sizeof now.kind, "%s", found ? "session" : "unattributed");
    char *text = cJSON_PrintUnformatted(cands);
    cJSON_Delete(cands);
    /* The row is written only when something differs: a sync that
     * revisits a call whose attribution stands costs one read. */
    st = dni__stmt(
        db, "UPDATE calls SET kind = ?2, lease_edge = ?3, lease_id = ?4,"
            " likelihood = ?5, candidates = ?6 WHERE sid = ?1 AND"
            " (kind IS DISTINCT FROM ?2 OR lease_edge IS DISTINCT FROM ?3"
            " OR lease_id IS DISTINCT FROM ?4 OR likelihood IS DISTINCT FROM ?5"
            " OR candidates IS DISTINCT FROM ?6)");
    if (!st || !text) {
        free(text);
        return -1;
    }
    dni__bind_text(st, 1, sid);
    dni__bind_text(st, 2, now.kind);
    if (found) {
        dni__bind_text(st, 3, now.edge);
        dni__bind_text(st, 4, now.lease);
        dni__bind_double(st, 5, now.likelihood);
    }
    dni__bind_text_copy(st, 6, text);
    free(text);
    int rc = dni__step(st);
    int changed = dni__changes(db);
    dni__reset(st);
    if (rc != DNI_DONE)
        return -1;
    /* The history keeps what a reviewer asks about: which session the
     * call went to and the start that decided it (a likelihood or the
     * candidate list alone changing is not a change of attribution). */
    int moved = !dni__call_match_same(&prev, &now);
    if (moved || !had_history || prev_start != start) {
        if (dni__call_change_record(db, sid, reason, NULL, NULL, start, &now,
                                    had_history ? prev_start : NAN,
                                    had_history ? &prev : NULL))
            return -1;
        if (moved && found && completed &&
            dni__postback_consider(db, sid, dni__now()) < 0)
            return -1;
        if (moved && found)
            dni__log_info("call %s attributed to lease %s on %s, likelihood "
                          "%.2f (%s)", sid, now.lease, now.edge,
                          now.likelihood, reason);
        else if (moved)
            dni__log_info("call %s not attributed: no visitor held %s (%s)",
                          sid, to, reason);
    }
    return changed > 0;
}

int dni__call_attribute(dni_db_t *db, const char *sid, const char *to,
                        const dni_pool_settings_t *s, double start)
{
    return dni__call_attribute_why(db, sid, to, s, start, "lease reported");
}
