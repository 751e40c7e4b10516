/*
 * migrate.c - `dni-origin migrate --from sqlite:FILE --to postgresql://...`:
 * copies an origin's SQLite database into an empty PostgreSQL database,
 * table by table, through the storage interface (store.h).
 *
 * Both ends are first brought to the latest schema by opening them as the
 * origin would (SQLite migrations, then PostgreSQL's under their lock), so
 * the tables and columns match (tests/pg/schema.test.mjs keeps them so).
 * Every value keeps its SQLite type: integers are bound as integers, reals
 * as doubles (all 17 digits), text as text. Rows go over in transactions
 * of ROWS_PER_JOB rows through the PostgreSQL store's writer; the identity
 * columns' sequences are moved past the copied ids at the end.
 *
 * Tables kept by triggers from others are handled so: pool_telephony is
 * filled by the pools trigger as pools are copied (not copied itself);
 * overflow_recent, which the overflow_counts trigger feeds with the time
 * of the copy, is emptied and copied as it was. The target must be empty
 * (no pools, no calls): a second run refuses rather than doubling rows.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "store.h"

#define ROWS_PER_JOB 500

typedef struct {
    char type; /* 'i', 'd', 't', 'n' */
    int64_t i;
    double d;
    char *t;
} cell_t;

typedef struct {
    const char *insert; /* the INSERT statement (lives until the end) */
    const char *table;
    int ncols;
    cell_t *cells; /* rows * ncols */
    size_t nrows;
    int clear_first; /* DELETE FROM table before the first row */
    char err[256];
} copy_job_t;

static int copy_job(dni_db_t *db, void *arg)
{
    copy_job_t *j = arg;
    if (j->clear_first) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s", j->table);
        if (dni__exec(db, sql)) {
            snprintf(j->err, sizeof j->err, "%s", dni__db_errmsg(db));
            return 500;
        }
    }
    for (size_t r = 0; r < j->nrows; r++) {
        dni_stmt_t *st = dni__stmt(db, j->insert);
        if (!st) {
            snprintf(j->err, sizeof j->err, "%s", dni__db_errmsg(db));
            return 500;
        }
        for (int c = 0; c < j->ncols; c++) {
            const cell_t *v = &j->cells[r * (size_t)j->ncols + (size_t)c];
            if (v->type == 'i')
                dni__bind_int64(st, c + 1, v->i);
            else if (v->type == 'd')
                dni__bind_double(st, c + 1, v->d);
            else if (v->type == 't')
                dni__bind_text(st, c + 1, v->t);
            else
                dni__bind_null(st, c + 1);
        }
        int rc = dni__step(st);
        dni__reset(st);
        if (rc != DNI_DONE) {
            snprintf(j->err, sizeof j->err, "%s", dni__db_errmsg(db));
            return 500;
        }
    }
    return 200;
}

typedef struct {
    const char *sql;
    char err[256];
} exec_job_t;

static int exec_job(dni_db_t *db, void *arg)
{
    exec_job_t *j = arg;
    if (dni__exec(db, j->sql)) {
        snprintf(j->err, sizeof j->err, "%s", dni__db_errmsg(db));
        return 500;
    }
    return 200;
}

/* Statements built at run time: kept here until the end, since the
 * statement caches are keyed by the address of their text. */
static char *kept[256];
static int nkept;

static const char *keep(char *s)
{
    if (s && nkept < (int)(sizeof kept / sizeof kept[0]))
        kept[nkept++] = s;
    return s;
}

static void cells_free(cell_t *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cells[i].t);
    free(cells);
}

