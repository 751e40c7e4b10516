// `dni-origin migrate --from sqlite:FILE --to postgresql://...`: a
// populated SQLite origin (pools, grants, leases, calls with their
// attribution and history, a manual match, the parameter map) copied into
// an empty PostgreSQL database answers every API read the same, and keeps
// counting ids after the copied ones. A second copy into the same
// database is refused. Runs its own throwaway cluster.
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, pool, webhook, sql } from '../origin/helpers.mjs';

const dir = `build/pg-migrate-${process.pid}`;
const cluster = (cmd) => execFileSync('sh', ['tests/pg_cluster.sh', cmd, dir], { encoding: 'utf8' }).trim();
const BIN = process.env.DNI_ORIGIN_BIN || 'build/bin/dni-origin';

let lite;
let pg;
let url;
before(async () => {
  url = cluster('start');
  lite = await startOrigin();
});

after(async () => {
  if (pg) await pg.stop();
  if (lite) { await lite.stop(); lite.cleanup(); }
  cluster('destroy');
});

const now = () => Date.now() / 1000;

async function populate(o) {
  const nums = ['+18885556001', '+18885556002', '+18885556003', '+18885556004'];
  let r = await admin(o, 'POST', '/v1/pools', pool('mg', nums, { default_number: '+18005556000', overflow_number: '+18005556009' }));
  assert.equal(r.status, 201, r.text);
  r = await admin(o, 'PUT', '/v1/param-map', { gclid: 'gclid', utm_source: 'source' });
  assert.equal(r.status, 200, r.text);
  let seq = 0;
  r = await sync(o, { edge: 'm1', seq: ++seq, events: [] });
  const grants = r.json.pools.find((p) => p.id === 'mg').grants;
  const t = now() - 100; // live for minutes yet: both reads see them live
  const events = grants.slice(0, 3).map((g, i) => ({
    type: 'assign', pool: 'mg', lease: `ML${i}`, number: g.number, epoch: g.epoch, visitor: `v${i}`,
    tags: { utm_source: i ? 'bing' : 'google' }, referrer: 'https://search.example/', url: 'https://shop.example/', t: t + i,
  }));
  events.push({ type: 'overflow', pool: 'mg', t: t + 5 });
  r = await sync(o, { edge: 'm1', seq: ++seq, events });
  assert.equal(r.status, 200, r.text);
  for (let i = 0; i < 3; i++) {
    const to = grants[i].number;
    for (const status of ['ringing', 'in-progress', 'completed']) {
      r = await webhook(o, { CallSid: `CAmg${i}`, To: to, From: '+15550002222', CallStatus: status, CallDuration: '42' });
      assert.equal(r.status, 200, r.text);
    }
  }
  r = await webhook(o, { CallSid: 'CAmgdef', To: '+18005556000', From: '+15550003333', CallStatus: 'ringing' });
  assert.equal(r.status, 200, r.text);
  r = await admin(o, 'PATCH', '/v1/calls/CAmg2', { session: null, by: 'reviewer', note: 'caller said so' });
  assert.equal(r.status, 200, r.text);
}

// Every API read the comparison covers, as JSON text.
async function reads(o) {
  const out = {};
  for (const path of ['/v1/pools', '/v1/pools/mg', '/v1/param-map', '/v1/calls?limit=1000',
    '/v1/calls/CAmg0', '/v1/calls/CAmg1', '/v1/calls/CAmg2', '/v1/calls/CAmgdef', '/v1/leases?limit=1000']) {
    const r = await admin(o, 'GET', path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    out[path] = r.json;
  }
  return out;
}

test('a populated SQLite database copied into PostgreSQL answers the same', async () => {
  await populate(lite);
  const before = await reads(lite);
  await lite.stop();
  const m = spawnSync(BIN, ['migrate', '--from', `sqlite:${lite.db}`, '--to', url], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stderr, /calls: 4 rows/);

  pg = await startOrigin({ args: ['--db', url] });
  const afterCopy = await reads(pg);
  for (const path of Object.keys(before)) assert.deepEqual(afterCopy[path], before[path], path);
  // Same rows in the tables no read shows in full.
  for (const q of ['SELECT count(*) FROM call_events', 'SELECT count(*) FROM call_changes',
    'SELECT count(*) FROM leases', 'SELECT sum(n) FROM overflow_counts', 'SELECT count(*) FROM sync_batches',
    "SELECT number || ':' || state || ':' || coalesce(edge, '') || ':' || epoch FROM numbers ORDER BY number"]) {
    assert.equal(sql(url, q), sql(lite.db, q), q);
  }
  // New rows get ids after the copied ones.
  const maxId = Number(sql(url, 'SELECT max(id) FROM calls'));
  const r = await webhook(pg, { CallSid: 'CAmgnew', To: '+18005556000', CallStatus: 'ringing' });
  assert.equal(r.status, 200, r.text);
  assert.equal(Number(sql(url, "SELECT id FROM calls WHERE sid = 'CAmgnew'")), maxId + 1);
});

test('a second copy into a database in use is refused', async () => {
  const m = spawnSync(BIN, ['migrate', '--from', `sqlite:${lite.db}`, '--to', url], { encoding: 'utf8' });
  assert.equal(m.status, 1);
  assert.match(m.stderr, /not empty/);
});
