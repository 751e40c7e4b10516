/*
 * pool_numbers.c - GET /v1/pools/{id}/numbers: each number of the pool
 * with where it stands, for the dashboard's pool page.
 *
 *   {"pool": "p1", "numbers": [{"number": "+18885550101",
 *     "state": "free" | "granted" | "draining",
 *     "edge": "edge-1" | null,      the edge it is granted to or leaving
 *     "epoch": 3, "grant_expires_at": 1732222282.5 | null,
 *     "in_call": false,             a call on it is in progress (held)
 *     "last_shown": 1732222222.5 | null,   latest lease start on it
 *     "last_called": 1732222240.1 | null,  latest call to it
 *     "released_at": … | null}]}    when it last became free
 *
 * "granted": an edge may lease it; "draining": taken back from an edge
 * whose leases on it have not ended yet (docs/design.md, edge and origin).
 * Whether a visitor holds it right now is GET /v1/leases?live=1's answer.
 * Read-only, on a reader connection; 404 for a pool that does not exist.
 */
#include <stdio.h>
#include <string.h>

#include "origin.h"

static void add_time(cJSON *o, const char *k, dni_stmt_t *st, int i)
{
    if (dni__col_is_null(st, i) || dni__col_double(st, i) <= 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, dni__col_double(st, i));
}

void dni__pool_numbers_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    dni_db_t *db = dni__store_reader(o->store);
    dni_stmt_t *st = dni__stmt(db, "SELECT 1 FROM pools WHERE id = ?1");
    if (!st) {
        dni__store_reader_done(o->store, db);
        dni__resp_error(resp, 500, "database error");
        return;
    }
    dni__bind_text(st, 1, r->id);
    int found = dni__step(st) == DNI_ROW;
    dni__reset(st);
    if (!found) {
        dni__store_reader_done(o->store, db);
        dni__resp_error(resp, 404, "no such pool");
        return;
    }
    st = dni__stmt(
        db, "SELECT n.number, n.state, n.edge, n.epoch, n.expires_at, n.released_at,"
            " EXISTS (SELECT 1 FROM calls c WHERE c.to_number = n.number AND c.active = 1),"
            " (SELECT max(l.start) FROM leases l WHERE l.number = n.number),"
            " (SELECT max(c.started_at) FROM calls c WHERE c.to_number = n.number)"
            " FROM numbers n WHERE n.pool_id = ?1 ORDER BY n.number");
    if (!st) {
        dni__store_reader_done(o->store, db);
        dni__resp_error(resp, 500, "database error");
        return;
    }
    dni__bind_text(st, 1, r->id);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "pool", r->id);
    cJSON *arr = cJSON_AddArrayToObject(out, "numbers");
    while (dni__step(st) == DNI_ROW) {
        cJSON *n = cJSON_CreateObject();
        int state = dni__col_int(st, 1);
        cJSON_AddStringToObject(n, "number", dni__col_text(st, 0));
        cJSON_AddStringToObject(n, "state", state == 1 ? "granted" : state == 2 ? "draining" : "free");
        if (state && !dni__col_is_null(st, 2))
            cJSON_AddStringToObject(n, "edge", dni__col_text(st, 2));
        else
            cJSON_AddNullToObject(n, "edge");
        cJSON_AddNumberToObject(n, "epoch", dni__col_double(st, 3));
        if (state)
            add_time(n, "grant_expires_at", st, 4);
        else
            cJSON_AddNullToObject(n, "grant_expires_at");
        cJSON_AddBoolToObject(n, "in_call", dni__col_int(st, 6));
        add_time(n, "last_shown", st, 7);
        add_time(n, "last_called", st, 8);
        add_time(n, "released_at", st, 5);
        cJSON_AddItemToArray(arr, n);
    }
    dni__reset(st);
    dni__store_reader_done(o->store, db);
    dni__resp_json(resp, 200, out);
}
