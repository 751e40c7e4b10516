/*
 * pg_sql.h - the PostgreSQL spelling of a statement written for both
 * databases (pg_sql.c lists the rewrites).
 */
#ifndef DNI_PG_SQL_H
#define DNI_PG_SQL_H

/*
 * Returns a malloc'd copy of sql in PostgreSQL's spelling (the caller
 * frees it), or NULL when out of memory. *nparams, when nparams is not
 * NULL, receives the highest parameter number the statement uses.
 */
char *dni__pg_sql(const char *sql, int *nparams);

#endif /* DNI_PG_SQL_H */
