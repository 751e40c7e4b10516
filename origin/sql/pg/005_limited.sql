-- Version 5: page views shown the default number because the visitor's
-- client address spent its lease budget (origin/sql/005_limited.sql).
CREATE TABLE limited_counts (
    pool_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    n BIGINT NOT NULL,
    clients BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    PRIMARY KEY (pool_id, hour)
);
