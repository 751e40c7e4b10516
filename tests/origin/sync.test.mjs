// Edge sync: grants, events, fencing by epoch, idempotency, draining.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, metric, pool, webhook } from './helpers.mjs';

let o;
before(async () => {
  o = await startOrigin();
  const r = await admin(o, 'POST', '/v1/pools', pool('s1', ['+18885551001', '+18885551002', '+18885551003', '+18885551004']));
  assert.equal(r.status, 201, r.text);
});
after(async () => { await o.stop(); o.cleanup(); });

const now = () => Date.now() / 1000;
const entry = (r, id = 's1') => r.json.pools.find((p) => p.id === id);

test('a lone edge is granted every number, with epochs and an expiry', async () => {
  const r = await sync(o, { edge: 'a', seq: 1, events: [] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ack, 1);
  const p = entry(r);
  assert.equal(p.version, 1);
  assert.equal(p.config.id, 's1');
  assert.equal(p.grants.length, 4);
  for (const g of p.grants) assert.equal(g.epoch, 1);
  assert.ok(p.expires_at > now() + 30);
  assert.deepEqual(p.hold, []);
  assert.deepEqual(p.revoked, []);
});

test('assign, seen, tag, release are applied; calls attribute to the session', async () => {
  const t = now() - 20;
  let r = await sync(o, { edge: 'a', seq: 2, events: [
    { type: 'assign', pool: 's1', lease: 'A1', number: '+18885551001', epoch: 1, visitor: 'v1',
      tags: { utm_source: 'google' }, referrer: 'https://www.google.com/', url: 'https://shop.example/landing', t },
    { type: 'seen', lease: 'A1', t: t + 5 },
    { type: 'tag', lease: 'A1', tags: { gclid: 'abc' }, t: t + 6 },
    { type: 'assign', pool: 's1', lease: 'A2', number: '+18885551002', epoch: 1, visitor: 'v2', t },
    { type: 'release', lease: 'A2', t: t + 1 },
    { type: 'overflow', pool: 's1', t },
  ] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.applied, 6);
  assert.equal(r.json.rejected, 0);
  const w = await webhook(o, { CallSid: 'CAsync1', To: '+18885551001', From: '+15550001111', CallStatus: 'ringing', Timestamp: String(t + 10) });
  assert.equal(w.status, 200, w.text);
  r = await admin(o, 'GET', '/v1/calls/CAsync1');
  assert.equal(r.json.attribution, 'session');
  assert.equal(r.json.session.visitor, 'v1');
  assert.deepEqual(r.json.session.tags, { utm_source: 'google', gclid: 'abc' });
  assert.equal(r.json.session.referrer, 'https://www.google.com/');
  assert.equal(r.json.session.landing_url, 'https://shop.example/landing');
  assert.equal(r.json.likelihood, 1);
  assert.equal(r.json.candidates[0].lease, 'A1');
  // The call in progress holds its number.
  r = await sync(o, { edge: 'a', seq: 3 });
  assert.deepEqual(entry(r).hold, ['+18885551001']);
  await webhook(o, { CallSid: 'CAsync1', To: '+18885551001', CallStatus: 'completed', Timestamp: String(t + 70) });
  r = await sync(o, { edge: 'a', seq: 4 });
  assert.deepEqual(entry(r).hold, [], 'hold lifted when the last call ends');
  assert.ok(await metric(o, 'dni_origin_overflow_total') >= 1);
});

test('the same (edge, seq) is applied once', async () => {
  const before = await metric(o, 'dni_origin_sync_events_total');
  const batch = { edge: 'a', seq: 10, events: [{ type: 'seen', lease: 'A1', t: now() }] };
  let r = await sync(o, batch);
  assert.equal(r.json.applied, 1);
  r = await sync(o, batch);
  assert.equal(r.status, 200);
  assert.equal(r.json.ack, 10);
  assert.equal(r.json.applied, 0);
  assert.equal(r.json.duplicate, true);
  assert.equal(await metric(o, 'dni_origin_sync_events_total'), before + 1);
});

test('events with a stale epoch or an ungranted number are rejected and counted', async () => {
  const stale0 = await metric(o, 'dni_origin_stale_events_total');
  const r = await sync(o, { edge: 'a', seq: 11, events: [
    { type: 'assign', pool: 's1', lease: 'S1', number: '+18885551003', epoch: 0, t: now() },
    { type: 'assign', pool: 's1', lease: 'S2', number: '+18885559999', epoch: 1, t: now() },
    { type: 'seen', lease: 'A1', epoch: 7, t: now() },
    { type: 'seen', lease: 'nope', t: now() },
  ] });
  assert.equal(r.json.applied, 0);
  assert.equal(r.json.rejected, 4);
  assert.equal(await metric(o, 'dni_origin_stale_events_total'), stale0 + 4);
  // Another edge cannot use a's number either.
  const b = await sync(o, { edge: 'b', seq: 1, events: [
    { type: 'assign', pool: 's1', lease: 'B1', number: '+18885551004', epoch: 1, t: now() },
  ] });
  assert.equal(b.json.rejected, 1);
});

test('a new edge makes the busiest edge drain its surplus', async () => {
  const r = await sync(o, { edge: 'a', seq: 15 });
  const p = entry(r);
  assert.equal(p.grants.length, 2);
  assert.equal(p.revoked.length, 2);
  for (const g of p.revoked) assert.equal(g.epoch, 1);
});

test('a malformed batch is 422 and nothing of it is applied', async () => {
  const bad = [
    { edge: '', seq: 1 },
    { edge: 'a', seq: -1 },
    { edge: 'a', seq: 12, generation: 'bad generation!' },
    { edge: 'a', seq: 12, events: {} },
  ];
  for (const b of bad) {
    const r = await sync(o, b);
    assert.equal(r.status, 422, JSON.stringify(b));
    assert.ok(r.json.error);
  }
});

test('malformed events are refused by index; the rest of the batch is applied', async () => {
  const before = await metric(o, 'dni_origin_sync_events_refused_total');
  const r = await sync(o, { edge: 'a', seq: 12, events: [
    { type: 'release', lease: 'never-made', t: now() },
    { type: 'bogus', t: 1 },
    { type: 'assign', pool: 's1', lease: 'X', number: 'x', epoch: 1, t: 1 },
    { type: 'seen', lease: 'A1' },
    { type: 'assign', pool: 's1', lease: 'X2', number: '+18885551001', epoch: 1, t: 1, url: 'x'.repeat(5000) },
  ] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.refused.map((x) => x.index), [1, 2, 3, 4]);
  assert.match(r.json.refused[0].reason, /lease id|event type/);
  assert.match(r.json.refused[1].reason, /phone number/);
  assert.match(r.json.refused[3].reason, /url/);
  assert.equal(r.json.rejected, 1, 'the valid event was applied (a release of an unknown lease: rejected as stale)');
  assert.equal(await metric(o, 'dni_origin_sync_events_refused_total'), before + 4);
  const again = await sync(o, { edge: 'a', seq: 12 });
  assert.equal(again.json.duplicate, true, 'the batch was recorded');
});

test('two edges get disjoint shares; moved numbers drain and come back with epoch + 1', async () => {
  // b has synced: a (first by name) keeps 2 of 4, the surplus is revoked
  // (at a's first sync after b appeared, in the test above).
  let ra = await sync(o, { edge: 'a', seq: 20 });
  let pa = entry(ra);
  assert.equal(pa.grants.length, 2);
  const grantedA = pa.grants.map((g) => g.number);
  // Revoked first: numbers without open leases, so A1's number stays.
  assert.ok(grantedA.includes('+18885551001'));
  // a has no open lease on the revoked numbers: they are free now.
  ra = await sync(o, { edge: 'a', seq: 21 });
  assert.equal(entry(ra).revoked.length, 0);
  const rb = await sync(o, { edge: 'b', seq: 2 });
  const pb = entry(rb);
  assert.equal(pb.grants.length, 2);
  for (const g of pb.grants) {
    assert.ok(!grantedA.includes(g.number), 'disjoint');
    assert.equal(g.epoch, 2, 'epoch raised when the number moved');
  }
  // a can no longer use a moved number at its old epoch...
  const moved = pb.grants[0].number;
  ra = await sync(o, { edge: 'a', seq: 22, events: [
    { type: 'assign', pool: 's1', lease: 'A9', number: moved, epoch: 1, t: now() },
  ] });
  assert.equal(ra.json.rejected, 1);
  // ...while b can at the new one.
  const rb2 = await sync(o, { edge: 'b', seq: 3, events: [
    { type: 'assign', pool: 's1', lease: 'B9', number: moved, epoch: 2, t: now() },
  ] });
  assert.equal(rb2.json.applied, 1);
});

test('metrics count live leases', async () => {
  assert.ok(await metric(o, 'dni_origin_leases_live') >= 2);
});
