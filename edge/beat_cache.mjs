// Heartbeats answered in the worker (docs/edge.md, "Heartbeats without a
// Durable Object hop"). Entering the pool's PoolShard costs the runtime
// more CPU than everything else a heartbeat does, so the worker keeps, per
// isolate, what the shard last told it about each lease it served: the
// lease's number, the visitors the shard confirmed, its start, last heartbeat
// and last join, and the pool's timers. A heartbeat or leave from one of
// those visitors, for a lease that stays live well past now, is answered
// here with the end the core computes (docs/pool.md, lease rules:
// min(max(last_seen + buffer_s, start + min_hold_s), last_join +
// max_lease_s), and for a lease not yet confirmed at most start +
// unconfirmed_hold_s; same double arithmetic as core/src/pool_settings.c) and
// queued; the queue goes to the shard in one call per pool every
// flushMs, or when it fills, or riding on the next call the worker makes
// to that shard anyway. The shard's answer refreshes the entries (ended,
// revoked, new timers). Anything the cache does not know (another
// visitor, an unknown or ended lease, a lease ending within marginS) goes
// to the shard synchronously, so 401/403/404/410 keep their meaning.
//
// Bounds: at most maxLeases entries (oldest dropped first; about 300 bytes
// each, so 3 MB at the default 10,000), at most 8 visitors per entry (more
// take the synchronous path), at most queueMax queued beats per pool
// (a full queue is delivered at once; one beat per lease, the latest, since
// a later heartbeat of a lease sets the same last_seen the earlier one
// would have).
//
// What it can lose: the beats queued in an isolate that is evicted or
// crashes before its delivery, i.e. the heartbeats of the last flushMs;
// those leases then end up to that much earlier than the answer promised,
// never sooner than their last delivered heartbeat allows. It is the same
// class of loss the shard's own journal flush accepts.

const MAX_VISITORS = 8;

// The end of a lease (seconds) by the core's rule (dni_lease_end());
// timers: [buffer_s, min_hold_s, max_lease_s, unconfirmed_hold_s].
export function leaseEnd(timers, start, lastSeen, lastJoin, confirmed = true) {
  const seenEnd = lastSeen + timers[0];
  const holdEnd = start + timers[1];
  const end = seenEnd > holdEnd ? seenEnd : holdEnd;
  const cap = lastJoin + timers[2];
  const live = end < cap ? end : cap;
  if (confirmed || timers[3] === undefined) return live;
  const hold = start + timers[3];
  return hold < live ? hold : live;
}

export class BeatCache {
  // flushMs: longest a beat waits in the queue; marginS: a lease must stay
  // live at least this long past now to be answered here (so its queued
  // beat reaches the shard before the shard could end it).
  constructor({ maxLeases = 10000, queueMax = 256, flushMs = 500, marginS } = {}) {
    this.maxLeases = maxLeases;
    this.queueMax = queueMax;
    this.flushMs = flushMs;
    this.marginS = marginS !== undefined ? marginS : flushMs / 1000 + 1;
    this.timers = new Map(); // pool -> [buffer_s, min_hold_s, max_lease_s]
    this.leases = new Map(); // lease name -> {pool, number, visitors, start, seen, join}
    this.queues = new Map(); // pool -> {beats: Map(lease -> [lease, visitor, t, leave]), since, timer}
    this.hits = 0; // beats answered here
    this.misses = 0; // beats sent to the shard synchronously
    this.calls = 0; // queues handed over (one shard call each)
    this.delivered = 0; // beats in them
  }

  get enabled() { return this.flushMs > 0 && this.maxLeases > 0; }

