// Secure by default: without an auth token, unsigned webhooks are refused
// unless the origin was started with --allow-unsigned-webhooks (which it
// warns about at start). Also the router's common answers: 405 with Allow,
// nosniff on every response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, webhook, req, ADMIN } from './helpers.mjs';

const call = { CallSid: 'CApolicy1', To: '+18005551234', CallStatus: 'ringing' };

test('no token, no flag: unsigned webhooks get 403 JSON and nothing is stored', async () => {
  const o = await startOrigin({ unsigned: false });
  try {
    const r = await webhook(o, call);
    assert.equal(r.status, 403);
    assert.match(r.json.error, /unsigned webhooks are refused/);
    const j = await req(o, 'POST', '/v1/webhooks/call', { body: JSON.stringify(call) });
    assert.equal(j.status, 403);
    const calls = await req(o, 'GET', '/v1/calls', { token: ADMIN });
    assert.equal(calls.status, 200);
    assert.equal(calls.json.calls.length, 0);
    assert.doesNotMatch(o.stderr, /WARNING/);
  } finally {
    await o.stop();
    o.cleanup();
  }
});

test('--allow-unsigned-webhooks: accepted, with a warning at start', async () => {
  const o = await startOrigin({ unsigned: true });
  try {
    const r = await webhook(o, call);
    assert.equal(r.status, 200, r.text);
    assert.match(o.stderr, /WARNING: --allow-unsigned-webhooks/);
  } finally {
    await o.stop();
    o.cleanup();
  }
});

test('router: 405 lists the route methods; nosniff everywhere', async () => {
  const o = await startOrigin();
  try {
    const r = await req(o, 'DELETE', '/v1/pools', { token: ADMIN });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, POST');
    assert.equal(r.headers.get('content-type'), 'application/json');
    const one = await req(o, 'PUT', '/v1/pools/x', { token: ADMIN, body: '{}' });
    assert.equal(one.headers.get('allow'), 'GET, HEAD, PATCH, DELETE');
    for (const path of ['/healthz', '/metrics', '/v1/nothing', '/no-such-file', '/v1/pools']) {
      const a = await req(o, 'GET', path);
      assert.equal(a.headers.get('x-content-type-options'), 'nosniff', path);
    }
    const missing = await req(o, 'GET', '/v1/nothing', { token: ADMIN });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error, 'no such route');
  } finally {
    await o.stop();
    o.cleanup();
  }
});
