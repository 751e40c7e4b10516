/*
 * beats_sql.c - dni_beat_seen() and dni_beat_join(), the C functions the
 * SQLite heartbeat statement (beats_sqlite.c) reads each lease's times
 * through, registered on every SQLite connection (store_sqlite.c). They
 * answer from the batch dni__beats_sql_use() gives, on the thread that
 * runs the statement.
 */
#include <string.h>

#include <sqlite3.h>

#include "beats.h"

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

void dni__beats_sql_use(dni_beat_t *v, size_t n)
{
    tl_v = v;
    tl_n = n;
    tl_at = 0;
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
