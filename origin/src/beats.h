/*
 * beats.h - a sync batch's heartbeats, folded per lease, as the store
 * applies them.
 *
 * Heartbeats (seen, and join without an explicit epoch) are most of what
 * edges send. sync.c folds them per lease on the request's thread and
 * hands them to dni__beats_apply() in key order; each backend
 * applies them in one statement of its own (beats_sqlite.c, beats_pg.c),
 * since the fastest plan differs: SQLite reads the times through C
 * functions registered on its connection, PostgreSQL from a JSON list.
 */
#ifndef DNI_BEATS_H
#define DNI_BEATS_H

#include <stddef.h>

typedef struct dni_beat {
    const char *lease;
    double seen;      /* latest seen or join time */
    double join;      /* latest join time, or -1 */
    int applied;      /* set by the store, with the lease's start and number */
    double start;
    char number[24];
} dni_beat_t;

/* The beat of lease in v[0..n) (sorted by lease, strcmp); NULL if none. */
dni_beat_t *dni__beat_find(dni_beat_t *v, size_t n, const char *lease);

/* Notes that x's heartbeats applied to its lease, whose number and start
 * they are. */
void dni__beat_applied(dni_beat_t *x, const char *number, double start);

/* The backends' implementations of dni__beats_apply(). */
struct dni_db;
struct dni_stmt;
struct dni_jsonbuf;
int dni__beats_apply_sqlite(struct dni_db *db, const char *edge,
                            dni_beat_t *v, size_t n);
int dni__beats_apply_pg(struct dni_db *db, const char *edge, dni_beat_t *v,
                        size_t n);

/* What both implementations do with the list they wrote: closes list (a
 * JSON array), prepares sql on db and binds ?1 edge and ?2 the list. NULL
 * (list freed) when out of memory or sql does not compile; else the
 * caller frees list->p after resetting the statement. */
struct dni_stmt *dni__beats_stmt(struct dni_db *db, const char *sql,
                                 const char *edge, struct dni_jsonbuf *list);

/*
 * Applies a sync batch's heartbeats on db (the writer's connection, in a
 * job) in one statement: each lease of edge in v[0..n) (sorted by lease,
 * strcmp) whose number the edge still holds at the lease's epoch gets
 * last_seen and last_join raised to the beat's times, and its beat is
 * marked applied with the lease's number and start. 0, or -1 on a
 * database error.
 */
int dni__beats_apply(struct dni_db *db, const char *edge, dni_beat_t *v,
                     size_t n);

/* The batch the SQLite functions answer from, on this thread (NULL, 0:
 * none). */
void dni__beats_sql_use(dni_beat_t *v, size_t n);

/* Registers dni_beat_seen() and dni_beat_join(), which the SQLite
 * statement reads, on a SQLite connection (store_sqlite.c); 0 or -1. */
struct sqlite3;
int dni__beats_sql_register(struct sqlite3 *db);

#endif
