-- Version 2: each pool's engine settings in a small column of their own
-- (origin/sql/002_pool_settings.sql).
ALTER TABLE pools ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
UPDATE pools SET settings = json_build_object(
    'id', id,
    'mode', config::jsonb -> 'mode',
    'buffer_s', config::jsonb -> 'buffer_s',
    'max_lease_s', config::jsonb -> 'max_lease_s',
    'min_hold_s', config::jsonb -> 'min_hold_s',
    'sticky_s', config::jsonb -> 'sticky_s',
    'attribution_window_s', config::jsonb -> 'attribution_window_s',
    'number_limit', config::jsonb -> 'number_limit')::text;

DROP INDEX numbers_edge;
CREATE INDEX numbers_edge ON numbers (edge, pool_id, state, number);
