-- Version 2: each pool's engine settings in a small column of their own,
-- so attributing a call does not parse the whole pool object (which lists
-- every number of the pool).
ALTER TABLE pools ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
UPDATE pools SET settings = json_object(
    'id', id,
    'mode', json_extract(config, '$.mode'),
    'buffer_s', json_extract(config, '$.buffer_s'),
    'max_lease_s', json_extract(config, '$.max_lease_s'),
    'min_hold_s', json_extract(config, '$.min_hold_s'),
    'sticky_s', json_extract(config, '$.sticky_s'),
    'attribution_window_s', json_extract(config, '$.attribution_window_s'),
    'number_limit', json_extract(config, '$.number_limit'));

-- The per-edge lookups (held, revoked, granted numbers of one edge in one
-- pool) filter on state too: index it so they do not scan the edge's rows.
DROP INDEX numbers_edge;
CREATE INDEX numbers_edge ON numbers (edge, pool_id, state, number);
