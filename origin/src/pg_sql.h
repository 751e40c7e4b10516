/*
 * pg_sql.h - the PostgreSQL spelling of a statement written for both
 * databases (pg_sql.c lists the rewrites).
 */
#ifndef DNI_PG_SQL_H
#define DNI_PG_SQL_H

#include <stddef.h>

/*
 * Returns a malloc'd copy of sql in PostgreSQL's spelling (the caller
 * frees it), or NULL when out of memory. *nparams, when nparams is not
 * NULL, receives the highest parameter number the statement uses.
 */
char *dni__pg_sql(const char *sql, int *nparams);

/*
 * Copies a database URL into out[n] with its password (if any) replaced
 * by *** ("postgresql://u:***@host/db"), for logs.
 */
void dni__pg_redact(const char *url, char *out, size_t n);

#endif /* DNI_PG_SQL_H */
