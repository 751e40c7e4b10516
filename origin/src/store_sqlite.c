/*
 * store_sqlite.c - the SQLite store: schema migrations, one writer thread
 * doing group commit, and a small pool of read-only connections.
 *
 * Why group commit: a 2xx must mean "on disk", and with synchronous=FULL
 * every COMMIT costs an fsync of the WAL. One fsync per request would cap
 * the service at the disk's fsync rate. Instead, requests hand their write
 * work to the writer thread as jobs; the writer takes every job that is
 * queued, runs each inside its own SAVEPOINT of one transaction (so a job
 * that fails rolls back alone), commits once, and then wakes all of their
 * requests. Under load a batch holds as many jobs as requests arrived
 * during the previous fsync, so throughput grows with concurrency while
 * each answer still waits for its own data to be durable.
 *
 * All writes go through this one connection, so there is never a
 * SQLITE_BUSY between writers, and jobs see each other's effects in order.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "origin.h"
#include "write_queue.h"

extern const char *const dni__migrations[];
extern const int dni__migration_count;

#define DNI__STMT_CACHE 256

/* A statement: the interface's part, then SQLite's. */
typedef struct sq_stmt {
    dni_stmt_t base;
    sqlite3_stmt *st;
} sq_stmt_t;

/* A connection (the interface's dni_db_t) with its statement cache. */
typedef struct sq_db {
    dni_db_t base;
    sqlite3 *db;
    int n;
    int in_use;
    const char *keys[DNI__STMT_CACHE];
    sq_stmt_t stmts[DNI__STMT_CACHE];
} sq_db_t;

#define SQ_DB(d) ((sq_db_t *)(d))
#define SQ_ST(s) (((sq_stmt_t *)(s))->st)

typedef struct sq_store {
    dni_store_t base;
    sq_db_t writer;
    sq_db_t *readers;
    unsigned nreaders;
    dni_write_queue_t queue; /* the writer thread's jobs */
    pthread_t thread;
    pthread_mutex_t mu;       /* readers and the checkpointer */
    pthread_cond_t reader_cv; /* requests wait for a free reader */
    int stopping;
    sq_db_t ckpt;           /* the checkpointer's own connection */
    pthread_t ckpt_thread;
    pthread_cond_t ckpt_cv;   /* the checkpointer sleeps on this */
} sq_store_t;

#define SQ_STORE(s) ((sq_store_t *)(s))

static dni_stmt_t *sq_stmt(dni_db_t *d, const char *sql)
{
    sq_db_t *db = SQ_DB(d);
    for (int i = 0; i < db->n; i++) {
        if (db->keys[i] == sql) {
            sqlite3_reset(db->stmts[i].st);
            sqlite3_clear_bindings(db->stmts[i].st);
            return &db->stmts[i].base;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "dni-origin: sql: %s: %s\n", sqlite3_errmsg(db->db),
                sql);
        return NULL;
    }
    sq_stmt_t *e;
    if (db->n < DNI__STMT_CACHE) {
        db->keys[db->n] = sql;
        e = &db->stmts[db->n++];
    } else {
        /* Only reached if the code grows past the cache: still correct,
         * the statement is simply kept until exit. */
        fprintf(stderr, "dni-origin: statement cache full\n");
        e = calloc(1, sizeof *e);
        if (!e) {
            sqlite3_finalize(st);
            return NULL;
        }
    }
    e->base.be = &dni__backend_sqlite;
    e->base.db = d;
    e->st = st;
    return &e->base;
}

