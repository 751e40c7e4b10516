/*
 * store_pg.c - the PostgreSQL store (libpq): migrations under an advisory
 * lock, one writer connection doing group commit, a small pool of reader
 * connections, prepared statements cached per connection, and reconnection
 * with back-off. `dni-origin --db postgresql://...` selects it (store.c).
 *
 * Group commit, as in the SQLite store: requests hand their write work to
 * the writer thread as jobs; the writer takes every queued job, runs each
 * inside its own SAVEPOINT of one transaction (a job that fails rolls back
 * alone), commits once with synchronous_commit on, and only then wakes the
 * requests. A 2xx therefore still means "committed to disk", and one
 * commit's cost is shared by every job that arrived meanwhile.
 *
 * Several origin processes may share the database. Their writers take
 * turns: each batch's transaction begins by taking one transaction-level
 * advisory lock (WRITE_LOCK), held until its COMMIT or ROLLBACK, so at
 * any moment at most one batch of all the processes is writing, and every
 * job runs as if its process were alone on the database -- the model the
 * handlers are written for (one writer, as on SQLite). The transaction
 * runs READ COMMITTED: each statement reads a fresh snapshot, taken after
 * the lock was granted, so it sees everything the previous holder
 * committed (its commit is visible before its lock is released), and
 * nothing else commits a write while the lock is held (every write of
 * the origin is a job of some writer; reader connections are read-only).
 * The group commit keeps its effect: while a process waits for the lock,
 * its queue fills, and the next batch shares one commit among them all.
 * A batch that still fails to serialise (a deadlock with a migration's
 * DDL, 40P01; 40001) is rolled back and every job of it run again; jobs
 * are written to bear that (store.h). A process stopped while it holds
 * the lock holds up the others for at most IDLE_TIMEOUT (the server then
 * ends its session); a batch that waits for the lock longer than
 * LOCK_TIMEOUT answers 503. Constraints, not process memory, make
 * webhooks and syncs idempotent, so a retry never stores anything twice.
 *
 * When the database cannot be reached, a write answers 503 (never a 2xx
 * that was not stored: a commit whose outcome is unknown because the
 * connection died answers 503 too, and the request's retry is
 * deduplicated), and the connection is opened again with back-off (50 ms
 * doubling to 2 s) as requests come, so service resumes by itself.
 *
 * The writer's time goes into round trips: a job's statements run one
 * after the other, each waiting for its answer. A statement whose outcome
 * the job does not look at (dni__step_later: an INSERT of a history row)
 * is sent into a libpq pipeline instead, and answered together with the
 * job's next statement, or with the commands that end the job (release
 * its savepoint, open the next one or commit), which ride in one round
 * trip as well. Should such a statement fail, the job fails as if it had
 * failed on the spot: its savepoint is rolled back and it answers 500.
 *
 * Statements are prepared once per connection, in PostgreSQL's spelling
 * (pg_sql.c), and run with text parameters. A parameter's type is taken
 * from its binding (INTEGER int8, REAL float8, TEXT left to PostgreSQL to
 * infer); should PostgreSQL refuse the statement with those types, it is
 * prepared again with every type left to inference. Results are read in
 * text form: rows of a result are handed out one per dni__step().
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pg_sql.h"
#include "store.h"
#include "write_queue.h"

extern const char *const dni__pg_migrations[];
extern const int dni__pg_migration_count;
extern const char dni__pg_functions[];

#define BOOL_OID 16
#define INT8_OID 20
#define TEXT_OID 25
#define FLOAT8_OID 701
/* The key of the advisory lock migrations run under. */
#define MIGRATION_LOCK 18001800
/* The key of the advisory lock every write transaction holds. */
#define WRITE_LOCK 18001801
/* How long a batch waits for WRITE_LOCK before it answers 503, and how
 * long a writer may sit idle inside its transaction (holding the lock)
 * before the server ends its session. */
#define LOCK_TIMEOUT "10s"
#define IDLE_TIMEOUT "15s"
#define MAX_RETRIES 30
/* At most this many statements wait in a pipeline for their answers. */
#define PIPELINE_MAX 32

/* A statement prepared for one pattern of parameter types: per
 * parameter 'i' int8, 'd' float8, 't' text, 'u' left to PostgreSQL. */
typedef struct {
    char *sig;
    unsigned gen;  /* the connection generation it was prepared on */
    int failed;    /* PostgreSQL refused this pattern (on gen) */
    char name[24];
} variant_t;

typedef struct pg_db pg_db_t;
typedef struct pg_store pg_store_t;

typedef struct {
    dni_stmt_t base;
    const char *key;
    char *sql;       /* PostgreSQL's spelling */
    int nparams;
    variant_t *vars;
    int nvars;
    const char **vals; /* per parameter: its text, or NULL */
    char **owned;      /* per parameter: a copy to free, or NULL */
    char (*num)[32];   /* per parameter: the text of a number */
    char *types;       /* per parameter: 'i', 'd' or 'u' */
    PGresult *res;
    int ran, row, nrows;
    uint64_t runs;  /* times run, and seconds waiting for the answers */
    double run_s;
} pg_stmt_t;

struct pg_db {
    dni_db_t base;
    pg_store_t *store;
    PGconn *conn;
    const char *conninfo;
    pg_stmt_t **stmts;
    int n, cap;
    unsigned gen, next_name;
    int64_t changes;
    char err[512];
    char sqlstate[6];
    int retry;        /* a statement failed to serialise: rerun the batch */
    int lost;         /* the connection broke during the batch */
    int in_batch;     /* the writer is inside a batch's transaction: a
                         lost connection is not opened again until the
                         batch is over (the rest of a job must never run
                         outside its transaction) */
    int role;         /* FOR_WRITER, FOR_READER or FOR_MONITOR */
    double retry_at;  /* no reconnection attempt before this */
    double backoff;
    int in_use;
    /* Statements sent in a pipeline whose answers are not read yet
     * (dni__step_later; the writer, inside a batch), and their SQL. */
    int pending;
    const char *pending_sql[PIPELINE_MAX];
    /* Work done on this connection: round trips to the server, prepared
     * statements run, seconds spent waiting for libpq's answers. */
    uint64_t trips, execs;
    double pq_s;
};

