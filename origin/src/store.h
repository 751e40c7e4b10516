/*
 * store.h - the storage interface of dni-origin: the statements the
 * handlers run, and the store that runs them (one writer doing group
 * commit, a pool of read connections).
 *
 * Handlers do not know which database is behind it. dni__store_open()
 * chooses the backend from its target: a path is a SQLite file
 * (store_sqlite.c), a postgresql:// or postgres:// URL a PostgreSQL
 * database (store_pg.c). Each backend fills a dni_backend_t; store.c
 * forwards every call below to the backend of the object it is given.
 *
 * SQL is written once for both: `?` or `?N` placeholders (the PostgreSQL
 * backend turns them into $N), values are TEXT, INTEGER (64-bit) or REAL
 * (double), times are Unix seconds as REAL. Only constructs both SQLite
 * 3.40 and PostgreSQL 15 accept, and a few SQLite spellings that
 * pg_sql.c rewrites into their exact PostgreSQL twins. Where a statement
 * cannot be written so, the backend provides a SQL function of the same
 * name (dni_lease_end, see lease_end_sql.c), or, where the best plans
 * differ, the operation has a file per backend above this interface
 * (beats.c: dni__beats_apply) that picks by dni__db_dialect().
 */
#ifndef DNI_STORE_H
#define DNI_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

typedef struct dni_backend dni_backend_t;

/* One connection with its cache of prepared statements. */
typedef struct dni_db dni_db_t;
/* A prepared statement of one connection. */
typedef struct dni_stmt dni_stmt_t;
/* The store: a writer and its readers. */
typedef struct dni_store dni_store_t;

/* Every backend's own objects begin with these (handlers never look
 * inside). */
struct dni_db {
    const dni_backend_t *be;
};
struct dni_stmt {
    const dni_backend_t *be;
    dni_db_t *db;
};
struct dni_store {
    const dni_backend_t *be;
};

/* What dni__step() returns. */
enum {
    DNI_ROW = 1,         /* a row is ready: read it with dni__col_*() */
    DNI_DONE = 2,        /* the statement ran to its end */
    DNI_ERR = -1,        /* an error (dni__db_errmsg() says which) */
    DNI_CONSTRAINT = -2  /* a UNIQUE, CHECK or FOREIGN KEY refused it */
};

/* ---- statements (any connection: the writer's in a job, or a reader) -- */

/* SQL dialects (dni_backend_t.dialect). */
enum { DNI_DIALECT_SQLITE = 0, DNI_DIALECT_PG = 1 };

/*
 * Returns the prepared statement for sql on db, reset and with bindings
 * cleared. sql must be a string with static storage: the cache is keyed
 * by its address. NULL when it does not compile (logged).
 */
dni_stmt_t *dni__stmt(dni_db_t *db, const char *sql);

/* db's dialect, for the few operations written once per backend
 * (beats.c); handlers never read it. */
int dni__db_dialect(dni_db_t *db);

/*
 * Binds parameter i (1-based, as ?i). dni__bind_text: s must stay valid
 * until the statement is reset (dni__reset or the next dni__stmt); NULL
 * binds NULL. dni__bind_text_copy copies s first.
 */
void dni__bind_text(dni_stmt_t *st, int i, const char *s);
void dni__bind_text_copy(dni_stmt_t *st, int i, const char *s);
void dni__bind_int(dni_stmt_t *st, int i, int v);
void dni__bind_int64(dni_stmt_t *st, int i, int64_t v);
void dni__bind_double(dni_stmt_t *st, int i, double v);
void dni__bind_null(dni_stmt_t *st, int i);

/* Runs the statement or moves to its next row: DNI_ROW, DNI_DONE,
 * DNI_ERR or DNI_CONSTRAINT. */
int dni__step(dni_stmt_t *st);

/*
 * Runs a statement whose outcome the job does not look at before it ends
 * (no rows, no dni__changes(), any error is the job's failure). A backend
 * may send it without waiting for its answer (PostgreSQL: in one pipeline
 * with the job's next statement, or with its end), so it answers DNI_DONE
 * at once; should the statement fail, the job's next statement fails, or
 * the job does when it ends (500). Outside a write job (and on SQLite) it
 * is dni__step().
 */
int dni__step_later(dni_stmt_t *st);

/* Ends the statement's current run (frees its rows and read locks); its
 * bindings stay. Call it when done reading, before the connection is
 * given back. */
void dni__reset(dni_stmt_t *st);

/*
 * Column i (0-based) of the current row. dni__col_text: NULL for NULL;
 * valid until the next dni__step or dni__reset. Numbers of a NULL are 0.
 */
const char *dni__col_text(dni_stmt_t *st, int i);
int dni__col_int(dni_stmt_t *st, int i);
int64_t dni__col_int64(dni_stmt_t *st, int i);
double dni__col_double(dni_stmt_t *st, int i);
int dni__col_is_null(dni_stmt_t *st, int i);

/* Rows changed by the latest INSERT, UPDATE or DELETE run on db. */
int dni__changes(dni_db_t *db);

/* Runs one statement without parameters or rows (not cached); 0 or -1. */
int dni__exec(dni_db_t *db, const char *sql);