static void sq_bind_text(dni_stmt_t *st, int i, const char *s, int copy)
{
    sqlite3_bind_text(SQ_ST(st), i, s, -1,
                      copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static void sq_bind_int64(dni_stmt_t *st, int i, int64_t v)
{
    sqlite3_bind_int64(SQ_ST(st), i, v);
}

static void sq_bind_double(dni_stmt_t *st, int i, double v)
{
    sqlite3_bind_double(SQ_ST(st), i, v);
}

static void sq_bind_null(dni_stmt_t *st, int i)
{
    sqlite3_bind_null(SQ_ST(st), i);
}

static int sq_step(dni_stmt_t *st)
{
    int rc = sqlite3_step(SQ_ST(st));
    if (rc == SQLITE_ROW)
        return DNI_ROW;
    if (rc == SQLITE_DONE)
        return DNI_DONE;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? DNI_CONSTRAINT : DNI_ERR;
}

static void sq_reset(dni_stmt_t *st) { sqlite3_reset(SQ_ST(st)); }

static const char *sq_col_text(dni_stmt_t *st, int i)
{
    return (const char *)sqlite3_column_text(SQ_ST(st), i);
}

static int64_t sq_col_int64(dni_stmt_t *st, int i)
{
    return sqlite3_column_int64(SQ_ST(st), i);
}

static double sq_col_double(dni_stmt_t *st, int i)
{
    return sqlite3_column_double(SQ_ST(st), i);
}

static int sq_col_is_null(dni_stmt_t *st, int i)
{
    return sqlite3_column_type(SQ_ST(st), i) == SQLITE_NULL;
}

static int64_t sq_changes(dni_db_t *d) { return sqlite3_changes(SQ_DB(d)->db); }

static int sq_exec(dni_db_t *d, const char *sql)
{
    return sqlite3_exec(SQ_DB(d)->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                         : -1;
}

static const char *sq_errmsg(dni_db_t *d) { return sqlite3_errmsg(SQ_DB(d)->db); }

static int sq_snapshot_begin(dni_db_t *d) { return sq_exec(d, "BEGIN"); }

static void sq_snapshot_end(dni_db_t *d) { sq_exec(d, "COMMIT"); }

static void db_close(sq_db_t *db)
{
    for (int i = 0; i < db->n; i++)
        sqlite3_finalize(db->stmts[i].st);
    db->n = 0;
    if (db->db)
        sqlite3_close_v2(db->db);
    db->db = NULL;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Applies the migrations the database has not seen, each in its own
 * transaction together with the user_version bump. */
static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
        SQLITE_OK)
        return snprintf(err, errlen, "%s", sqlite3_errmsg(db)), -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > dni__migration_count) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this program (%d)",
                 version, dni__migration_count);
        return -1;
    }
    for (int v = version; v < dni__migration_count; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (exec(db, "BEGIN IMMEDIATE", err, errlen) ||
            exec(db, dni__migrations[v], err, errlen) ||
            exec(db, bump, err, errlen) || exec(db, "COMMIT", err, errlen)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* The savepoint statements run for every job: prepared once, not parsed
 * each time as sqlite3_exec() would. */
static const char *const sql_savepoint = "SAVEPOINT job";
static const char *const sql_rollback_to = "ROLLBACK TO job";
static const char *const sql_release = "RELEASE job";

static void step_once(dni_stmt_t *st)
{
    if (st) {
        sqlite3_step(SQ_ST(st));
        sqlite3_reset(SQ_ST(st));
    }
}

static void run_batch(sq_store_t *s, dni_job_t *batch)
{
    sqlite3 *db = s->writer.db;
    int failed = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
                 SQLITE_OK;
    for (dni_job_t *j = batch; j; j = j->next) {
        if (failed) {
            j->status = 500;
            continue;
        }
        step_once(sq_stmt(&s->writer.base, sql_savepoint));
        j->status = j->fn(&s->writer.base, j->arg);
        if (sqlite3_get_autocommit(db)) {
            /* An error rolled back the whole transaction (disk full, I/O):
             * nothing of this batch survives, so nobody may get a 2xx. */
            for (dni_job_t *k = batch; k; k = k->next)
                k->status = 500;
            failed = 1;
            continue;
        }
        if (j->status >= 400)
            step_once(sq_stmt(&s->writer.base, sql_rollback_to));
        step_once(sq_stmt(&s->writer.base, sql_release));
    }
    if (!failed && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "dni-origin: commit failed: %s\n",
                sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        failed = 1;
    }
    if (failed) {
        for (dni_job_t *j = batch; j; j = j->next)
            if (j->status < 400)
                j->status = 500;
    }
}

static void run_batch_of(void *ctx, dni_job_t *batch)
{
    run_batch(ctx, batch);
}

static void *writer_main(void *arg)
{
    sq_store_t *s = arg;
    dni__queue_serve(&s->queue, run_batch_of, s);
    return NULL;
}

/*
 * Checkpoints run on their own thread and connection: copying the WAL back
 * into the database (and, with synchronous=FULL, syncing it) would
 * otherwise stall whichever commit happened to cross the threshold. A
 * PASSIVE checkpoint never blocks the writer.
 */
static void *checkpoint_main(void *arg)
{
    sq_store_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->ckpt_cv, &s->mu, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->mu);
        sqlite3_wal_checkpoint_v2(s->ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  NULL, NULL);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int sq_write(dni_store_t *st, dni_job_fn fn, void *arg)
{
    return dni__queue_submit(&SQ_STORE(st)->queue, fn, arg);
}

static dni_db_t *sq_reader(dni_store_t *st)
{
    sq_store_t *s = SQ_STORE(st);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (unsigned i = 0; i < s->nreaders; i++) {
            if (!s->readers[i].in_use) {
                s->readers[i].in_use = 1;
                pthread_mutex_unlock(&s->mu);
                return &s->readers[i].base;
            }
        }
        pthread_cond_wait(&s->reader_cv, &s->mu);
    }
}

static void sq_reader_done(dni_store_t *st, dni_db_t *db)
{
    sq_store_t *s = SQ_STORE(st);
    pthread_mutex_lock(&s->mu);
    SQ_DB(db)->in_use = 0;
    pthread_cond_signal(&s->reader_cv);
    pthread_mutex_unlock(&s->mu);
}

static void sq_counts(dni_store_t *st, uint64_t *commits, uint64_t *jobs)
{
    dni__queue_counts(&SQ_STORE(st)->queue, commits, jobs);
}

static int open_conn(sq_db_t *d, const char *path, int readonly,
                     const char *synchronous, char *err, size_t errlen)
{
    int flags = readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX; /* each connection has one user at a time */
    memset(d, 0, sizeof *d);
    d->base.be = &dni__backend_sqlite;
    if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path,
                 d->db ? sqlite3_errmsg(d->db) : "cannot open");
        return -1;
    }
    sqlite3_busy_timeout(d->db, 5000);
    if (dni__sql_register(d->db) || dni__beats_sql_register(d->db)) {
        snprintf(err, errlen, "%s: cannot register SQL functions", path);
        return -1;
    }
    if (!readonly) {
        char sync[64];
        snprintf(sync, sizeof sync, "PRAGMA synchronous = %s", synchronous);
        if (exec(d->db, "PRAGMA journal_mode = WAL", err, errlen) ||
            exec(d->db, sync, err, errlen) ||
            exec(d->db, "PRAGMA cache_size = -32000", err, errlen) ||
            exec(d->db, "PRAGMA wal_autocheckpoint = 0", err, errlen) ||
            exec(d->db, "PRAGMA temp_store = MEMORY", err, errlen))
            return -1;
        /* The integrity of the file is what the crash test checks; make
         * sure this is a database at all before migrating. */
        if (exec(d->db, "SELECT count(*) FROM sqlite_schema", err, errlen))
            return -1;
    }
    return 0;
}

