/*
 * call_review.c - attribution a person can review: the history of every
 * change of a call's attribution (why, when, by whom, from what to what)
 * and PATCH /v1/calls/{sid}, which sets the match by hand.
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
 *
 * A manual match (calls.manual_at set) is final for the automatic paths:
 * dni__call_attribute_why() leaves such a call alone, so a lease reported
 * later never undoes a person's decision.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    int rc = dni__step(st);
    dni__reset(st);
    return rc == DNI_DONE ? 0 : -1;
}

static void add_text(cJSON *o, const char *key, dni_stmt_t *st, int col)
{
    if (dni__col_is_null(st, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, dni__col_text(st, col));
}

static void add_real(cJSON *o, const char *key, dni_stmt_t *st, int col)
{
    if (dni__col_is_null(st, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, dni__col_double(st, col));
}

/* {"kind", "edge", "lease", "visitor"} from four columns. */
static cJSON *match_json(dni_stmt_t *st, int col)
{
    cJSON *m = cJSON_CreateObject();
    add_text(m, "attribution", st, col);
    add_text(m, "edge", st, col + 1);
    add_text(m, "lease", st, col + 2);
    add_text(m, "visitor", st, col + 3);
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
        add_real(c, "at", st, 0);
        add_text(c, "reason", st, 1);
        add_text(c, "by", st, 2);
        add_text(c, "note", st, 3);
        add_real(c, "started_at", st, 4);
        cJSON *to = match_json(st, 7);
        add_real(to, "likelihood", st, 5);
        cJSON_AddItemToObject(c, "to", to);
        if (dni__col_is_null(st, 11)) {
            cJSON_AddNullToObject(c, "from");
        } else {
            cJSON *from = match_json(st, 11);
            add_real(from, "started_at", st, 6);
            cJSON_AddItemToObject(c, "from", from);
        }
        cJSON_AddItemToArray(arr, c);
    }
    dni__reset(st);
    return arr;
}

/* ---- PATCH /v1/calls/{sid} --------------------------------------------- */

typedef struct override_job {
    const char *sid;
    const char *session; /* lease id, or NULL: "no session" */
    const char *edge;    /* optional, when lease ids repeat across edges */
    const char *by, *note;
    int automatic;       /* give the call back to the rules */
    char msg[160];
} override_job_t;

static int override_job(dni_db_t *db, void *arg)
{
    override_job_t *j = arg;
    dni_stmt_t *st = dni__stmt(
        db, "SELECT kind, lease_edge, lease_id, to_number, started_at,"
            " pool_id, candidates FROM calls WHERE sid = ?1");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->sid);
    if (dni__step(st) != DNI_ROW) {
        dni__reset(st);
        snprintf(j->msg, sizeof j->msg, "no such call");
        return 404;
    }
    dni_call_match_t prev, now;
    dni__call_match_read(&prev, st, 0);
    char to[24], pool[80] = "";
    snprintf(to, sizeof to, "%s", dni__col_text(st, 3));
    double start = dni__col_double(st, 4);
    if (!dni__col_is_null(st, 5))
        snprintf(pool, sizeof pool, "%s", dni__col_text(st, 5));
    dni__reset(st);

    if (j->automatic) {
        st = dni__stmt(db, "UPDATE calls SET manual_by = NULL, manual_at ="
                           " NULL WHERE sid = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->sid);
        int rc = dni__step(st);
        dni__reset(st);
        if (rc != DNI_DONE)
            return 500;
        cJSON *ps = pool[0] ? dni__pool_load_settings(db, pool) : NULL;
        if (!ps || (strcmp(prev.kind, "session") && strcmp(prev.kind, "unattributed"))) {
            cJSON_Delete(ps);
            return dni__call_change_record(db, j->sid, "automatic", j->by,
                                           j->note, start, &prev, start, &prev)
                       ? 500
                       : 200;
        }
        dni_pool_settings_t s;
        dni__pool_settings(ps, &s);
        cJSON_Delete(ps);
        /* Recorded as a change even when the rules agree with the hand. */
        rc = dni__call_change_record(db, j->sid, "automatic", j->by, j->note,
                                     start, &prev, start, &prev);
        if (rc || dni__call_attribute_why(db, j->sid, to, &s, start,
                                          "automatic") < 0)
            return 500;
        return 200;
    }

    memset(&now, 0, sizeof now);
    if (j->session) {
        /* Any lease on the called number (every candidate is one). */
        st = dni__stmt(db, "SELECT edge, lease FROM leases WHERE lease = ?1"
                           " AND number = ?2 AND (edge = ?3 OR ?3 IS NULL)"
                           " ORDER BY start DESC LIMIT 2");
        if (!st)
            return 500;
        dni__bind_text(st, 1, j->session);
        dni__bind_text(st, 2, to);
        if (j->edge)
            dni__bind_text(st, 3, j->edge);
        int n = 0;
        while (dni__step(st) == DNI_ROW) {
            if (n++ == 0) {
                snprintf(now.edge, sizeof now.edge, "%s", dni__col_text(st, 0));
                snprintf(now.lease, sizeof now.lease, "%s",
                         dni__col_text(st, 1));
            }
        }
        dni__reset(st);
        if (n == 0) {
            snprintf(j->msg, sizeof j->msg,
                     "session is not a lease on the called number %s", to);
            return 422;
        }
        if (n > 1) {
            snprintf(j->msg, sizeof j->msg,
                     "two edges have a lease with this id: give \"edge\" too");
            return 422;
        }
        snprintf(now.kind, sizeof now.kind, "session");
        now.likelihood = 1;
    } else {
        snprintf(now.kind, sizeof now.kind, "unattributed");
    }
    double at = dni__now();
    st = dni__stmt(
        db, "UPDATE calls SET kind = ?2, lease_edge = ?3, lease_id = ?4,"
            " likelihood = ?5, manual_by = ?6, manual_at = ?7 WHERE sid = ?1");
    if (!st)
        return 500;
    dni__bind_text(st, 1, j->sid);
    dni__bind_text(st, 2, now.kind);
    if (now.lease[0]) {
        dni__bind_text(st, 3, now.edge);
        dni__bind_text(st, 4, now.lease);
        dni__bind_double(st, 5, 1.0);
    }
    dni__bind_text(st, 6, j->by);
    dni__bind_double(st, 7, at);
    int rc = dni__step(st);
    dni__reset(st);
    if (rc != DNI_DONE)
        return 500;
    if (dni__call_change_record(db, j->sid, "manual", j->by, j->note, start,
                                &now, start, &prev))
        return 500;
    if (now.lease[0] && !dni__call_match_same(&prev, &now) &&
        dni__postback_consider(db, j->sid, at) < 0)
        return 500;
    return 200;
}

