// Calls whose webhook arrives before the edge reports the lease that showed
// the number: the sync that brings the lease attributes them again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, pool, webhook } from './helpers.mjs';

let o;
let seq = 0;
const now = () => Date.now() / 1000;
const call = async (sid) => (await admin(o, 'GET', `/v1/calls/${sid}`)).json;
const ring = async (sid, to, t) => {
  const r = await webhook(o, { CallSid: sid, To: to, From: '+15550001111', CallStatus: 'ringing', Timestamp: String(t) });
  assert.equal(r.status, 200, r.text);
};
const batch = async (edge, events) => {
  const r = await sync(o, { edge, seq: ++seq, events });
  assert.equal(r.status, 200, r.text);
  return r.json;
};

before(async () => {
  o = await startOrigin();
  let r = await admin(o, 'POST', '/v1/pools', pool('lv', ['+18885553001', '+18885553002', '+18885553003'],
    { default_number: '+18005553000', overflow_number: '+18005553009' }));
  assert.equal(r.status, 201, r.text);
  r = await admin(o, 'POST', '/v1/pools', pool('lt', ['+18885554001'], {
    default_number: '+18005554000', overflow_number: '+18005554009',
    mode: 'tags', tracked_tags: ['utm_source'], buffer_s: 10, min_hold_s: 10, max_lease_s: 600,
    attribution_window_s: 5,
  }));
  assert.equal(r.status, 201, r.text);
  await batch('late', []); // grants every number of both pools to edge "late"
});
after(async () => { await o.stop(); o.cleanup(); });

test('webhook first, then the assign: the call is attributed to that session', async () => {
  const t0 = now() - 300;
  await ring('CAlate1', '+18885553001', t0 + 10);
  let c = await call('CAlate1');
  assert.equal(c.attribution, 'unattributed');
  assert.deepEqual(c.candidates, []);
  assert.equal(c.session, null);

  const r = await batch('late', [
    { type: 'assign', pool: 'lv', lease: 'LV1', number: '+18885553001', epoch: 1, visitor: 'v1',
      tags: { utm_source: 'bing' }, referrer: 'https://www.bing.com/', url: 'https://shop.example/a', t: t0 },
    { type: 'seen', lease: 'LV1', t: t0 + 5 },
  ]);
  assert.equal(r.applied, 2);
  c = await call('CAlate1');
  assert.equal(c.attribution, 'session');
  assert.equal(c.likelihood, 1);
  assert.equal(c.candidates.length, 1);
  assert.deepEqual(c.candidates[0], { edge: 'late', lease: 'LV1', visitor: 'v1', likelihood: 1 });
  assert.equal(c.session.visitor, 'v1');
  assert.deepEqual(c.session.tags, { utm_source: 'bing' });
  assert.equal(c.session.referrer, 'https://www.bing.com/');
  assert.equal(c.session.landing_url, 'https://shop.example/a');
  // The list answer carries the same attribution.
  const list = await admin(o, 'GET', '/v1/calls?pool=lv');
  const row = list.json.calls.find((x) => x.sid === 'CAlate1');
  assert.equal(row.attribution, 'session');
  assert.equal(row.session.lease, 'LV1');
});

test('a call that started before the lease stays unattributed', async () => {
  const t0 = now() - 300;
  await ring('CAbefore', '+18885553002', t0 - 50);
  await batch('late', [
    { type: 'assign', pool: 'lv', lease: 'LV2', number: '+18885553002', epoch: 1, visitor: 'v2', t: t0 },
    { type: 'seen', lease: 'LV2', t: t0 + 20 },
  ]);
  const c = await call('CAbefore');
  assert.equal(c.attribution, 'unattributed');
  assert.deepEqual(c.candidates, []);
});

test('a call attributed to an older lease moves to the lease reported late', async () => {
  const t0 = now() - 3000;
  await batch('late', [
    { type: 'assign', pool: 'lv', lease: 'LVold', number: '+18885553003', epoch: 1, visitor: 'old', t: t0 },
    { type: 'release', lease: 'LVold', t: t0 + 100 },
  ]);
  // Inside the attribution window of the old lease: attributed to it, with
  // a likelihood below 1 (it had ended).
  await ring('CAmove', '+18885553003', t0 + 2010);
  let c = await call('CAmove');
  assert.equal(c.session.visitor, 'old');
  assert.ok(c.likelihood < 1);
  await batch('late', [
    { type: 'assign', pool: 'lv', lease: 'LVnew', number: '+18885553003', epoch: 1, visitor: 'new', t: t0 + 2000 },
  ]);
  c = await call('CAmove');
  assert.equal(c.attribution, 'session');
  assert.equal(c.session.visitor, 'new');
  assert.equal(c.session.lease, 'LVnew');
  assert.equal(c.likelihood, 1);
});