struct pg_store {
    dni_store_t base;
    char *conninfo;
    pg_db_t writer;
    pg_db_t monitor;   /* the health check's own connection */
    pthread_t monitor_thread;
    pthread_cond_t monitor_cv;
    int down;          /* the database did not answer lately */
    char why[256];
    pg_db_t *readers;
    unsigned nreaders;
    dni_write_queue_t queue; /* the writer thread's jobs */
    pthread_t thread;
    pthread_mutex_t mu;      /* readers, the monitor, down/why, retries */
    pthread_cond_t reader_cv;
    int stopping;
    int turn;          /* writer: 1 when take_turn() opened the batch's
                          transaction, -1 when it failed, else 0 */
    uint64_t retries;
    /* The writer's figures (DNI_PG_STATS): jobs refused after
     * MAX_RETRIES, seconds in batches, the writer thread's CPU. */
    uint64_t refused;
    double batch_s, cpu_s;
};

extern const dni_backend_t dni__backend_pg;
/* 1 while the database cannot be reached (below, with the watcher). */
static int pg_down(dni_store_t *base, char *why, size_t n);

/* ---- connections -------------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts a round trip that began at t0 (a mono() reading). */
static void tripped(pg_db_t *d, double t0)
{
    d->trips++;
    d->pq_s += mono() - t0;
}

static void set_err(pg_db_t *d, const char *msg)
{
    snprintf(d->err, sizeof d->err, "%s", msg ? msg : "unknown error");
    char *nl = strchr(d->err, '\n');
    if (nl)
        *nl = 0;
    size_t n = strlen(d->err);
    while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
        d->err[--n] = 0;
}

/* Records whether the database answers (down 0) or not (1, why). */
static void mark(pg_store_t *s, int down, const char *why)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (down && !s->down)
        fprintf(stderr, "dni-origin: database unreachable: %s\n", why);
    else if (!down && s->down)
        fprintf(stderr, "dni-origin: database reachable again\n");
    s->down = down;
    if (down)
        snprintf(s->why, sizeof s->why, "%s", why ? why : "");
    pthread_mutex_unlock(&s->mu);
}

static void note_result_error(pg_db_t *d, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
    set_err(d, r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn));
    if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
        d->retry = 1;
    if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
        d->lost = 1;
        mark(d->store, 1, d->err);
    }
}

/* What a connection is for: the writer, a reader (read-only), or the
 * health check. */
enum { FOR_WRITER, FOR_READER, FOR_MONITOR };

static PGconn *connect_to(const char *conninfo, int role, char *err,
                          size_t errlen)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          NULL};
    const char *vals[] = {conninfo, "5", "dni-origin", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", c ? PQerrorMessage(c) : "out of memory");
        size_t n = strlen(err);
        while (n && err[n - 1] == '\n')
            err[--n] = 0;
        PQfinish(c);
        return NULL;
    }
    /* Durability is the point of a 2xx: whatever the server's default.
     * Only writers write (see WRITE_LOCK): readers are read-only, so a
     * write that went the wrong way fails loudly. */
    PGresult *r = PQexec(c, role == FOR_WRITER
                                ? "SET synchronous_commit = on;"
                                  " SET client_min_messages = warning;"
                                  " SET idle_in_transaction_session_timeout"
                                  " = '" IDLE_TIMEOUT "'"
                                : "SET synchronous_commit = on;"
                                  " SET client_min_messages = warning;"
                                  " SET default_transaction_read_only = on");
    PQclear(r);
    return c;
}

static void db_init(pg_db_t *d, pg_store_t *s, const char *conninfo,
                    int role)
{
    memset(d, 0, sizeof *d);
    d->role = role;
    d->base.be = &dni__backend_pg;
    d->store = s;
    d->conninfo = conninfo;
    d->backoff = 0.05;
    d->gen = 1; /* a variant with gen 0 was never prepared */
}

/* The connection is usable, or it was just opened again; 0 or -1. Reopens
 * at most once per back-off period, so an outage costs requests a quick
 * 503 rather than a connect timeout each. */
static int db_ready(pg_db_t *d)
{
    if (d->conn && PQstatus(d->conn) == CONNECTION_OK) {
        /* Outside a transaction, earlier failures are history. */
        if (!d->in_batch && PQtransactionStatus(d->conn) == PQTRANS_IDLE)
            d->lost = d->retry = 0;
        return 0;
    }
    if (d->in_batch) {
        set_err(d, "connection lost");
        d->lost = 1;
        return -1;
    }
    double now = dni__now();
    if (now < d->retry_at) {
        set_err(d, "database unreachable");
        return -1;
    }
    char err[256];
    PQfinish(d->conn);
    d->conn = connect_to(d->conninfo, d->role, err, sizeof err);
    if (!d->conn) {
        set_err(d, err);
        mark(d->store, 1, d->err);
        d->retry_at = now + d->backoff;
        d->backoff = d->backoff * 2 > 2 ? 2 : d->backoff * 2;
        return -1;
    }
    d->gen++; /* statements prepared on the old connection are gone */
    d->backoff = 0.05;
    d->retry_at = 0;
    d->lost = d->retry = 0;
    mark(d->store, 0, NULL);
    return 0;
}

static void stmt_free(pg_stmt_t *st)
{
    PQclear(st->res);
    for (int i = 0; i < st->nvars; i++)
        free(st->vars[i].sig);
    free(st->vars);
    for (int i = 0; i < st->nparams; i++)
        free(st->owned[i]);
    free(st->owned);
    free(st->vals);
    free(st->num);
    free(st->types);
    free(st->sql);
    free(st);
}

