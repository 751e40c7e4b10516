// When a PoolShard's stored snapshot does not restore (here: bytes
// overwritten in the Durable Object's sqlite file between two workerd
// runs, so the core refuses the checksum), the shard logs it, starts an
// empty engine under a new generation and keeps serving: pages get fresh
// leases once the next sync brings the grants back, and no lease id from
// before is ever handed out again. Needs the sqlite3 command (Debian
// package sqlite3, in edge/build.mk's APT_PACKAGES).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, waitFor, sleep } from './harness.mjs';

const N = (i) => `+1888559${String(i).padStart(4, '0')}`;
const genOf = (lease) => lease.slice(lease.indexOf('~') + 1, lease.lastIndexOf('.'));

// Overwrites 16 bytes inside the stored snapshot's first chunk (past the
// value's serialization header and the engine's 24-byte snapshot header's
// checksum), in every PoolShard database under the state directory.
// Returns how many rows changed.
function corruptSnapshots(state) {
  const dir = join(state, 'do', 'edgedni-pool-shard');
  let changed = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sqlite') && x !== 'metadata.sqlite')) {
    const out = execFileSync('sqlite3', [join(dir, f),
      "UPDATE _cf_KV SET value = substr(value, 1, 29) || X'DEADBEEFDEADBEEFDEADBEEFDEADBEEF' || substr(value, 46)"
      + " WHERE key = 'snap:0' AND length(value) > 64; SELECT changes();"], { encoding: 'utf8' });
    changed += Number(out.trim());
  }
  return changed;
}

test('refused state: a corrupt snapshot is logged, the shard serves fresh leases under a new generation', async () => {
  const up = await startUpstream();
  const origin = await startOriginStub({ secret: SECRET, pools: [{ id: 'pr', config: {
    numbers: Array.from({ length: 8 }, (_, i) => N(i + 1)), default_number: DEFAULT, buffer_s: 600, min_hold_s: 600 } }] });
  const state = mkdtempSync(join(tmpdir(), 'dni-refused-'));
  const edge = await startEdge({ upstream: up.url, origin: origin.url, state });
  try {
    const olds = [];
    const vs = Array.from({ length: 3 }, () => new Visitor(edge.url));
    for (const v of vs) olds.push((await v.page('/page')).meta[0]);
    assert.ok(olds.every((m) => m.lease), 'leases before');
    const oldGen = genOf(olds[0].lease);
    await waitFor(() => olds.every((m) => origin.events.some((e) => e.type === 'assign' && e.lease === m.lease)),
      { what: 'the first leases at the origin' });
    await edge.stop();
    assert.ok(corruptSnapshots(state) >= 1, 'a stored snapshot was overwritten');
    await edge.restart();

    // the returning visitor's page is served at once, and once the grants
    // are back (next sync, 1 s) with a fresh lease
    const first = await vs[0].page('/page');
    assert.equal(first.res.status, 200);
    await waitFor(() => /state refused, starting empty/.test(edge.output()), { what: 'the refusal logged' });
    // refused by the core's snapshot checks, not by some other failure
    assert.match(edge.output(), /pool pr state refused, starting empty: snapshot refused/);
    const fresh = await waitFor(async () => {
      const m = (await vs[0].page('/page')).meta[0];
      return m.lease ? m : null;
    }, { what: 'a lease after the refusal' });
    assert.notEqual(genOf(fresh.lease), oldGen, 'a new generation');
    const news = [fresh];
    for (const v of [vs[1], vs[2], new Visitor(edge.url), new Visitor(edge.url)]) news.push((await v.page('/page')).meta[0]);
    assert.ok(news.every((m) => m.lease), 'every page gets a lease');
    const oldIds = new Set(olds.map((m) => m.lease));
    assert.ok(news.every((m) => !oldIds.has(m.lease)), 'no old lease id handed out again');
    assert.equal(new Set(news.map((m) => m.lease)).size, news.length);
    // the old leases are unknown to the new generation
    assert.equal((await vs[1].beacon('hb', { lease: olds[1].lease })).status, 404);
    assert.equal((await vs[1].beacon('hb', { lease: news[1].lease })).status, 200);
    // the shard says so, and it is what the origin hears
    const st = (await edge.status()).pools.find((p) => p.pool === 'pr');
    assert.equal(st.gen, genOf(fresh.lease));
    await waitFor(() => news.every((m) => origin.events.some((e) => e.type === 'assign' && e.lease === m.lease)),
      { what: 'the new leases at the origin' });
    const ids = origin.events.filter((e) => e.type === 'assign').map((e) => e.lease);
    assert.equal(new Set(ids).size, ids.length, 'lease ids unique at the origin');
    // and the new state restores normally on the next restart
    await sleep(300);
    await edge.restart();
    const kept = (await vs[0].page('/page')).meta[0];
    assert.equal(kept.lease, fresh.lease, 'the fresh lease survives a clean restart');
    assert.equal((edge.output().match(/state refused/g) || []).length, 1, 'refused once only');
  } finally {
    await edge.stop();
    await up.close();
    await origin.close();
    rmSync(state, { recursive: true, force: true });
  }
});
