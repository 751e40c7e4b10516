// PoolShard: one Durable Object per pool (name: the pool id) on this edge.
// Its leases live in the core lease engine (core/src/pool.c) running in
// WebAssembly: which number a visitor gets, stickiness, least recently
// released reuse, expiry, holds. This object adds what the engine does not
// know: the origin's grants and their validity, which visitors share a
// lease, and the outbox of events that EdgeSync (edge/edge_sync.mjs) ships
// to the origin.
//
// Persistence (docs/edge.md, "Persistence"): a snapshot of the engine
// (dni_pool_snapshot bytes plus this object's side tables) and a journal
// of every engine call made since. The engine is deterministic, so on
// start the snapshot is restored and the journal replayed: same lease ids,
// numbers, free-queue order and sticky memory. Storage keys:
//   meta          counters, config (without its number list), grant expiry,
//                 holds, journal and outbox positions
//   snap:<i>      the snapshot, in chunks under the 128 KiB value limit
//   j:<seq>       one journal batch: the engine calls of one flush, in order
//   ev:<id>       outbox events, deleted once the origin acknowledged them
// A call that makes or shares a lease, an overflow, a tag, a sync and a
// drain write their journal batch and events before the reply. Heartbeats
// and leaves only queue their journal entry, written within FLUSH_MS (or
// with the next durable write, which commits everything queued before it,
// in order): a crash loses at most the last FLUSH_MS of heartbeats, i.e.
// the extension of some leases by that much, never a lease, a sticky
// assignment or an outbox event written with its cause.
import { DurableObject } from 'cloudflare:workers';
import { getDni } from './dni_core.mjs';
import { LeaseBudget, budgetSettings } from './lease_budget.mjs';

const SETTINGS_DEFAULTS = {
  mode: 'visitor', tracked_tags: [], buffer_s: 60, max_lease_s: 1800,
  min_hold_s: 300, sticky_s: 2592000, attribution_window_s: 86400, unconfirmed_hold_s: 60,
};
const ENGINE_KEYS = ['mode', 'tracked_tags', 'buffer_s', 'max_lease_s', 'min_hold_s', 'sticky_s',
  'attribution_window_s', 'number_limit', 'unconfirmed_hold_s'];
const CHUNK = 120 * 1024; // bytes per stored snapshot chunk (limit 128 KiB)
const MAX_KEYS = 128; // keys per storage.put/delete call
const BEATS_MAX = 1024; // beats taken from one delivery from the worker

function pad(n) { return String(n).padStart(16, '0'); }

function randomGen() {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(36).padStart(2, '0')).join('').slice(0, 10);
}

// The pool settings the engine is built with, from the pool config.
export function engineSettings(config) {
  const s = { ...SETTINGS_DEFAULTS };
  for (const k of ENGINE_KEYS) if (config && config[k] !== undefined && config[k] !== null) s[k] = config[k];
  s.tracked_tags = Array.isArray(s.tracked_tags) ? s.tracked_tags.map(String) : [];
  for (const k of ['buffer_s', 'max_lease_s', 'min_hold_s', 'sticky_s', 'attribution_window_s',
    'unconfirmed_hold_s']) s[k] = Number(s[k]);
  if (s.number_limit !== undefined) s.number_limit = Number(s.number_limit) || 0;
  if (s.mode !== 'tags') s.mode = 'visitor';
  return s;
}

