/*
 * calls.c - GET /v1/calls (filters pool, since, until, status,
 * attributed; cursor pagination) and GET /v1/calls/{sid}: each call with
 * its attribution, the session of the chosen lease (visitor, tags,
 * referrer, landing URL, click ids), the likelihood and every candidate;
 * the single call also with the history of its attribution, who set it by
 * hand, and its postback. PATCH /v1/calls/{sid} is call_review.c.
 *
 * Pagination: newest first (by insertion); next_cursor is an opaque
 * string (the last row's id) to pass as ?cursor= for the next, older
 * page, null on the last page. Calls inserted meanwhile appear on the
 * first page of a new walk, never twice in one.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

#define CALL_COLUMNS                                                          \
    "SELECT c.id, c.sid, c.pool_id, c.to_number, c.from_number, c.status,"    \
    " c.active, c.started_at, c.ended_at, c.kind, c.likelihood,"              \
    " c.candidates, l.edge, l.lease, l.visitor, l.tags, l.referrer, l.url,"   \
    " c.manual_by, c.manual_at, l.start, c.end_reason"                        \
    " FROM calls c LEFT JOIN leases l ON l.edge = c.lease_edge"               \
    " AND l.lease = c.lease_id"

static cJSON *call_row(dni_stmt_t *st)
{
    cJSON *c = cJSON_CreateObject();
    dni__json_add_text_col(c, "sid", st, 1);
    dni__json_add_text_col(c, "pool", st, 2);
    dni__json_add_text_col(c, "to", st, 3);
    dni__json_add_text_col(c, "from", st, 4);
    dni__json_add_text_col(c, "status", st, 5);
    cJSON_AddBoolToObject(c, "in_progress", dni__col_int(st, 6));
    dni__json_add_real_col(c, "started_at", st, 7);
    dni__json_add_real_col(c, "ended_at", st, 8);
    dni__json_add_text_col(c, "end_reason", st, 21);
    dni__json_add_text_col(c, "attribution", st, 9);
    dni__json_add_real_col(c, "likelihood", st, 10);
    cJSON *cands = cJSON_Parse(dni__col_text(st, 11));
    cJSON_AddItemToObject(c, "candidates", cands ? cands : cJSON_CreateArray());
    if (dni__col_is_null(st, 13)) {
        cJSON_AddNullToObject(c, "session");
    } else {
        cJSON *s = cJSON_AddObjectToObject(c, "session");
        dni__json_add_text_col(s, "edge", st, 12);
        dni__json_add_text_col(s, "lease", st, 13);
        dni__json_add_text_col(s, "visitor", st, 14);
        cJSON *tags = dni__col_is_null(st, 15)
                          ? NULL
                          : cJSON_Parse(dni__col_text(st, 15));
        cJSON_AddItemToObject(s, "tags", tags ? tags : cJSON_CreateObject());
        dni__json_add_text_col(s, "referrer", st, 16);
        dni__json_add_text_col(s, "landing_url", st, 17);
        dni__json_add_real_col(s, "started_at", st, 20);
        cJSON_AddItemToObject(s, "click_ids", dni__click_ids(tags, dni__col_text(st, 17)));
    }
    if (dni__col_is_null(st, 19)) {
        cJSON_AddNullToObject(c, "manual");
    } else {
        cJSON *m = cJSON_AddObjectToObject(c, "manual");
        dni__json_add_text_col(m, "by", st, 18);
        dni__json_add_real_col(m, "at", st, 19);
    }
    return c;
}

void dni__call_show(dni_origin_t *o, const char *sid, dni_resp_t *resp)
{
    dni_db_t *db = dni__store_reader(o->store);
    dni_stmt_t *st = dni__stmt(db, CALL_COLUMNS " WHERE c.sid = ?1");
    cJSON *c = NULL;
    if (st) {
        dni__bind_text(st, 1, sid);
        if (dni__step(st) == DNI_ROW)
            c = call_row(st);
        dni__reset(st);
    }
    if (c) {
        cJSON_AddItemToObject(c, "history", dni__call_history(db, sid));
        cJSON_AddItemToObject(c, "postback", dni__postback_json(db, sid));
    }
    dni__store_reader_done(o->store, db);
    if (!c)
        dni__resp_error(resp, 404, "no such call");
    else
        dni__resp_json(resp, 200, c);
}

/* A query argument as Unix seconds; 0 when absent, -1 (after answering
 * 400) when malformed. */
