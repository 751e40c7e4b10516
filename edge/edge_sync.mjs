// EdgeSync: the one Durable Object (name "edge") that talks to the origin
// for this edge. Every SYNC_INTERVAL_S seconds (or sooner when a shard's
// batch fills) it collects the pending events of every PoolShard, posts
// them to the origin's /v1/edge/sync as one batch with the next sequence
// number, and hands each shard its part of the answer (config, grants,
// expiry, holds). It also keeps the site configuration the worker routes
// by.
//
// Delivery: a batch is written to storage before it is sent and re-sent
// with the same seq until the origin acknowledges it, so an origin outage
// loses nothing and the origin can drop duplicates by (edge, generation,
// seq). The generation is chosen when this object's state is first
// written: an edge restarted on an empty state directory starts a new
// stream at seq 1 that the origin tells apart from the old one (and treats
// as a restart). Shards delete their events only after the
// acknowledgement.
//
// No poison batch: every event is cleaned (event_clean.mjs) as the batch is
// made, so each field is bounded and well-formed. The origin refuses a bad
// event alone, by its index, and applies the rest; those are logged and
// counted here (status().events_refused). A batch the origin refuses whole
// (400, 413 or 422: it cannot be read) is tried MAX_REFUSED_TRIES times,
// then set aside in storage ("aside:<generation>:<seq>"), logged and
// counted (status().set_aside), and the events behind it move on.
import { DurableObject } from 'cloudflare:workers';
import { logSync } from './activity.mjs';
import { cleanEvent } from './event_clean.mjs';

const MAX_EVENTS_PER_POOL = 500;
const MAX_REFUSED_TRIES = 3;
const ASIDE_KEEP = 50; // batches kept aside, newest

