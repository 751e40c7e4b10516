/*
 * webhook.c - POST /v1/webhooks/call: call status events from the
 * telephony provider, as form fields (with X-Twilio-Signature when an auth
 * token is configured) or as JSON with the same field names.
 *
 * Idempotent per (CallSid, status): the event row is inserted first and a
 * duplicate changes nothing. Arrival order does not matter: the call's
 * state is the highest-ranked status seen (ringing < in-progress < final;
 * among equals the higher SequenceNumber), and its start is the time of
 * its first status event (dni__call_start_of(): a final event's
 * CallDuration counts only while no other status event is known), so any
 * permutation of the same events gives the same row. Attribution runs at
 * the call's start; when an event moves the start, the call is attributed
 * again at the new start and the call's history says so.
 */
#define _GNU_SOURCE

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "origin.h"

#define MAX_PAIRS 128

/* Reads a plain decimal: digits, and a fraction when fraction is set; no
 * sign, exponent, hex, spaces, or more than 20 characters. 0 or -1. */
static int plain_decimal(const char *s, int fraction, double *out)
{
    size_t n = strlen(s), digits = strspn(s, "0123456789");
    if (!digits || n > 20)
        return -1;
    if (digits < n) {
        if (!fraction || s[digits] != '.' ||
            strspn(s + digits + 1, "0123456789") != n - digits - 1 ||
            digits + 1 == n)
            return -1;
    }
    *out = strtod(s, NULL);
    return isfinite(*out) ? 0 : -1;
}

/* Times before 1970 or from 2100 on are refused: no provider sends them,
 * and a far-off time would pin a call outside every report. */
#define LATEST_TIME 4102444800.0 /* 2100-01-01 */

/* Unix seconds from a number, RFC 2822 ("Mon, 16 Aug 2010 03:45:01 +0000")
 * or ISO 8601 ("2010-08-16T03:45:01Z"); NAN when it is none of them. */
static double parse_time(const char *s)
{
    double v;
    if (!plain_decimal(s, 1, &v))
        return v < LATEST_TIME ? v : NAN;
    struct tm tm;
    const char *formats[] = {"%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z",
                             "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ",
                             NULL};
    for (int i = 0; formats[i]; i++) {
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(s, formats[i], &tm);
        if (rest && !*rest) {
            long off = tm.tm_gmtoff;
            double t = (double)(timegm(&tm) - off);
            return t >= 0 && t < LATEST_TIME ? t : NAN;
        }
    }
    return NAN;
}

typedef struct call_event {
    char sid[65];
    char to[20];
    char from[64];
    char status[16];
    double t;
    long long seq;
    double duration; /* CallDuration of a completed call, or -1 */
} call_event_t;

typedef struct webhook_job {
    call_event_t ev;
    const char *reason; /* for the call's history: NULL "webhook", "voice" */
    int duplicate;
    cJSON *result;
    char msg[128];
} webhook_job_t;

/* Fills *ev from name/value lookups; returns NULL or the 422 reason. */
static const char *read_event(call_event_t *ev,
                              const char *(*get)(void *, const char *),
                              void *ud)
{
    /* The forwarded leg of a call answered by POST /v1/voice reports as
     * its own call with ParentCallSid: its events belong to the caller's
     * call (the one the tracking number received). */
    const char *parent = get(ud, "ParentCallSid");
    const char *sid = parent && *parent ? parent : get(ud, "CallSid"),
               *to = get(ud, "To"),
               *from = get(ud, "From"), *status = get(ud, "CallStatus"),
               *ts = get(ud, "Timestamp"), *seq = get(ud, "SequenceNumber"),
               *dur = get(ud, "CallDuration");
    memset(ev, 0, sizeof *ev);
    if (!sid || !*sid || strlen(sid) > 64)
        return "CallSid is required (at most 64 characters)";
    if (strspn(sid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-") != strlen(sid))
        return "CallSid has characters outside A-Z a-z 0-9 _ -";
    snprintf(ev->sid, sizeof ev->sid, "%s", sid);
    dni_phone_t ph;
    if (!to || dni_phone_parse(&ph, to, strlen(to), NULL) != DNI_OK)
        return "To must be a phone number";
    snprintf(ev->to, sizeof ev->to, "%s", ph.e164);
    snprintf(ev->from, sizeof ev->from, "%s", from ? from : "");
    if (!status || !dni__call_status_rank(status))
        return "CallStatus must be ringing, in-progress, completed, busy, "
               "no-answer, failed or canceled";
    snprintf(ev->status, sizeof ev->status, "%s", status);
    ev->t = ts && *ts ? parse_time(ts) : dni__now();
    if (!isfinite(ev->t))
        return "Timestamp must be a date (RFC 2822, ISO 8601 or Unix "
               "seconds) between 1970 and 2100";
    ev->seq = 0;
    if (seq && *seq) {
        double v;
        if (plain_decimal(seq, 0, &v) || v > 9007199254740991.0)
            return "SequenceNumber must be a whole number below 2^53";
        ev->seq = (long long)v;
    }
    ev->duration = -1;
    if (dur && *dur) {
        if (plain_decimal(dur, 1, &ev->duration) || ev->duration > 1e7)
            return "CallDuration must be a number of seconds (at most "
                   "10,000,000)";
    }
    return NULL;
}

typedef struct form_src {
    dni_form_pair_t *pairs;
    int n;
} form_src_t;

static const char *form_get(void *ud, const char *name)
{
    form_src_t *f = ud;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->pairs[i].name, name))
            return f->pairs[i].value;
    return NULL;
}

