// PoolShard: one Durable Object per pool (name: the pool id) on this edge.
// It owns the visitor leases of that pool, shows only numbers the origin
// granted to this edge while their grant is valid, and keeps an outbox of
// lease events that EdgeSync (edge/edge_sync.mjs) ships to the origin.
//
// Storage layout (DO storage; every write of an operation is committed
// before its reply leaves, so a restart loses no lease):
//   meta               {config, grants, expiresAt, hold, released, nextEvent, ...}
//   lease:<id>         one live lease
//   who:<key>          visitor id (visitor mode) or tag key (tags mode) -> lease id
//   sticky:<key>       {number, t}: the number a returning visitor gets back
//   ev:<000..id>       outbox events, deleted once the origin acknowledged them
//
// The lease timers follow DESIGN.md section 2 (buffer_s, min_hold_s,
// max_lease_s, sticky_s); free numbers are reused least-recently-released
// first. Numbers on hold (a call in progress at the origin) are not handed
// out.
import { DurableObject } from 'cloudflare:workers';

const SETTINGS_DEFAULTS = {
  mode: 'visitor', tracked_tags: [], buffer_s: 60, max_lease_s: 1800,
  min_hold_s: 300, sticky_s: 2592000,
};

export function leaseEnd(s, lease) {
  return Math.min(Math.max(lease.last_seen + s.buffer_s, lease.start + s.min_hold_s),
    lease.last_join + s.max_lease_s);
}

function pad(n) { return String(n).padStart(16, '0'); }

function randomId() {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_');
}

// The identity a lease is keyed by: the visitor, or in tags mode the
// values of the tracked tags (missing tags count as empty).
export function identityKey(settings, visitor, tags) {
  if (settings.mode !== 'tags') return 'v:' + visitor;
  const t = settings.tracked_tags || [];
  return 't:' + JSON.stringify(t.map((k) => (tags && tags[k] !== undefined ? String(tags[k]) : '')));
}

