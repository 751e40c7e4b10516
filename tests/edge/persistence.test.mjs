// A workerd restart loses nothing the PoolShard promised: live leases keep
// their ids and numbers (through a snapshot and the journal after it), a
// returning visitor gets their sticky number back, tags-mode visitors keep
// sharing, heartbeats already flushed keep their extension, events not yet
// delivered reach the origin after the restart, and no lease id is ever
// handed out twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, sleep, waitFor } from './harness.mjs';

const N = (i) => `+1888557${String(i).padStart(4, '0')}`;

async function setup(pools, extraArgs = []) {
  const up = await startUpstream();
  const origin = await startOriginStub({ secret: SECRET, pools });
  const edge = await startEdge({ upstream: up.url, origin: origin.url, extraArgs });
  return { up, origin, edge, async close() { await edge.destroy(); await up.close(); await origin.close(); } };
}

const shardOf = async (edge, pool) => (await edge.status()).pools.find((p) => p.pool === pool);

test('restart: sticky numbers, undelivered events and unique lease ids survive', async () => {
  const env = await setup([{ id: 'ps', config: { numbers: [N(1), N(2), N(3), N(4)], default_number: DEFAULT,
    buffer_s: 1, min_hold_s: 1, max_lease_s: 600 } }]);
  try {
    const v1 = new Visitor(env.edge.url);
    const a = (await v1.page('/page')).meta[0];
    assert.ok(a.lease, 'a lease');
    assert.equal((await v1.beacon('leave', { lease: a.lease })).status, 200);
    await waitFor(() => env.origin.events.some((e) => e.type === 'release' && e.lease === a.lease),
      { what: 'the first lease released' });
    const others = [];
    for (let i = 0; i < 2; i++) others.push((await new Visitor(env.edge.url).page('/page')).meta[0]);
    assert.ok(others.every((m) => m.number !== a.number), 'never-used numbers go first');
    // the origin is down: this assign waits in the outbox across the restart
    env.origin.down = true;
    const d = (await new Visitor(env.edge.url).page('/page')).meta[0];
    assert.ok(d.lease);
    await env.edge.restart();
    const again = (await v1.page('/page')).meta[0];
    assert.equal(again.number, a.number, 'the returning visitor gets their number back');
    assert.notEqual(again.lease, a.lease, 'as a new lease');
    env.origin.down = false;
    await waitFor(() => env.origin.events.some((e) => e.type === 'assign' && e.lease === d.lease),
      { timeout: 15000, what: 'the assign made during the outage delivered after the restart' });
    await waitFor(() => env.origin.events.some((e) => e.type === 'assign' && e.lease === again.lease),
      { what: 'the assign made after the restart delivered' });
    const ids = env.origin.events.filter((e) => e.type === 'assign').map((e) => e.lease);
    assert.equal(new Set(ids).size, ids.length, `lease ids unique: ${ids.join(' ')}`);
    const st = await shardOf(env.edge, 'ps');
    assert.ok(st.restored >= 1, 'the shard was rebuilt from storage');
  } finally { await env.close(); }
});

test('restart: live leases through snapshot + journal, heartbeats kept, tags still shared', async () => {
  const env = await setup([
    { id: 'pv', config: { numbers: Array.from({ length: 10 }, (_, i) => N(10 + i)), default_number: DEFAULT,
      buffer_s: 60, min_hold_s: 60 } },
    { id: 'pt', config: { numbers: [N(30), N(31)], default_number: DEFAULT, mode: 'tags',
      tracked_tags: ['utm_campaign'], traffic_source: 'param:utm_campaign', buffer_s: 60, min_hold_s: 60 } },
  ], ['--snapshot-ops', '4', '--flush-ms', '200']);
  try {
    const vs = Array.from({ length: 6 }, () => new Visitor(env.edge.url));
    const leases = [];
    for (const v of vs) leases.push((await v.page('/page')).meta[0]);
    assert.equal(new Set(leases.map((l) => l.number)).size, 6);
    const ta = new Visitor(env.edge.url);
    const tb = new Visitor(env.edge.url);
    const la = (await ta.page('/page?utm_campaign=spring')).meta[0];
    assert.equal((await tb.page('/page?utm_campaign=spring')).meta[0].lease, la.lease);
    // a heartbeat, then time for the journal flush (200 ms)
    await sleep(1200);
    const hb = await vs[0].beacon('hb', { lease: leases[0].lease });
    assert.equal(hb.status, 200);
    const extended = hb.body.leases[0].expires_at;
    assert.ok(extended > leases[0].expires, 'the heartbeat moved the end');
    // the worker answered it from its cache: wait for its delivery to the
    // shard, then for the journal flush (200 ms)
    await waitFor(async () => (await shardOf(env.edge, 'pv')).leases
      .find((l) => l.id === leases[0].lease).expires_at >= extended, { what: 'the heartbeat delivered' });
    await sleep(600);
    const before = await shardOf(env.edge, 'pv');
    assert.ok(before.snapshot.chunks >= 1, 'a snapshot was written');
    await env.edge.restart();
    const after = await shardOf(env.edge, 'pv');
    const byId = (s) => Object.fromEntries(s.leases.map((l) => [l.id, l]));
    assert.deepEqual(Object.keys(byId(after)).sort(), Object.keys(byId(before)).sort(), 'same live leases');
    for (const [id, l] of Object.entries(byId(before))) {
      assert.equal(byId(after)[id].number, l.number);
      assert.equal(byId(after)[id].expires_at, l.expires_at, `end of ${id} kept`);
    }
    assert.ok(byId(after)[leases[0].lease].expires_at >= extended, 'the flushed heartbeat kept its extension');
    for (let i = 0; i < vs.length; i++) {
      const m = (await vs[i].page('/page')).meta[0];
      assert.equal(m.lease, leases[i].lease);
      assert.equal(m.number, leases[i].number);
      assert.equal((await vs[i].beacon('hb', { lease: m.lease })).status, 200);
    }
    // the shared tags-mode lease: a third visitor with the same tags joins it
    const tc = new Visitor(env.edge.url);
    assert.equal((await tc.page('/page?utm_campaign=spring')).meta[0].lease, la.lease);
    assert.equal((await tb.beacon('hb', { lease: la.lease })).status, 200, 'its visitors still own it');
    // a new visitor gets a number nobody holds
    const fresh = (await new Visitor(env.edge.url).page('/page')).meta[0];
    assert.ok(!leases.some((l) => l.number === fresh.number));
    assert.ok(!leases.some((l) => l.lease === fresh.lease));
    // new timers from the origin: the engine is rebuilt under them, the
    // lease keeps its id and number, and its end follows buffer_s 600
    env.origin.pools[0].config = { ...env.origin.pools[0].config, buffer_s: 600 };
    const hb600 = await waitFor(async () => {
      const r = await vs[1].beacon('hb', { lease: leases[1].lease });
      return r.status === 200 && r.body.leases[0].expires_at > Date.now() / 1000 + 500 ? r : null;
    }, { what: 'the new buffer_s applied' });
    assert.equal(hb600.body.leases[0].number, leases[1].number);
    await env.edge.restart();
    const r = await vs[1].beacon('hb', { lease: leases[1].lease });
    assert.equal(r.status, 200);
    assert.ok(r.body.leases[0].expires_at > Date.now() / 1000 + 500, 'still buffer_s 600 after a restart');
  } finally { await env.close(); }
});
