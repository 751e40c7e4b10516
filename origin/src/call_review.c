/*
 * call_review.c - attribution a person can review: PATCH /v1/calls/{sid}
 * sets a call's match by hand (or gives it back to the rules), and
 * dni__call_start_of() says when a call began. Every change lands in the
 * call's history (call_changes.c).
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