static void config_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static dni_store_t *sq_open(const char *path, const char *synchronous,
                            unsigned readers, char *err, size_t errlen)
{
    /* SQLite's allocation statistics take a global mutex on every
     * allocation; nothing here reads them, and every thread allocates. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, config_sqlite);
    sq_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (open_conn(&s->writer, path, 0, synchronous, err, errlen) ||
        migrate(s->writer.db, err, errlen)) {
        db_close(&s->writer);
        free(s);
        return NULL;
    }
    s->nreaders = readers ? readers : 1;
    s->readers = calloc(s->nreaders, sizeof *s->readers);
    for (unsigned i = 0; s->readers && i < s->nreaders; i++) {
        if (open_conn(&s->readers[i], path, 1, synchronous, err, errlen)) {
            for (unsigned k = 0; k <= i; k++)
                db_close(&s->readers[k]);
            free(s->readers);
            db_close(&s->writer);
            free(s);
            return NULL;
        }
    }
    pthread_mutex_init(&s->mu, NULL);
    dni__queue_init(&s->queue);
    pthread_cond_init(&s->reader_cv, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    if (open_conn(&s->ckpt, path, 0, synchronous, err, errlen) ||
        pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        db_close(&s->ckpt);
        snprintf(err, errlen, "cannot start the writer thread");
        for (unsigned k = 0; k < s->nreaders; k++)
            db_close(&s->readers[k]);
        free(s->readers);
        db_close(&s->writer);
        free(s);
        return NULL;
    }
    if (pthread_create(&s->ckpt_thread, NULL, checkpoint_main, s) != 0)
        s->ckpt_thread = s->thread; /* no checkpointer: close() knows */
    s->base.be = &dni__backend_sqlite;
    return &s->base;
}

static void sq_close(dni_store_t *st)
{
    sq_store_t *s = SQ_STORE(st);
    dni__queue_stop(&s->queue);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (!pthread_equal(s->ckpt_thread, s->thread))
        pthread_join(s->ckpt_thread, NULL);
    db_close(&s->ckpt);
    for (unsigned i = 0; i < s->nreaders; i++)
        db_close(&s->readers[i]);
    free(s->readers);
    /* Fold the WAL back into the database so the file is self-contained. */
    sqlite3_wal_checkpoint_v2(s->writer.db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                              NULL, NULL);
    db_close(&s->writer);
    pthread_mutex_destroy(&s->mu);
    dni__queue_destroy(&s->queue);
    pthread_cond_destroy(&s->reader_cv);
    pthread_cond_destroy(&s->ckpt_cv);
    free(s);
}

const dni_backend_t dni__backend_sqlite = {
    .name = "sqlite",
    .dialect = DNI_DIALECT_SQLITE,
    .open = sq_open,
    .write = sq_write,
    .reader = sq_reader,
    .reader_done = sq_reader_done,
    .counts = sq_counts,
    .close = sq_close,
    .stmt = sq_stmt,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .col_text = sq_col_text,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_is_null = sq_col_is_null,
    .changes = sq_changes,
    .exec = sq_exec,
    .errmsg = sq_errmsg,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
};