  // Takes what a shard answered about one lease for one visitor. r: the
  // shard's reply to an assign or a beacon ({lease, number, c: [start,
  // last_seen, last_join, confirmed], t: the pool's timers}; `c` only when the lease
  // is live and the visitor one of its own) or an error reply (a 404/410
  // drops the entry).
  learn(pool, visitor, r) {
    if (!this.enabled || !r) return;
    if (Array.isArray(r.t)) this.timers.set(pool, r.t);
    if (!r.lease) return;
    if (!Array.isArray(r.c)) {
      if (r.status === 404 || r.status === 410) this.leases.delete(r.lease);
      return;
    }
    let e = this.leases.get(r.lease);
    if (!e) {
      if (this.leases.size >= this.maxLeases) this.leases.delete(this.leases.keys().next().value);
      e = { pool, number: r.number, visitors: [], start: 0, seen: 0, join: 0, confirmed: true };
      this.leases.set(r.lease, e);
    }
    if (!e.visitors.includes(visitor) && e.visitors.length < MAX_VISITORS) e.visitors.push(visitor);
    e.number = r.number;
    [e.start, e.seen, e.join] = r.c;
    e.confirmed = r.c[3] !== 0;
  }

  // A heartbeat (leave false) or leave at now (seconds) answered from the
  // cache and queued: {ok, lease, number, expires_at}, or null when the
  // shard must answer it.
  answer(lease, visitor, now, leave) {
    const e = this.enabled ? this.leases.get(lease) : undefined;
    const timers = e && this.timers.get(e.pool);
    if (!timers || !e.visitors.includes(visitor)
        || now + this.marginS > leaseEnd(timers, e.start, e.seen, e.join, e.confirmed)) {
      this.misses++;
      return null;
    }
    this.hits++;
    if (now > e.seen) e.seen = now;
    e.confirmed = true; // as the shard does when the beat reaches it
    let q = this.queues.get(e.pool);
    if (!q) { q = { beats: new Map(), since: 0, timer: false }; this.queues.set(e.pool, q); }
    if (!q.beats.size) q.since = now;
    q.beats.delete(lease); // keep the queue in time order
    q.beats.set(lease, [lease, visitor, now, leave]);
    return { ok: true, lease, number: e.number, expires_at: leaseEnd(timers, e.start, now, e.join) };
  }

  // The queue of a pool: what the worker should do now. 'now' when it is
  // full or older than twice flushMs (a lost timer), 'later' when no
  // delivery is scheduled yet (the caller schedules one and the queue
  // remembers it), else null.
  due(pool, now) {
    const q = this.queues.get(pool);
    if (!q || !q.beats.size) return null;
    if (q.beats.size >= this.queueMax || (now - q.since) * 1000 > 2 * this.flushMs) return 'now';
    if (q.timer) return null;
    q.timer = true;
    return 'later';
  }

  // Empties a pool's queue: the beats to deliver, oldest first
  // ([lease, visitor, t, leave] each; the caller owns the array). timer:
  // true when called by the scheduled delivery (the next beat schedules
  // the next one; other callers leave the pending one in place).
  take(pool, timer = false) {
    const q = this.queues.get(pool);
    if (!q) return [];
    if (timer) q.timer = false;
    const beats = [...q.beats.values()];
    q.beats.clear();
    if (beats.length) { this.calls++; this.delivered += beats.length; }
    return beats;
  }

  // Takes the shard's answer to delivered beats ({t: timers, leases:
  // [[lease, status, start, last_seen, last_join]]}); beats not delivered
  // at all (the call failed) are passed with answer null and their leases
  // forgotten, so their next heartbeat asks the shard.
  settle(pool, beats, answer) {
    if (!answer || !Array.isArray(answer.leases)) {
      for (const b of beats) this.leases.delete(b[0]);
      return;
    }
    if (Array.isArray(answer.t)) this.timers.set(pool, answer.t);
    for (const [lease, status, start, seen, join, confirmed] of answer.leases) {
      const e = this.leases.get(lease);
      if (!e) continue;
      if (status !== 200) { this.leases.delete(lease); continue; }
      e.start = start;
      if (seen > e.seen) e.seen = seen;
      e.join = join;
      if (confirmed !== undefined) e.confirmed = confirmed !== 0;
    }
  }

  // Counters for the status route.
  stats() {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.beats.size;
    return { leases: this.leases.size, queued, hits: this.hits, misses: this.misses, calls: this.calls,
      delivered: this.delivered, flush_ms: this.flushMs };
  }
}
