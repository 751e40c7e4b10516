-- Version 6: telephony. Where numbers come from and go back to, what the
-- pool's number lifecycle did, and the few settings the voice route and
-- the scheduler read on every call or tick.

-- A pool's telephony settings as columns, kept by triggers from the pool
-- object: the voice route and the scheduler read a small row instead of
-- parsing the whole object (which lists every number of the pool).
CREATE VIEW pool_telephony_of AS SELECT
    id AS pool_id,
    created_at,
    default_number,
    coalesce(json_extract(config, '$.forward_to'), default_number) AS forward_to,
    coalesce(json_extract(config, '$.record_calls'), 0) AS record_calls,
    json_extract(config, '$.alert_url') AS alert_url,
    coalesce(json_extract(config, '$.provider.kind'), 'inventory') AS provider_kind,
    coalesce(json_extract(config, '$.provider.country'), 'US') AS provider_country,
    coalesce(json_extract(config, '$.provider.toll_free'), 0) AS provider_toll_free,
    json_extract(config, '$.provider.area_code') AS provider_area_code,
    coalesce(json_extract(config, '$.auto_scale.enabled'), 0) AS scale_enabled,
    coalesce(json_extract(config, '$.auto_scale.step_s'), 300) AS scale_step_s,
    coalesce(json_extract(config, '$.auto_scale.step_numbers'), 1) AS scale_step_numbers,
    coalesce(json_extract(config, '$.auto_scale.max'),
             json_extract(config, '$.number_limit'), 0) AS scale_max,
    coalesce(json_extract(config, '$.stockpile'), 0) AS stockpile,
    coalesce(json_extract(config, '$.number_limit'), 0) AS number_limit,
    coalesce(json_extract(config, '$.attribution_window_s'), 86400) AS attribution_window_s
FROM pools;