test('tags mode: a late join extends the lease over the call', async () => {
  const t0 = now() - 300;
  await batch('late', [
    { type: 'assign', pool: 'lt', lease: 'LT1', number: '+18885554001', epoch: 1, visitor: 'a',
      tags: { utm_source: 'google' }, t: t0 },
  ]);
  // The lease was live until t0 + 10 as far as the origin knows, and the
  // attribution window is 5 s: a call at t0 + 50 is unattributed.
  await ring('CAjoin', '+18885554001', t0 + 50);
  let c = await call('CAjoin');
  assert.equal(c.attribution, 'unattributed');
  // Visitor b joined the shared lease at t0 + 45 (the edge reports it now):
  // the lease lived until t0 + 55, over the call.
  const r = await batch('late', [{ type: 'join', lease: 'LT1', visitor: 'b', t: t0 + 45 }]);
  assert.equal(r.applied, 1);
  c = await call('CAjoin');
  assert.equal(c.attribution, 'session');
  assert.equal(c.session.lease, 'LT1');
  assert.deepEqual(c.session.tags, { utm_source: 'google' });
  assert.equal(c.likelihood, 1);
  assert.equal(c.candidates.length, 1);
});

test('heartbeats are folded per lease and fenced like every event', async () => {
  const t0 = now() - 200;
  await batch('late', [
    { type: 'assign', pool: 'lt', lease: 'LT2', number: '+18885554001', epoch: 1, visitor: 'c', t: t0 },
  ]);
  const r = await batch('late', [
    { type: 'seen', lease: 'LT2', t: t0 + 30 },
    { type: 'seen', lease: 'LT2', t: t0 + 20 },
    { type: 'seen', lease: 'nope', t: t0 + 30 },
    { type: 'seen', lease: 'LT2', epoch: 9, t: t0 + 40 },
    { type: 'join', lease: 'LT2', visitor: 'd', t: t0 + 25 },
  ]);
  assert.equal(r.applied, 3);
  assert.equal(r.rejected, 2);
  // Another edge cannot beat on it.
  const other = await sync(o, { edge: 'zz-other', seq: 1, events: [{ type: 'seen', lease: 'LT2', t: t0 + 50 }] });
  assert.equal(other.json.rejected, 1);
  // The latest heartbeat (t0 + 30) counts: a call at t0 + 38 is inside
  // last_seen + buffer_s (10 s).
  await ring('CAbeat', '+18885554001', t0 + 38);
  const c = await call('CAbeat');
  assert.equal(c.session.lease, 'LT2');
  assert.equal(c.likelihood, 1);
});

test('an edge that has the config version gets the answer without it', async () => {
  const full = await sync(o, { edge: 'late', seq: ++seq });
  const lv = full.json.pools.find((p) => p.id === 'lv');
  assert.equal(lv.config.id, 'lv');
  const short = await sync(o, { edge: 'late', seq: ++seq, versions: { lv: lv.version, lt: -1 } });
  const lv2 = short.json.pools.find((p) => p.id === 'lv');
  assert.equal(lv2.config, undefined);
  assert.equal(lv2.version, lv.version);
  assert.deepEqual(lv2.grants, lv.grants);
  assert.equal(short.json.pools.find((p) => p.id === 'lt').config.id, 'lt');
  const bad = await sync(o, { edge: 'late', seq: ++seq, versions: [1] });
  assert.equal(bad.status, 422);
});

test('numbers added to or removed from a pool are granted or dropped at the next sync', async (t) => {
  const o2 = await startOrigin();
  t.after(async () => { await o2.stop(); o2.cleanup(); });
  const three = ['+18885557001', '+18885557002', '+18885557003'];
  let r = await admin(o2, 'POST', '/v1/pools', pool('pn', three));
  assert.equal(r.status, 201, r.text);
  let s = 0;
  const grants = async () => (await sync(o2, { edge: 'solo', seq: ++s })).json.pools.find((x) => x.id === 'pn').grants;
  assert.equal((await grants()).length, 3);
  r = await admin(o2, 'PATCH', '/v1/pools/pn', { numbers: [...three, '+18885557004'] });
  assert.equal(r.status, 200, r.text);
  let g = await grants();
  assert.equal(g.length, 4);
  assert.ok(g.some((x) => x.number === '+18885557004'));
  r = await admin(o2, 'PATCH', '/v1/pools/pn', { numbers: three });
  assert.equal(r.status, 200, r.text);
  g = await grants();
  assert.equal(g.length, 3);
  assert.ok(!g.some((x) => x.number === '+18885557004'));
  // Deleted and created again with other numbers: counted anew.
  assert.equal((await admin(o2, 'DELETE', '/v1/pools/pn')).status < 300, true);
  r = await admin(o2, 'POST', '/v1/pools', pool('pn', ['+18885557101', '+18885557102']));
  assert.equal(r.status, 201, r.text);
  g = await grants();
  assert.deepEqual(g.map((x) => x.number), ['+18885557101', '+18885557102']);
});
