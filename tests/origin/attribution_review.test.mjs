// Attribution a person can review: every change of a call's attribution is
// in its history with the reason; a call's start is its first status event
// (CallDuration never moves it earlier); a match set by hand survives later
// automatic re-attribution; the calls list is newest first with filters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, pool, webhook } from './helpers.mjs';

let o;
let seq = 0;
const now = () => Date.now() / 1000;
const call = async (sid) => (await admin(o, 'GET', `/v1/calls/${sid}`)).json;
const hook = async (fields) => {
  const r = await webhook(o, { From: '+15550001111', ...fields });
  assert.equal(r.status, 200, r.text);
};
const batch = async (events) => {
  const r = await sync(o, { edge: 'rv', seq: ++seq, events });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rejected ?? 0, 0, r.text);
  return r.json;
};
const assign = (lease, number, visitor, t, extra = {}) => ({
  type: 'assign', pool: 'rv', lease, number, epoch: 1, visitor, tags: { utm_source: 'google' },
  referrer: '', url: 'https://shop.example/', t, ...extra,
});
const reasons = (c) => c.history.map((h) => `${h.reason}:${h.to.lease ?? h.to.attribution}`);

before(async () => {
  o = await startOrigin();
  const nums = ['+18885557001', '+18885557002', '+18885557003', '+18885557004', '+18885557005'];
  const r = await admin(o, 'POST', '/v1/pools', pool('rv', nums,
    { default_number: '+18005557000', overflow_number: '+18005557009' }));
  assert.equal(r.status, 201, r.text);
  await batch([]); // grants every number to edge "rv" at epoch 1
});
after(async () => { await o.stop(); o.cleanup(); });

test('webhook before the lease: unattributed, then the sync brings the session; both in the history', async () => {
  const t0 = now() - 600;
  await hook({ CallSid: 'CArv1', To: '+18885557001', CallStatus: 'ringing', Timestamp: String(t0 + 20) });
  let c = await call('CArv1');
  assert.equal(c.attribution, 'unattributed');
  assert.deepEqual(reasons(c), ['webhook:unattributed']);
  assert.equal(c.history[0].from, null);
  assert.equal(c.history[0].started_at, t0 + 20);
  assert.equal(c.manual, null);

  await batch([assign('RV1', '+18885557001', 'alice', t0), { type: 'seen', lease: 'RV1', t: t0 + 15 }]);
  c = await call('CArv1');
  assert.equal(c.attribution, 'session');
  assert.equal(c.session.lease, 'RV1');
  assert.deepEqual(reasons(c), ['webhook:unattributed', 'lease reported:RV1']);
  const h = c.history[1];
  assert.equal(h.to.visitor, 'alice');
  assert.equal(h.to.likelihood, 1);
  assert.equal(h.from.attribution, 'unattributed');
  assert.ok(h.at > t0 && h.at <= now() + 1);
});

test('a late lease takes the call over; the history names both sessions', async () => {
  const t0 = now() - 5000;
  // bob's lease ended long before the call: it is still the best candidate.
  await batch([assign('RV2', '+18885557002', 'bob', t0), { type: 'release', lease: 'RV2', t: t0 + 400 }]);
  await hook({ CallSid: 'CArv2', To: '+18885557002', CallStatus: 'ringing', Timestamp: String(t0 + 3000) });
  let c = await call('CArv2');
  assert.equal(c.session.lease, 'RV2');
  // The edge reports carol's lease (live at the call) only now.
  await batch([assign('RV3', '+18885557002', 'carol', t0 + 2900), { type: 'seen', lease: 'RV3', t: t0 + 3010 }]);
  c = await call('CArv2');
  assert.equal(c.session.lease, 'RV3');
  assert.deepEqual(reasons(c), ['webhook:RV2', 'lease reported:RV3']);
  assert.equal(c.history[1].from.visitor, 'bob');
  assert.equal(c.history[1].to.visitor, 'carol');
});

test('call start: the first status event; CallDuration counts only for a lone final event', async () => {
  const t0 = now() - 9000;
  await batch([
    assign('RV4', '+18885557003', 'dave', t0), { type: 'release', lease: 'RV4', t: t0 + 300 },
    assign('RV5', '+18885557003', 'erin', t0 + 1000), { type: 'seen', lease: 'RV5', t: t0 + 1200 },
  ]);
  // A hand-typed completed with a long duration after the ringing: the
  // start stays at the ringing, the call stays with erin.
  await hook({ CallSid: 'CArv3', To: '+18885557003', CallStatus: 'ringing', Timestamp: String(t0 + 1100) });
  await hook({ CallSid: 'CArv3', To: '+18885557003', CallStatus: 'completed', Timestamp: String(t0 + 1160), CallDuration: '900' });
  let c = await call('CArv3');
  assert.equal(c.started_at, t0 + 1100);
  assert.equal(c.session.lease, 'RV5');
  assert.deepEqual(reasons(c), ['webhook:RV5']);

  // A lone completed: its duration places the start (dave's lease)...
  await hook({ CallSid: 'CArv4', To: '+18885557003', CallStatus: 'completed', Timestamp: String(t0 + 1150), CallDuration: '1000' });
  c = await call('CArv4');
  assert.equal(c.started_at, t0 + 150);
  assert.equal(c.session.lease, 'RV4');
  // ...until the ringing arrives: the start moves to it, and so does the call.
  await hook({ CallSid: 'CArv4', To: '+18885557003', CallStatus: 'ringing', Timestamp: String(t0 + 1120) });
  c = await call('CArv4');
  assert.equal(c.started_at, t0 + 1120);
  assert.equal(c.session.lease, 'RV5');
  assert.deepEqual(reasons(c), ['webhook:RV4', 'start moved:RV5']);
  assert.equal(c.history[1].from.started_at, t0 + 150);
  assert.equal(c.history[1].started_at, t0 + 1120);
  // The same events in the other order give the same call.
  await hook({ CallSid: 'CArv5', To: '+18885557003', CallStatus: 'ringing', Timestamp: String(t0 + 1120) });
  await hook({ CallSid: 'CArv5', To: '+18885557003', CallStatus: 'completed', Timestamp: String(t0 + 1150), CallDuration: '1000' });
  const d = await call('CArv5');
  assert.equal(d.started_at, c.started_at);
  assert.equal(d.session.lease, c.session.lease);
});