static void db_close(pg_db_t *d)
{
    for (int i = 0; i < d->n; i++)
        stmt_free(d->stmts[i]);
    free(d->stmts);
    d->stmts = NULL;
    d->n = d->cap = 0;
    PQfinish(d->conn);
    d->conn = NULL;
}

/* ---- statements --------------------------------------------------------- */

static void clear_bindings(pg_stmt_t *st)
{
    for (int i = 0; i < st->nparams; i++) {
        free(st->owned[i]);
        st->owned[i] = NULL;
        st->vals[i] = NULL;
        st->types[i] = 'n';
    }
}

static void pg_reset(dni_stmt_t *s)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    PQclear(st->res);
    st->res = NULL;
    st->ran = 0;
    st->row = -1;
    st->nrows = 0;
}

static dni_stmt_t *pg_stmt(dni_db_t *dbase, const char *sql)
{
    pg_db_t *d = (pg_db_t *)dbase;
    for (int i = 0; i < d->n; i++) {
        if (d->stmts[i]->key == sql) {
            pg_stmt_t *st = d->stmts[i];
            pg_reset(&st->base);
            clear_bindings(st);
            return &st->base;
        }
    }
    pg_stmt_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->base.be = &dni__backend_pg;
    st->base.db = dbase;
    st->key = sql;
    st->sql = dni__pg_sql(sql, &st->nparams);
    int n = st->nparams ? st->nparams : 1;
    st->vals = calloc((size_t)n, sizeof *st->vals);
    st->owned = calloc((size_t)n, sizeof *st->owned);
    st->num = calloc((size_t)n, sizeof *st->num);
    st->types = calloc((size_t)n + 1, 1);
    if (!st->sql || !st->vals || !st->owned || !st->num || !st->types) {
        stmt_free(st);
        return NULL;
    }
    clear_bindings(st);
    st->row = -1;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        pg_stmt_t **a = realloc(d->stmts, (size_t)cap * sizeof *a);
        if (!a) {
            stmt_free(st);
            return NULL;
        }
        d->stmts = a;
        d->cap = cap;
    }
    d->stmts[d->n++] = st;
    return &st->base;
}

/* Makes parameter i (1-based) ready for a new value, freeing the copy
 * an earlier bind_text_copy made; 0 when the statement has no such
 * parameter (the bind is then ignored). */
static int clear_param(pg_stmt_t *st, int i)
{
    if (i < 1 || i > st->nparams)
        return 0;
    free(st->owned[i - 1]);
    st->owned[i - 1] = NULL;
    return 1;
}

static void pg_bind_text(dni_stmt_t *s, int i, const char *v, int copy)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    if (!clear_param(st, i))
        return;
    i--;
    st->types[i] = v ? 't' : 'n';
    if (v && copy) {
        st->owned[i] = strdup(v);
        v = st->owned[i];
    }
    st->vals[i] = v;
}

static void pg_bind_int64(dni_stmt_t *s, int i, int64_t v)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    if (!clear_param(st, i))
        return;
    i--;
    snprintf(st->num[i], sizeof st->num[i], "%" PRId64, v);
    st->vals[i] = st->num[i];
    st->types[i] = 'i';
}

static void pg_bind_double(dni_stmt_t *s, int i, double v)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    if (!clear_param(st, i))
        return;
    i--;
    if (isnan(v))
        snprintf(st->num[i], sizeof st->num[i], "NaN");
    else if (isinf(v))
        snprintf(st->num[i], sizeof st->num[i], v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(st->num[i], sizeof st->num[i], "%.17g", v);
    st->vals[i] = st->num[i];
    st->types[i] = 'd';
}

static void pg_bind_null(dni_stmt_t *s, int i) { pg_bind_text(s, i, NULL, 0); }

/* ---- pipelines: statements sent without waiting ------------------------ */

/*
 * Ends the pipeline: sends the sync and reads the answers of everything
 * sent since it began, in order. Returns the index of the first that
 * failed (its error noted on d and logged), or -1. With last, the answer
 * of the last statement sent is handed back as it is (unexamined, for
 * execute()), and only the others are checked. One round trip.
 */
static int pipeline_end(pg_db_t *d, PGresult **last)
{
    int n = d->pending, failed = -1;
    d->pending = 0;
    if (last)
        *last = NULL;
    double t0 = mono();
    if (!PQpipelineSync(d->conn)) {
        note_result_error(d, NULL);
        return 0;
    }
    int synced = 0;
    for (int i = 0; i < n; i++) {
        PGresult *r = PQgetResult(d->conn);
        if (!r) {
            note_result_error(d, NULL);
            d->lost = d->lost || PQstatus(d->conn) != CONNECTION_OK;
            if (failed < 0)
                failed = i;
            break;
        }
        ExecStatusType t = PQresultStatus(r);
        if (last && i == n - 1) {
            *last = r;
        } else {
            if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && failed < 0) {
                failed = i;
                if (t != PGRES_PIPELINE_ABORTED) {
                    note_result_error(d, r);
                    if (!d->retry && !d->lost)
                        fprintf(stderr, "dni-origin: sql: %s: %s\n", d->err,
                                d->pending_sql[i] ? d->pending_sql[i] : "");
                }
            }
            PQclear(r);
        }
        /* The end of this statement's answers. */
        while ((r = PQgetResult(d->conn)) != NULL) {
            synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (synced)
                break;
        }
        if (synced)
            break;
    }
    for (int nulls = 0; !synced && nulls < 2;) { /* up to the sync */
        PGresult *r = PQgetResult(d->conn);
        if (!r) {
            if (PQstatus(d->conn) != CONNECTION_OK)
                break;
            nulls++;
            continue;
        }
        ExecStatusType t = PQresultStatus(r);
        PQclear(r);
        synced = t == PGRES_PIPELINE_SYNC;
        if (t == PGRES_FATAL_ERROR)
            break;
    }
    tripped(d, t0);
    if (!PQexitPipelineMode(d->conn) && PQstatus(d->conn) == CONNECTION_OK) {
        /* Out of step with the server (never seen): the connection is
         * dropped, the batch fails (503) and the next one opens another. */
        set_err(d, "pipeline out of step");
        PQfinish(d->conn);
        d->conn = NULL;
        d->lost = 1;
        return failed < 0 ? 0 : failed;
    }
    if (PQstatus(d->conn) != CONNECTION_OK) {
        d->lost = 1;
        mark(d->store, 1, "connection lost");
        if (failed < 0)
            failed = 0;
    }
    return failed;
}

