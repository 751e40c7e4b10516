// Calls end, on a real workerd process against the real dni-origin: a call
// whose last status never arrives holds its number only until the origin
// closes it as expired (--max-call-s, short here); then the edge shows the
// number to a new visitor again. A one-number pool makes the hold visible:
// while the call holds the number, a new visitor gets the default number.
// Skipped when the origin binary has not been built.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge, Visitor, waitFor } from './harness.mjs';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOrigin, admin, metric, HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';

const NUMBER = '+18885557001';
const MAX_CALL_S = 4;

describe('a call whose last status never arrives', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let origin; let up; let edge;

  before(async () => {
    origin = await startOrigin({ args: ['--allow-unsigned-webhooks', '--max-call-s', String(MAX_CALL_S)] });
    const p = await admin(origin.url, 'POST', '/v1/pools', {
      id: 'x1', numbers: [NUMBER], default_number: DEFAULT,
      buffer_s: 0, min_hold_s: 0, max_lease_s: 2, unconfirmed_hold_s: 1, sticky_s: 0,
    });
    assert.equal(p.status, 201, p.text);
    up = await startUpstream();
    edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-expiry' });
  });

  after(async () => {
    if (edge) await edge.destroy();
    if (up) await up.close();
    if (origin) await origin.destroy();
  });

  const shard = async () => (await edge.status()).pools.find((s) => s.pool === 'x1');
  const shown = async () => (await new Visitor(edge.url).page('/page')).meta[0];

  test('its number is free again after max_call_s, and the call is recorded as expired', async () => {
    // A visitor is shown the pool's only number and calls it; the provider
    // says "ringing" and never anything again.
    const first = await waitFor(async () => {
      const m = await shown();
      return m.number === NUMBER ? m : null;
    }, { what: 'the pool\'s number on the edge', every: 300 });
    const w = await admin(origin.url, 'POST', '/v1/webhooks/call', { CallSid: 'CAexpire1', To: NUMBER,
      From: '+12125550111', CallStatus: 'ringing', Timestamp: String(Date.now() / 1000) });
    assert.equal(w.status, 200, w.text);
    const call = await waitFor(async () => {
      const c = await admin(origin.url, 'GET', '/v1/calls/CAexpire1');
      return c.body && c.body.session ? c.body : null;
    }, { what: 'the call to be attributed' });
    assert.equal(call.session.lease, first.lease, 'the call is attributed to the visitor\'s lease');

    // The origin's hold reaches the edge; the lease ends; the number stays
    // held by the call: a new visitor is shown the default number.
    await waitFor(async () => (await shard()).hold.includes(NUMBER), { what: 'the hold at the edge' });
    await waitFor(async () => (await shard()).leases.length === 0, { what: 'the lease to end' });
    const c = await admin(origin.url, 'GET', '/v1/calls/CAexpire1');
    if (c.body.status === 'ringing') {
      assert.equal((await shown()).number, DEFAULT, 'a ringing call keeps its number');
    }

    // After max_call_s without a status the call is closed as expired and
    // the number is shown again.
    const again = await waitFor(async () => {
      const m = await shown();
      return m.number === NUMBER ? m : null;
    }, { what: 'the number to be shown again', every: 500, timeout: 30000 });
    assert.notEqual(again.lease, first.lease);
    const done = await admin(origin.url, 'GET', '/v1/calls/CAexpire1');
    assert.equal(done.body.status, 'expired');
    assert.equal(done.body.in_progress, false);
    assert.match(done.body.end_reason, new RegExp(`no status for ${MAX_CALL_S} s`));
    assert.ok(done.body.ended_at >= done.body.started_at + MAX_CALL_S - 1, 'not before max_call_s');
    assert.equal(await metric(origin.url, 'dni_origin_calls_expired_total'), 1);
    assert.ok(!(await shard()).hold.includes(NUMBER), 'the hold is lifted at the edge');

    // The provider's completed, late, still updates the record; the
    // number's new lease is untouched.
    const late = await admin(origin.url, 'POST', '/v1/webhooks/call', { CallSid: 'CAexpire1', To: NUMBER,
      From: '+12125550111', CallStatus: 'completed', CallDuration: '30',
      Timestamp: String(Date.now() / 1000) });
    assert.equal(late.status, 200, late.text);
    const fin = await admin(origin.url, 'GET', '/v1/calls/CAexpire1');
    assert.equal(fin.body.status, 'completed');
    assert.equal(fin.body.session.lease, first.lease, 'still the first visitor\'s call');
  });
});
