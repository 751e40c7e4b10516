/*
 * test_pg_sql.c - the PostgreSQL spelling of the origin's statements
 * (origin/src/pg_sql.c): every rewrite, and what must stay as it is.
 */
#include <stdlib.h>

#include "harness.h"
#include "pg_sql.h"

static void same(const char *in, const char *want, int want_params)
{
    int n = -1;
    char *out = dni__pg_sql(in, &n);
    CHECK_STR(out, want);
    CHECK_INT(n, want_params);
    free(out);
}

int main(void)
{
    /* Placeholders. */
    same("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1",
         "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1", 2);
    same("INSERT INTO t (a, b) VALUES (?, ?)",
         "INSERT INTO t (a, b) VALUES ($1, $2)", 2);
    same("SELECT ?3, ?", "SELECT $3, $4", 4);
    same("SELECT 'what?' || ?1, \"q?\" FROM t -- a ? here\n",
         "SELECT 'what?' || $1, \"q?\" FROM t -- a ? here\n", 1);
    same("SELECT 'it''s ?1'", "SELECT 'it''s ?1'", 0);

    /* Scalar max/min; the aggregates stay. */
    same("UPDATE t SET a = max(a, ?1), b = min(b, ?2, 3)",
         "UPDATE t SET a = GREATEST(a, $1), b = LEAST(b, $2, 3)", 2);
    same("SELECT max(a), min(coalesce(b, 0)) FROM t",
         "SELECT max(a), min(coalesce(b, 0)) FROM t", 0);
    same("SELECT max(last_seen, coalesce(f(a, b), last_seen))",
         "SELECT GREATEST(last_seen, coalesce(f(a, b), last_seen))", 0);

    /* IS / IS NOT. */
    same("WHERE kind IS NOT ?2 OR a IS NOT NULL OR b IS NULL",
         "WHERE kind IS DISTINCT FROM $2 OR a IS NOT NULL OR b IS NULL", 2);
    same("WHERE a IS ?1 AND b IS TRUE",
         "WHERE a IS NOT DISTINCT FROM $1 AND b IS TRUE", 1);

    /* INSERT OR IGNORE. */
    same("INSERT OR IGNORE INTO t (a) VALUES (?1)",
         "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING", 1);
    same("INSERT OR IGNORE INTO t (a) SELECT x FROM u WHERE y = (?1) RETURNING a",
         "INSERT INTO t (a) SELECT x FROM u WHERE y = ($1) ON CONFLICT DO NOTHING RETURNING a", 1);
    same("insert or ignore into t (a) values (1);",
         "insert into t (a) values (1) ON CONFLICT DO NOTHING;", 0);

    /* JSON functions. */
    same("SELECT json_object('a', 1), json_group_array(c.sid) FROM calls c",
         "SELECT json_build_object('a', 1),"
         " coalesce(json_agg(c.sid), CAST('[]' AS json)) FROM calls c", 0);
    same("SELECT (SELECT json_group_array(f(c.sid, 'x)')) FROM c), 1",
         "SELECT (SELECT coalesce(json_agg(f(c.sid, 'x)')), CAST('[]' AS json))"
         " FROM c), 1", 0);
    same("SELECT json_object('f', json(e.figures)), CAST(x AS json), t.json",
         "SELECT json_build_object('f', CAST(e.figures AS json)),"
         " CAST(x AS json), t.json", 0);
    same("SELECT json(json_group_array(json(a))) FROM t",
         "SELECT CAST(coalesce(json_agg(CAST(a AS json)), CAST('[]' AS json))"
         " AS json) FROM t", 0);
    same("WHERE lease IN (SELECT value FROM json_each(?2))",
         "WHERE lease IN (SELECT value FROM"
         " json_array_elements_text(CAST($2 AS json)))", 2);

    /* CAST AS INTEGER truncates. */
    same("SELECT CAST((t - ?2) / ?4 AS INTEGER), CAST(x AS TEXT)",
         "SELECT CAST(trunc(((t - $2) / $4 )::double precision) AS BIGINT), CAST(x AS TEXT)", 4);

    /* Upserts: unqualified reads of the inserted columns are the row's. */
    same("INSERT INTO overflow_counts (pool_id, hour, n) SELECT id, ?2, 1 FROM"
         " pools WHERE id = ?1 ON CONFLICT (pool_id, hour) DO UPDATE SET n = n + 1",
         "INSERT INTO overflow_counts (pool_id, hour, n) SELECT id, $2, 1 FROM"
         " pools WHERE id = $1 ON CONFLICT (pool_id, hour) DO UPDATE SET n = overflow_counts.n + 1", 2);
    same("INSERT INTO edges (id, last_seq, generation) VALUES (?1, ?2, ?3)"
         " ON CONFLICT (id) DO UPDATE SET last_seq = CASE WHEN generation ="
         " excluded.generation THEN max(last_seq, excluded.last_seq) ELSE"
         " excluded.last_seq END, generation = excluded.generation",
         "INSERT INTO edges (id, last_seq, generation) VALUES ($1, $2, $3)"
         " ON CONFLICT (id) DO UPDATE SET last_seq = CASE WHEN edges.generation ="
         " excluded.generation THEN GREATEST(edges.last_seq, excluded.last_seq) ELSE"
         " excluded.last_seq END, generation = excluded.generation", 3);
    same("INSERT INTO settings (key, value) VALUES ('m', ?) ON CONFLICT (key)"
         " DO UPDATE SET value = excluded.value",
         "INSERT INTO settings (key, value) VALUES ('m', $1) ON CONFLICT (key)"
         " DO UPDATE SET value = excluded.value", 1);

    /* Untouched. */
    same("SELECT a.max, t.min FROM t", "SELECT a.max, t.min FROM t", 0);
    same("", "", 0);

    /* Passwords stay out of logs. */
    char buf[128];
    dni__pg_redact("postgresql://dni:s3cret@db.example:5432/dni", buf, sizeof buf);
    CHECK_STR(buf, "postgresql://dni:***@db.example:5432/dni");
    dni__pg_redact("postgresql://dni@db/dni?sslmode=require", buf, sizeof buf);
    CHECK_STR(buf, "postgresql://dni@db/dni?sslmode=require");
    dni__pg_redact("postgres://h:5432/x", buf, sizeof buf);
    CHECK_STR(buf, "postgres://h:5432/x");
    dni__pg_redact("/var/lib/dni/origin.db", buf, sizeof buf);
    CHECK_STR(buf, "/var/lib/dni/origin.db");

    return harness_report();
}