export class PoolShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.skew = Number(env.GRANT_SKEW_S || 5);
    this.tickS = Number(env.TICK_S || 5);
    this.batchMax = Number(env.BATCH_MAX || 200);
    this.flushMs = Number(env.FLUSH_MS || 1000);
    this.snapshotOps = Number(env.SNAPSHOT_OPS || 5000);
    this.snapshotS = Number(env.SNAPSHOT_S || 60);
    this.budget = new LeaseBudget(); // new leases per client (edge/lease_budget.mjs)
    ctx.blockConcurrencyWhile(() => this.load());
  }

  // ---- state and persistence --------------------------------------------

  async load() {
    const st = this.ctx.storage;
    this.meta = (await st.get('meta')) || {
      pool: null, gen: randomGen(), config: null, version: 0, expiresAt: 0, hold: [],
      nextEvent: 1, acked: 0, overflow: 0, assigned: 0, jseq: 0, snapSeq: 0, snapChunks: 0,
      snapAt: 0, restored: 0, lastLease: 0,
    };
    this.engine = null;
    this.leases = new Map(); // engine lease id -> {v: visitors, e: epoch, n: number}
    this.nums = new Map(); // number -> {e: epoch, r: removal pending}
    this.held = new Set(); // numbers with a call in progress at the origin
    this.seen = new Map(); // lease id -> [t, leave]: heartbeats not yet in the outbox
    this.jbuf = []; // engine calls not yet written
    this.evbuf = []; // outbox events not yet written
    this.jops = 0; // engine calls journaled since the snapshot
    this.timer = null;
    this.lastNow = 0;
    this.live = false; // false while replaying: no outbox, no counters
    this.timers = null; // [buffer_s, min_hold_s, max_lease_s, unconfirmed_hold_s] for the worker's cache
    if (!this.meta.config) return;
    this.setTimers();
    const dni = await getDni();
    try {
      await this.restore(dni);
    } catch (e) {
      // Stored state that does not restore (corrupt bytes, a format this
      // build does not read) must not keep the pool down: start an empty
      // engine under a new generation, so no lease id is ever reused; the
      // next sync brings the grants back. The old leases are lost (logged).
      console.error(`dni: pool ${this.meta.pool} state refused, starting empty: ${e.message}`);
      this.meta.gen = randomGen();
      this.meta.lastLease = 0;
      this.meta.snapChunks = 0;
      this.meta.snapSeq = this.meta.jseq;
      this.leases = new Map();
      this.nums = new Map();
      this.held = new Set();
      this.seen = new Map();
      if (this.engine) this.engine.free();
      this.engine = null;
      this.jops = 0;
      try {
        this.engine = dni.pool(engineSettings(this.meta.config));
        this.engine.recordEvents();
      } catch (e2) {
        // The stored config itself is one the engine refuses (stored by
        // an older build): wait for the next sync's config instead of
        // failing every call on this pool.
        console.error(`dni: pool ${this.meta.pool} stored config refused, waiting for a new one: ${e2.message}`);
        this.engine = null;
        this.meta.config = null;
      }
    }
    this.meta.restored += 1;
    this.live = true;
  }

  // Rebuilds the engine from the snapshot and the journal after it.
  async restore(dni) {
    const st = this.ctx.storage;
    const settings = engineSettings(this.meta.config);
    if (this.meta.snapChunks > 0) {
      const keys = Array.from({ length: this.meta.snapChunks }, (_, i) => `snap:${i}`);
      const got = await st.get(keys);
      const parts = keys.map((k) => got.get(k));
      if (parts.some((p) => !p)) throw new Error('snapshot chunk missing');
      const all = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
      let at = 0;
      for (const p of parts) { all.set(new Uint8Array(p), at); at += p.byteLength; }
      const n = new DataView(all.buffer).getUint32(0, true);
      if (n + 4 > all.length) throw new Error('snapshot length field out of range');
      this.engine = dni.poolRestore(all.subarray(4, 4 + n), settings);
      const side = JSON.parse(new TextDecoder().decode(all.subarray(4 + n)));
      this.leases = new Map(side.leases);
      this.nums = new Map(side.nums);
      this.held = new Set(side.held);
      this.seen = new Map(side.seen);
      this.lastNow = side.now || 0;
    } else {
      this.engine = dni.pool(settings);
    }
    this.engine.recordEvents();
    // Replay what happened after the snapshot, in order.
    const journal = await st.list({ prefix: 'j:', start: 'j:' + pad(this.meta.snapSeq + 1) });
    for (const [, ops] of journal) for (const op of ops) this.apply(op);
    this.jops = [...journal.values()].reduce((s, ops) => s + ops.length, 0);
  }

  // Runs one journaled engine call and takes its events. Used live and on
  // replay: the engine answers the same both times.
  apply(op, req) {
    const e = this.engine;
    const t = op[1];
    if (t > this.lastNow) this.lastNow = t;
    let r = null;
    this.req = req || null;
    this.reason = null;
    this.leaving = false;
    switch (op[0]) {
      case 'a': if (!this.req) this.req = { visitor: op[2] }; r = e.assign(op[2], t, op[3]); break;
      case 's': r = e.touch(op[2], t, false); break;
      case 'l': this.leaving = true; r = e.touch(op[2], t, true); break;
      case 'k': r = e.tick(t); break;
      case 'x': this.reason = 'revoked'; r = e.endLease(op[2], t); break;
      case 'g': {
        try { e.grant(op[2]); } catch (err) { if (err.errName !== 'DNI_EEXISTS' && err.errName !== 'DNI_ELIMIT') throw err; }
        this.nums.set(op[2], { e: op[3], r: false });
        break;
      }
      case 'r': {
        let gone = 1;
        try { gone = e.revoke(op[2], t); } catch (err) { if (err.errName !== 'DNI_ENOTFOUND') throw err; gone = 0; }
        if (gone === 0) this.nums.delete(op[2]);
        else this.nums.get(op[2]).r = true;
        break;
      }
      case 'c': this.held.add(op[2]); if (e.slotOf(op[2]) >= 0) e.callStart(op[2], t); break;
      case 'd':
        this.held.delete(op[2]);
        if (e.slotOf(op[2]) >= 0) { try { e.callEnd(op[2], t); } catch (err) { if (err.errName !== 'DNI_ESTATE') throw err; } }
        break;
      default: throw new Error(`unknown journal entry ${op[0]}`);
    }
    this.collect();
    return r;
  }

  // Turns the engine's events into lease bookkeeping and, when live,
  // outbox events.
  collect() {
    const pool = this.meta.pool;
    for (const ev of this.engine.events()) {
      switch (ev.type) {
        case 'assign': {
          const number = this.engine.numberOf(ev.slot);
          const epoch = (this.nums.get(number) || {}).e;
          this.leases.set(ev.lease, { v: [this.req.visitor], e: epoch, n: number });
          if (ev.lease > (this.meta.lastLease || 0)) this.meta.lastLease = ev.lease;
          if (this.live) {
            const q = this.req;
            this.evbuf.push({ type: 'assign', pool, lease: this.leaseName(ev.lease), number, epoch,
              visitor: q.visitor, tags: q.tags || {}, referrer: q.referrer || '', url: q.url || '', t: ev.t });
            this.meta.assigned++;
          }
          break;
        }
        case 'join': {
          const m = this.leases.get(ev.lease);
          if (m && !m.v.includes(this.req.visitor)) {
            m.v.push(this.req.visitor);
            if (this.live) {
              this.evbuf.push({ type: 'join', pool, lease: this.leaseName(ev.lease), visitor: this.req.visitor, t: ev.t });
              this.joined = true;
            }
          } else {
            this.seen.set(ev.lease, [ev.t, false]);
          }
          break;
        }
        case 'seen': this.seen.set(ev.lease, [ev.t, this.leaving]); break;
        case 'release': {
          const m = this.leases.get(ev.lease);
          this.leases.delete(ev.lease);
          this.seen.delete(ev.lease);
          if (this.live) {
            const out = { type: 'release', pool, lease: this.leaseName(ev.lease), number: m ? m.n : undefined, t: ev.t };
            if (this.reason) out.reason = this.reason;
            this.evbuf.push(out);
          }
          break;
        }
        case 'overflow':
          if (this.live) {
            this.meta.overflow++;
            this.evbuf.push({ type: 'overflow', pool, t: ev.t, visitor: this.req && this.req.visitor, reason: 'exhausted' });
          }
          break;
        default: break; // calls: the origin attributes them itself
      }
    }
  }

  // A journaled engine call made now; req: the request behind an assign
  // (visitor, tags, referrer, url for its event; only the visitor and the
  // key's tags are journaled).
  run(op, req) {
    this.jbuf.push(op);
    this.jops++;
    return this.apply(op, req);
  }

  // Writes the queued journal entries, outbox events and meta in one
  // atomic batch (storage calls with no await between them commit
  // together, in order).
  async flush() {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const puts = [];
    if (this.jbuf.length) {
      this.meta.jseq += 1;
      puts.push(['j:' + pad(this.meta.jseq), this.jbuf]);
      this.jbuf = [];
    }
    for (const ev of this.evbuf) puts.push(['ev:' + pad(this.meta.nextEvent++), ev]);
    this.evbuf = [];
    puts.push(['meta', this.meta]);
    const pending = this.meta.nextEvent - 1 - this.meta.acked;
    await this.writeBatch(puts, []);
    if (pending >= this.batchMax) this.ctx.waitUntil(this.syncStub().kick().catch(() => {}));
    if (this.jops >= this.snapshotOps
        || (this.jops > 0 && Date.now() / 1000 - this.meta.snapAt > this.snapshotS)) await this.snapshot();
  }

  async writeBatch(puts, dels) {
    const st = this.ctx.storage;
    const w = [];
    for (let i = 0; i < dels.length; i += MAX_KEYS) w.push(st.delete(dels.slice(i, i + MAX_KEYS)));
    for (let i = 0; i < puts.length; i += MAX_KEYS) w.push(st.put(Object.fromEntries(puts.slice(i, i + MAX_KEYS))));
    await Promise.all(w);
  }

  // Heartbeats: written within flushMs, or sooner with a durable write.
  flushSoon() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((e) => console.error(`dni: shard flush failed: ${e.message}`));
    }, this.flushMs);
  }

  // Replaces the journal by a snapshot of the engine and the side tables.
  async snapshot() {
    if (!this.engine) return;
    const eng = this.engine.snapshot();
    const side = new TextEncoder().encode(JSON.stringify({
      leases: [...this.leases], nums: [...this.nums], held: [...this.held], seen: [...this.seen],
      now: this.lastNow,
    }));
    const all = new Uint8Array(4 + eng.length + side.length);
    new DataView(all.buffer).setUint32(0, eng.length, true);
    all.set(eng, 4);
    all.set(side, 4 + eng.length);
    const puts = [];
    for (let i = 0, at = 0; at < all.length || i === 0; i++, at += CHUNK) puts.push([`snap:${i}`, all.slice(at, at + CHUNK)]);
    // what is queued is in the snapshot already; its events still go out
    this.jbuf = [];
    for (const ev of this.evbuf) puts.push(['ev:' + pad(this.meta.nextEvent++), ev]);
    this.evbuf = [];
    const dels = [];
    for (let s = this.meta.snapSeq + 1; s <= this.meta.jseq; s++) dels.push('j:' + pad(s));
    for (let i = puts.filter(([k]) => k.startsWith('snap:')).length; i < this.meta.snapChunks; i++) dels.push(`snap:${i}`);
    this.meta.snapChunks = puts.filter(([k]) => k.startsWith('snap:')).length;
    this.meta.snapSeq = this.meta.jseq;
    this.meta.snapAt = Date.now() / 1000;
    this.meta.snapBytes = all.length;
    this.jops = 0;
    puts.push(['meta', this.meta]);
    await this.writeBatch(puts, dels);
  }

  // ---- helpers -------------------------------------------------------------

  now() {
    const t = Date.now() / 1000;
    return t > this.lastNow ? t : this.lastNow;
  }

  syncStub() { return this.env.SYNC.get(this.env.SYNC.idFromName('edge')); }

  grantValid(now) { return now < this.meta.expiresAt - this.skew; }

  leaseName(id) { return `${this.meta.pool}~${this.meta.gen}.${id}`; }

  // The engine id of a lease name of this shard, or 0.
  leaseId(name) {
    if (typeof name !== 'string') return 0;
    const i = name.lastIndexOf('~');
    const j = name.lastIndexOf('.');
    if (i < 0 || j < i || name.slice(i + 1, j) !== this.meta.gen) return 0;
    const id = Number(name.slice(j + 1));
    return Number.isInteger(id) && id > 0 && id < 2 ** 32 ? id : 0;
  }

  // Tag values that make the identity key in tags mode (only those).
  keyTags(tags) {
    const s = this.engine && this.settings;
    if (!s || s.mode !== 'tags') return undefined;
    const out = {};
    for (const k of s.tracked_tags) if (tags && tags[k] !== undefined && tags[k] !== null) out[k] = String(tags[k]);
    return out;
  }

  get settings() { return engineSettings(this.meta.config); }

  // The timers the engine computes end times with, as the worker's lease
  // cache needs them (edge/beat_cache.mjs).
  setTimers() {
    const s = this.settings;
    this.timers = [s.buffer_s, s.min_hold_s, s.max_lease_s, s.unconfirmed_hold_s];
  }

  // [start, last_seen, last_join, confirmed 0/1] of a live lease, for the
  // worker's cache.
  cacheInfo(id) {
    const li = this.engine.leaseInfo(id);
    return li ? [li.start, li.last_seen, li.last_join, li.confirmed ? 1 : 0] : null;
  }

  fallbackNumber() {
    const c = this.meta.config || {};
    return c.overflow_number || c.default_number || null;
  }

  async ensureAlarm() {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.tickS * 1000);
  }

  // ---- RPC methods (called by the worker and by EdgeSync) ---------------

  // Gives the visitor a lease (or their live one). req: {pool, visitor,
  // tags, referrer, url}. Returns {pool, lease, number, default_number,
  // expires_at, overflow} or, with no config yet, null.
  async assign(req) {
    if (!this.engine) return null;
    const beats = this.applyBeats(req.beats);
    // The worker chose this pool with an older site config than this
    // shard has: no lease; it chooses again with the fresh one.
    if (req.site !== undefined && req.site < (this.meta.siteGen || 0)) {
      return { pool: this.meta.pool, stale: this.meta.siteGen, beats };
    }
    const now = this.now();
    const keyTags = this.keyTags(req.tags);
    const def = (this.meta.config || {}).default_number;
    const overflow = async (reason) => {
      this.meta.overflow++;
      this.evbuf.push({ type: 'overflow', pool: this.meta.pool, t: now, visitor: req.visitor, reason });
      await this.flush();
      return { pool: this.meta.pool, lease: null, number: this.fallbackNumber(), default_number: def,
        expires_at: null, overflow: true, beats };
    };
    // Without a valid grant no new lease is made, but a visitor who holds
    // one keeps it.
    if (!this.grantValid(now) && !this.engine.lookup(req.visitor, now, keyTags)) {
      this.run(['k', now]);
      return overflow('no_valid_grant');
    }
    // A client past its lease budget gets the default number, unless the
    // visitor holds a lease already (edge/lease_budget.mjs).
    const client = typeof req.client === 'string' && req.client ? req.client : '-';
    const budget = budgetSettings(this.meta.config, this.env);
    if (!this.budget.allows(client, now, budget) && !this.engine.lookup(req.visitor, now, keyTags)) {
      if (now > this.lastNow) this.lastNow = now; // lookup moved the engine's clock
      this.budget.count(client, now);
      return { pool: this.meta.pool, lease: null, number: def || null, default_number: def, expires_at: null,
        overflow: false, limited: true, beats };
    }
    this.joined = false;
    const before = this.meta.assigned;
    const info = { visitor: req.visitor, tags: req.tags, referrer: req.referrer, url: req.url };
    const a = this.run(['a', now, req.visitor, keyTags], info);
    if (this.meta.assigned !== before) this.budget.spend(client, now, budget);
    if (a.kind === 'overflow') {
      // the engine's overflow event is queued (reason "exhausted")
      await this.flush();
      return { pool: this.meta.pool, lease: null, number: this.fallbackNumber(), default_number: def,
        expires_at: null, overflow: true, beats };
    }
    const durable = this.meta.assigned !== before || this.joined;
    if (durable) { await this.flush(); await this.ensureAlarm(); } else this.flushSoon();
    const m = this.leases.get(a.lease);
    const li = this.engine.leaseInfo(a.lease);
    return { pool: this.meta.pool, lease: this.leaseName(a.lease), number: a.number, default_number: def,
      expires_at: li.end, overflow: false, epoch: m && m.e, c: [li.start, li.last_seen, li.last_join, li.confirmed ? 1 : 0],
      t: this.timers, beats };
  }

  // Checks a beacon's lease: {id, m} or {error, status}. A lease of this
  // generation that was handed out and is over is 410, one this shard
  // never made 404.
  beaconLease(name, visitor) {
    const id = this.engine ? this.leaseId(name) : 0;
    const m = id && this.leases.get(id);
    if (!m) {
      if (id && id <= (this.meta.lastLease || 0)) return { ok: false, status: 410, error: 'lease ended' };
      return { ok: false, status: 404, error: 'unknown lease' };
    }
    if (!m.v.includes(visitor)) return { ok: false, status: 403, error: 'lease belongs to another visitor' };
    return { id, m };
  }

  // Heartbeat: the visitor is still on a page showing the number. One
  // engine call, nothing written before the reply. The worker answers most
  // heartbeats itself (edge/beat_cache.mjs) and delivers them with
  // beats(); this is the path for what its cache does not know.
  heartbeat({ lease, visitor, beats }) { return this.touch(lease, visitor, false, beats); }

  // The visitor left: the number stays with them buffer_s from now.
  leave({ lease, visitor, beats }) { return this.touch(lease, visitor, true, beats); }

  touch(lease, visitor, leave, beats) {
    const done = this.applyBeats(beats);
    const b = this.beaconLease(lease, visitor);
    if (!b.id) return { ...b, lease, t: this.timers, beats: done };
    const end = this.run([leave ? 'l' : 's', this.now(), b.id]);
    this.flushSoon();
    if (end < 0) return { ok: false, status: 410, error: 'lease ended', lease, t: this.timers, beats: done };
    return { ok: true, lease, number: b.m.n, expires_at: end, c: this.cacheInfo(b.id), t: this.timers, beats: done };
  }

  // Heartbeats and leaves the worker answered from its cache, in the order
  // it answered them: [[lease, visitor, t, leave], ...], t the worker's
  // clock when the beacon arrived. Each is applied exactly as heartbeat()
  // or leave() would have (same checks, same engine call, journaled, its
  // `seen` event queued), at time t, or at the engine's clock when that is
  // later (the engine's time never goes back; a later time only moves the
  // end further than the worker promised). Returns, for the worker's
  // cache, the pool's timers and per beat [lease, status, start,
  // last_seen, last_join] (status 200, or the 403/404/410 the synchronous
  // path would have answered).
  beats(list) {
    return this.applyBeats(list) || { t: this.timers, leases: [] };
  }

  applyBeats(list) {
    if (!Array.isArray(list) || !list.length) return undefined;
    const out = [];
    const wall = this.now();
    for (const beat of list.slice(0, BEATS_MAX)) {
      if (!Array.isArray(beat)) continue;
      const [lease, visitor, t, leave] = beat;
      const b = this.beaconLease(lease, visitor);
      if (!b.id) { out.push([lease, b.status]); continue; }
      let at = Number(t);
      if (!(at >= this.lastNow)) at = this.lastNow;
      if (at > wall) at = wall;
      const end = this.run([leave ? 'l' : 's', at, b.id]);
      if (end < 0) { out.push([lease, 410]); continue; }
      out.push([lease, 200, ...this.cacheInfo(b.id)]);
    }
    if (out.length) this.flushSoon();
    return { t: this.timers, leases: out };
  }

  // New tag values for a lease (e.g. a form field the snippet saw).
  async tag({ lease, visitor, tags, beats }) {
    const done = this.applyBeats(beats);
    const b = this.beaconLease(lease, visitor);
    if (!b.id) return { ...b, lease, t: this.timers, beats: done };
    const now = this.now();
    const end = this.run(['s', now, b.id]);
    if (end < 0) { await this.flush(); return { ok: false, status: 410, error: 'lease ended', lease, beats: done }; }
    this.evbuf.push({ type: 'tag', pool: this.meta.pool, lease, tags, t: now });
    await this.flush();
    return { ok: true, lease, number: b.m.n, expires_at: end, c: this.cacheInfo(b.id), t: this.timers, beats: done };
  }

  async alarm() {
    if (!this.engine) return;
    this.run(['k', this.now()]);
    await this.flush();
    if (this.leases.size || this.jops) await this.ctx.storage.setAlarm(Date.now() + this.tickS * 1000);
  }

  // Called by EdgeSync: events after `after` (oldest first, at most max).
  // Heartbeats since the last drain become one `seen` event per lease.
  async drain(after, max) {
    if (this.engine) {
      this.run(['k', this.now()]);
      for (const [id, [t, leave]] of this.seen) {
        const ev = { type: 'seen', pool: this.meta.pool, lease: this.leaseName(id), t };
        if (leave) ev.leave = true;
        this.evbuf.push(ev);
      }
      this.seen.clear();
      const limited = this.budget.report(this.meta.pool);
      if (limited) this.evbuf.push(limited);
    }
    await this.flush();
    const list = await this.ctx.storage.list({ prefix: 'ev:', start: 'ev:' + pad(after + 1), limit: max });
    let upto = after;
    const events = [];
    for (const [k, ev] of list) { events.push(ev); upto = Number(k.slice(3)); }
    return { events, upto };
  }

  // Called by EdgeSync after a sync: events up to `ackUpto` reached the
  // origin; `entry` is this pool's part of the sync response.
  async applySync(pool, entry, ackUpto, siteGen) {
    this.meta.pool = pool;
    // The site config generation EdgeSync holds now (edge_sync.mjs,
    // siteGenerate); taken as it is, so a fresh EdgeSync state never
    // leaves this shard ahead of every worker.
    if (siteGen !== undefined) this.meta.siteGen = siteGen;
    const dels = [];
    if (ackUpto > this.meta.acked) {
      for (let i = this.meta.acked + 1; i <= ackUpto; i++) dels.push('ev:' + pad(i));
      this.meta.acked = ackUpto;
    }
    let refused = null;
    if (entry) {
      if (entry.config) refused = await this.applyConfig(entry.config);
      if (entry.version !== undefined && !refused) this.meta.version = entry.version;
      if (this.engine && Array.isArray(entry.grants)) this.applyGrants(entry);
      if (this.engine && Array.isArray(entry.hold)) this.applyHold(entry.hold.map(String));
      else if (Array.isArray(entry.hold)) this.meta.hold = entry.hold;
    }
    if (dels.length) await this.writeBatch([], dels);
    await this.flush();
    if (this.leases.size) await this.ensureAlarm();
    return { leases: this.leases.size, refused };
  }

  // A new pool config: builds the engine on the first one, rebuilds it
  // (snapshot restored under the new settings) when its timers or mode
  // change, then snapshots so the journal starts from these settings.
  // A config the engine refuses is skipped: logged once, counted, never
  // stored (a stored refused config would fail the shard's next start);
  // the shard keeps its current config and engine, or none. Returns null,
  // or the reason it was refused.
  async applyConfig(config) {
    const { numbers, ...rest } = config;
    const before = this.meta.config ? JSON.stringify(engineSettings(this.meta.config)) : null;
    const now = JSON.stringify(engineSettings(rest));
    if (before === now && this.engine) { this.meta.config = rest; return null; }
    const dni = await getDni();
    let next;
    try {
      next = this.engine ? dni.poolRestore(this.engine.snapshot(), engineSettings(rest))
        : dni.pool(engineSettings(rest));
    } catch (e) {
      const why = `config refused by the lease engine: ${e.message}`;
      if (this.refusedKey !== now) {
        this.refusedKey = now;
        this.meta.refused = (this.meta.refused || 0) + 1;
        console.error(`dni: pool ${this.meta.pool} ${why}; skipped, ${this.engine ? 'the previous config stays' : 'no config yet'}`);
      }
      return why;
    }
    this.refusedKey = null;
    if (this.engine) this.engine.free();
    this.engine = next;
    this.meta.config = rest;
    this.engine.recordEvents();
    this.live = true;
    this.setTimers();
    await this.flush();
    await this.snapshot();
  }

  applyGrants(entry) {
    const now = this.now();
    const granted = new Map(entry.grants.map((g) => [String(g.number), g.epoch]));
    const revoked = new Map((Array.isArray(entry.revoked) ? entry.revoked : [])
      .map((r) => (typeof r === 'string' ? [r, undefined] : [String(r.number), r.epoch])));
    this.meta.expiresAt = Number(entry.expires_at) || 0;
    // A lease whose number is neither granted nor draining under its epoch
    // (the pool was deleted, or the number moved) ends now: this edge no
    // longer owns the number.
    for (const [id, m] of [...this.leases]) {
      let epoch;
      if (granted.has(m.n)) epoch = granted.get(m.n);
      else if (revoked.has(m.n)) epoch = revoked.get(m.n) ?? m.e;
      if (epoch === undefined || epoch !== m.e) this.run(['x', now, id]);
    }
    // Numbers no longer granted leave (after their lease, when they have
    // one); granted numbers join, in the origin's order.
    for (const [number, st] of [...this.nums]) {
      if (!granted.has(number) && !st.r) this.run(['r', now, number]);
    }
    for (const [number, epoch] of granted) {
      const st = this.nums.get(number);
      if (!st || st.r || st.e !== epoch) this.run(['g', now, number, epoch]);
    }
  }

  applyHold(hold) {
    const now = this.now();
    const next = new Set(hold);
    for (const n of next) if (!this.held.has(n)) this.run(['c', now, n]);
    for (const n of [...this.held]) if (!next.has(n)) this.run(['d', now, n]);
    this.meta.hold = hold;
  }

  // For tests and operators: what this shard holds.
  async status() {
    const now = this.now();
    const e = this.engine;
    return {
      pool: this.meta.pool, gen: this.meta.gen, version: this.meta.version,
      grants: [...this.nums].filter(([, s]) => !s.r).map(([number, s]) => ({ number, epoch: s.e })),
      expires_at: this.meta.expiresAt, grant_valid: this.grantValid(now), hold: this.meta.hold,
      overflow: this.meta.overflow, assigned: this.meta.assigned, budget: this.budget.stats(),
      pending_events: this.meta.nextEvent - 1 - this.meta.acked + this.evbuf.length,
      journal: { batches: this.meta.jseq - this.meta.snapSeq, ops: this.jops, queued: this.jbuf.length },
      snapshot: { bytes: this.meta.snapBytes || 0, chunks: this.meta.snapChunks, at: this.meta.snapAt },
      restored: this.meta.restored, refused_configs: this.meta.refused || 0,
      engine: e ? e.stats() : null,
      leases: e ? [...this.leases].map(([id, m]) => {
        const li = e.leaseInfo(id);
        return { id: this.leaseName(id), number: m.n, visitors: m.v.length, expires_at: li ? li.end : null,
          confirmed: li ? li.confirmed : null };
      }) : [],
    };
  }
}