/* 1 when other processes may write db's database too (PostgreSQL): what
 * a process remembers of it may be out of date. */
int dni__db_shared(dni_db_t *db);

/* The latest error on db (for logs). */
const char *dni__db_errmsg(dni_db_t *db);

/*
 * A reader's consistent view: the statements between begin and end see
 * one snapshot of the database (SQLite: a read transaction; PostgreSQL:
 * REPEATABLE READ, READ ONLY). 0 or -1. Not inside a write job.
 */
int dni__snapshot_begin(dni_db_t *db);
void dni__snapshot_end(dni_db_t *db);

/* ---- the store ---------------------------------------------------------- */

/*
 * A write job runs on the writer inside its own savepoint of the current
 * group transaction. It returns an HTTP status; >= 400 rolls back only
 * this job's savepoint. A backend may run a job again after its batch was
 * rolled back (PostgreSQL, on a serialization failure): a job's effects
 * outside the database must bear that (or happen after the write).
 */
typedef int (*dni_job_fn)(dni_db_t *db, void *arg);

/*
 * Opens (creates, migrates) the database named by target (a SQLite path,
 * or a postgresql:// URL) and starts the writer. synchronous: SQLite's
 * FULL or NORMAL (PostgreSQL always commits synchronously). readers: read
 * connections. Returns NULL after writing a reason into err.
 */
dni_store_t *dni__store_open(const char *target, const char *synchronous,
                             unsigned readers, char *err, size_t errlen);

/*
 * Runs fn(db, arg) on the writer and waits until the transaction holding
 * it is committed to disk. Returns fn's status, or 500 when the commit
 * failed (then nothing of it was kept), or 503 when the database cannot
 * be reached.
 */
int dni__store_write(dni_store_t *s, dni_job_fn fn, void *arg);

/* Borrows a read connection (blocks while all are lent). */
dni_db_t *dni__store_reader(dni_store_t *s);
void dni__store_reader_done(dni_store_t *s, dni_db_t *db);

/* Group commits and jobs so far (for metrics). */
void dni__store_counts(dni_store_t *s, uint64_t *commits, uint64_t *jobs);

/* The backend's name: "sqlite" or "postgresql". */
const char *dni__store_kind(const dni_store_t *s);

/*
 * 1 when the database is unreachable as far as the store last saw (a
 * PostgreSQL server down or cut off), with why in why[n]; 0 when it
 * answers (always for SQLite). Never blocks: /healthz asks it on the
 * server's thread, and a 500 met while it is 1 is answered 503.
 */
int dni__store_down(dni_store_t *s, char *why, size_t n);

/* 1 when other processes may write the store's database too (PostgreSQL). */
int dni__store_shared(const dni_store_t *s);

/* Finishes every queued job, stops the writer, closes all connections. */
void dni__store_close(dni_store_t *s);

/* 1 when target names a PostgreSQL database (postgresql:// or
 * postgres://). */
int dni__store_target_is_pg(const char *target);

/* ---- backends (store_sqlite.c, store_pg.c) ------------------------------ */

struct dni_backend {
    const char *name;
    int dialect; /* DNI_DIALECT_SQLITE or DNI_DIALECT_PG */
    dni_store_t *(*open)(const char *target, const char *synchronous,
                         unsigned readers, char *err, size_t errlen);
    int (*write)(dni_store_t *s, dni_job_fn fn, void *arg);
    dni_db_t *(*reader)(dni_store_t *s);
    void (*reader_done)(dni_store_t *s, dni_db_t *db);
    void (*counts)(dni_store_t *s, uint64_t *commits, uint64_t *jobs);
    void (*close)(dni_store_t *s);

    dni_stmt_t *(*stmt)(dni_db_t *db, const char *sql);
    /* copy: 1 for dni__bind_text_copy */
    void (*bind_text)(dni_stmt_t *st, int i, const char *s, int copy);
    void (*bind_int64)(dni_stmt_t *st, int i, int64_t v);
    void (*bind_double)(dni_stmt_t *st, int i, double v);
    void (*bind_null)(dni_stmt_t *st, int i);
    int (*step)(dni_stmt_t *st);
    void (*reset)(dni_stmt_t *st);
    const char *(*col_text)(dni_stmt_t *st, int i);
    int64_t (*col_int64)(dni_stmt_t *st, int i);
    double (*col_double)(dni_stmt_t *st, int i);
    int (*col_is_null)(dni_stmt_t *st, int i);
    int64_t (*changes)(dni_db_t *db);
    int (*exec)(dni_db_t *db, const char *sql);
    const char *(*errmsg)(dni_db_t *db);
    int (*snapshot_begin)(dni_db_t *db);
    void (*snapshot_end)(dni_db_t *db);
    /* NULL: never down */
    int (*down)(dni_store_t *s, char *why, size_t n);
    /* NULL: step */
    int (*step_later)(dni_stmt_t *st);
};

extern const dni_backend_t dni__backend_sqlite;
#ifdef DNI_WITH_PG
extern const dni_backend_t dni__backend_pg;
#endif

#endif /* DNI_STORE_H */
