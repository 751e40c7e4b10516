/*
 * beats.c - dni__beats_apply(): a sync batch's heartbeats in one
 * statement, whose best plan differs by database (beats_sqlite.c,
 * beats_pg.c).
 */
#include "origin.h"

int dni__beats_apply(dni_db_t *db, const char *edge, dni_beat_t *v, size_t n)
{
    return dni__db_dialect(db) == DNI_DIALECT_PG
               ? dni__beats_apply_pg(db, edge, v, n)
               : dni__beats_apply_sqlite(db, edge, v, n);
}
