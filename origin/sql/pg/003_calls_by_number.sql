-- Version 3: calls by (number, start); grants read from an index
-- (origin/sql/003_calls_by_number.sql).
CREATE INDEX calls_number ON calls (to_number, started_at);

DROP INDEX numbers_edge;
CREATE INDEX numbers_edge ON numbers (edge, pool_id, state, number, epoch);