/* Sends a command without parameters into the pipeline (entering it);
 * 0 or -1. */
static int pipeline_send(pg_db_t *d, const char *sql)
{
    if (d->pending >= PIPELINE_MAX && pipeline_end(d, NULL) >= 0)
        return -1;
    if (PQpipelineStatus(d->conn) == PQ_PIPELINE_OFF &&
        !PQenterPipelineMode(d->conn))
        return -1;
    if (!PQsendQueryParams(d->conn, sql, 0, NULL, NULL, NULL, NULL, 0)) {
        note_result_error(d, NULL);
        return -1;
    }
    d->pending_sql[d->pending++] = sql;
    return 0;
}

/* Runs one command on the connection outside the statement cache; the
 * result or NULL (error noted on d). */
static PGresult *run(pg_db_t *d, const char *sql)
{
    if (d->pending && pipeline_end(d, NULL) >= 0)
        return NULL;
    double t0 = mono();
    PGresult *r = PQexec(d->conn, sql);
    tripped(d, t0);
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        note_result_error(d, r);
        PQclear(r);
        return NULL;
    }
    return r;
}

static int run_ok(pg_db_t *d, const char *sql)
{
    PGresult *r = run(d, sql);
    PQclear(r);
    return r ? 0 : -1;
}

/*
 * The patterns of parameter types a statement is prepared with, in the
 * order they are tried, from its bindings (types: 'i', 'd', 't' text,
 * 'n' NULL). Numbers keep their type throughout; text is left to
 * PostgreSQL to infer (as it does for a literal) except in pattern 2; a
 * NULL, which fits any type, is tried as each. Pattern 1 leaves every
 * type to PostgreSQL (`CASE WHEN ?1` with 0 or 1 bound).
 */
#define PATTERNS 6
static void pattern(const pg_stmt_t *st, int k, char *out)
{
    static const char null_as[PATTERNS] = {'u', 'u', 't', 'i', 'd', 't'};
    for (int i = 0; i < st->nparams; i++) {
        char b = st->types[i];
        if (k == 1)
            out[i] = 'u';
        else if (b == 'n')
            out[i] = null_as[k];
        else if (b == 't')
            out[i] = k == 2 || k == 5 ? 't' : 'u';
        else
            out[i] = b;
    }
    out[st->nparams] = 0;
}

/* Prepares st on the connection for the type pattern sig (once per
 * connection: refusals are remembered too); the variant or NULL. Inside
 * a transaction a failed PREPARE would abort it, so the attempt is fenced
 * by a savepoint. */
static variant_t *prepare(pg_db_t *d, pg_stmt_t *st, const char *sig)
{
    variant_t *v = NULL;
    for (int i = 0; i < st->nvars; i++) {
        if (!strcmp(st->vars[i].sig, sig)) {
            v = &st->vars[i];
            break;
        }
    }
    if (v && v->gen == d->gen)
        return v->failed ? NULL : v;
    if (!v) {
        variant_t *a = realloc(st->vars, (size_t)(st->nvars + 1) * sizeof *a);
        if (!a)
            return NULL;
        st->vars = a;
        v = &st->vars[st->nvars];
        memset(v, 0, sizeof *v);
        v->sig = strdup(sig);
        if (!v->sig)
            return NULL;
        st->nvars++;
    }
    /* Statements waiting in a pipeline are answered first. */
    if (d->pending && pipeline_end(d, NULL) >= 0)
        return NULL;
    Oid *oids = calloc((size_t)(st->nparams ? st->nparams : 1), sizeof *oids);
    if (!oids)
        return NULL;
    for (int i = 0; i < st->nparams; i++)
        oids[i] = sig[i] == 'i'   ? INT8_OID
                  : sig[i] == 'd' ? FLOAT8_OID
                  : sig[i] == 't' ? TEXT_OID
                                  : 0;
    snprintf(v->name, sizeof v->name, "s%u", d->next_name++);
    int fenced = PQtransactionStatus(d->conn) == PQTRANS_INTRANS;
    if (fenced && run_ok(d, "SAVEPOINT dni_prepare")) {
        free(oids);
        return NULL;
    }
    double t0 = mono();
    PGresult *r = PQprepare(d->conn, v->name, st->sql, st->nparams, oids);
    tripped(d, t0);
    free(oids);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        note_result_error(d, r);
    PQclear(r);
    if (fenced) {
        if (!ok)
            run_ok(d, "ROLLBACK TO SAVEPOINT dni_prepare");
        run_ok(d, "RELEASE SAVEPOINT dni_prepare");
    }
    if (d->lost)
        return NULL;
    v->gen = d->gen;
    v->failed = !ok;
    return ok ? v : NULL;
}

/* Runs the statement with its bindings; DNI_DONE, DNI_ROW (rows are in
 * st->res), DNI_ERR or DNI_CONSTRAINT. */
/* The statement prepared for its bindings' types, or NULL. */
static variant_t *variant_for(pg_db_t *d, pg_stmt_t *st)
{
    variant_t *v = NULL;
    char sig[st->nparams + 1];
    for (int k = 0; !v && k < PATTERNS; k++) {
        if (d->lost || d->retry || PQtransactionStatus(d->conn) == PQTRANS_INERROR)
            break;
        pattern(st, k, sig);
        v = prepare(d, st, sig);
    }
    return v;
}

