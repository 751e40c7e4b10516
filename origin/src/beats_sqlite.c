/*
 * beats_sqlite.c - dni__beats_apply() on SQLite: one UPDATE for the
 * batch's heartbeats, whose times it reads through two C functions
 * registered on the connection (beats_sql.c).
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
    dni__beats_sql_use(v, n);
    int rc = dni__step(st);
    dni__reset(st);
    dni__beats_sql_use(NULL, 0);
    free(list.p);
    return rc == DNI_DONE ? 0 : -1;
}
