// The origin's half of edge safety: an edge that lost its state (a new
// generation of its sync stream), and calls whose last status never comes
// (max_call_s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, metric, pool, webhook, req, sql, ADMIN, EDGE } from './helpers.mjs';

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

test('an event holding text that is not well-formed is refused alone, by index; the rest of its batch applies', async () => {
  let r = await admin(o, 'POST', '/v1/pools', pool('u1',
    Array.from({ length: 16 }, (_, i) => `+188855541${String(i).padStart(2, '0')}`)));
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'ut', generation: 'u', seq: 1 });
  const g = entry(r, 'u1').grants; // a share of the pool among the known edges
  assert.ok(g.length >= 3, JSON.stringify(g));
  const before = await metric(o, 'dni_origin_sync_events_refused_total');
  const t = now();
  // JSON.stringify writes a lone surrogate as an escape (\ud800): what an
  // edge that did not clean its fields would send.
  r = await sync(o, { edge: 'ut', generation: 'u', seq: 2, events: [
    { type: 'assign', pool: 'u1', lease: 'u1~a', number: g[0].number, epoch: g[0].epoch, visitor: 'v1', t },
    { type: 'tag', lease: 'u1~a', tags: { k: '\ud800' }, t },
    { type: 'assign', pool: 'u1', lease: 'u1~b', number: g[1].number, epoch: g[1].epoch, visitor: 'v2', t,
      tags: { utm_source: `${'u'.repeat(199)}\u{1F600}`.slice(0, 200) } },
    { type: 'tag', lease: 'u1~a', tags: { ['\udc00']: 'x' }, t },
    { type: 'assign', pool: 'u1', lease: 'u1~c', number: g[2].number, epoch: g[2].epoch, visitor: 'v3', t,
      tags: { utm_source: 'fine' } },
  ] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.refused.map((x) => x.index), [1, 2, 3]);
  assert.match(r.json.refused[0].reason, /lone surrogate/);
  assert.equal(r.json.applied, 2, 'the events around them apply');
  assert.equal(sql(o.db, "SELECT count(*) FROM leases WHERE lease IN ('u1~a', 'u1~c')"), '2');
  assert.equal(sql(o.db, "SELECT count(*) FROM leases WHERE lease = 'u1~b'"), '0');
  assert.equal(await metric(o, 'dni_origin_sync_events_refused_total'), before + 3);

  // Bytes that are not UTF-8 in an event: that event alone.
  const raw = Buffer.concat([
    Buffer.from(`{"edge":"ut","generation":"u","seq":3,"events":[{"type":"tag","lease":"u1~a","tags":{"k":"`),
    Buffer.from([0xed, 0xa0, 0x80, 0xff]),
    Buffer.from(`"},"t":${t}},{"type":"seen","lease":"u1~c","t":${t + 1}}]}`),
  ]);
  let res = await fetch(`${o.base}/v1/edge/sync`, { method: 'POST', body: raw,
    headers: { authorization: `Bearer ${EDGE}`, 'content-type': 'application/json' } });
  let body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.deepEqual(body.refused.map((x) => x.index), [0]);
  assert.match(body.refused[0].reason, /UTF-8/);
  assert.equal(await metric(o, 'dni_origin_sync_events_refused_total'), before + 4);
  assert.equal(sql(o.db, "SELECT json_extract(tags, '$.k') IS NULL FROM leases WHERE lease = 'u1~a'"), '1',
    'the refused tag was not applied');

  // Outside the events, such text refuses the batch, as any malformed body.
  res = await fetch(`${o.base}/v1/edge/sync`, { method: 'POST',
    body: '{"edge":"ut","generation":"u\\ud800","seq":4}',
    headers: { authorization: `Bearer ${EDGE}`, 'content-type': 'application/json' } });
  body = await res.json();
  assert.equal(res.status, 400);
  assert.match(body.error, /lone surrogate escape in generation/);
});