export class PoolShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.skew = Number(env.GRANT_SKEW_S || 5);
    this.tickS = Number(env.TICK_S || 5);
    this.batchMax = Number(env.BATCH_MAX || 200);
    ctx.blockConcurrencyWhile(() => this.load());
  }

  async load() {
    const st = this.ctx.storage;
    this.meta = (await st.get('meta')) || {
      pool: null, config: null, grants: [], expiresAt: 0, hold: [], released: {},
      nextEvent: 1, acked: 0, overflow: 0, assigned: 0, version: 0,
    };
    this.leases = new Map();
    for (const [, l] of await st.list({ prefix: 'lease:' })) this.leases.set(l.id, l);
    this.lastSweep = 0;
  }

  settings() { return { ...SETTINGS_DEFAULTS, ...(this.meta.config || {}) }; }

  now() { return Date.now() / 1000; }

  // Queues one event for the origin (written with the same commit as the
  // state change it reports).
  event(puts, ev) {
    const id = this.meta.nextEvent++;
    puts['ev:' + pad(id)] = ev;
    if (id - this.meta.acked >= this.batchMax) {
      // A full batch: ask EdgeSync to ship now instead of at its next alarm.
      this.ctx.waitUntil(this.syncStub().kick().catch(() => {}));
    }
  }

  syncStub() { return this.env.SYNC.get(this.env.SYNC.idFromName('edge')); }

  grantValid(now) { return now < this.meta.expiresAt - this.skew; }

  grantOf(number) { return this.meta.grants.find((g) => g.number === number); }

  async commit(puts, dels) {
    puts.meta = this.meta;
    // storage.delete and storage.put take at most 128 keys per call
    for (let i = 0; i < dels.length; i += 128) await this.ctx.storage.delete(dels.slice(i, i + 128));
    const entries = Object.entries(puts);
    for (let i = 0; i < entries.length; i += 128) {
      await this.ctx.storage.put(Object.fromEntries(entries.slice(i, i + 128)));
    }
  }

  async ensureAlarm() {
    if (this.leases.size === 0) return;
    const cur = await this.ctx.storage.getAlarm();
    if (cur === null) await this.ctx.storage.setAlarm(Date.now() + this.tickS * 1000);
  }

  // Ends a lease: releases its number, remembers it for a returning
  // visitor, queues the release event.
  endLease(l, t, puts, dels, reason) {
    this.leases.delete(l.id);
    dels.push('lease:' + l.id);
    dels.push('who:' + l.key);
    this.meta.released[l.number] = t;
    puts['sticky:' + l.key] = { number: l.number, t };
    const ev = { type: 'release', pool: this.meta.pool, lease: l.id, number: l.number, t };
    if (reason) ev.reason = reason;
    this.event(puts, ev);
  }

  sweep(now, puts, dels) {
    const s = this.settings();
    // A number with a call in progress (origin's hold list) keeps its lease.
    const hold = new Set(this.meta.hold || []);
    for (const l of [...this.leases.values()]) {
      const end = leaseEnd(s, l);
      if (now > end && !hold.has(l.number)) this.endLease(l, end, puts, dels);
    }
    this.lastSweep = now;
  }

  // Picks a free number: the visitor's sticky number if free, else the
  // least recently released granted number. Returns a grant or null.
  pickNumber(now, sticky) {
    if (!this.grantValid(now)) return null;
    const busy = new Set();
    for (const l of this.leases.values()) busy.add(l.number);
    const hold = new Set(this.meta.hold || []);
    const free = (g) => !busy.has(g.number) && !hold.has(g.number);
    const s = this.settings();
    if (sticky && now - sticky.t <= s.sticky_s) {
      const g = this.grantOf(sticky.number);
      if (g && free(g)) return g;
    }
    let best = null;
    let bestT = Infinity;
    const limit = s.number_limit > 0 ? s.number_limit : Infinity;
    let n = 0;
    for (const g of this.meta.grants) {
      if (n++ >= limit) break;
      if (!free(g)) continue;
      const t = this.meta.released[g.number] ?? -Infinity;
      if (t < bestT) { best = g; bestT = t; }
    }
    return best;
  }

  fallbackNumber() {
    const c = this.meta.config || {};
    return c.overflow_number || c.default_number || null;
  }

  view(l, s) {
    return {
      pool: this.meta.pool, lease: l.id, number: l.number,
      default_number: (this.meta.config || {}).default_number, expires_at: leaseEnd(s, l),
      overflow: false,
    };
  }

  // Gives the visitor a lease (or their live one). req: {pool, visitor,
  // tags, referrer, url}. Returns {pool, lease, number, default_number,
  // expires_at, overflow} or, with no config yet, null.
  async assign(req) {
    if (!this.meta.config) return null;
    const now = this.now();
    const s = this.settings();
    const puts = {}; const dels = [];
    if (now - this.lastSweep > 1) this.sweep(now, puts, dels);
    const key = identityKey(s, req.visitor, req.tags);
    const lid = await this.ctx.storage.get('who:' + key);
    let l = lid ? this.leases.get(lid) : null;
    if (l && now > leaseEnd(s, l) && !(this.meta.hold || []).includes(l.number)) { this.endLease(l, leaseEnd(s, l), puts, dels); l = null; }
    if (l) {
      l.last_seen = now;
      if (s.mode === 'tags' && !l.visitors.includes(req.visitor)) {
        l.visitors.push(req.visitor);
        l.last_join = now;
        this.event(puts, { type: 'join', pool: this.meta.pool, lease: l.id, visitor: req.visitor, t: now });
      } else {
        l.seen_dirty = true;
      }
      puts['lease:' + l.id] = l;
      await this.commit(puts, dels);
      return this.view(l, s);
    }
    const sticky = await this.ctx.storage.get('sticky:' + key);
    let g = this.pickNumber(now, sticky);
    if (!g && this.leases.size) { this.sweep(now, puts, dels); g = this.pickNumber(now, sticky); }
    if (!g) {
      this.meta.overflow++;
      this.event(puts, { type: 'overflow', pool: this.meta.pool, t: now, visitor: req.visitor,
        reason: this.grantValid(now) ? 'exhausted' : 'no_valid_grant' });
      await this.commit(puts, dels);
      return { pool: this.meta.pool, lease: null, number: this.fallbackNumber(),
        default_number: (this.meta.config || {}).default_number, expires_at: null, overflow: true };
    }
    l = { id: `${this.meta.pool}~${randomId()}`, key, number: g.number, epoch: g.epoch,
      visitors: [req.visitor], tags: req.tags || {}, start: now, last_seen: now, last_join: now };
    this.leases.set(l.id, l);
    this.meta.assigned++;
    puts['lease:' + l.id] = l;
    puts['who:' + key] = l.id;
    this.event(puts, { type: 'assign', pool: this.meta.pool, lease: l.id, number: l.number,
      epoch: l.epoch, visitor: req.visitor, tags: l.tags, referrer: req.referrer || '',
      url: req.url || '', t: now });
    await this.commit(puts, dels);
    await this.ensureAlarm();
    return this.view(l, s);
  }

  // Looks a lease up for a beacon of `visitor`; ends it if it is over.
  async beaconLease(leaseId, visitor, now, puts, dels) {
    const l = this.leases.get(leaseId);
    if (!l) return { error: 'unknown or ended lease', status: 404 };
    if (!l.visitors.includes(visitor)) return { error: 'lease belongs to another visitor', status: 403 };
    const s = this.settings();
    const end = leaseEnd(s, l);
    if (now > end && !(this.meta.hold || []).includes(l.number)) {
      this.endLease(l, end, puts, dels);
      return { error: 'lease ended', status: 410 };
    }
    return { lease: l, settings: s };
  }

  // Heartbeat: the visitor is still on a page showing the number.
  async heartbeat({ lease, visitor }) {
    return this.touch(lease, visitor, (l, now) => { l.last_seen = now; l.left = false; });
  }

  // The visitor left: the number stays with them buffer_s from now.
  async leave({ lease, visitor }) {
    return this.touch(lease, visitor, (l, now) => { l.last_seen = now; l.left = true; });
  }

  // New tag values for a lease (e.g. a form field the snippet saw).
  async tag({ lease, visitor, tags }) {
    return this.touch(lease, visitor, (l, now, puts) => {
      Object.assign(l.tags, tags);
      this.event(puts, { type: 'tag', pool: this.meta.pool, lease: l.id, tags, t: now });
    });
  }

  async touch(leaseId, visitor, fn) {
    const now = this.now();
    const puts = {}; const dels = [];
    const r = await this.beaconLease(leaseId, visitor, now, puts, dels);
    if (r.error) { await this.commit(puts, dels); return { ok: false, status: r.status, error: r.error }; }
    fn(r.lease, now, puts);
    r.lease.seen_dirty = true;
    puts['lease:' + r.lease.id] = r.lease;
    await this.commit(puts, dels);
    return { ok: true, lease: r.lease.id, number: r.lease.number, expires_at: leaseEnd(r.settings, r.lease) };
  }

  async alarm() {
    const puts = {}; const dels = [];
    this.sweep(this.now(), puts, dels);
    await this.commit(puts, dels);
    if (this.leases.size) await this.ctx.storage.setAlarm(Date.now() + this.tickS * 1000);
  }

  // Called by EdgeSync: events after `after` (oldest first, at most max).
  // Heartbeats since the last drain become one `seen` event per lease.
  async drain(after, max) {
    const now = this.now();
    const puts = {}; const dels = [];
    this.sweep(now, puts, dels);
    for (const l of this.leases.values()) {
      if (!l.seen_dirty) continue;
      l.seen_dirty = false;
      puts['lease:' + l.id] = l;
      const ev = { type: 'seen', pool: this.meta.pool, lease: l.id, t: l.last_seen };
      if (l.left) ev.leave = true;
      this.event(puts, ev);
    }
    await this.commit(puts, dels);
    const list = await this.ctx.storage.list({ prefix: 'ev:', start: 'ev:' + pad(after + 1), limit: max });
    let upto = after;
    const events = [];
    for (const [k, ev] of list) { events.push(ev); upto = Number(k.slice(3)); }
    return { events, upto };
  }

  // Called by EdgeSync after a sync: events up to `ackUpto` reached the
  // origin; `entry` is this pool's part of the sync response.
  async applySync(pool, entry, ackUpto) {
    const puts = {}; const dels = [];
    this.meta.pool = pool;
    if (ackUpto > this.meta.acked) {
      const old = await this.ctx.storage.list({ prefix: 'ev:', end: 'ev:' + pad(ackUpto + 1) });
      dels.push(...old.keys());
      this.meta.acked = ackUpto;
    }
    if (entry) {
      if (entry.config) this.meta.config = entry.config;
      if (entry.version !== undefined) this.meta.version = entry.version;
      if (Array.isArray(entry.grants)) {
        const now = this.now();
        this.meta.grants = entry.grants.map((g) => ({ number: g.number, epoch: g.epoch }));
        this.meta.expiresAt = Number(entry.expires_at) || 0;
        // Revoked numbers (draining) are no longer handed out, but leases
        // already open on them live on. A lease whose number is neither
        // granted nor draining under its epoch (the pool was deleted, or
        // the number moved) ends now: this edge no longer owns it.
        const revoked = Array.isArray(entry.revoked) ? entry.revoked : [];
        for (const l of [...this.leases.values()]) {
          const g = this.grantOf(l.number)
            || revoked.find((r) => (typeof r === 'string' ? r : r.number) === l.number);
          const epoch = g && typeof g === 'object' ? g.epoch : l.epoch;
          if (!g || epoch !== l.epoch) this.endLease(l, now, puts, dels, 'revoked');
        }
      }
      if (Array.isArray(entry.hold)) this.meta.hold = entry.hold;
    }
    await this.commit(puts, dels);
    return { leases: this.leases.size };
  }

  // For tests and operators: what this shard holds.
  async status() {
    const now = this.now();
    const s = this.settings();
    return {
      pool: this.meta.pool, grants: this.meta.grants, expires_at: this.meta.expiresAt,
      grant_valid: this.grantValid(now), hold: this.meta.hold, overflow: this.meta.overflow,
      assigned: this.meta.assigned, pending_events: this.meta.nextEvent - 1 - this.meta.acked,
      leases: [...this.leases.values()].map((l) => ({ id: l.id, number: l.number,
        visitors: l.visitors.length, expires_at: leaseEnd(s, l) })),
    };
  }
}
