-- Version 3: calls by (number, start); grants read from an index.
--
-- When an edge's sync brings lease events for a number, the calls on that
-- number that started inside the lease's span are attributed again (a
-- webhook may arrive before the edge's batch that reports the lease); this
-- index keeps that lookup to one seek per lease.
CREATE INDEX calls_number ON calls (to_number, started_at);

-- The grant lists of a sync answer read (number, epoch) of one edge's
-- numbers in one pool: with epoch in the index they are read from it alone
-- instead of one table lookup per number.
DROP INDEX numbers_edge;
CREATE INDEX numbers_edge ON numbers (edge, pool_id, state, number, epoch);