static int execute(pg_stmt_t *st)
{
    pg_db_t *d = (pg_db_t *)st->base.db;
    int again = 1;
start:
    if (db_ready(d))
        return DNI_ERR;
    /* A statement outside any transaction (a reader's) whose connection
     * turns out to be gone (the server restarted since) runs once more
     * on a new connection. */
    int idle = !d->in_batch && PQtransactionStatus(d->conn) == PQTRANS_IDLE;
    variant_t *v = variant_for(d, st);
    if (!v && d->lost && idle && again--)
        goto start;
    if (!v) {
        if (!d->lost && !d->retry && !pg_down(&d->store->base, NULL, 0))
            fprintf(stderr, "dni-origin: sql: %s: %s\n", d->err, st->sql);
        return DNI_ERR;
    }
    double t0 = mono();
    PGresult *r;
    if (d->pending) {
        /* Statements sent earlier (dni__step_later) ride with this one:
         * one round trip answers them all. */
        int n = d->pending;
        if (!PQsendQueryPrepared(d->conn, v->name, st->nparams, st->vals,
                                 NULL, NULL, 0)) {
            note_result_error(d, NULL);
            pipeline_end(d, NULL);
            return DNI_ERR;
        }
        d->pending_sql[d->pending++] = st->sql;
        if (pipeline_end(d, &r) >= 0 && n) {
            /* An earlier one failed: this one did not run. */
            PQclear(r);
            return DNI_ERR;
        }
        if (!r) {
            d->lost = 1;
            return DNI_ERR;
        }
    } else {
        r = PQexecPrepared(d->conn, v->name, st->nparams, st->vals, NULL,
                           NULL, 0);
        tripped(d, t0);
    }
    d->execs++;
    st->runs++;
    st->run_s += mono() - t0;
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        note_result_error(d, r);
        PQclear(r);
        if (d->lost && idle && again--)
            goto start;
        if (!strncmp(d->sqlstate, "23", 2))
            return DNI_CONSTRAINT;
        if (!d->retry && !d->lost)
            fprintf(stderr, "dni-origin: sql: %s: %s\n", d->err, st->sql);
        return DNI_ERR;
    }
    const char *n = PQcmdTuples(r);
    if (n && *n)
        d->changes = strtoll(n, NULL, 10);
    st->res = r;
    st->nrows = t == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    return DNI_DONE;
}

static int pg_step(dni_stmt_t *s)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    if (!st->ran) {
        st->ran = 1;
        st->row = -1;
        int rc = execute(st);
        if (rc != DNI_DONE)
            return rc;
    }
    if (!st->res)
        return DNI_DONE;
    st->row++;
    return st->row < st->nrows ? DNI_ROW : DNI_DONE;
}

/* dni__step_later: the writer, inside a batch, sends the statement into
 * a pipeline and answers DNI_DONE; its answer is read with the job's
 * next statement or at the job's end (batch_once). Elsewhere: pg_step. */
static int pg_step_later(dni_stmt_t *s)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    pg_db_t *d = (pg_db_t *)st->base.db;
    if (st->ran || d->role != FOR_WRITER || !d->in_batch || !d->conn ||
        PQstatus(d->conn) != CONNECTION_OK || d->lost || d->retry)
        return pg_step(s);
    variant_t *v = variant_for(d, st);
    if (!v)
        return pg_step(s); /* says why */
    if (d->pending >= PIPELINE_MAX && pipeline_end(d, NULL) >= 0)
        return DNI_ERR;
    if (PQpipelineStatus(d->conn) == PQ_PIPELINE_OFF &&
        !PQenterPipelineMode(d->conn))
        return pg_step(s);
    if (!PQsendQueryPrepared(d->conn, v->name, st->nparams, st->vals, NULL,
                             NULL, 0)) {
        note_result_error(d, NULL);
        return DNI_ERR;
    }
    d->pending_sql[d->pending++] = st->sql;
    d->execs++;
    st->runs++;
    st->ran = 1;
    st->row = -1;
    st->nrows = 0;
    return DNI_DONE;
}

static int col_ok(const pg_stmt_t *st, int i)
{
    return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 &&
           i < PQnfields(st->res) && !PQgetisnull(st->res, st->row, i);
}

static const char *pg_col_text(dni_stmt_t *s, int i)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    if (!col_ok(st, i))
        return NULL;
    const char *v = PQgetvalue(st->res, st->row, i);
    if (PQftype(st->res, i) == BOOL_OID)
        return v[0] == 't' ? "1" : "0";
    return v;
}

static double pg_col_double(dni_stmt_t *s, int i)
{
    pg_stmt_t *st = (pg_stmt_t *)s;
    const char *v = pg_col_text(s, i);
    (void)st;
    return v ? strtod(v, NULL) : 0;
}

static int64_t pg_col_int64(dni_stmt_t *s, int i)
{
    const char *v = pg_col_text(s, i);
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E' || end == v) {
        /* A real (or Infinity, NaN): SQLite truncates towards zero. */
        double x = strtod(v, NULL);
        if (isnan(x))
            return 0;
        if (x >= 9.2e18)
            return INT64_MAX;
        if (x <= -9.2e18)
            return INT64_MIN;
        return (int64_t)x;
    }
    return n;
}

static int pg_col_is_null(dni_stmt_t *s, int i)
{
    return !col_ok((pg_stmt_t *)s, i);
}

static int64_t pg_changes(dni_db_t *d) { return ((pg_db_t *)d)->changes; }

static int pg_exec(dni_db_t *dbase, const char *sql)
{
    pg_db_t *d = (pg_db_t *)dbase;
    if (db_ready(d))
        return -1;
    char *q = dni__pg_sql(sql, NULL);
    if (!q)
        return -1;
    PGresult *r = run(d, q);
    free(q);
    if (!r)
        return -1;
    const char *n = PQcmdTuples(r);
    if (n && *n)
        d->changes = strtoll(n, NULL, 10);
    PQclear(r);
    return 0;
}