static int time_arg(const dni_req_t *r, const char *name, double *out,
                    dni_resp_t *resp)
{
    const char *v = dni__req_query(r, name);
    if (!v)
        return 0;
    char *end;
    *out = strtod(v, &end);
    if (!*v || *end || !isfinite(*out)) {
        dni__resp_errorf(resp, 400, "%s must be Unix seconds", name);
        return -1;
    }
    return 1;
}

void dni__calls_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *pool = dni__req_query(r, "pool");
    const char *status = dni__req_query(r, "status");
    const char *attributed = dni__req_query(r, "attributed");
    const char *cursor = dni__req_query(r, "cursor");
    char *end;
    double since_v = -1e300, until_v = 1e300;
    long long lim, cur = INT64_MAX;
    if (time_arg(r, "since", &since_v, resp) < 0 ||
        time_arg(r, "until", &until_v, resp) < 0)
        return;
    if (dni__req_query_whole(r, "limit", 1, 1000, 100, 400, &lim, resp) < 0)
        return;
    if (cursor) {
        cur = strtoll(cursor, &end, 10);
        if (!*cursor || *end || cur < 0) {
            dni__resp_error(resp, 400, "cursor is not one this server gave");
            return;
        }
    }
    if (status && !dni__call_status_rank(status)) {
        dni__resp_error(resp, 400, "status must be a call status (ringing, "
                                   "in-progress, completed, busy, no-answer, "
                                   "failed, canceled)");
        return;
    }
    int attr = -1;
    if (attributed) {
        if (!strcmp(attributed, "1") || !strcmp(attributed, "true"))
            attr = 1;
        else if (!strcmp(attributed, "0") || !strcmp(attributed, "false"))
            attr = 0;
        else {
            dni__resp_error(resp, 400, "attributed must be 1 or 0");
            return;
        }
    }
    dni_db_t *db = dni__store_reader(o->store);
    dni_stmt_t *st = dni__stmt(
        db, CALL_COLUMNS " WHERE c.id < ?1 AND (c.pool_id = ?2 OR ?2 IS NULL)"
                         " AND c.started_at >= ?3 AND c.started_at < ?4"
                         " AND (c.status = ?5 OR ?5 IS NULL)"
                         " AND ((c.kind = 'session') = ?6 OR ?6 IS NULL)"
                         " ORDER BY c.id DESC LIMIT ?7");
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "calls");
    long long last = -1, n = 0;
    if (st) {
        dni__bind_int64(st, 1, cur);
        if (pool)
            dni__bind_text(st, 2, pool);
        dni__bind_double(st, 3, since_v);
        dni__bind_double(st, 4, until_v);
        if (status)
            dni__bind_text(st, 5, status);
        if (attr >= 0)
            dni__bind_int(st, 6, attr);
        dni__bind_int64(st, 7, lim);
        while (dni__step(st) == DNI_ROW) {
            cJSON_AddItemToArray(arr, call_row(st));
            last = dni__col_int64(st, 0);
            n++;
        }
        dni__reset(st);
    }
    dni__store_reader_done(o->store, db);
    if (n == lim) {
        char b[32];
        snprintf(b, sizeof b, "%lld", last);
        cJSON_AddStringToObject(out, "next_cursor", b);
    } else {
        cJSON_AddNullToObject(out, "next_cursor");
    }
    dni__resp_json(resp, 200, out);
}
