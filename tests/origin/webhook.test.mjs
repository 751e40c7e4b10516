// Call webhooks: any order, duplicates, final state, default/overflow
// numbers, JSON form, and the provider signature.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createHash } from 'node:crypto';
import { startOrigin, admin, sync, metric, pool, webhook, req, form } from './helpers.mjs';

const now = () => Date.now() / 1000;

function permutations(a) {
  if (a.length <= 1) return [a];
  return a.flatMap((x, i) => permutations([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [x, ...p]));
}

test('every order, with duplicates, gives one call with the right final state', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  await admin(o, 'POST', '/v1/pools', pool('w1', ['+18885552001']));
  await sync(o, { edge: 'e', seq: 1 });
  const t0 = now() - 100;
  await sync(o, { edge: 'e', seq: 2, events: [
    { type: 'assign', pool: 'w1', lease: 'L', number: '+18885552001', epoch: 1, visitor: 'vis', t: t0 },
  ] });
  const events = [
    { CallStatus: 'ringing', Timestamp: String(t0 + 10), SequenceNumber: '0' },
    { CallStatus: 'in-progress', Timestamp: String(t0 + 12), SequenceNumber: '1' },
    { CallStatus: 'completed', Timestamp: String(t0 + 60), SequenceNumber: '2', CallDuration: '48' },
  ];
  const dup0 = await metric(o, 'dni_origin_webhook_duplicates_total');
  let n = 0, dups = 0;
  for (const order of permutations(events)) {
    const sid = `CAorder${n++}`;
    // each event twice, the duplicate right after or at the end
    const seq = [...order, order[0], order[1]];
    for (const e of seq) {
      const r = await webhook(o, { CallSid: sid, To: '+18885552001', From: '+15550002222', ...e });
      assert.equal(r.status, 200, r.text);
    }
    dups += 2;
    const c = await admin(o, 'GET', `/v1/calls/${sid}`);
    assert.equal(c.status, 200);
    assert.equal(c.json.status, 'completed', `order ${order.map((e) => e.CallStatus)}`);
    assert.equal(c.json.in_progress, false);
    assert.equal(c.json.started_at, t0 + 10);
    assert.equal(c.json.ended_at, t0 + 60);
    assert.equal(c.json.attribution, 'session');
    assert.equal(c.json.session.visitor, 'vis');
  }
  assert.equal(await metric(o, 'dni_origin_webhook_duplicates_total'), dup0 + dups);
  const list = await admin(o, 'GET', '/v1/calls?pool=w1&limit=1000');
  assert.equal(list.json.calls.length, 6, 'exactly one record per CallSid');
  // A final status other than completed wins over earlier ones too.
  await webhook(o, { CallSid: 'CAbusy', To: '+18885552001', CallStatus: 'busy', Timestamp: String(t0 + 20) });
  await webhook(o, { CallSid: 'CAbusy', To: '+18885552001', CallStatus: 'ringing', Timestamp: String(t0 + 15) });
  const b = await admin(o, 'GET', '/v1/calls/CAbusy');
  assert.equal(b.json.status, 'busy');
  assert.equal(b.json.in_progress, false);
  // A late ringing after the final status never holds the number.
  const s = await sync(o, { edge: 'e', seq: 3 });
  assert.deepEqual(s.json.pools[0].hold, []);
});