static const char *pg_errmsg(dni_db_t *d) { return ((pg_db_t *)d)->err; }

static int pg_snapshot_begin(dni_db_t *dbase)
{
    pg_db_t *d = (pg_db_t *)dbase;
    if (db_ready(d))
        return -1;
    return run_ok(d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void pg_snapshot_end(dni_db_t *dbase)
{
    pg_db_t *d = (pg_db_t *)dbase;
    if (!d->conn || PQtransactionStatus(d->conn) == PQTRANS_IDLE)
        return;
    if (run_ok(d, "COMMIT"))
        run_ok(d, "ROLLBACK");
}

/* ---- the writer: group commit ------------------------------------------- */

/* The savepoint commands ride together, one round trip between two jobs:
 * the writer's time goes into the jobs' own statements. The batch's turn
 * among the writers of every process (WRITE_LOCK) is taken in the same
 * round trip as BEGIN. */
#define STR_(x) #x
#define STR(x) STR_(x)
static const char *const begin_sql =
    "BEGIN ISOLATION LEVEL READ COMMITTED;"
    " SET LOCAL lock_timeout = '" LOCK_TIMEOUT "';"
    " SELECT pg_advisory_xact_lock(" STR(WRITE_LOCK) ");"
    " SAVEPOINT job";

/* Opens the batch's transaction once its turn came: 0, or -1 (errors
 * noted on the writer). A connection found gone at BEGIN (the server
 * restarted while we were idle) is opened again at once: nothing of the
 * batch ran yet. */
static int begin_batch(pg_db_t *w)
{
    w->retry = 0;
    w->lost = 0;
    if (db_ready(w))
        return -1;
    if (run_ok(w, begin_sql) &&
        !(w->lost && !db_ready(w) && !run_ok(w, begin_sql)))
        return -1;
    return 0;
}

/* The writer's turn, taken before the waiting jobs are: those that come
 * while it waits for the other processes' writers join the batch. */
static void take_turn(void *ctx)
{
    pg_store_t *s = ctx;
    s->turn = begin_batch(&s->writer) ? -1 : 1;
}

/* Runs the batch once: 0 when it committed (or every job failed alone),
 * 1 when it must run again (serialisation), -1 when the connection is
 * gone (503). Statuses are set on the jobs. */
static int batch_once(pg_store_t *s, dni_job_t *batch)
{
    pg_db_t *w = &s->writer;
    int turn = s->turn; /* the transaction take_turn opened, if any */
    s->turn = 0;
    if (turn < 0 || (turn == 0 && begin_batch(w)))
        goto failed;
    w->in_batch = 1;
    for (dni_job_t *j = batch; j; j = j->next) {
        j->status = j->fn(&w->base, j->arg);
        if (w->retry || w->lost)
            goto failed;
        if (w->pending) {
            /* The job's statements still in the pipeline are answered in
             * the round trip that ends the job. */
            int n = w->pending, bad;
            if (j->status < 400 &&
                !pipeline_send(w, "RELEASE SAVEPOINT job") &&
                !pipeline_send(w, j->next ? "SAVEPOINT job" : "COMMIT")) {
                bad = pipeline_end(w, NULL);
                if (bad < 0)
                    continue; /* stored, and the next job's savepoint set */
                if (w->retry || w->lost || bad >= n)
                    goto failed; /* the commit, or the connection */
            } else {
                pipeline_end(w, NULL);
                if (w->retry || w->lost)
                    goto failed;
            }
            /* One of them failed: the job did (rolled back below). */
        }
        /* A job that carried on after an error (its transaction state is
         * "aborted") cannot have stored what it says: it failed. */
        if (PQtransactionStatus(w->conn) == PQTRANS_INERROR && j->status < 400)
            j->status = 500;
        const char *next =
            j->status >= 400
                ? (j->next ? "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job;"
                             " SAVEPOINT job"
                           : "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job;"
                             " COMMIT")
                : (j->next ? "RELEASE SAVEPOINT job; SAVEPOINT job"
                           : "RELEASE SAVEPOINT job; COMMIT");
        if (run_ok(w, next))
            goto failed;
    }
    w->in_batch = 0;
    mark(s, 0, NULL);
    return 0;
failed:
    w->in_batch = 0;
    if (w->pending)
        pipeline_end(w, NULL);
    if (!w->lost && w->conn && PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(w->conn, "ROLLBACK");
        PQclear(r);
    }
    if (w->lost || !w->conn || PQstatus(w->conn) != CONNECTION_OK)
        return -1;
    if (w->retry)
        return 1;
    if (!strcmp(w->sqlstate, "55P03")) /* no turn within LOCK_TIMEOUT */
        return -1;
    fprintf(stderr, "dni-origin: commit failed: %s\n", w->err);
    for (dni_job_t *j = batch; j; j = j->next)
        j->status = 500;
    return 0;
}

/* A short pause before running a refused batch again, growing with the
 * attempt and jittered, so two processes that collided do not collide
 * again in step. */
static void pause_after(int attempt, unsigned *seed)
{
    long us = 500L * (1L << (attempt < 6 ? attempt : 6));
    us += (long)((unsigned long)rand_r(seed) % (unsigned long)us);
    struct timespec ts = {us / 1000000L, (us % 1000000L) * 1000L};
    nanosleep(&ts, NULL);
}

/* Runs the jobs, retrying what PostgreSQL refuses to serialise: the whole
 * batch once more, then each job in a transaction of its own (a smaller
 * transaction collides less, and one job's conflict no longer holds the
 * others back). A job still refused after MAX_RETRIES answers 503. */
static void run_batch(pg_store_t *s, dni_job_t *batch)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = batch_once(s, batch);
        if (rc <= 0)
            break;
        pthread_mutex_lock(&s->mu);
        s->retries++;
        pthread_mutex_unlock(&s->mu);
        pause_after(attempt, &seed);
    }
    if (rc < 0) {
        fprintf(stderr, "dni-origin: database: %s\n", s->writer.err);
        for (dni_job_t *j = batch; j; j = j->next)
            j->status = 503;
        return;
    }
    if (rc == 0)
        return;
    for (dni_job_t *j = batch; j; j = j->next) {
        dni_job_t *next = j->next;
        j->next = NULL; /* a batch of one */
        for (int attempt = 0;; attempt++) {
            rc = batch_once(s, j);
            if (rc == 0)
                break;
            if (rc < 0 || attempt >= MAX_RETRIES) {
                if (rc > 0) {
                    pthread_mutex_lock(&s->mu);
                    s->refused++;
                    pthread_mutex_unlock(&s->mu);
                }
                j->status = 503;
                break;
            }
            pthread_mutex_lock(&s->mu);
            s->retries++;
            pthread_mutex_unlock(&s->mu);
            pause_after(attempt, &seed);
        }
        j->next = next;
    }
}