test('a manual match is recorded with who and when and survives a later late lease', async () => {
  const t0 = now() - 4000;
  await batch([assign('RV6', '+18885557004', 'frank', t0), { type: 'release', lease: 'RV6', t: t0 + 300 },
    assign('RV7', '+18885557004', 'gina', t0 + 1000), { type: 'release', lease: 'RV7', t: t0 + 1300 }]);
  await hook({ CallSid: 'CArv6', To: '+18885557004', CallStatus: 'ringing', Timestamp: String(t0 + 2000) });
  let c = await call('CArv6');
  assert.equal(c.session.lease, 'RV7');
  // Errors first: a lease on another number, an unknown call, bad fields.
  let r = await admin(o, 'PATCH', '/v1/calls/CArv6', { session: 'RV1' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error, /not a lease on the called number/);
  r = await admin(o, 'PATCH', '/v1/calls/CAnothere', { session: 'RV6' });
  assert.equal(r.status, 404);
  r = await admin(o, 'PATCH', '/v1/calls/CArv6', { sesion: 'RV6' });
  assert.equal(r.status, 422);
  r = await admin(o, 'PATCH', '/v1/calls/CArv6', {});
  assert.equal(r.status, 422);
  // frank's lease is not a candidate (gina's came later) but is on the number.
  const t1 = now();
  r = await admin(o, 'PATCH', '/v1/calls/CArv6', { session: 'RV6', by: 'maria', note: 'caller gave his name' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.session.lease, 'RV6');
  assert.equal(r.json.session.visitor, 'frank');
  assert.equal(r.json.manual.by, 'maria');
  assert.ok(r.json.manual.at >= t1 - 1);
  const last = r.json.history.at(-1);
  assert.equal(last.reason, 'manual');
  assert.equal(last.by, 'maria');
  assert.equal(last.note, 'caller gave his name');
  assert.equal(last.from.lease, 'RV7');
  // A lease live at the call is reported later: the rules would take it,
  // the hand stays.
  await batch([assign('RV8', '+18885557004', 'hank', t0 + 1900), { type: 'seen', lease: 'RV8', t: t0 + 2050 }]);
  c = await call('CArv6');
  assert.equal(c.session.lease, 'RV6');
  assert.deepEqual(reasons(c), ['webhook:RV7', 'manual:RV6']);
  // Later status events do not undo it either.
  await hook({ CallSid: 'CArv6', To: '+18885557004', CallStatus: 'completed', Timestamp: String(t0 + 2100), CallDuration: '100' });
  assert.equal((await call('CArv6')).session.lease, 'RV6');
  // Back to the rules: the live lease wins.
  r = await admin(o, 'PATCH', '/v1/calls/CArv6', { automatic: true, by: 'maria' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.session.lease, 'RV8');
  assert.equal(r.json.manual, null);
  assert.deepEqual(reasons(r.json), ['webhook:RV7', 'manual:RV6', 'automatic:RV6', 'automatic:RV8']);
  // "No session" by hand.
  r = await admin(o, 'PATCH', '/v1/calls/CArv6', { session: null, by: 'maria' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.attribution, 'unattributed');
  assert.equal(r.json.session, null);
});

test('calls list: newest first, cursor pages, filters by pool, time, status, attribution', async () => {
  const all = (await admin(o, 'GET', '/v1/calls?pool=rv&limit=1000')).json.calls.map((c) => c.sid);
  assert.deepEqual(all, ['CArv6', 'CArv5', 'CArv4', 'CArv3', 'CArv2', 'CArv1']);
  const seen = [];
  let cursor = null;
  do {
    const r = await admin(o, 'GET', `/v1/calls?pool=rv&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    seen.push(...r.json.calls.map((c) => c.sid));
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, all);
  const completed = (await admin(o, 'GET', '/v1/calls?status=completed')).json.calls.map((c) => c.sid);
  assert.deepEqual(completed, ['CArv6', 'CArv5', 'CArv4', 'CArv3']);
  const unattributed = (await admin(o, 'GET', '/v1/calls?pool=rv&attributed=0')).json.calls.map((c) => c.sid);
  assert.deepEqual(unattributed, ['CArv6'], JSON.stringify((await admin(o, 'GET', '/v1/calls?pool=rv&attributed=0')).json));
  const attributed = (await admin(o, 'GET', '/v1/calls?pool=rv&attributed=1')).json.calls;
  assert.equal(attributed.length, 5);
  const c3 = await call('CArv3');
  const window = (await admin(o, 'GET', `/v1/calls?since=${c3.started_at}&until=${c3.started_at + 1}`)).json.calls;
  assert.deepEqual(window.map((c) => c.sid), ['CArv3']);
  assert.equal((await admin(o, 'GET', '/v1/calls?status=ringingg')).status, 400);
  assert.equal((await admin(o, 'GET', '/v1/calls?attributed=maybe')).status, 400);
  assert.equal((await admin(o, 'GET', '/v1/calls?until=soon')).status, 400);
  assert.equal((await admin(o, 'GET', '/v1/calls?pool=nope')).json.calls.length, 0);
});
