-- SQL functions the origin's statements use on PostgreSQL, for what
-- SQLite has built in or the SQLite store registers in C. Applied at
-- every start (under the migration lock, before the migrations: version
-- 6 uses dni_json_num), so each is CREATE OR REPLACE and a change here
-- needs no new migration. Bodies are checked when first called, not
-- here: dni_lease_end reads a table the migrations create.
SET LOCAL check_function_bodies = off;
--
-- Statements are otherwise written once for both databases; the
-- PostgreSQL store also rewrites a few spellings when it prepares them
-- (placeholders, scalar max/min, IS [NOT], INSERT OR IGNORE, json_object,
-- json_group_array, json_each, CAST AS INTEGER): see store_pg.c.

-- A JSON number or boolean as SQLite's json_extract gives it: a number,
-- true 1, false 0; anything else NULL.
CREATE OR REPLACE FUNCTION dni_json_num(v jsonb) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN (v #>> '{}')::double precision
        WHEN 'boolean' THEN CASE WHEN (v #>> '{}')::boolean THEN 1 ELSE 0 END
        ELSE NULL END
$$;

-- json_extract(json, '$.a.b'): the value at the path as TEXT (strings
-- without quotes, numbers as written, true/false as 1/0, objects and
-- arrays as JSON), NULL when absent or JSON null. Only object keys in the
-- path ('$.a.b'), which is all the origin uses.
CREATE OR REPLACE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'boolean' THEN CASE WHEN (v #>> '{}')::boolean THEN '1' ELSE '0' END
        WHEN 'null' THEN NULL
        ELSE v #>> '{}' END
    FROM (SELECT CASE WHEN path = '$' THEN doc::jsonb
                 ELSE doc::jsonb #> string_to_array(substr(path, 3), '.') END AS v) x
$$;

-- RFC 7396 merge patch, as SQLite's json_patch.
CREATE OR REPLACE FUNCTION dni_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k TEXT;
    v jsonb;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RETURN patch;
    END IF;
    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
        target := '{}'::jsonb;
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(v) = 'null' THEN
            target := target - k;
        ELSE
            target := jsonb_set(target, ARRAY[k], dni_merge_patch(target -> k, v));
        END IF;
    END LOOP;
    RETURN target;
END $$;

CREATE OR REPLACE FUNCTION json_patch(target TEXT, patch TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT dni_merge_patch(target::jsonb, patch::jsonb)::text
$$;

-- instr(haystack, needle): 1-based position, 0 when absent.
CREATE OR REPLACE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE AS $$ SELECT strpos(haystack, needle) $$;

-- sum(condition): how many rows the condition holds for, as SQLite sums
-- its 0/1 comparisons (NULL over no rows, like sum).
CREATE OR REPLACE FUNCTION dni_sum_bool(acc BIGINT, b BOOLEAN) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN acc
                ELSE coalesce(acc, 0) + CASE WHEN b THEN 1 ELSE 0 END END
$$;
CREATE OR REPLACE AGGREGATE sum(BOOLEAN) (
    SFUNC = dni_sum_bool,
    STYPE = BIGINT
);

-- dni_lease_end(pool, start, last_seen, last_join, released_at, window):
-- when the lease stopped (or will stop) being live: released_at when the
-- edge said so, else the core's dni_lease_end_time() formula on the
-- pool's stored settings; plus the pool's attribution_window_s when
-- window is 1. NULL when the pool is unknown. The SQLite store computes
-- the same in C (lease_end_sql.c); the defaults are the core's
-- (dni_pool_settings_init).
CREATE OR REPLACE FUNCTION dni_lease_end(pool TEXT, start DOUBLE PRECISION,
    last_seen DOUBLE PRECISION, last_join DOUBLE PRECISION,
    released_at DOUBLE PRECISION, win INTEGER) RETURNS DOUBLE PRECISION
LANGUAGE sql STABLE AS $$
    SELECT coalesce(released_at,
                    least(greatest(last_seen + coalesce(dni_json_num(s -> 'buffer_s'), 60),
                                   start + coalesce(dni_json_num(s -> 'min_hold_s'), 300)),
                          last_join + coalesce(dni_json_num(s -> 'max_lease_s'), 1800)))
           + CASE WHEN win <> 0
                  THEN coalesce(dni_json_num(s -> 'attribution_window_s'), 86400)
                  ELSE 0 END
    FROM (SELECT settings::jsonb AS s FROM pools WHERE id = pool) p
$$;
