/*
 * store.c - the storage interface's dispatch: dni__store_open() picks the
 * backend from its target, every other call goes to the backend of the
 * object it is given (store.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "store.h"

int dni__store_target_is_pg(const char *target)
{
    return target && (!strncmp(target, "postgresql://", 13) ||
                      !strncmp(target, "postgres://", 11));
}

dni_store_t *dni__store_open(const char *target, const char *synchronous,
                             unsigned readers, char *err, size_t errlen)
{
    if (dni__store_target_is_pg(target)) {
#ifdef DNI_WITH_PG
        return dni__backend_pg.open(target, synchronous, readers, err,
                                    errlen);
#else
        snprintf(err, errlen, "this dni-origin was built without PostgreSQL");
        return NULL;
#endif
    }
    return dni__backend_sqlite.open(target, synchronous, readers, err,
                                    errlen);
}

int dni__store_write(dni_store_t *s, dni_job_fn fn, void *arg)
{
    return s->be->write(s, fn, arg);
}

dni_db_t *dni__store_reader(dni_store_t *s) { return s->be->reader(s); }

void dni__store_reader_done(dni_store_t *s, dni_db_t *db)
{
    s->be->reader_done(s, db);
}

void dni__store_counts(dni_store_t *s, uint64_t *commits, uint64_t *jobs)
{
    s->be->counts(s, commits, jobs);
}

const char *dni__store_kind(const dni_store_t *s) { return s->be->name; }

int dni__store_down(dni_store_t *s, char *why, size_t n)
{
    if (n)
        why[0] = 0;
    return s && s->be->down ? s->be->down(s, why, n) : 0;
}

int dni__store_shared(const dni_store_t *s)
{
    return s->be->dialect == DNI_DIALECT_PG;
}

void dni__store_close(dni_store_t *s)
{
    if (s)
        s->be->close(s);
}

dni_stmt_t *dni__stmt(dni_db_t *db, const char *sql)
{
    return db->be->stmt(db, sql);
}

void dni__bind_text(dni_stmt_t *st, int i, const char *s)
{
    st->be->bind_text(st, i, s, 0);
}

void dni__bind_text_copy(dni_stmt_t *st, int i, const char *s)
{
    st->be->bind_text(st, i, s, 1);
}

void dni__bind_int(dni_stmt_t *st, int i, int v)
{
    st->be->bind_int64(st, i, v);
}

void dni__bind_int64(dni_stmt_t *st, int i, int64_t v)
{
    st->be->bind_int64(st, i, v);
}

void dni__bind_double(dni_stmt_t *st, int i, double v)
{
    st->be->bind_double(st, i, v);
}

void dni__bind_null(dni_stmt_t *st, int i) { st->be->bind_null(st, i); }

int dni__step(dni_stmt_t *st) { return st->be->step(st); }
int dni__step_later(dni_stmt_t *st)
{
    return st->be->step_later ? st->be->step_later(st) : st->be->step(st);
}

void dni__reset(dni_stmt_t *st) { st->be->reset(st); }

const char *dni__col_text(dni_stmt_t *st, int i)
{
    return st->be->col_text(st, i);
}

int dni__col_int(dni_stmt_t *st, int i) { return (int)st->be->col_int64(st, i); }

int64_t dni__col_int64(dni_stmt_t *st, int i)
{
    return st->be->col_int64(st, i);
}

double dni__col_double(dni_stmt_t *st, int i)
{
    return st->be->col_double(st, i);
}

int dni__col_is_null(dni_stmt_t *st, int i)
{
    return st->be->col_is_null(st, i);
}

int dni__changes(dni_db_t *db) { return (int)db->be->changes(db); }

int dni__exec(dni_db_t *db, const char *sql) { return db->be->exec(db, sql); }

const char *dni__db_errmsg(dni_db_t *db) { return db->be->errmsg(db); }

int dni__db_shared(dni_db_t *db) { return db->be->dialect == DNI_DIALECT_PG; }

int dni__db_dialect(dni_db_t *db) { return db->be->dialect; }

int dni__snapshot_begin(dni_db_t *db) { return db->be->snapshot_begin(db); }

void dni__snapshot_end(dni_db_t *db) { db->be->snapshot_end(db); }
