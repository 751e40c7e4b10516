/*
 * beats_sqlite.c - dni__beats_apply() on SQLite: one UPDATE for the
 * batch's heartbeats, whose times it reads through two C functions
 * registered on the connection.
 *
 * The batch's leases go in as a JSON list in key order, visited through
 * their key (SQLite builds its IN index by appending, and the seeks into
 * leases walk the table forward); dni_beat_seen()/dni_beat_join() answer
 * each lease's latest times from the batch and note that its heartbeats
 * were applied. A single statement in both spellings (the times as a JSON
 * table joined to leases, as beats_pg.c does) costs SQLite's writer more
 * than twice the instructions per batch: the UPDATE ... FROM and its
 * RETURNING each fill a temporary table, and every time is parsed from
 * JSON again.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "origin.h"

/* Fenced as every event: a lease changes only while its number is held
 * by the edge at the lease's epoch. */
static const char *const sql_beats =
    "UPDATE leases SET last_seen = max(last_seen,"
    " coalesce(dni_beat_seen(lease, number, start), last_seen)),"
    " last_join = max(last_join, coalesce(dni_beat_join(lease), last_join))"
    " WHERE edge = ?1 AND lease IN (SELECT value FROM json_each(?2))"
    " AND EXISTS (SELECT 1 FROM numbers n WHERE n.number = leases.number"
    " AND n.epoch = leases.epoch AND n.edge = ?1 AND n.state > 0)";

/* The batch the functions read, on the thread running the statement,
 * and the place of the last lease they were asked for. */
static _Thread_local dni_beat_t *tl_v;
static _Thread_local size_t tl_n, tl_at;

/* The beat of lease. The statement visits the leases in key order and
 * asks for each twice (seen, then join): the last place or the next one
 * answers, and a search only when neither does. */
static dni_beat_t *beat_at(const char *lease)
{
    for (size_t k = tl_at; lease && k < tl_n && k <= tl_at + 1; k++)
        if (!strcmp(tl_v[k].lease, lease)) {
            tl_at = k;
            return &tl_v[k];
        }
    dni_beat_t *x = dni__beat_find(tl_v, tl_n, lease);
    if (x)
        tl_at = (size_t)(x - tl_v);
    return x;
}

int dni__beats_apply_sqlite(dni_db_t *db, const char *edge, dni_beat_t *v,
                            size_t n)
{
    dni_jsonbuf_t list = {0};
    dni__jsonbuf_put(&list, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dni__jsonbuf_put(&list, ",", 1);
        dni__jsonbuf_str(&list, v[i].lease);
    }
    dni_stmt_t *st = dni__beats_stmt(db, sql_beats, edge, &list);
    if (!st)
        return -1;
    tl_v = v;
    tl_n = n;
    tl_at = 0;
    int rc = dni__step(st);
    dni__reset(st);
    tl_v = NULL;
    tl_n = 0;
    free(list.p);
    return rc == DNI_DONE ? 0 : -1;
}

/* dni_beat_seen(lease, number, start), dni_beat_join(lease): the batch's
 * latest heartbeat (seen or join) and latest join of lease, or NULL;
 * dni_beat_seen notes the lease's number and start as applied (the
 * UPDATE calls it only for the rows that pass the fence). */
static void fn_beat(sqlite3_context *ctx, sqlite3_value **v, int join)
{
    dni_beat_t *x = beat_at((const char *)sqlite3_value_text(v[0]));
    if (!x || (join && x->join < 0)) {
        sqlite3_result_null(ctx);
        return;
    }
    if (!join)
        dni__beat_applied(x, (const char *)sqlite3_value_text(v[1]),
                          sqlite3_value_double(v[2]));
    sqlite3_result_double(ctx, join ? x->join : x->seen);
}

static void fn_beat_seen(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)argc;
    fn_beat(ctx, v, 0);
}

static void fn_beat_join(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)argc;
    fn_beat(ctx, v, 1);
}

int dni__beats_sql_register(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
    return sqlite3_create_function(db, "dni_beat_seen", 3, flags, NULL,
                                   fn_beat_seen, NULL, NULL) == SQLITE_OK &&
                   sqlite3_create_function(db, "dni_beat_join", 1, flags,
                                           NULL, fn_beat_join, NULL,
                                           NULL) == SQLITE_OK
               ? 0
               : -1;
}
