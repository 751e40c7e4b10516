-- Version 4: edges that lose their state, and calls that never end.
--
-- An edge's sync stream is identified by (edge, generation): an edge
-- restarted on an empty state directory picks a new generation and starts
-- its sequence numbers again at 1, so batches are deduplicated by
-- (edge, generation, seq). Batches from before this version have the
-- empty generation.
CREATE TABLE sync_batches_v4 (
    edge TEXT NOT NULL,
    generation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL,
    PRIMARY KEY (edge, generation, seq)
) WITHOUT ROWID;
INSERT INTO sync_batches_v4 (edge, generation, seq, applied, rejected, at)
    SELECT edge, '', seq, applied, rejected, at FROM sync_batches;
DROP TABLE sync_batches;
ALTER TABLE sync_batches_v4 RENAME TO sync_batches;

-- The generation of each edge's latest sync: a new one is a restart.
ALTER TABLE edges ADD COLUMN generation TEXT NOT NULL DEFAULT '';

-- Why a call ended when no final status said so ("expired": no status
-- for max_call_s).
ALTER TABLE calls ADD COLUMN end_reason TEXT;