/* JSON fields may be strings or numbers; numbers are printed into a
 * scratch buffer per field so both forms read the same. */
typedef struct json_src {
    const cJSON *obj;
    char scratch[8][64];
    int used;
} json_src_t;

static const char *json_get(void *ud, const char *name)
{
    json_src_t *j = ud;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->obj, name);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v) && j->used < 8) {
        char *b = j->scratch[j->used++];
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
            snprintf(b, 64, "%.0f", v->valuedouble);
        else
            snprintf(b, 64, "%.6f", v->valuedouble);
        return b;
    }
    return NULL;
}

/* The pool whose settings apply to a number, and how the number relates
 * to it: "session" (a pool number), "default", "overflow"; or none. */
static cJSON *find_pool(dni_db_t *db, const char *number, const char **kind)
{
    *kind = "unknown";
    /* A pool number: its pool's settings come with it. */
    dni_stmt_t *st = dni__stmt(db, "SELECT n.pool_id, p.settings FROM numbers n"
                                   " LEFT JOIN pools p ON p.id = n.pool_id"
                                   " WHERE n.number = ?1");
    char id[80] = "";
    if (!st)
        return NULL;
    dni__bind_text(st, 1, number);
    if (dni__step(st) == DNI_ROW) {
        snprintf(id, sizeof id, "%s", dni__col_text(st, 0));
        *kind = "session";
        cJSON *settings = cJSON_Parse(dni__col_text(st, 1));
        dni__reset(st);
        return settings;
    }
    dni__reset(st);
    if (!id[0]) {
        /* A default number may be shared by pools with different traffic
         * sources; the call is counted for the first pool by id. */
        st = dni__stmt(db, "SELECT id, overflow_number = ?1 FROM pools"
                           " WHERE default_number = ?1 OR overflow_number = ?1"
                           " ORDER BY overflow_number = ?1 DESC, id LIMIT 1");
        if (!st)
            return NULL;
        dni__bind_text(st, 1, number);
        if (dni__step(st) == DNI_ROW) {
            snprintf(id, sizeof id, "%s", dni__col_text(st, 0));
            *kind = dni__col_int(st, 1) ? "overflow" : "default";
        }
        dni__reset(st);
    }
    return id[0] ? dni__pool_load_settings(db, id) : NULL;
}

static int attribute(dni_db_t *db, const char *sid, const char *to,
                     const cJSON *pool, double start, const char *reason)
{
    dni_pool_settings_t s;
    dni__pool_settings(pool, &s);
    return dni__call_attribute_why(db, sid, to, &s, start, reason) < 0 ? -1 : 0;
}