/* DNI_PG_STATS=SECONDS: the writer prints what it did every SECONDS. */
static void stats_print(pg_store_t *s, const char *when)
{
    static _Thread_local uint64_t c0, j0, r0, x0, t0, st0;
    static _Thread_local double b0, p0, u0;
    pg_db_t *w = &s->writer;
    uint64_t c, j;
    dni__queue_counts(&s->queue, &c, &j);
    pthread_mutex_lock(&s->mu);
    uint64_t r = s->retries, x = s->refused;
    pthread_mutex_unlock(&s->mu);
    uint64_t dj = j - j0;
    fprintf(stderr,
            "dni-origin: pg writer %s: %llu batches, %llu jobs, %llu batches"
            " run again, %llu jobs refused; %llu round trips (%.1f/job),"
            " %llu statements (%.1f/job); busy %.3f s: libpq %.3f s,"
            " cpu %.3f s\n",
            when, (unsigned long long)(c - c0), (unsigned long long)dj,
            (unsigned long long)(r - r0), (unsigned long long)(x - x0),
            (unsigned long long)(w->trips - t0),
            dj ? (double)(w->trips - t0) / (double)dj : 0.0,
            (unsigned long long)(w->execs - st0),
            dj ? (double)(w->execs - st0) / (double)dj : 0.0,
            s->batch_s - b0, w->pq_s - p0, s->cpu_s - u0);
    c0 = c, j0 = j, r0 = r, x0 = x, t0 = w->trips, st0 = w->execs;
    b0 = s->batch_s, p0 = w->pq_s, u0 = s->cpu_s;
}

static void run_batch_of(void *ctx, dni_job_t *batch)
{
    pg_store_t *s = ctx;
    static _Thread_local double every = -1, next;
    if (every < 0) {
        const char *e = getenv("DNI_PG_STATS");
        every = e ? atof(e) : 0;
    }
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    double t0 = mono();
    run_batch(s, batch);
    double t1 = mono();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    s->batch_s += t1 - t0;
    s->cpu_s += (double)(c1.tv_sec - c0.tv_sec) +
                (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    if (every > 0 && t1 >= next) {
        if (next > 0)
            stats_print(s, "lately");
        next = t1 + every;
    }
}

static void *writer_main(void *arg)
{
    pg_store_t *s = arg;
    dni__queue_serve_turns(&s->queue, take_turn, run_batch_of, s);
    return NULL;
}

static int pg_write(dni_store_t *base, dni_job_fn fn, void *arg)
{
    return dni__queue_submit(&((pg_store_t *)base)->queue, fn, arg);
}

static dni_db_t *pg_reader(dni_store_t *base)
{
    pg_store_t *s = (pg_store_t *)base;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (unsigned i = 0; i < s->nreaders; i++) {
            if (!s->readers[i].in_use) {
                s->readers[i].in_use = 1;
                pthread_mutex_unlock(&s->mu);
                db_ready(&s->readers[i]);
                return &s->readers[i].base;
            }
        }
        pthread_cond_wait(&s->reader_cv, &s->mu);
    }
}

static void pg_reader_done(dni_store_t *base, dni_db_t *dbase)
{
    pg_store_t *s = (pg_store_t *)base;
    pg_db_t *d = (pg_db_t *)dbase;
    /* A reader given back inside a snapshot ends it. */
    if (d->conn && PQstatus(d->conn) == CONNECTION_OK &&
        PQtransactionStatus(d->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(d->conn, "ROLLBACK");
        PQclear(r);
    }
    pthread_mutex_lock(&s->mu);
    d->in_use = 0;
    pthread_cond_signal(&s->reader_cv);
    pthread_mutex_unlock(&s->mu);
}

static void pg_counts(dni_store_t *base, uint64_t *commits, uint64_t *jobs)
{
    dni__queue_counts(&((pg_store_t *)base)->queue, commits, jobs);
}

/* ---- health ---------------------------------------------------------------- */

/*
 * Asks the database every half second, on a connection of its own, so
 * /healthz knows about an outage even while no request touches the
 * database, and sees it end without waiting for a write.
 */
static void *monitor_main(void *arg)
{
    pg_store_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->monitor_cv, &s->mu, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->mu);
        pg_db_t *m = &s->monitor;
        m->lost = 0;
        if (!db_ready(m) && run_ok(m, "SELECT 1") == 0)
            mark(s, 0, NULL);
        else if (!m->conn || PQstatus(m->conn) != CONNECTION_OK)
            mark(s, 1, m->err);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int pg_down(dni_store_t *base, char *why, size_t n)
{
    pg_store_t *s = (pg_store_t *)base;
    pthread_mutex_lock(&s->mu);
    int down = s->down;
    if (down && why && n)
        snprintf(why, n, "%s", s->why);
    pthread_mutex_unlock(&s->mu);
    return down;
}

/* ---- opening: migrations under a lock ------------------------------------ */

/*
 * Brings the schema up to date. Every process starting on the database
 * takes the same advisory lock first, so when several start at once one
 * migrates and the others find the work done. The SQL functions
 * (functions.sql) are replaced every time; each migration runs in its own
 * transaction with the row that records it.
 */
static int migrate(pg_db_t *d, char *err, size_t errlen)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK);
    if (run_ok(d, sql))
        goto fail;
    int rc = -1;
    if (run_ok(d, "BEGIN") || run_ok(d, dni__pg_functions) ||
        run_ok(d, "COMMIT") ||
        run_ok(d, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version INTEGER PRIMARY KEY,"
                  " applied_at DOUBLE PRECISION NOT NULL)"))
        goto unlock;
    PGresult *r = run(d, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!r)
        goto unlock;
    int version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version > dni__pg_migration_count) {
        snprintf(d->err, sizeof d->err,
                 "database schema version %d is newer than this program (%d)",
                 version, dni__pg_migration_count);
        goto unlock;
    }
    for (int v = version; v < dni__pg_migration_count; v++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO schema_migrations (version, applied_at) VALUES"
                 " (%d, extract(epoch FROM now()))", v + 1);
        if (run_ok(d, "BEGIN") || run_ok(d, dni__pg_migrations[v]) ||
            run_ok(d, sql) || run_ok(d, "COMMIT")) {
            char keep[sizeof d->err];
            snprintf(keep, sizeof keep, "migration %d: %.480s", v + 1, d->err);
            run_ok(d, "ROLLBACK");
            snprintf(d->err, sizeof d->err, "%s", keep);
            goto unlock;
        }
    }
    rc = 0;
