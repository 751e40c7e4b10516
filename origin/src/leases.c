/*
 * leases.c - GET /v1/leases?pool=&live=1&limit=&cursor=: sessions, newest
 * first, each with its number, visitor, tags, click ids, referrer, landing
 * URL, start, end (null while live) and the calls attributed to it.
 *
 * A lease is live until the end the core's dni_lease_end_time() gives from
 * its last heartbeat (or until the edge said it was released:
 * released_at). The cursor is opaque (hex of the last row's start and
 * key). The dashboard's sessions pages read it too.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"

static void hex_put(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        *out++ = hex[(unsigned char)*s >> 4];
        *out++ = hex[(unsigned char)*s & 15];
    }
    *out = 0;
}

static int hex_get(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n % 2 || n / 2 >= cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = in[i + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i / 2] = (char)v;
    }
    out[n / 2] = 0;
    return 0;
}

/* Every pool's engine settings, for dni_lease_end() on this thread. */
static int load_map(dni_db_t *db, dni_settings_map_t *m)
{
    memset(m, 0, sizeof *m);
    dni_stmt_t *st = dni__stmt(db, "SELECT id, settings FROM pools");
    if (!st)
        return -1;
    size_t cap = 0;
    while (dni__step(st) == DNI_ROW) {
        if (m->n == cap) {
            cap = cap ? 2 * cap : 8;
            char **ids = realloc(m->ids, cap * sizeof *ids);
            if (ids)
                m->ids = ids;
            dni_pool_settings_t *s = realloc(m->settings, cap * sizeof *s);
            if (s)
                m->settings = s;
            if (!ids || !s)
                break;
        }
        cJSON *c = cJSON_Parse(dni__col_text(st, 1));
        dni__pool_settings(c, &m->settings[m->n]);
        cJSON_Delete(c);
        m->ids[m->n] = strdup(dni__col_text(st, 0));
        if (m->ids[m->n])
            m->n++;
    }
    dni__reset(st);
    return 0;
}

static void free_map(dni_settings_map_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->ids[i]);
    free(m->ids);
    free(m->settings);
}

void dni__leases_handle(dni_origin_t *o, const dni_req_t *r, dni_resp_t *resp)
{
    const char *pool = dni__req_query(r, "pool");
    const char *live = dni__req_query(r, "live");
    const char *cursor = dni__req_query(r, "cursor");
    long long lim;
    char *end;
    if (dni__req_query_whole(r, "limit", 1, 1000, 100, 400, &lim, resp) < 0)
        return;
    if (live && strcmp(live, "1") && strcmp(live, "0")) {
        dni__resp_error(resp, 400, "live must be 1 or 0");
        return;
    }
    double cur_start = INFINITY;
    char cur_key[400] = "", cur_edge[200] = "", cur_lease[200] = "";
    if (cursor) {
        char *sep1, *sep2;
        if (hex_get(cursor, cur_key, sizeof cur_key) ||
            !(sep1 = strchr(cur_key, '\x1f')) ||
            !(sep2 = strchr(sep1 + 1, '\x1f'))) {
            dni__resp_error(resp, 400, "cursor is not one this server gave");
            return;
        }
        *sep1 = *sep2 = 0;
        cur_start = strtod(cur_key, &end);
        snprintf(cur_edge, sizeof cur_edge, "%s", sep1 + 1);
        snprintf(cur_lease, sizeof cur_lease, "%s", sep2 + 1);
    }
    double now = dni__now();
    dni_db_t *db = dni__store_reader(o->store);
    dni_settings_map_t m;
    load_map(db, &m);
    dni__settings_map_use(&m);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT l.edge, l.lease, l.pool_id, l.number, l.visitor, l.tags,"
            " l.referrer, l.url, l.start, l.last_seen,"
            " dni_lease_end(l.pool_id, l.start, l.last_seen, l.last_join,"
            " l.released_at, 0),"
            " (SELECT json_group_array(c.sid) FROM calls c WHERE"
            " c.lease_id = l.lease AND c.lease_edge = l.edge), l.released_at"
            " FROM leases l WHERE (l.pool_id = ?1 OR ?1 IS NULL)"
            " AND (l.start < ?2 OR (l.start = ?2 AND (l.edge < ?3 OR"
            " (l.edge = ?3 AND l.lease < ?4))))"
            " AND ((coalesce(dni_lease_end(l.pool_id, l.start, l.last_seen,"
            " l.last_join, l.released_at, 0), 0) >= ?6) = ?5 OR ?5 IS NULL)"
            " ORDER BY l.start DESC, l.edge DESC, l.lease DESC LIMIT ?7");
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "leases");
    long long n = 0;
    char last[400] = "";
    if (st) {
        if (pool)
            dni__bind_text(st, 1, pool);
        dni__bind_double(st, 2, isinf(cur_start) ? 1e300 : cur_start);
        dni__bind_text(st, 3, cur_edge);
        dni__bind_text(st, 4, cur_lease);
        if (live)
            dni__bind_int(st, 5, atoi(live));
        dni__bind_double(st, 6, now);
        dni__bind_int64(st, 7, lim);
        while (dni__step(st) == DNI_ROW) {
            cJSON *l = cJSON_CreateObject();
            dni__json_add_text_col(l, "lease", st, 1);
            dni__json_add_text_col(l, "edge", st, 0);
            dni__json_add_text_col(l, "pool", st, 2);
            dni__json_add_text_col(l, "number", st, 3);
            dni__json_add_text_col(l, "visitor", st, 4);
            cJSON *tags = dni__col_is_null(st, 5)
                              ? NULL
                              : cJSON_Parse(dni__col_text(st, 5));
            cJSON_AddItemToObject(l, "tags", tags ? tags : cJSON_CreateObject());
            cJSON_AddItemToObject(l, "click_ids",
                                  dni__click_ids(tags, dni__col_text(st, 7)));
            dni__json_add_text_col(l, "referrer", st, 6);
            dni__json_add_text_col(l, "landing_url", st, 7);
            double start = dni__col_double(st, 8);
            cJSON_AddNumberToObject(l, "start", start);
            cJSON_AddNumberToObject(l, "last_seen", dni__col_double(st, 9));
            double e = dni__col_is_null(st, 10)
                           ? NAN
                           : dni__col_double(st, 10);
            int is_live = isnan(e) || e >= now;
            cJSON_AddBoolToObject(l, "live", is_live);
            if (is_live)
                cJSON_AddNullToObject(l, "end");
            else
                cJSON_AddNumberToObject(l, "end", e);
            if (dni__col_is_null(st, 12))
                cJSON_AddNullToObject(l, "released_at");
            else
                cJSON_AddNumberToObject(l, "released_at", dni__col_double(st, 12));
            cJSON *calls = cJSON_Parse(dni__col_text(st, 11));
            cJSON_AddItemToObject(l, "calls", calls ? calls : cJSON_CreateArray());
            cJSON_AddItemToArray(arr, l);
            char key[400];
            snprintf(key, sizeof key, "%.17g\x1f%s\x1f%s", start,
                     dni__col_text(st, 0), dni__col_text(st, 1));
            if (strlen(key) * 2 < sizeof last)
                hex_put(last, key);
            n++;
        }
        dni__reset(st);
    }
    dni__settings_map_use(NULL);
    free_map(&m);
    dni__store_reader_done(o->store, db);
    if (n == lim && last[0])
        cJSON_AddStringToObject(out, "next_cursor", last);
    else
        cJSON_AddNullToObject(out, "next_cursor");
    dni__resp_json(resp, 200, out);
}
