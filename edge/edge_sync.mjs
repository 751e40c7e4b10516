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
// loses nothing and the origin can drop duplicates by (edge, seq). Shards
// delete their events only after the acknowledgement.
import { DurableObject } from 'cloudflare:workers';

const MAX_EVENTS_PER_POOL = 500;

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
        events.push(...r.events);
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
        body: JSON.stringify({ edge: env.EDGE_ID || 'edge-1', seq: batch.seq, events: batch.events,
          versions: this.configVersions() }),
        signal: AbortSignal.timeout(Number(env.SYNC_TIMEOUT_S || 5) * 1000),
      });
    } catch (e) {
      return this.failed(`origin unreachable: ${e.message}`);
    }
    let body = null;
    try { body = await res.json(); } catch { /* handled below */ }
    if (!res.ok || !body || !Array.isArray(body.pools)) {
      const why = body && body.error ? body.error : `status ${res.status}`;
      return this.failed(`sync refused: ${why}`);
    }
    if (body.ack !== undefined && Number(body.ack) !== batch.seq) {
      return this.failed(`sync acknowledged seq ${body.ack}, sent ${batch.seq}`);
    }
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
      return this.shard(id).applySync(id, entry, this.s.cursors[id] || 0)
        .catch((e) => { console.error(`dni: shard ${id} refused sync: ${e.message}`); return { refused: e.message }; });
    }));
    await this.noteRefused(body.pools, results, old);
    return true;
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

  async status() {
    return {
      seq: this.s.seq, inflight: this.s.inflight ? this.s.inflight.events.length : 0,
      last_ok: this.s.last_ok, last_error: this.s.last_error, failures: this.s.failures,
      syncs: this.s.syncs, pools: this.poolIds(),
      known: this.s.known || [], refused: this.s.refused || {}, refused_total: this.s.refused_total || 0,
    };
  }
}