unlock:
    if (rc) {
        char keep[sizeof d->err];
        snprintf(keep, sizeof keep, "%s", d->err);
        run_ok(d, "ROLLBACK");
        snprintf(d->err, sizeof d->err, "%s", keep);
    }
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d)", MIGRATION_LOCK);
    PQclear(PQexec(d->conn, sql));
    if (!rc)
        return 0;
fail:
    snprintf(err, errlen, "%s", d->err);
    return -1;
}

static void store_free(pg_store_t *s)
{
    db_close(&s->monitor);
    for (unsigned i = 0; s->readers && i < s->nreaders; i++)
        db_close(&s->readers[i]);
    free(s->readers);
    db_close(&s->writer);
    free(s->conninfo);
    free(s);
}

static dni_store_t *pg_open(const char *target, const char *synchronous,
                            unsigned readers, char *err, size_t errlen)
{
    (void)synchronous; /* always synchronous_commit = on */
    pg_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = strdup(target))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.be = &dni__backend_pg;
    pthread_mutex_init(&s->mu, NULL);
    dni__queue_init(&s->queue);
    pthread_cond_init(&s->reader_cv, NULL);
    pthread_cond_init(&s->monitor_cv, NULL);
    db_init(&s->writer, s, s->conninfo, FOR_WRITER);
    db_init(&s->monitor, s, s->conninfo, FOR_MONITOR);
    s->writer.conn = connect_to(s->conninfo, FOR_WRITER, err, errlen);
    if (!s->writer.conn || migrate(&s->writer, err, errlen)) {
        store_free(s);
        return NULL;
    }
    s->nreaders = readers ? readers : 1;
    s->readers = calloc(s->nreaders, sizeof *s->readers);
    if (!s->readers) {
        snprintf(err, errlen, "out of memory");
        store_free(s);
        return NULL;
    }
    for (unsigned i = 0; i < s->nreaders; i++) {
        db_init(&s->readers[i], s, s->conninfo, FOR_READER);
        s->readers[i].conn = connect_to(s->conninfo, FOR_READER, err, errlen);
        if (!s->readers[i].conn) {
            store_free(s);
            return NULL;
        }
    }
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the writer thread");
        store_free(s);
        return NULL;
    }
    if (pthread_create(&s->monitor_thread, NULL, monitor_main, s) != 0)
        s->monitor_thread = s->thread; /* no monitor: close() knows */
    return &s->base;
}

static void pg_close(dni_store_t *base)
{
    pg_store_t *s = (pg_store_t *)base;
    dni__queue_stop(&s->queue);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->monitor_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_signal(&s->monitor_cv);
    pthread_join(s->thread, NULL);
    if (getenv("DNI_PG_STATS")) {
        stats_print(s, "since the last figures");
        /* The writer's statements that took the longest, in all. */
        pg_db_t *w = &s->writer;
        for (int k = 0; k < 12; k++) {
            pg_stmt_t *top = NULL;
            for (int i = 0; i < w->n; i++)
                if (w->stmts[i]->runs && (!top || w->stmts[i]->run_s > top->run_s))
                    top = w->stmts[i];
            if (!top)
                break;
            fprintf(stderr, "dni-origin: pg writer: %8.3f s %7llu runs %6.0f us: %.100s\n",
                    top->run_s, (unsigned long long)top->runs,
                    top->run_s / (double)top->runs * 1e6, top->sql);
            top->runs = 0;
        }
    }
    if (!pthread_equal(s->monitor_thread, s->thread))
        pthread_join(s->monitor_thread, NULL);
    pthread_cond_destroy(&s->monitor_cv);
    pthread_mutex_destroy(&s->mu);
    dni__queue_destroy(&s->queue);
    pthread_cond_destroy(&s->reader_cv);
    store_free(s);
}

const dni_backend_t dni__backend_pg = {
    .name = "postgresql",
    .dialect = DNI_DIALECT_PG,
    .open = pg_open,
    .write = pg_write,
    .reader = pg_reader,
    .reader_done = pg_reader_done,
    .counts = pg_counts,
    .close = pg_close,
    .stmt = pg_stmt,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .reset = pg_reset,
    .col_text = pg_col_text,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .exec = pg_exec,
    .errmsg = pg_errmsg,
    .snapshot_begin = pg_snapshot_begin,
    .snapshot_end = pg_snapshot_end,
    .down = pg_down,
    .step_later = pg_step_later,
};
