/*
 * leases.c - GET /v1/leases: visitor sessions (leases), newest first,
 * with their tags, for the dashboard's live sessions page.
 *
 *   ?pool=ID     only this pool's leases
 *   ?live=1      only leases the edge has not released yet
 *   ?limit=N     1..1000 (default 100)
 *
 * Each: {edge, lease, pool, number, visitor, tags, referrer, landing_url,
 * start, last_seen, released_at (null while live), live}.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "origin.h"

static void text_or_null(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key,
                                (const char *)sqlite3_column_text(st, col));
}

void dni__leases_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *pool = dni__req_query(r, "pool");
    const char *live = dni__req_query(r, "live");
    const char *limit = dni__req_query(r, "limit");
    long long lim = 100;
    if (limit) {
        char *end;
        lim = strtoll(limit, &end, 10);
        if (!*limit || *end || lim < 1 || lim > 1000) {
            dni__resp_error(resp, 400, "limit must be in 1..1000");
            return;
        }
    }
    if (live && strcmp(live, "0") && strcmp(live, "1")) {
        dni__resp_error(resp, 400, "live must be 0 or 1");
        return;
    }
    int only_live = live && !strcmp(live, "1");
    dni_db_t *db = dni__store_reader(o->store);
    sqlite3_stmt *st = dni__stmt(
        db, "SELECT edge, lease, pool_id, number, visitor, tags, referrer,"
            " url, start, last_seen, released_at FROM leases"
            " WHERE (?1 IS NULL OR pool_id = ?1)"
            " AND (?2 = 0 OR released_at IS NULL)"
            " ORDER BY start DESC LIMIT ?3");
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "leases");
    int ok = st != NULL;
    if (st) {
        if (pool)
            sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, only_live);
        sqlite3_bind_int64(st, 3, lim);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            cJSON *l = cJSON_CreateObject();
            text_or_null(l, "edge", st, 0);
            text_or_null(l, "lease", st, 1);
            text_or_null(l, "pool", st, 2);
            text_or_null(l, "number", st, 3);
            text_or_null(l, "visitor", st, 4);
            cJSON *tags = sqlite3_column_type(st, 5) == SQLITE_NULL
                              ? NULL
                              : cJSON_Parse((const char *)sqlite3_column_text(st, 5));
            cJSON_AddItemToObject(l, "tags", tags ? tags : cJSON_CreateObject());
            text_or_null(l, "referrer", st, 6);
            text_or_null(l, "landing_url", st, 7);
            cJSON_AddNumberToObject(l, "start", sqlite3_column_double(st, 8));
            cJSON_AddNumberToObject(l, "last_seen", sqlite3_column_double(st, 9));
            int released = sqlite3_column_type(st, 10) != SQLITE_NULL;
            if (released)
                cJSON_AddNumberToObject(l, "released_at",
                                        sqlite3_column_double(st, 10));
            else
                cJSON_AddNullToObject(l, "released_at");
            cJSON_AddBoolToObject(l, "live", !released);
            cJSON_AddItemToArray(arr, l);
        }
        ok = rc == SQLITE_DONE;
        sqlite3_reset(st);
    }
    dni__store_reader_done(o->store, db);
    if (!ok) {
        cJSON_Delete(out);
        dni__resp_error(resp, 500, "reading the leases failed");
        return;
    }
    dni__resp_json(resp, 200, out);
}
