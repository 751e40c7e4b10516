/*
 * limited.c - the limited-view counts edges report: page views a pool
 * answered with its default number because the client had spent its lease
 * budget. An edge sums them between two syncs and sends one `limited`
 * event per pool; they are stored per pool and hour in limited_counts
 * (origin/sql/005_limited.sql documents the table), never with the
 * overflow counts, which drive scaling.
 */
#include <math.h>

#include "visitors.h"

static int count_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 &&
           v->valuedouble <= 1e12 && v->valuedouble == floor(v->valuedouble);
}

const char *dni__limited_read(const cJSON *ev, int64_t *n,
                              int64_t *clients)
{
    const cJSON *vn = cJSON_GetObjectItemCaseSensitive(ev, "n");
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(ev, "clients");
    if (!count_ok(vn) || vn->valuedouble < 1)
        return "limited event: n must be a whole number of page views";
    if (vc && !count_ok(vc))
        return "limited event: clients must be a whole number";
    *n = (int64_t)vn->valuedouble;
    *clients = vc ? (int64_t)vc->valuedouble : 0;
    if (*clients > *n)
        return "limited event: more clients than page views";
    return NULL;
}

static const char *const sql_limited =
    "INSERT INTO limited_counts (pool_id, hour, n, clients, reports)"
    " SELECT id, ?2, ?3, ?4, 1 FROM pools WHERE id = ?1"
    " ON CONFLICT (pool_id, hour) DO UPDATE SET"
    " n = limited_counts.n + excluded.n,"
    " clients = limited_counts.clients + excluded.clients,"
    " reports = limited_counts.reports + 1";

int dni__limited_apply(dni_db_t *db, const char *pool, double t,
                       int64_t n, int64_t clients)
{
    dni_stmt_t *st = dni__stmt(db, sql_limited);
    if (!st)
        return -1;
    dni__bind_text(st, 1, pool);
    dni__bind_int64(st, 2, (int64_t)floor(t / 3600));
    dni__bind_int64(st, 3, n);
    dni__bind_int64(st, 4, clients);
    int rc = dni__step(st);
    int ch = dni__changes(db);
    dni__reset(st);
    if (rc != DNI_DONE)
        return -1;
    return ch > 0;
}