CREATE TABLE pool_telephony (
    pool_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    default_number TEXT NOT NULL,
    forward_to TEXT NOT NULL,
    record_calls INTEGER NOT NULL,
    alert_url TEXT,
    provider_kind TEXT NOT NULL,
    provider_country TEXT NOT NULL,
    provider_toll_free INTEGER NOT NULL,
    provider_area_code TEXT,
    scale_enabled INTEGER NOT NULL,
    scale_step_s REAL NOT NULL,
    scale_step_numbers INTEGER NOT NULL,
    scale_max INTEGER NOT NULL,
    stockpile INTEGER NOT NULL,
    number_limit INTEGER NOT NULL,
    attribution_window_s REAL NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER pool_telephony_insert AFTER INSERT ON pools BEGIN
    INSERT OR REPLACE INTO pool_telephony
        SELECT * FROM pool_telephony_of WHERE pool_id = NEW.id;
END;
CREATE TRIGGER pool_telephony_update AFTER UPDATE OF config ON pools BEGIN
    INSERT OR REPLACE INTO pool_telephony
        SELECT * FROM pool_telephony_of WHERE pool_id = NEW.id;
END;
CREATE TRIGGER pool_telephony_delete AFTER DELETE ON pools BEGIN
    DELETE FROM pool_telephony WHERE pool_id = OLD.id;
END;

-- Pools stored before this version had `provider` as a string (which did
-- nothing) and `auto_scale` as a boolean: they become the objects the
-- settings are now, with the embedded inventory as the provider.
UPDATE pools SET config = json_set(config,
    '$.provider', CASE WHEN json_type(config, '$.provider') = 'object'
        THEN json(json_extract(config, '$.provider'))
        ELSE json_object('kind', 'inventory', 'country', 'US',
                         'toll_free', json('false'), 'area_code', NULL) END,
    '$.auto_scale', CASE WHEN json_type(config, '$.auto_scale') = 'object'
        THEN json(json_extract(config, '$.auto_scale'))
        ELSE json_object('enabled', json(CASE WHEN json_type(config, '$.auto_scale') = 'true'
                                              THEN 'true' ELSE 'false' END),
                         'step_s', 300, 'step_numbers', 1,
                         'max', json_extract(config, '$.number_limit')) END,
    '$.forward_to', json_extract(config, '$.forward_to'),
    '$.record_calls', json(CASE WHEN json_extract(config, '$.record_calls') THEN 'true' ELSE 'false' END),
    '$.alert_url', json_extract(config, '$.alert_url'));

-- Overflows shown, per pool and second of arrival at the origin, filled
-- from the hourly counters the sync keeps: auto-scaling asks "was an
-- overflow shown during the last step", which an hourly count cannot
-- answer. Counted when the batch arrives, so a late batch is never missed
-- by a step that already ran. Kept for two days.
CREATE TABLE overflow_recent (
    pool_id TEXT NOT NULL,
    sec INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (pool_id, sec)
) WITHOUT ROWID;
CREATE TRIGGER overflow_recent_insert AFTER INSERT ON overflow_counts BEGIN
    INSERT INTO overflow_recent (pool_id, sec, n)
        VALUES (NEW.pool_id, unixepoch('now'), NEW.n)
        ON CONFLICT (pool_id, sec) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER overflow_recent_update AFTER UPDATE OF n ON overflow_counts
WHEN NEW.n > OLD.n BEGIN
    INSERT INTO overflow_recent (pool_id, sec, n)
        VALUES (NEW.pool_id, unixepoch('now'), NEW.n - OLD.n)
        ON CONFLICT (pool_id, sec) DO UPDATE SET n = n + excluded.n;
END;

-- The operator's own numbers (the inventory provider): loaded through
-- the API, handed to pools on demand, taken back on release.
CREATE TABLE inventory (
    number TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    area_code TEXT,
    toll_free INTEGER NOT NULL,
    in_use INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL
) WITHOUT ROWID;

-- Numbers the lifecycle acquired for a pool from a provider: what it may
-- give back, and to whom. A number listed by hand in a pool has no row.
CREATE TABLE owned_numbers (
    number TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_sid TEXT,
    area_code TEXT,
    toll_free INTEGER NOT NULL,
    acquired_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX owned_numbers_pool ON owned_numbers (pool_id);

-- Intents: every purchase and release is written here before the
-- provider is asked, and settled after (done or failed). A pending intent
-- found after a crash or timeout is reconciled against the provider's
-- list of owned numbers. At most one pending intent per number.
CREATE TABLE number_ops (
    id INTEGER PRIMARY KEY,
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
    created_at REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at REAL,
    error TEXT
);
CREATE INDEX number_ops_state ON number_ops (state, not_before);
CREATE UNIQUE INDEX number_ops_one_pending ON number_ops (number)
    WHERE state = 'pending';

-- What the lifecycle did and said, per pool: numbers added and released
-- (with the reason and the figures behind it), provider errors, alerts
-- (with their delivery to the pool's alert_url).
CREATE TABLE pool_events (
    id INTEGER PRIMARY KEY,
    pool_id TEXT NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,             -- added, released, provider_error, alert
    number TEXT,
    reason TEXT NOT NULL,
    figures TEXT NOT NULL DEFAULT '{}',
    alert TEXT,                     -- pool_too_small, not_swapping, provider_failing
    delivery TEXT,                  -- alerts: pending, sent, failed, none
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL,
    last_error TEXT
);
CREATE INDEX pool_events_pool ON pool_events (pool_id, id);
CREATE INDEX pool_events_alert ON pool_events (pool_id, alert, t)
    WHERE alert IS NOT NULL;
CREATE INDEX pool_events_delivery ON pool_events (next_try)
    WHERE delivery = 'pending';

-- Scheduled rules that ran, so none runs twice for the same period (an
-- auto-scaling step, a month's scale-down), across restarts.
CREATE TABLE lifecycle_runs (
    pool_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    period TEXT NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (pool_id, rule, period)
) WITHOUT ROWID;
