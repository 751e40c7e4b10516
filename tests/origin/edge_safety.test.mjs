// The origin's half of edge safety: an edge that lost its state (a new
// generation of its sync stream), and calls whose last status never comes
// (max_call_s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startOrigin, admin, sync, metric, pool, webhook, req, ADMIN } from './helpers.mjs';

const sql = (db, q) => execFileSync('sqlite3', ['-batch', db, q], { encoding: 'utf8' }).trim();
const now = () => Date.now() / 1000;
const entry = (r, id) => r.json.pools.find((p) => p.id === id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let o;
before(async () => {
  o = await startOrigin({ args: ['--max-call-s', '2'] });
  let r = await admin(o, 'POST', '/v1/pools', pool('g1', ['+18885552001', '+18885552002', '+18885552003']));
  assert.equal(r.status, 201, r.text);
  r = await admin(o, 'POST', '/v1/pools', pool('c1', ['+18885553001'], { default_number: '+18005550000' }));
  assert.equal(r.status, 201, r.text);
});
after(async () => { await o.stop(); o.cleanup(); });

test('a new generation of an edge is a restart: its batches apply from seq 1, none twice', async () => {
  let r = await sync(o, { edge: 'w', generation: 'gen-a', seq: 1 });
  assert.equal(r.status, 200, r.text);
  const grants = entry(r, 'g1').grants;
  assert.equal(grants.length, 3);
  const [n1, n2] = grants.map((g) => g.number);
  const ep = Object.fromEntries(grants.map((g) => [g.number, g.epoch]));
  const t = now() - 5;
  r = await sync(o, { edge: 'w', generation: 'gen-a', seq: 2, events: [
    { type: 'assign', pool: 'g1', lease: 'g1~a.1', number: n1, epoch: ep[n1], visitor: 'va', t },
  ] });
  assert.equal(r.json.applied, 1);
  // The state directory is wiped: generation gen-b starts at seq 1 again.
  r = await sync(o, { edge: 'w', generation: 'gen-b', seq: 1 });
  assert.notEqual(r.json.duplicate, true, 'seq 1 of a new generation is not a duplicate');
  let g = entry(r, 'g1');
  assert.ok(!g.grants.some((x) => x.number === n1) || g.grants.find((x) => x.number === n1).epoch > ep[n1],
    'the number of the lost lease was taken back before being granted again');
  const epB = Object.fromEntries(g.grants.map((x) => [x.number, x.epoch]));
  const m = g.grants.map((x) => x.number).find((x) => x === n2) || g.grants[0].number;
  r = await sync(o, { edge: 'w', generation: 'gen-b', seq: 2, events: [
    { type: 'assign', pool: 'g1', lease: 'g1~b.1', number: m, epoch: epB[m], visitor: 'vb', t: now() },
  ] });
  assert.equal(r.json.applied, 1, 'the new generation\'s lease reaches the origin');
  assert.equal(sql(o.db, "SELECT count(*) FROM leases WHERE edge = 'w' AND lease = 'g1~b.1'"), '1');
  assert.equal(sql(o.db, "SELECT released_at IS NOT NULL FROM leases WHERE lease = 'g1~a.1'"), '1',
    'the lost generation\'s lease is closed');
  // A late retry of the old generation's batch is a duplicate and changes nothing.
  r = await sync(o, { edge: 'w', generation: 'gen-a', seq: 2, events: [
    { type: 'assign', pool: 'g1', lease: 'g1~a.1', number: n1, epoch: ep[n1], visitor: 'va', t },
  ] });
  assert.equal(r.json.duplicate, true);
  assert.equal(sql(o.db, "SELECT released_at IS NULL FROM leases WHERE lease = 'g1~b.1'"), '1',
    'the current generation is not reset by a late retry of the old one');
  assert.equal(sql(o.db, "SELECT generation FROM edges WHERE id = 'w'"), 'gen-b');
  assert.equal(sql(o.db, "SELECT count(*) FROM sync_batches WHERE edge = 'w'"), '4');
});

test('an edge without a generation keeps working; its first generation is not a restart', async () => {
  let r = await sync(o, { edge: 'legacy', seq: 1 });
  const n = entry(r, 'g1').grants;
  r = await sync(o, { edge: 'legacy', seq: 1 });
  assert.equal(r.json.duplicate, true);
  r = await sync(o, { edge: 'legacy', generation: 'first', seq: 2 });
  assert.notEqual(r.json.duplicate, true);
  assert.equal(sql(o.db, "SELECT generation FROM edges WHERE id = 'legacy'"), 'first');
  assert.ok(Array.isArray(n));
});

test('a ringing call with no further status is closed after max_call_s; a late completed still updates it', async () => {
  let r = await sync(o, { edge: 'cx', generation: 'x', seq: 1 });
  assert.deepEqual(entry(r, 'c1').hold, []);
  const t0 = now();
  r = await webhook(o, { CallSid: 'CAlost', To: '+18885553001', From: '+15550001111', CallStatus: 'ringing',
    Timestamp: String(t0) });
  assert.equal(r.status, 200, r.text);
  r = await sync(o, { edge: 'cx', generation: 'x', seq: 2 });
  assert.deepEqual(entry(r, 'c1').hold, ['+18885553001'], 'the ringing call holds its number');
  const before = await metric(o, 'dni_origin_calls_expired_total');
  await sleep(3000);
  r = await sync(o, { edge: 'cx', generation: 'x', seq: 3 });
  assert.deepEqual(entry(r, 'c1').hold, [], 'the hold is lifted after max_call_s');
  assert.equal(await metric(o, 'dni_origin_calls_expired_total'), before + 1);
  let c = await req(o, 'GET', '/v1/calls/CAlost', { token: ADMIN });
  assert.equal(c.json.status, 'expired');
  assert.equal(c.json.in_progress, false);
  assert.match(c.json.end_reason, /expired: no status for 2 s/);
  // The provider's final status, late: the record is updated.
  r = await webhook(o, { CallSid: 'CAlost', To: '+18885553001', CallStatus: 'completed',
    Timestamp: String(t0 + 1), CallDuration: '1' });
  assert.equal(r.status, 200, r.text);
  c = await req(o, 'GET', '/v1/calls/CAlost', { token: ADMIN });
  assert.equal(c.json.status, 'completed');
  assert.equal(Math.round(c.json.ended_at), Math.round(t0 + 1));
  r = await sync(o, { edge: 'cx', generation: 'x', seq: 4 });
  assert.deepEqual(entry(r, 'c1').hold, []);
});
