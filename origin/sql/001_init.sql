-- Version 1: pools, numbers with their grants, edges, leases, calls.
-- Times are Unix seconds (REAL).

CREATE TABLE pools (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    config TEXT NOT NULL,          -- the pool object as the API returns it
    default_number TEXT NOT NULL,
    overflow_number TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- One row per tracking number. state: 0 free, 1 granted to edge,
-- 2 draining from edge (revoked, waiting for its leases to end).
CREATE TABLE numbers (
    number TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    edge TEXT,
    epoch INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL DEFAULT 0,
    released_at REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX numbers_pool ON numbers (pool_id, state, released_at);
CREATE INDEX numbers_edge ON numbers (edge, pool_id);

CREATE TABLE edges (
    id TEXT PRIMARY KEY,
    last_sync REAL NOT NULL,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Applied batches: (edge, seq) makes a sync idempotent.
CREATE TABLE sync_batches (
    edge TEXT NOT NULL,
    seq INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (edge, seq)
) WITHOUT ROWID;

-- Leases reported by edges; the lease history used for attribution.
CREATE TABLE leases (
    edge TEXT NOT NULL,
    lease TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    number TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    visitor TEXT,
    tags TEXT,
    referrer TEXT,
    url TEXT,
    start REAL NOT NULL,
    last_seen REAL NOT NULL,
    last_join REAL NOT NULL,
    released_at REAL,
    PRIMARY KEY (edge, lease)
) WITHOUT ROWID;
CREATE INDEX leases_number ON leases (number, start);
CREATE INDEX leases_open ON leases (number, edge) WHERE released_at IS NULL;

CREATE TABLE overflow_counts (
    pool_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (pool_id, hour)
) WITHOUT ROWID;

-- One row per call (CallSid). id orders calls for pagination.
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    pool_id TEXT,
    to_number TEXT NOT NULL,
    from_number TEXT,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    status_seq INTEGER NOT NULL,
    active INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    kind TEXT NOT NULL,
    lease_edge TEXT,
    lease_id TEXT,
    likelihood REAL,
    candidates TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX calls_pool ON calls (pool_id, id);
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_active ON calls (to_number) WHERE active = 1;

-- Every (CallSid, status) received once: webhook idempotency.
CREATE TABLE call_events (
    sid TEXT NOT NULL,
    status TEXT NOT NULL,
    t REAL NOT NULL,
    sequence INTEGER NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (sid, status)
) WITHOUT ROWID;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
