/*
 * beats_stmt.c - what both backends' heartbeat statements (beats_sqlite.c,
 * beats_pg.c) do with the batch's list of leases: close it, prepare the
 * statement, bind the edge and the list.
 */
#include <stdlib.h>

#include "origin.h"

dni_stmt_t *dni__beats_stmt(dni_db_t *db, const char *sql, const char *edge,
                            dni_jsonbuf_t *list)
{
    dni__jsonbuf_put(list, "]", 1);
    dni_stmt_t *st = list->oom ? NULL : dni__stmt(db, sql);
    if (!st) {
        free(list->p);
        return NULL;
    }
    dni__bind_text(st, 1, edge);
    dni__bind_text(st, 2, list->p);
    return st;
}