static int webhook_job(dni_db_t *db, void *arg)
{
    webhook_job_t *j = arg;
    call_event_t *ev = &j->ev;
    double now = dni__now();
    int rank = dni__call_status_rank(ev->status);
    dni_stmt_t *st = dni__stmt(
        db, "INSERT INTO call_events (sid, status, t, sequence,"
            " received_at, duration) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            " ON CONFLICT DO NOTHING");
    if (!st)
        return 500;
    dni__bind_text(st, 1, ev->sid);
    dni__bind_text(st, 2, ev->status);
    dni__bind_double(st, 3, ev->t);
    dni__bind_int64(st, 4, ev->seq);
    dni__bind_double(st, 5, now);
    if (rank == 3 && ev->duration >= 0)
        dni__bind_double(st, 6, ev->duration);
    if (dni__step(st) != DNI_DONE)
        return dni__reset(st), 500;
    dni__reset(st);
    if (dni__changes(db) == 0) {
        j->duplicate = 1;
        return 200;
    }
    /* When the call started, from every status event so far (the rule is
     * dni__call_start_of()'s): the same whatever their order. */
    double start = ev->t;
    if (dni__call_start_of(db, ev->sid, &start))
        return 500;

    st = dni__stmt(db, "SELECT status_rank, status_seq, started_at, to_number,"
                       " pool_id, kind FROM calls WHERE sid = ?1");
    if (!st)
        return 500;
    dni__bind_text(st, 1, ev->sid);
    int exists = dni__step(st) == DNI_ROW;
    int cur_rank = 0;
    long long cur_seq = 0;
    double cur_start = 0;
    char kind[16] = "", pool_id[80] = "";
    if (exists) {
        cur_rank = dni__col_int(st, 0);
        cur_seq = dni__col_int64(st, 1);
        cur_start = dni__col_double(st, 2);
        if (!dni__col_is_null(st, 4))
            snprintf(pool_id, sizeof pool_id, "%s", dni__col_text(st, 4));
        snprintf(kind, sizeof kind, "%s", dni__col_text(st, 5));
    }
    dni__reset(st);

    cJSON *pool = NULL;
    int reattribute = 0;
    if (!exists) {
        const char *k;
        pool = find_pool(db, ev->to, &k);
        st = dni__stmt(
            db, "INSERT INTO calls (sid, pool_id, to_number, from_number,"
                " status, status_rank, status_seq, active, started_at,"
                " ended_at, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                " ?9, ?10, ?11)");
        if (!st) {
            cJSON_Delete(pool);
            return 500;
        }
        dni__bind_text(st, 1, ev->sid);
        const cJSON *pid = pool ? cJSON_GetObjectItemCaseSensitive(pool, "id") : NULL;
        if (cJSON_IsString(pid))
            dni__bind_text(st, 2, pid->valuestring);
        dni__bind_text(st, 3, ev->to);
        dni__bind_text(st, 4, ev->from);
        dni__bind_text(st, 5, ev->status);
        dni__bind_int(st, 6, rank);
        dni__bind_int64(st, 7, ev->seq);
        dni__bind_int(st, 8, rank < 3);
        dni__bind_double(st, 9, start);
        if (rank == 3)
            dni__bind_double(st, 10, ev->t);
        dni__bind_text(st, 11, k);
        int rc = dni__step_later(st);
        dni__reset(st);
        if (rc != DNI_DONE) {
            cJSON_Delete(pool);
            return 500;
        }
        reattribute = !strcmp(k, "session");
        if (!reattribute) {
            /* Default, overflow or unknown number: the history still
             * says what the call was taken for. */
            dni_call_match_t m;
            memset(&m, 0, sizeof m);
            snprintf(m.kind, sizeof m.kind, "%s", k);
            if (dni__call_change_record(db, ev->sid,
                                        j->reason ? j->reason : "webhook", NULL, NULL,
                                        start, &m, NAN, NULL)) {
                cJSON_Delete(pool);
                return 500;
            }
        }
        /* A later sync re-attributes this call if it brings its lease. */
        dni__recent_call_note(db, ev->to, start);
    } else {
        int newer = rank > cur_rank || (rank == cur_rank && ev->seq > cur_seq);
        st = dni__stmt(
            db, "UPDATE calls SET"
                " status = CASE WHEN ?2 THEN ?3 ELSE status END,"
                " status_rank = CASE WHEN ?2 THEN ?4 ELSE status_rank END,"
                " status_seq = CASE WHEN ?2 THEN ?5 ELSE status_seq END,"
                " active = CASE WHEN active = 1 AND ?4 < 3 THEN 1 ELSE 0 END,"
                " ended_at = CASE WHEN ?4 <> 3 THEN ended_at"
                " WHEN status = 'expired' THEN ?6"   /* call_expiry.c */
                " ELSE coalesce(max(ended_at, ?6), ?6) END,"
                " started_at = ?7 WHERE sid = ?1");
        if (!st)
            return 500;
        dni__bind_text(st, 1, ev->sid);
        dni__bind_int(st, 2, newer);
        dni__bind_text(st, 3, ev->status);
        dni__bind_int(st, 4, rank);
        dni__bind_int64(st, 5, ev->seq);
        dni__bind_double(st, 6, ev->t);
        dni__bind_double(st, 7, start);
        int rc = dni__step(st);
        dni__reset(st);
        if (rc != DNI_DONE)
            return 500;
        if (start != cur_start && pool_id[0] &&
            (!strcmp(kind, "session") || !strcmp(kind, "unattributed"))) {
            pool = dni__pool_load_settings(db, pool_id);
            reattribute = pool != NULL;
            if (start < cur_start)
                dni__recent_call_note(db, ev->to, start);
        }
    }
    if (reattribute) {
        /* The row's started_at is start: both statements above set it. */
        if (attribute(db, ev->sid, ev->to, pool, start,
                      exists ? "start moved" : j->reason ? j->reason : "webhook")) {
            cJSON_Delete(pool);
            return 500;
        }
    }
    cJSON_Delete(pool);
    /* A call that completed may owe its pool's postback. */
    if (rank == 3 && dni__postback_consider(db, ev->sid, now) < 0)
        return 500;
    return 200;
}

int dni__call_event_record(dni_db_t *db, const char *sid, const char *to,
                           const char *from, const char *status, double t,
                           int *duplicate)
{
    webhook_job_t j;
    memset(&j, 0, sizeof j);
    snprintf(j.ev.sid, sizeof j.ev.sid, "%s", sid);
    snprintf(j.ev.to, sizeof j.ev.to, "%s", to);
    snprintf(j.ev.from, sizeof j.ev.from, "%s", from ? from : "");
    snprintf(j.ev.status, sizeof j.ev.status, "%s", status);
    j.ev.t = t;
    j.ev.duration = -1;
    j.reason = "voice";
    int rc = webhook_job(db, &j);
    *duplicate = j.duplicate;
    return rc;
}

/* The fields read from an event; a form may repeat none of them with a
 * different value (which copy would count is anyone's guess). */
static const char *const event_fields[] = {"CallSid",    "To",
                                           "From",       "CallStatus",
                                           "Timestamp",  "SequenceNumber",
                                           "CallDuration", NULL};

static const char *form_conflict(const dni_form_pair_t *pairs, int n)
{
    for (int f = 0; event_fields[f]; f++) {
        const char *first = NULL;
        for (int i = 0; i < n; i++) {
            if (strcmp(pairs[i].name, event_fields[f]))
                continue;
            if (first && strcmp(first, pairs[i].value))
                return event_fields[f];
            first = pairs[i].value;
        }
    }
    return NULL;
}

void dni__webhook_handle(dni_origin_t *o, const dni_req_t *r,
                         dni_resp_t *resp)
{
    int is_form = dni__req_is_form(r), is_json = dni__req_is_json(r);
    if (!is_form && !is_json) {
        dni__resp_error(resp, 415, "Content-Type must be "
                                   "application/x-www-form-urlencoded or "
                                   "application/json");
        return;
    }
    webhook_job_t j;
    memset(&j, 0, sizeof j);
    const char *err;
    if (is_form) {
        dni_form_pair_t pairs[MAX_PAIRS];
        int n = dni__form_parse(r->body, r->body_len, pairs, MAX_PAIRS);
        if (n < 0) {
            dni__resp_error(resp, 400, DNI_FORM_INVALID);
            return;
        }
        if (!dni__request_signed(o, r, pairs, n)) {
            dni__form_free(pairs, n);
            dni__resp_error(resp, 403, "missing or wrong X-Twilio-Signature");
            return;
        }
        const char *twice = form_conflict(pairs, n);
        if (twice) {
            dni__form_free(pairs, n);
            dni__resp_errorf(resp, 422, "%s is given twice with different "
                                        "values", twice);
            return;
        }
        form_src_t src = {pairs, n};
        err = read_event(&j.ev, form_get, &src);
        dni__form_free(pairs, n);
    } else {
        if (!dni__request_signed(o, r, NULL, 0)) {
            dni__resp_error(resp, 403, "missing or wrong X-Twilio-Signature");
            return;
        }
        cJSON *body = dni__req_json(r, resp);
        if (!body)
            return;
        if (!cJSON_IsObject(body)) {
            cJSON_Delete(body);
            dni__resp_error(resp, 422, "a call event is a JSON object");
            return;
        }
        json_src_t src;
        memset(&src, 0, sizeof src);
        src.obj = body;
        err = read_event(&j.ev, json_get, &src);
        cJSON_Delete(body);
    }
    if (err) {
        dni__resp_error(resp, 422, err);
        return;
    }
    int status = dni__store_write(o->store, webhook_job, &j);
    if (status >= 400) {
        dni__resp_error(resp, status, "database error");
        return;
    }
    if (j.duplicate)
        dni__metrics_add_duplicate(1);
    else
        dni__log_info("call %s: %s, to %s", j.ev.sid, j.ev.status, j.ev.to);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "sid", j.ev.sid);
    cJSON_AddStringToObject(out, "status", j.ev.status);
    cJSON_AddBoolToObject(out, "duplicate", j.duplicate);
    dni__resp_json(resp, 200, out);
}