function randomGeneration() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class EdgeSync extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.interval = Number(env.SYNC_INTERVAL_S || 5);
    this.running = null;
    ctx.blockConcurrencyWhile(async () => {
      this.s = (await ctx.storage.get('state')) || {
        seq: 0, inflight: null, cursors: {}, site: null, last_ok: 0, last_error: '',
        failures: 0, syncs: 0,
      };
      if (!this.s.generation) {
        // First write of this state (or state from before generations):
        // the stream's identity from now on.
        this.s.generation = randomGeneration();
        await this.save();
      }
    });
  }

  async save() { await this.ctx.storage.put('state', this.s); }

  shard(pool) { return this.env.POOLS.get(this.env.POOLS.idFromName(pool)); }

  async ensureAlarm() {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + this.interval * 1000);
    }
  }

  // The site configuration ({pools:[{id, version, config}], param_map,
  // fetched_at}); syncs first when there is none yet. null when the origin
  // has never answered.
  async getSite() {
    await this.ensureAlarm();
    if (!this.s.site) {
      try { await this.syncNow(); } catch { /* reported in status() */ }
    }
    return this.s.site;
  }

  // Ships pending events now (a shard's batch filled up).
  async kick() {
    try { await this.syncNow(); } catch { /* the alarm retries */ }
  }

  async alarm() {
    try { await this.syncNow(); } catch { /* kept in inflight, retried */ }
    await this.ctx.storage.setAlarm(Date.now() + this.interval * 1000);
  }

  syncNow() {
    // One sync at a time; callers arriving meanwhile share its outcome.
    if (!this.running) {
      this.running = this.doSync().finally(() => { this.running = null; });
    }
    return this.running;
  }

  // The config versions this edge already holds: the origin leaves those
  // configs out of its answer (docs/origin.md, `versions`).
  configVersions() {
    const held = (this.s.site && this.s.site.pools) || [];
    return Object.fromEntries(held.filter((p) => p.config && p.version !== undefined && p.version !== null)
      .map((p) => [p.id, p.version]));
  }

  poolIds() {
    return (this.s.site && this.s.site.pools ? this.s.site.pools.map((p) => p.id) : []);
  }

  async doSync() {
    const env = this.env;
    if (!this.s.inflight) {
      const events = [];
      const upto = {};
      // Every pool ever seen is drained: a deleted pool's shard still has
      // its final release events to deliver.
      // Once a deleted pool's shard has nothing left, it is forgotten
      // (`gone`); a shard that fails to drain is skipped, never the batch.
      const current = new Set(this.poolIds());
      const gone = [];
      for (const pool of new Set([...current, ...(this.s.known || [])])) {
        const after = this.s.cursors[pool] || 0;
        let r;
        try {
          r = await this.shard(pool).drain(after, MAX_EVENTS_PER_POOL);
        } catch (e) {
          console.error(`dni: shard ${pool} did not drain, skipped: ${e.message}`);
          if (!current.has(pool)) gone.push(pool);
          continue;
        }
        if (r.upto > after) upto[pool] = r.upto;
        else if (!current.has(pool)) gone.push(pool);
        for (const ev of r.events) events.push(cleanEvent(ev));
      }
      events.sort((a, b) => (a.t || 0) - (b.t || 0));
      this.s.seq += 1;
      this.s.inflight = { seq: this.s.seq, events, upto, gone };
      await this.save();
    }
    const batch = this.s.inflight;
    let res;
    try {
      res = await fetch(new URL('/v1/edge/sync', env.ORIGIN), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.EDGE_SECRET || ''}` },
        body: JSON.stringify({ edge: env.EDGE_ID || 'edge-1', generation: this.s.generation, seq: batch.seq,
          events: batch.events, versions: this.configVersions() }),
        signal: AbortSignal.timeout(Number(env.SYNC_TIMEOUT_S || 5) * 1000),
      });
    } catch (e) {
      return this.failed(`origin unreachable: ${e.message}`);
    }
    let body = null;
    try { body = await res.json(); } catch { /* handled below */ }
    if (!res.ok || !body || !Array.isArray(body.pools)) {
      const why = body && body.error ? body.error : `status ${res.status}`;
      if ([400, 413, 422].includes(res.status)) return this.refusedWhole(batch, why);
      return this.failed(`sync refused: ${why}`);
    }
    this.noteRefusedEvents(batch, body.refused);
    if (body.ack !== undefined && Number(body.ack) !== batch.seq) {
      return this.failed(`sync acknowledged seq ${body.ack}, sent ${batch.seq}`);
    }
    logSync(env, batch.seq, batch.events.length, body);
    // A pool missing from the answer was deleted: its shard drops its
    // grants (and so ends its leases).
    for (const id of this.poolIds()) {
      if (!body.pools.some((p) => String(p.id) === id)) {
        body.pools.push({ id, config: null, grants: [], expires_at: 0, hold: [], deleted: true });
      }
    }
    const old = new Map((this.s.site ? this.s.site.pools : []).map((p) => [p.id, p]));
    const pools = body.pools.filter((p) => !p.deleted).map((p) => ({
      id: String(p.id), version: p.version,
      config: p.config || (old.get(String(p.id)) || {}).config || null,
    }));
    this.s.known = [...new Set([...(this.s.known || []), ...body.pools.map((p) => String(p.id))])]
      .filter((id) => !(batch.gone || []).includes(id) || body.pools.some((p) => String(p.id) === id));
    this.s.site = {
      pools, param_map: body.param_map || (this.s.site ? this.s.site.param_map : {}) || {},
      fetched_at: Date.now() / 1000,
    };
    this.siteGenerate();
    for (const [pool, n] of Object.entries(batch.upto)) this.s.cursors[pool] = n;
    this.s.inflight = null;
    this.s.last_ok = Date.now() / 1000;
    this.s.last_error = '';
    this.s.failures = 0;
    this.s.syncs += 1;
    await this.save();
    const results = await Promise.all(body.pools.map((p) => {
      const id = String(p.id);
      const entry = p.deleted ? p : { ...p, config: pools.find((x) => x.id === id).config };
      return this.shard(id).applySync(id, entry, this.s.cursors[id] || 0, this.s.site.gen)
        .catch((e) => { console.error(`dni: shard ${id} refused sync: ${e.message}`); return { refused: e.message }; });
    }));
    await this.noteRefused(body.pools, results, old);
    return true;
  }

  // Events the origin refused one by one (the rest of the batch applied):
  // logged with their index and reason, counted.
  noteRefusedEvents(batch, refused) {
    if (!Array.isArray(refused) || !refused.length) return;
    this.s.events_refused = (this.s.events_refused || 0) + refused.length;
    for (const r of refused.slice(0, 5)) {
      const ev = batch.events[r.index] || {};
      console.error(`dni: origin refused event ${r.index} (${ev.type}, pool ${ev.pool || '-'}) of batch ${batch.seq}: ${r.reason}`);
    }
    if (refused.length > 5) console.error(`dni: ... and ${refused.length - 5} more refused events of batch ${batch.seq}`);
  }

  // The origin cannot read this batch at all. After a few tries it is set
  // aside (kept in storage for inspection, newest ASIDE_KEEP), and the
  // shards' cursors move past it, so the events behind it are not stuck.
  async refusedWhole(batch, why) {
    batch.tries = (batch.tries || 0) + 1;
    if (batch.tries < MAX_REFUSED_TRIES) {
      await this.save();
      return this.failed(`sync refused (try ${batch.tries} of ${MAX_REFUSED_TRIES}): ${why}`);
    }
    const key = `aside:${this.s.generation}:${String(batch.seq).padStart(12, '0')}`;
    await this.ctx.storage.put(key, { ...batch, why, at: Date.now() / 1000 });
    const aside = await this.ctx.storage.list({ prefix: 'aside:' });
    const old = [...aside.keys()].slice(0, Math.max(0, aside.size - ASIDE_KEEP));
    if (old.length) await this.ctx.storage.delete(old);
    // The shards drop these events at the next acknowledged sync, which
    // hands them the moved cursor.
    for (const [pool, n] of Object.entries(batch.upto)) this.s.cursors[pool] = n;
    this.s.set_aside = (this.s.set_aside || 0) + 1;
    this.s.inflight = null;
    await this.save();
    console.error(`dni: sync batch ${batch.seq} (${batch.events.length} events) set aside after ${batch.tries} refusals: ${why}`);
    throw new Error(`sync batch ${batch.seq} set aside: ${why}`);
  }

  // Pools whose config their shard refused (the lease engine would not
  // take it): counted and reported (status(), /_dni/healthz), and the site
  // keeps the pool's last accepted config, or leaves the pool out, so no
  // page is routed by a config no shard runs.
  async noteRefused(list, results, old) {
    const refused = this.s.refused || {};
    let changed = false;
    for (const id of Object.keys(refused)) {
      if (!list.some((p) => String(p.id) === id)) { delete refused[id]; changed = true; }
    }
    list.forEach((p, i) => {
      const id = String(p.id);
      const why = results[i] && results[i].refused;
      if (!why || p.deleted) {
        if (refused[id]) { delete refused[id]; changed = true; }
        return;
      }
      if (!refused[id] || refused[id].version !== p.version || refused[id].reason !== why) {
        this.s.refused_total = (this.s.refused_total || 0) + 1;
        refused[id] = { version: p.version, reason: why, at: Date.now() / 1000 };
      }
      const prev = old.get(id);
      const keep = prev && prev.config && prev.version !== p.version ? prev : null;
      this.s.site.pools = this.s.site.pools.flatMap((x) => (x.id !== id ? [x] : keep ? [keep] : []));
      changed = true;
    });
    this.s.refused = refused;
    if (changed) await this.save();
  }

  async failed(why) {
    this.s.failures += 1;
    this.s.last_error = why;
    await this.save();
    if (this.s.failures === 1 || this.s.failures % 20 === 0) console.error(`dni: ${why} (failures: ${this.s.failures})`);
    throw new Error(why);
  }

  // Numbers the site config: raised whenever a pool's config version, the
  // set of pools or the parameter map changes. Every shard learns it with
  // its sync; a page view made with an older copy of the config is told so
  // by its shard and chosen again (edge/worker.mjs, leasesFor).
  siteGenerate() {
    const site = this.s.site;
    const sig = JSON.stringify([site.pools.map((p) => [p.id, p.version]), site.param_map]);
    if (sig !== this.s.siteSig) {
      this.s.siteSig = sig;
      this.s.siteGen = (this.s.siteGen || 0) + 1;
    }
    site.gen = this.s.siteGen;
  }

  // The current generation of the site config (see siteGenerate).
  siteGen() { return this.s.siteGen || 0; }

  async status() {
    return {
      seq: this.s.seq, inflight: this.s.inflight ? this.s.inflight.events.length : 0,
      last_ok: this.s.last_ok, last_error: this.s.last_error, failures: this.s.failures,
      syncs: this.s.syncs, pools: this.poolIds(),
      known: this.s.known || [], refused: this.s.refused || {}, refused_total: this.s.refused_total || 0,
      generation: this.s.generation, events_refused: this.s.events_refused || 0,
      set_aside: this.s.set_aside || 0,
    };
  }
}