/* Copies one table; 0 or -1 (reason printed). *rows: rows copied. */
static int copy_table(dni_store_t *from, dni_store_t *to, const char *table,
                      size_t *rows)
{
    static const char *const sql_cols =
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid";
    char cols[64][64];
    int ncols = 0;
    dni_db_t *rd = dni__store_reader(from);
    dni_stmt_t *st = dni__stmt(rd, sql_cols);
    if (!st) {
        dni__store_reader_done(from, rd);
        return -1;
    }
    dni__bind_text(st, 1, table);
    while (dni__step(st) == DNI_ROW && ncols < 64)
        snprintf(cols[ncols++], sizeof cols[0], "%s", dni__col_text(st, 0));
    dni__reset(st);

    /* SELECT typeof(a), a, typeof(b), b, ... and the INSERT. */
    size_t cap = 64 + (size_t)ncols * 160;
    char *sel = malloc(cap), *ins = malloc(cap);
    if (!sel || !ins) {
        free(sel);
        free(ins);
        dni__store_reader_done(from, rd);
        return -1;
    }
    size_t a = (size_t)snprintf(sel, cap, "SELECT ");
    size_t b = (size_t)snprintf(ins, cap, "INSERT INTO %s (", table);
    for (int c = 0; c < ncols; c++) {
        a += (size_t)snprintf(sel + a, cap - a, "%stypeof(\"%s\"), \"%s\"",
                              c ? ", " : "", cols[c], cols[c]);
        b += (size_t)snprintf(ins + b, cap - b, "%s\"%s\"", c ? ", " : "",
                              cols[c]);
    }
    snprintf(sel + a, cap - a, " FROM %s", table);
    b += (size_t)snprintf(ins + b, cap - b, ") VALUES (");
    for (int c = 0; c < ncols; c++)
        b += (size_t)snprintf(ins + b, cap - b, "%s?%d", c ? ", " : "", c + 1);
    snprintf(ins + b, cap - b, ")");
    keep(sel);
    keep(ins);

    copy_job_t job = {ins, table, ncols, NULL, 0,
                      !strcmp(table, "overflow_recent"), ""};
    job.cells = calloc((size_t)ROWS_PER_JOB * (size_t)ncols, sizeof *job.cells);
    st = dni__stmt(rd, sel);
    if (!job.cells || !st) {
        free(job.cells);
        dni__store_reader_done(from, rd);
        return -1;
    }
    int rc = 0, step;
    *rows = 0;
    for (;;) {
        step = dni__step(st);
        if (step == DNI_ROW) {
            cell_t *row = &job.cells[job.nrows * (size_t)ncols];
            for (int c = 0; c < ncols; c++) {
                const char *ty = dni__col_text(st, 2 * c);
                cell_t *v = &row[c];
                free(v->t);
                memset(v, 0, sizeof *v);
                if (!ty || !strcmp(ty, "null")) {
                    v->type = 'n';
                } else if (!strcmp(ty, "integer")) {
                    v->type = 'i';
                    v->i = dni__col_int64(st, 2 * c + 1);
                } else if (!strcmp(ty, "real")) {
                    v->type = 'd';
                    v->d = dni__col_double(st, 2 * c + 1);
                } else {
                    v->type = 't';
                    v->t = strdup(dni__col_text(st, 2 * c + 1));
                }
            }
            job.nrows++;
        }
        if (job.nrows == ROWS_PER_JOB || (step != DNI_ROW && job.nrows)) {
            int status = dni__store_write(to, copy_job, &job);
            if (status >= 300) {
                fprintf(stderr, "dni-origin migrate: %s: %s\n", table,
                        job.err[0] ? job.err : "write failed");
                rc = -1;
                break;
            }
            *rows += job.nrows;
            job.nrows = 0;
            job.clear_first = 0;
        }
        if (step != DNI_ROW)
            break;
    }
    if (step == DNI_ERR) {
        fprintf(stderr, "dni-origin migrate: %s: %s\n", table,
                dni__db_errmsg(rd));
        rc = -1;
    }
    dni__reset(st);
    dni__store_reader_done(from, rd);
    cells_free(job.cells, (size_t)ROWS_PER_JOB * (size_t)ncols);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: dni-origin migrate --from sqlite:FILE --to postgresql://...\n"
            "  Copies an origin's SQLite database into an empty PostgreSQL\n"
            "  database (stop the origin first). Both are brought to the\n"
            "  latest schema; every table is copied in transactions.\n");
    return 2;
}

