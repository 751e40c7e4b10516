-- Version 6: telephony (origin/sql/006_telephony.sql): where numbers come
-- from and go back to, what the pool's number lifecycle did, and the few
-- settings the voice route and the scheduler read on every call or tick.
--
-- SQLite's version also rewrote pool objects stored before it (provider
-- as a string, auto_scale as a boolean); no PostgreSQL database predates
-- this version, so there is nothing to rewrite here.

-- A pool's telephony settings as columns, kept by a trigger from the pool
-- object (dni_json_num in functions.sql reads JSON numbers and booleans
-- the way SQLite's json_extract does: true is 1, false 0).
CREATE VIEW pool_telephony_of AS SELECT
    id AS pool_id,
    created_at,
    default_number,
    coalesce(config::jsonb ->> 'forward_to', default_number) AS forward_to,
    coalesce(dni_json_num(config::jsonb -> 'record_calls'), 0) AS record_calls,
    config::jsonb ->> 'alert_url' AS alert_url,
    coalesce(config::jsonb #>> '{provider,kind}', 'inventory') AS provider_kind,
    coalesce(config::jsonb #>> '{provider,country}', 'US') AS provider_country,
    coalesce(dni_json_num(config::jsonb #> '{provider,toll_free}'), 0) AS provider_toll_free,
    config::jsonb #>> '{provider,area_code}' AS provider_area_code,
    coalesce(dni_json_num(config::jsonb #> '{auto_scale,enabled}'), 0) AS scale_enabled,
    coalesce(dni_json_num(config::jsonb #> '{auto_scale,step_s}'), 300) AS scale_step_s,
    coalesce(dni_json_num(config::jsonb #> '{auto_scale,step_numbers}'), 1) AS scale_step_numbers,
    coalesce(dni_json_num(config::jsonb #> '{auto_scale,max}'),
             dni_json_num(config::jsonb -> 'number_limit'), 0) AS scale_max,
    coalesce(dni_json_num(config::jsonb -> 'stockpile'), 0) AS stockpile,
    coalesce(dni_json_num(config::jsonb -> 'number_limit'), 0) AS number_limit,
    coalesce(dni_json_num(config::jsonb -> 'attribution_window_s'), 86400) AS attribution_window_s
FROM pools;

CREATE TABLE pool_telephony (
    pool_id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    default_number TEXT NOT NULL,
    forward_to TEXT NOT NULL,
    record_calls INTEGER NOT NULL,
    alert_url TEXT,
    provider_kind TEXT NOT NULL,
    provider_country TEXT NOT NULL,
    provider_toll_free INTEGER NOT NULL,
    provider_area_code TEXT,
    scale_enabled INTEGER NOT NULL,
    scale_step_s DOUBLE PRECISION NOT NULL,
    scale_step_numbers BIGINT NOT NULL,
    scale_max BIGINT NOT NULL,
    stockpile BIGINT NOT NULL,
    number_limit BIGINT NOT NULL,
    attribution_window_s DOUBLE PRECISION NOT NULL
);

CREATE FUNCTION dni_pool_telephony_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM pool_telephony WHERE pool_id = OLD.id;
        RETURN OLD;
    END IF;
    DELETE FROM pool_telephony WHERE pool_id = NEW.id;
    INSERT INTO pool_telephony SELECT * FROM pool_telephony_of WHERE pool_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER pool_telephony_insert AFTER INSERT ON pools
    FOR EACH ROW EXECUTE FUNCTION dni_pool_telephony_keep();
CREATE TRIGGER pool_telephony_update AFTER UPDATE OF config ON pools
    FOR EACH ROW EXECUTE FUNCTION dni_pool_telephony_keep();
CREATE TRIGGER pool_telephony_delete AFTER DELETE ON pools
    FOR EACH ROW EXECUTE FUNCTION dni_pool_telephony_keep();

-- Overflows shown, per pool and second of arrival at the origin, filled
-- from the hourly counters the sync keeps. Kept for two days.
CREATE TABLE overflow_recent (
    pool_id TEXT NOT NULL,
    sec BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (pool_id, sec)
);
CREATE FUNCTION dni_overflow_recent_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added BIGINT := NEW.n;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        added := NEW.n - OLD.n;
    END IF;
    IF added > 0 OR TG_OP = 'INSERT' THEN
        INSERT INTO overflow_recent AS r (pool_id, sec, n)
            VALUES (NEW.pool_id, floor(extract(epoch FROM clock_timestamp()))::bigint, added)
            ON CONFLICT (pool_id, sec) DO UPDATE SET n = r.n + excluded.n;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER overflow_recent_insert AFTER INSERT ON overflow_counts
    FOR EACH ROW EXECUTE FUNCTION dni_overflow_recent_count();
CREATE TRIGGER overflow_recent_update AFTER UPDATE OF n ON overflow_counts
    FOR EACH ROW EXECUTE FUNCTION dni_overflow_recent_count();

-- The operator's own numbers (the inventory provider).
CREATE TABLE inventory (
    number TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    area_code TEXT,
    toll_free INTEGER NOT NULL,
    in_use INTEGER NOT NULL DEFAULT 0,
    added_at DOUBLE PRECISION NOT NULL
);

-- Numbers the lifecycle acquired for a pool from a provider.
CREATE TABLE owned_numbers (
    number TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_sid TEXT,
    area_code TEXT,
    toll_free INTEGER NOT NULL,
    acquired_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX owned_numbers_pool ON owned_numbers (pool_id);

-- Intents: every purchase and release, written before the provider is
-- asked and settled after. At most one pending intent per number.
CREATE TABLE number_ops (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pool_id TEXT NOT NULL,
    op TEXT NOT NULL,               -- 'acquire' or 'release'
    number TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_sid TEXT,
    area_code TEXT,
    toll_free INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,            -- 'pending', 'done', 'failed'
    reason TEXT NOT NULL,
    figures TEXT NOT NULL DEFAULT '{}',
    created_at DOUBLE PRECISION NOT NULL,
    not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    done_at DOUBLE PRECISION,
    error TEXT
);
CREATE INDEX number_ops_state ON number_ops (state, not_before);
CREATE UNIQUE INDEX number_ops_one_pending ON number_ops (number)
    WHERE state = 'pending';

-- What the lifecycle did and said, per pool.
CREATE TABLE pool_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pool_id TEXT NOT NULL,
    t DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,             -- added, released, provider_error, alert
    number TEXT,
    reason TEXT NOT NULL,
    figures TEXT NOT NULL DEFAULT '{}',
    alert TEXT,                     -- pool_too_small, not_swapping, provider_failing
    delivery TEXT,                  -- alerts: pending, sent, failed, none
    attempts BIGINT NOT NULL DEFAULT 0,
    next_try DOUBLE PRECISION,
    last_error TEXT
);
CREATE INDEX pool_events_pool ON pool_events (pool_id, id);
CREATE INDEX pool_events_alert ON pool_events (pool_id, alert, t)
    WHERE alert IS NOT NULL;
CREATE INDEX pool_events_delivery ON pool_events (next_try)
    WHERE delivery = 'pending';

-- Scheduled rules that ran, so none runs twice for the same period, across
-- restarts and across the origin processes sharing the database.
CREATE TABLE lifecycle_runs (
    pool_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    period TEXT NOT NULL,
    t DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (pool_id, rule, period)
);
