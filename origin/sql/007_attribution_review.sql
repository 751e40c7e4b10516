-- Version 7: attribution a person can review, conversions sent back
-- (postbacks), and the timed traffic the pool report replays.

-- A call's attribution set by hand (PATCH /v1/calls/{sid}): who and when.
-- While manual_at is set, automatic re-attribution leaves the call alone.
ALTER TABLE calls ADD COLUMN manual_by TEXT;
ALTER TABLE calls ADD COLUMN manual_at REAL;

-- CallDuration of a final event: a lone final event knows when the call
-- started; with any earlier status event, the earliest of those is the
-- start and the duration never moves it.
ALTER TABLE call_events ADD COLUMN duration REAL;

-- Every change of a call's attribution (and of the start it was computed
-- at), oldest first: why, when, by whom, what it became and what it was.
CREATE TABLE call_changes (
    id INTEGER PRIMARY KEY,
    sid TEXT NOT NULL,
    at REAL NOT NULL,            -- wall-clock time of the change
    reason TEXT NOT NULL,        -- webhook, lease reported, start moved, manual, automatic
    by TEXT,                     -- manual changes: who
    note TEXT,
    started_at REAL NOT NULL,    -- the call start the attribution used
    kind TEXT NOT NULL,          -- session, unattributed, default, overflow, unknown
    lease_edge TEXT,
    lease_id TEXT,
    likelihood REAL,
    prev_started_at REAL,
    prev_kind TEXT,
    prev_lease_edge TEXT,
    prev_lease_id TEXT
);
CREATE INDEX call_changes_sid ON call_changes (sid, id);

-- Postbacks: one per call, a durable outbox. state: pending (next attempt
-- at next_at), delivered (a 2xx came back), failed (the retry window is
-- over without a 2xx).
CREATE TABLE postbacks (
    sid TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    last_at REAL,
    last_status INTEGER,          -- HTTP status of the last attempt, 0: none
    last_error TEXT,
    delivered_at REAL
) WITHOUT ROWID;
CREATE INDEX postbacks_due ON postbacks (next_at) WHERE state = 'pending';

-- Overflow events with their time (overflow_counts keeps hourly totals):
-- the report's series at minute resolution and the visits the pool could
-- not serve, replayed by the sizing simulation.
CREATE TABLE overflow_events (
    pool_id TEXT NOT NULL,
    t REAL NOT NULL
);
CREATE INDEX overflow_events_pool ON overflow_events (pool_id, t);

-- The pool report and the trace export read a pool's leases by start.
CREATE INDEX leases_pool_start ON leases (pool_id, start);

-- The leases list shows each session's calls.
CREATE INDEX calls_lease ON calls (lease_id, lease_edge);
