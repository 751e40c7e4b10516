-- Version 5: page views an edge answered with a pool's default number
-- because the visitor's client address had spent its lease budget
-- (docs/edge.md, "How leases are protected"). Kept apart from
-- overflow_counts on purpose: a limited view says nothing about the
-- pool's size, so it must never count towards auto-scaling.
--
-- One row per pool and hour, summed over every edge's reports:
--   hour     floor(t / 3600), t the Unix time of the report's last view
--   n        page views shown the default number
--   clients  client addresses counted: the sum, over the edges' reports,
--            of the distinct addresses each report saw (an address limited
--            in several reports counts once per report)
--   reports  edge reports summed into the row
-- Read it with, for example:
--   SELECT hour * 3600 AS t, n, clients FROM limited_counts
--    WHERE pool_id = ? AND hour >= ? ORDER BY hour;
CREATE TABLE limited_counts (
    pool_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    clients INTEGER NOT NULL,
    reports INTEGER NOT NULL,
    PRIMARY KEY (pool_id, hour)
) WITHOUT ROWID;
