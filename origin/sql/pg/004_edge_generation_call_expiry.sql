-- Version 4: edges that lose their state, and calls that never end
-- (origin/sql/004_edge_generation_call_expiry.sql). Batches are
-- deduplicated by (edge, generation, seq); earlier ones have the empty
-- generation. The table is rebuilt so its columns keep SQLite's order.
CREATE TABLE sync_batches_v4 (
    edge TEXT NOT NULL,
    generation TEXT NOT NULL,
    seq BIGINT NOT NULL,
    applied BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    refused BIGINT NOT NULL DEFAULT 0,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (edge, generation, seq)
);
INSERT INTO sync_batches_v4 (edge, generation, seq, applied, rejected, at)
    SELECT edge, '', seq, applied, rejected, at FROM sync_batches;
DROP TABLE sync_batches;
ALTER TABLE sync_batches_v4 RENAME TO sync_batches;
ALTER INDEX sync_batches_v4_pkey RENAME TO sync_batches_pkey;

-- The generation of each edge's latest sync: a new one is a restart.
ALTER TABLE edges ADD COLUMN generation TEXT NOT NULL DEFAULT '';

-- Why a call ended when no final status said so.
ALTER TABLE calls ADD COLUMN end_reason TEXT;