test('calls to the default or overflow number are counted per pool without a session', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  await admin(o, 'POST', '/v1/pools', pool('w2', ['+18885552101']));
  await webhook(o, { CallSid: 'CAdef', To: '+18005551234', CallStatus: 'ringing' });
  await webhook(o, { CallSid: 'CAovf', To: '+18005559999', CallStatus: 'ringing' });
  await webhook(o, { CallSid: 'CAnone', To: '+18885552101', CallStatus: 'ringing' });
  await webhook(o, { CallSid: 'CAelse', To: '+14155550000', CallStatus: 'ringing' });
  const d = await admin(o, 'GET', '/v1/calls/CAdef');
  assert.equal(d.json.pool, 'w2');
  assert.equal(d.json.attribution, 'default');
  assert.equal(d.json.session, null);
  const v = await admin(o, 'GET', '/v1/calls/CAovf');
  assert.equal(v.json.attribution, 'overflow');
  assert.equal(v.json.pool, 'w2');
  const u = await admin(o, 'GET', '/v1/calls/CAnone');
  assert.equal(u.json.attribution, 'unattributed');
  assert.deepEqual(u.json.candidates, []);
  const e = await admin(o, 'GET', '/v1/calls/CAelse');
  assert.equal(e.json.pool, null);
  const rep = await admin(o, 'GET', '/v1/reports/pools/w2');
  assert.equal(rep.status, 200);
  assert.equal(rep.json.calls, 3);
  assert.equal(rep.json.fallback_calls, 2);
  assert.equal(rep.json.attribution_rate, 0);
  // No session could have made these calls: no size helps (reports.test.mjs
  // covers sizing).
  assert.equal(rep.json.recommended_size, null);
  assert.equal(rep.json.verdict, 'just right');
  // pagination walks every call exactly once, newest first
  const seen = [];
  let cursor = null;
  do {
    const r = await admin(o, 'GET', `/v1/calls?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...r.json.calls.map((c) => c.sid));
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, ['CAelse', 'CAnone', 'CAovf', 'CAdef'], 'newest first');
  const since = await admin(o, 'GET', `/v1/calls?since=${now() + 3600}`);
  assert.equal(since.json.calls.length, 0);
  assert.equal((await admin(o, 'GET', '/v1/calls?limit=0')).status, 400);
  assert.equal((await admin(o, 'GET', '/v1/calls/CAmissing')).status, 404);
});

test('bad webhook fields are 422; JSON webhooks work', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  let r = await webhook(o, { To: '+18885552001', CallStatus: 'ringing' });
  assert.equal(r.status, 422);
  r = await webhook(o, { CallSid: 'CAx', To: 'nobody', CallStatus: 'ringing' });
  assert.equal(r.status, 422);
  r = await webhook(o, { CallSid: 'CAx', To: '+18885552001', CallStatus: 'exploded' });
  assert.equal(r.status, 422);
  r = await webhook(o, { CallSid: 'CAx', To: '+18885552001', CallStatus: 'ringing', Timestamp: 'yesterday' });
  assert.equal(r.status, 422);
  r = await req(o, 'POST', '/v1/webhooks/call', { body: { CallSid: 'CAjson', To: '+18885552001', CallStatus: 'ringing', Timestamp: 'Mon, 16 Aug 2010 03:45:01 +0000', SequenceNumber: 0 } });
  assert.equal(r.status, 200, r.text);
  const c = await admin(o, 'GET', '/v1/calls/CAjson');
  assert.equal(c.json.started_at, 1281930301);
});

test('signature: accepted when right, 403 when missing or wrong', async (t) => {
  const token = 'test-auth-token';
  const publicUrl = 'https://calls.example.com';
  const o = await startOrigin({ env: { DNI_TWILIO_AUTH_TOKEN: token }, args: ['--public-url', publicUrl] });
  t.after(async () => { await o.stop(); o.cleanup(); });
  const fields = { CallSid: 'CAsig', To: '+18885552001', From: '+15550003333', CallStatus: 'ringing' };
  const sign = (url, params) => createHmac('sha1', token)
    .update(url + Object.keys(params).sort().map((k) => k + params[k]).join('')).digest('base64');
  const url = `${publicUrl}/v1/webhooks/call?tenant=a%20b`;
  let r = await req(o, 'POST', '/v1/webhooks/call?tenant=a%20b', { body: form(fields), type: 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 403);
  assert.ok(r.json.error);
  r = await req(o, 'POST', '/v1/webhooks/call?tenant=a%20b', { body: form(fields), type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': sign(url, { ...fields, CallStatus: 'completed' }) } });
  assert.equal(r.status, 403);
  assert.equal((await admin(o, 'GET', '/v1/calls/CAsig')).status, 404, 'nothing stored');
  r = await req(o, 'POST', '/v1/webhooks/call?tenant=a%20b', { body: form(fields), type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': sign(url, fields) } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await admin(o, 'GET', '/v1/calls/CAsig')).status, 200);
  // JSON: the URL carries bodySHA256 and is signed without parameters.
  const body = JSON.stringify({ CallSid: 'CAsigjson', To: '+18885552001', CallStatus: 'ringing' });
  const hash = createHash('sha256').update(body).digest('hex');
  const path = `/v1/webhooks/call?bodySHA256=${hash}`;
  r = await req(o, 'POST', path, { body, headers: { 'x-twilio-signature': sign(publicUrl + path, {}) } });
  assert.equal(r.status, 200, r.text);
  r = await req(o, 'POST', path, { body: body.replace('ringing', 'completed'), headers: { 'x-twilio-signature': sign(publicUrl + path, {}) } });
  assert.equal(r.status, 403, 'body changed after signing');
});
