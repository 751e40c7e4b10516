// Heartbeats the worker answers from its per-isolate lease cache
// (edge/beat_cache.mjs) must mean what the shard's answer meant: the
// extension reaches the shard (and its journal) within the delivery
// interval, with the end the worker promised; an ended lease is 410 at the
// latest on the heartbeat after the delivery that learned it; another
// visitor's lease stays 403; a leave starts buffer_s and reaches the
// origin as a `seen` with `leave`; and a restart after a delivered batch
// keeps the extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, sleep, waitFor } from './harness.mjs';

const N = (i) => `+1888558${String(i).padStart(4, '0')}`;

async function setup(config, extraArgs = []) {
  const up = await startUpstream();
  const origin = await startOriginStub({ secret: SECRET, pools: [{ id: 'pc', config: {
    numbers: Array.from({ length: 6 }, (_, i) => N(i + 1)), default_number: DEFAULT, ...config } }] });
  const edge = await startEdge({ upstream: up.url, origin: origin.url,
    extraArgs: ['--beat-flush-ms', '300', '--flush-ms', '200', ...extraArgs] });
  return { up, origin, edge, async close() { await edge.destroy(); await up.close(); await origin.close(); } };
}

const shardLease = async (edge, lease) => {
  const st = await edge.status();
  return st.pools.find((p) => p.pool === 'pc').leases.find((l) => l.id === lease) || null;
};
const cacheHits = async (edge) => (await edge.status()).beat_cache.hits;

test('cache: a heartbeat answered in the worker extends the lease in the shard, also across a restart', async () => {
  const env = await setup({ buffer_s: 60, min_hold_s: 60, max_lease_s: 600 });
  try {
    const v = new Visitor(env.edge.url);
    const m = (await v.page('/page')).meta[0];
    assert.ok(m.lease);
    await sleep(1100);
    const hits = await cacheHits(env.edge);
    const hb = await v.beacon('hb', { lease: m.lease });
    assert.equal(hb.status, 200);
    const promised = hb.body.leases[0].expires_at;
    assert.equal(hb.body.leases[0].number, m.number);
    assert.ok(promised > m.expires + 1, 'the answer moved the end');
    assert.equal(await cacheHits(env.edge), hits + 1, 'answered from the cache');
    // the shard learns it within the delivery interval, at the worker's
    // time of receipt (or the engine's clock if that had moved on: later,
    // never earlier)
    const l = await waitFor(async () => {
      const x = await shardLease(env.edge, m.lease);
      return x && x.expires_at >= promised ? x : null;
    }, { timeout: 5000, what: 'the heartbeat delivered to the shard' });
    assert.ok(l.expires_at - promised < 1, `shard end ${l.expires_at} near the promised ${promised}`);
    // a page view (synchronous path) sees the same lease with that end
    const again = (await v.page('/page')).meta[0];
    assert.equal(again.lease, m.lease);
    assert.ok(again.expires >= promised);
    // the journal flush (200 ms), then a restart: the extension stays
    await sleep(500);
    const before = await shardLease(env.edge, m.lease);
    await env.edge.restart();
    const after = await shardLease(env.edge, m.lease);
    assert.ok(after, 'lease still live after the restart');
    assert.equal(after.expires_at, before.expires_at, 'end kept across the restart');
    assert.ok(after.expires_at >= promised);
    // the origin got the heartbeats as `seen` events, made by the shard
    await waitFor(() => env.origin.events.some((e) => e.type === 'seen' && e.lease === m.lease && e.t >= promised - 60),
      { what: 'seen event of the cached heartbeat at the origin' });
  } finally { await env.close(); }
});

test('cache: another visitor is refused, an ended lease is gone, a leave starts buffer_s', async () => {
  const env = await setup({ buffer_s: 4, min_hold_s: 1, max_lease_s: 600 });
  try {
    const a = new Visitor(env.edge.url);
    const b = new Visitor(env.edge.url);
    const ma = (await a.page('/page')).meta[0];
    await b.page('/page');
    const hits = await cacheHits(env.edge);
    assert.equal((await a.beacon('hb', { lease: ma.lease })).status, 200);
    assert.equal(await cacheHits(env.edge), hits + 1, 'the owner is answered from the cache');
    // the lease is in the cache, but not for this visitor
    const other = await b.beacon('hb', { lease: ma.lease });
    assert.equal(other.status, 403);
    assert.match(other.body.error, /another visitor/);
    assert.equal((await b.beacon('leave', { lease: ma.lease })).status, 403);
    // a leave answered from the cache: buffer_s (4 s) from now
    const lv = await a.beacon('leave', { lease: ma.lease });
    const t = Date.now() / 1000;
    assert.equal(lv.status, 200);
    assert.equal(await cacheHits(env.edge), hits + 2, 'the leave was answered from the cache');
    assert.ok(Math.abs(lv.body.leases[0].expires_at - (t + 4)) < 0.5, 'ends buffer_s after the leave');
    await waitFor(async () => {
      const x = await shardLease(env.edge, ma.lease);
      return x && x.expires_at >= lv.body.leases[0].expires_at;
    }, { timeout: 3000, what: 'the leave delivered to the shard' });
    await waitFor(() => env.origin.events.some((e) => e.type === 'seen' && e.lease === ma.lease && e.leave === true),
      { what: 'seen event with leave at the origin' });
    // past its end the cache no longer answers; the shard says it is gone
    await sleep(Math.max(0, (lv.body.leases[0].expires_at - Date.now() / 1000) * 1000) + 300);
    const gone = await a.beacon('hb', { lease: ma.lease });
    assert.equal(gone.status, 410);
    assert.equal((await a.beacon('hb', { lease: ma.lease })).status, 410);
  } finally { await env.close(); }
});

test('cache: a lease ended by the origin is 410 by the heartbeat after the delivery that learned it', async () => {
  const env = await setup({ buffer_s: 60, min_hold_s: 60, max_lease_s: 600 });
  try {
    const v = new Visitor(env.edge.url);
    const m = (await v.page('/page')).meta[0];
    assert.equal((await v.beacon('hb', { lease: m.lease })).status, 200, 'cached');
    // the pool is deleted at the origin: the shard ends the lease, the
    // worker's cache does not know yet
    env.origin.pools = [];
    await waitFor(() => env.origin.events.some((e) => e.type === 'release' && e.lease === m.lease),
      { what: 'the lease released by the shard' });
    const first = await v.beacon('hb', { lease: m.lease });
    assert.ok(first.status === 200 || first.status === 410, `first heartbeat after the end: ${first.status}`);
    // its delivery (300 ms) tells the cache the lease is over
    await sleep(800);
    const next = await v.beacon('hb', { lease: m.lease });
    assert.equal(next.status, 410);
    assert.equal(next.body.leases[0].ok, false);
  } finally { await env.close(); }
});
