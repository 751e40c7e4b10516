/*
 * beats_pg.c - dni__beats_apply() on PostgreSQL: one UPDATE for the
 * batch's heartbeats, joined to the batch's times given as a JSON list
 * (PostgreSQL cannot call back into the origin for them, as SQLite's
 * dni_beat_seen() does).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>

#include "origin.h"

/* ?2 is [[lease, seen, join or null], ...] in key order; the rows
 * returned are the leases whose heartbeats applied. Fenced as every
 * event: a lease changes only while its number is held by the edge at
 * the lease's epoch. The fence is a scalar subquery (one seek in numbers
 * per lease) rather than EXISTS, which the planner may turn into a join
 * that visits every lease of the edge per number while the tables'
 * statistics are young (70 ms instead of 7 for 500). */
static const char *const sql_beats =
    "UPDATE leases SET last_seen = max(last_seen, b.seen),"
    " last_join = max(last_join, coalesce(b.joined, last_join))"
    " FROM (SELECT x ->> 0 AS lease, CAST(x ->> 1 AS DOUBLE PRECISION) AS seen,"
    " CAST(x ->> 2 AS DOUBLE PRECISION) AS joined"
    " FROM json_array_elements(CAST(?2 AS json)) AS x) AS b"
    " WHERE leases.edge = ?1 AND leases.lease = b.lease"
    " AND (SELECT n.epoch = leases.epoch AND n.edge = ?1 AND n.state > 0"
    " FROM numbers n WHERE n.number = leases.number)"
    " RETURNING leases.lease, leases.number, leases.start";

int dni__beats_apply_pg(dni_db_t *db, const char *edge, dni_beat_t *v,
                        size_t n)
{
    dni_jsonbuf_t tl = {0};
    dni__jsonbuf_put(&tl, "[", 1);
    for (size_t i = 0; i < n; i++) {
        dni__jsonbuf_raw(&tl, i ? ",[" : "[");
        dni__jsonbuf_str(&tl, v[i].lease);
        dni__jsonbuf_put(&tl, ",", 1);
        dni__jsonbuf_time(&tl, v[i].seen);
        if (v[i].join >= 0) {
            dni__jsonbuf_put(&tl, ",", 1);
            dni__jsonbuf_time(&tl, v[i].join);
            dni__jsonbuf_put(&tl, "]", 1);
        } else {
            dni__jsonbuf_raw(&tl, ",null]");
        }
    }
    dni_stmt_t *st = dni__beats_stmt(db, sql_beats, edge, &tl);
    if (!st)
        return -1;
    int rc;
    while ((rc = dni__step(st)) == DNI_ROW) {
        dni_beat_t *x = dni__beat_find(v, n, dni__col_text(st, 0));
        if (x)
            dni__beat_applied(x, dni__col_text(st, 1), dni__col_double(st, 2));
    }
    dni__reset(st);
    free(tl.p);
    return rc == DNI_DONE ? 0 : -1;
}
