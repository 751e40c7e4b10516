/*
 * call_changes.c - the history of a call's attribution: every change is
 * a row of call_changes (why, when, by whom, from what to what), written
 * by whoever changed it and read back with the call.
 *
 * Reasons recorded (call_changes.reason):
 *   "webhook"         the first status event of the call attributed it;
 *   "start moved"     a status event moved the call's start (an earlier
 *                     ringing, or a lone final event's CallDuration
 *                     replaced by the first real status event);
 *   "lease reported"  an edge's sync brought a lease the call can belong
 *                     to (the webhook came first), or more of its life;
 *   "voice"           the voice route answered the call (telephony);
 *   "manual"          PATCH, with who (`by`) and an optional note;
 *   "automatic"       PATCH {"automatic": true}: back to the rules.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "origin.h"

void dni__call_match_read(dni_call_match_t *m, dni_stmt_t *st, int col)
{
    memset(m, 0, sizeof *m);
    const char *k = dni__col_text(st, col);
    snprintf(m->kind, sizeof m->kind, "%s", k ? k : "");
    if (!dni__col_is_null(st, col + 1))
        snprintf(m->edge, sizeof m->edge, "%s", dni__col_text(st, col + 1));
    if (!dni__col_is_null(st, col + 2))
        snprintf(m->lease, sizeof m->lease, "%s", dni__col_text(st, col + 2));
}

int dni__call_match_same(const dni_call_match_t *a, const dni_call_match_t *b)
{
    return !strcmp(a->kind, b->kind) && !strcmp(a->edge, b->edge) &&
           !strcmp(a->lease, b->lease);
}

static void bind_opt(dni_stmt_t *st, int i, const char *s)
{
    if (s && *s)
        dni__bind_text_copy(st, i, s);
}

int dni__call_change_record(dni_db_t *db, const char *sid, const char *reason,
                            const char *by, const char *note, double start,
                            const dni_call_match_t *now, double prev_start,
                            const dni_call_match_t *prev)
{
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO call_changes (sid, at, reason, by, note, started_at,"
            " kind, lease_edge, lease_id, likelihood, prev_started_at,"
            " prev_kind, prev_lease_edge, prev_lease_id) VALUES (?1, ?2, ?3,"
            " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    if (!st)
        return -1;
    dni__bind_text(st, 1, sid);
    dni__bind_double(st, 2, dni__now());
    dni__bind_text(st, 3, reason);
    bind_opt(st, 4, by);
    bind_opt(st, 5, note);
    dni__bind_double(st, 6, start);
    dni__bind_text(st, 7, now->kind);
    bind_opt(st, 8, now->edge);
    bind_opt(st, 9, now->lease);
    if (now->lease[0])
        dni__bind_double(st, 10, now->likelihood);
    if (!isnan(prev_start))
        dni__bind_double(st, 11, prev_start);
    if (prev && prev->kind[0]) {
        dni__bind_text(st, 12, prev->kind);
        bind_opt(st, 13, prev->edge);
        bind_opt(st, 14, prev->lease);
    }
    int rc = dni__step_later(st);
    dni__reset(st);
    return rc == DNI_DONE ? 0 : -1;
}

/* {"kind", "edge", "lease", "visitor"} from four columns. */
static cJSON *match_json(dni_stmt_t *st, int col)
{
    cJSON *m = cJSON_CreateObject();
    dni__json_add_text_col(m, "attribution", st, col);
    dni__json_add_text_col(m, "edge", st, col + 1);
    dni__json_add_text_col(m, "lease", st, col + 2);
    dni__json_add_text_col(m, "visitor", st, col + 3);
    return m;
}

cJSON *dni__call_history(dni_db_t *db, const char *sid)
{
    cJSON *arr = cJSON_CreateArray();
    dni_stmt_t *st = dni__stmt(
        db, "SELECT h.at, h.reason, h.by, h.note, h.started_at, h.likelihood,"
            " h.prev_started_at,"
            " h.kind, h.lease_edge, h.lease_id, l.visitor,"
            " h.prev_kind, h.prev_lease_edge, h.prev_lease_id, p.visitor"
            " FROM call_changes h"
            " LEFT JOIN leases l ON l.edge = h.lease_edge AND l.lease = h.lease_id"
            " LEFT JOIN leases p ON p.edge = h.prev_lease_edge"
            " AND p.lease = h.prev_lease_id WHERE h.sid = ?1 ORDER BY h.id");
    if (!st)
        return arr;
    dni__bind_text(st, 1, sid);
    while (dni__step(st) == DNI_ROW) {
        cJSON *c = cJSON_CreateObject();
        dni__json_add_real_col(c, "at", st, 0);
        dni__json_add_text_col(c, "reason", st, 1);
        dni__json_add_text_col(c, "by", st, 2);
        dni__json_add_text_col(c, "note", st, 3);
        dni__json_add_real_col(c, "started_at", st, 4);
        cJSON *to = match_json(st, 7);
        dni__json_add_real_col(to, "likelihood", st, 5);
        cJSON_AddItemToObject(c, "to", to);
        if (dni__col_is_null(st, 11)) {
            cJSON_AddNullToObject(c, "from");
        } else {
            cJSON *from = match_json(st, 11);
            dni__json_add_real_col(from, "started_at", st, 6);
            cJSON_AddItemToObject(c, "from", from);
        }
        cJSON_AddItemToArray(arr, c);
    }
    dni__reset(st);
    return arr;
}