int dni__migrate_main(int argc, char **argv)
{
    const char *src = NULL, *dst = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc)
            src = argv[++i];
        else if (!strcmp(argv[i], "--to") && i + 1 < argc)
            dst = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage() & 0;
        else
            return usage();
    }
    if (!src || !dst)
        return usage();
    if (!strncmp(src, "sqlite:", 7))
        src += 7;
    if (dni__store_target_is_pg(src) || !dni__store_target_is_pg(dst)) {
        fprintf(stderr, "dni-origin migrate: --from is a SQLite file, --to a "
                        "postgresql:// URL\n");
        return 2;
    }
    char err[512];
    dni_store_t *from = dni__store_open(src, "FULL", 1, err, sizeof err);
    if (!from) {
        fprintf(stderr, "dni-origin migrate: %s: %s\n", src, err);
        return 1;
    }
    dni_store_t *to = dni__store_open(dst, "FULL", 1, err, sizeof err);
    if (!to) {
        fprintf(stderr, "dni-origin migrate: %s\n", err);
        dni__store_close(from);
        return 1;
    }
    int rc = 1;
    /* An empty target only. */
    static const char *const sql_used =
        "SELECT (SELECT count(*) FROM pools) + (SELECT count(*) FROM calls)";
    dni_db_t *rd = dni__store_reader(to);
    dni_stmt_t *st = dni__stmt(rd, sql_used);
    int64_t used = st && dni__step(st) == DNI_ROW ? dni__col_int64(st, 0) : -1;
    if (st)
        dni__reset(st);
    dni__store_reader_done(to, rd);
    if (used != 0) {
        fprintf(stderr, "dni-origin migrate: the target database is not empty "
                        "(it has pools or calls); refusing to copy into it\n");
        goto done;
    }

    static const char *const sql_tables =
        "SELECT name FROM sqlite_schema WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name";
    char tables[64][64];
    int ntables = 0;
    rd = dni__store_reader(from);
    st = dni__stmt(rd, sql_tables);
    while (st && dni__step(st) == DNI_ROW && ntables < 64)
        snprintf(tables[ntables++], sizeof tables[0], "%s",
                 dni__col_text(st, 0));
    if (st)
        dni__reset(st);
    dni__store_reader_done(from, rd);

    for (int t = 0; t < ntables; t++) {
        if (!strcmp(tables[t], "pool_telephony"))
            continue; /* kept by the pools trigger */
        size_t rows = 0;
        if (copy_table(from, to, tables[t], &rows))
            goto done;
        fprintf(stderr, "dni-origin migrate: %s: %zu rows\n", tables[t], rows);
    }
    /* Identity columns: the next id follows the copied ones. */
    static const char *const idents[] = {"calls", "number_ops", "pool_events",
                                         "call_changes"};
    for (size_t i = 0; i < sizeof idents / sizeof idents[0]; i++) {
        char *sql = malloc(256);
        if (!sql)
            goto done;
        snprintf(sql, 256,
                 "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
                 " coalesce((SELECT max(id) FROM %s), 0) + 1, false)",
                 idents[i], idents[i]);
        exec_job_t j = {keep(sql), ""};
        if (dni__store_write(to, exec_job, &j) >= 300) {
            fprintf(stderr, "dni-origin migrate: %s: %s\n", idents[i], j.err);
            goto done;
        }
    }
    fprintf(stderr, "dni-origin migrate: done\n");
    rc = 0;
done:
    dni__store_close(to);
    dni__store_close(from);
    for (int i = 0; i < nkept; i++)
        free(kept[i]);
    nkept = 0;
    return rc;
}
