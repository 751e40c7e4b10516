/*
 * pool_metrics.c - the /metrics lines labelled by pool: overflow events,
 * calls by attribution and limited page views, read from the store at each scrape (totals
 * since the database began, so they survive restarts as counters should
 * never go down).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "origin.h"

/* Label values are pool ids ([A-Za-z0-9_-]) and fixed words: nothing to
 * escape. */
void dni__pool_metrics(dni_store_t *store, dni_jsonbuf_t *b)
{
    dni_db_t *db = dni__store_reader(store);
    dni_stmt_t *st = dni__stmt(
        db, "SELECT pool_id, sum(n) FROM overflow_counts GROUP BY pool_id"
            " ORDER BY pool_id");
    dni__jsonbuf_fmt(b, "# HELP dni_origin_pool_overflow_total Visitors shown "
                        "the fallback number because the pool was exhausted.\n"
                        "# TYPE dni_origin_pool_overflow_total counter\n");
    if (st) {
        while (dni__step(st) == DNI_ROW)
            dni__jsonbuf_fmt(b, "dni_origin_pool_overflow_total{pool=\"%s\"} %lld\n",
                             dni__col_text(st, 0),
                             (long long)dni__col_int64(st, 1));
        dni__reset(st);
    }
    st = dni__stmt(db, "SELECT pool_id, kind, count(*) FROM calls WHERE"
                       " pool_id IS NOT NULL GROUP BY pool_id, kind"
                       " ORDER BY pool_id, kind");
    dni__jsonbuf_fmt(b, "# HELP dni_origin_pool_calls_total Calls by pool and "
                        "attribution (session, unattributed, default, "
                        "overflow).\n"
                        "# TYPE dni_origin_pool_calls_total counter\n");
    if (st) {
        while (dni__step(st) == DNI_ROW)
            dni__jsonbuf_fmt(b,
                             "dni_origin_pool_calls_total{pool=\"%s\","
                             "attribution=\"%s\"} %lld\n",
                             dni__col_text(st, 0),
                             dni__col_text(st, 1),
                             (long long)dni__col_int64(st, 2));
        dni__reset(st);
    }
    /* Limited page views (the visitor checks' counts). */
    st = dni__stmt(db, "SELECT pool_id, sum(n) FROM limited_counts"
                       " GROUP BY pool_id ORDER BY pool_id");
    if (st) {
        dni__jsonbuf_fmt(b, "# HELP dni_origin_pool_limited_total Page views "
                            "shown the default number because the visitor's "
                            "address spent its lease budget.\n"
                            "# TYPE dni_origin_pool_limited_total counter\n");
        while (dni__step(st) == DNI_ROW)
            dni__jsonbuf_fmt(b, "dni_origin_pool_limited_total{pool=\"%s\"} %lld\n",
                             dni__col_text(st, 0),
                             (long long)dni__col_int64(st, 1));
        dni__reset(st);
    }
    dni__store_reader_done(store, db);
}