/* Reads an optional string field of at most max bytes; NULL when absent
 * or null. Sets *bad when it is there but is not such a string. */
static const char *opt_str(const cJSON *body, const char *key, size_t max,
                           int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > max) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

void dni__call_patch(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    cJSON *body = dni__req_json(r, resp);
    if (!body)
        return;
    override_job_t j;
    memset(&j, 0, sizeof j);
    j.sid = r->id;
    const cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        if (strcmp(it->string, "session") && strcmp(it->string, "lease") &&
            strcmp(it->string, "edge") &&
            strcmp(it->string, "by") && strcmp(it->string, "note") &&
            strcmp(it->string, "automatic")) {
            dni__resp_errorf(resp, 422, "unknown field \"%s\"", it->string);
            cJSON_Delete(body);
            return;
        }
    }
    /* "lease" is the same as "session" (the candidates list them so). */
    const char *skey = cJSON_GetObjectItemCaseSensitive(body, "session") ? "session" : "lease";
    if (cJSON_GetObjectItemCaseSensitive(body, "session") &&
        cJSON_GetObjectItemCaseSensitive(body, "lease")) {
        dni__resp_error(resp, 422, "give session or lease, not both");
        cJSON_Delete(body);
        return;
    }
    const cJSON *sess = cJSON_GetObjectItemCaseSensitive(body, skey);
    const cJSON *autom = cJSON_GetObjectItemCaseSensitive(body, "automatic");
    int bad = 0;
    j.session = opt_str(body, skey, 128, &bad);
    const char *err = NULL;
    if (bad)
        err = "session must be a lease id (1..128 characters) or null";
    j.edge = opt_str(body, "edge", 64, &bad);
    if (!err && bad)
        err = "edge must be an edge id (1..64 characters)";
    j.by = opt_str(body, "by", 100, &bad);
    if (!err && bad)
        err = "by must be a name (1..100 characters)";
    j.note = opt_str(body, "note", 1000, &bad);
    if (!err && bad)
        err = "note must be text (1..1000 characters)";
    if (!err && autom && !cJSON_IsBool(autom))
        err = "automatic must be true or false";
    j.automatic = cJSON_IsTrue(autom);
    if (!err && j.automatic && sess)
        err = "give either session or automatic, not both";
    if (!err && !j.automatic && !sess)
        err = "session is required: a lease id on the called number, or null";
    if (err) {
        dni__resp_error(resp, 422, err);
        cJSON_Delete(body);
        return;
    }
    if (!j.by)
        j.by = "admin";
    int status = dni__store_write(o->store, override_job, &j);
    cJSON_Delete(body);
    if (status >= 400) {
        dni__resp_error(resp, status, j.msg[0] ? j.msg : "database error");
        return;
    }
    dni__call_show(o, j.sid, resp);
}

/* ---- when a call started ----------------------------------------------- */

/*
 * The start of call sid is the time of its first status event that is not
 * final (ringing, in-progress, or the voice route's); only when the call
 * has none, a final event's time minus its CallDuration (a lone
 * "completed" still knows when the call began). A duration therefore never
 * moves the start before the first status event: a hand-typed "completed"
 * with a long duration cannot push the call before the visit and
 * un-attribute it.
 */
int dni__call_start_of(dni_db_t *db, const char *sid, double *start)
{
    dni_stmt_t *st = dni__stmt(
        db, "SELECT min(CASE WHEN status NOT IN ('completed', 'busy',"
            " 'no-answer', 'failed', 'canceled') THEN t END),"
            " min(t - coalesce(duration, 0)) FROM call_events WHERE sid = ?1");
    if (!st)
        return -1;
    dni__bind_text(st, 1, sid);
    int rc = dni__step(st);
    if (rc == DNI_ROW) {
        if (!dni__col_is_null(st, 0))
            *start = dni__col_double(st, 0);
        else if (!dni__col_is_null(st, 1))
            *start = dni__col_double(st, 1);
    }
    dni__reset(st);
    return rc == DNI_ROW ? 0 : -1;
}
