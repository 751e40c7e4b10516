// Pools API: CRUD, validation, auth, and the HTTP error conventions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, req, pool, ADMIN, EDGE } from './helpers.mjs';

let o;
before(async () => { o = await startOrigin({ args: ['--max-body', '4096'] }); });
after(async () => { await o.stop(); o.cleanup(); });

test('create, read, list, patch, delete a pool', async () => {
  let r = await admin(o, 'POST', '/v1/pools', pool('crud', ['+1 888 555 0101', '+18885550102'], {
    name: 'Spring', campaign: 'c1', traffic_source: 'search', stockpile: 2, provider: { kind: 'inventory', toll_free: true },
    auto_scale: true, postback_url: 'https://example.com/pb', mode: 'tags',
    tracked_tags: ['utm_source'], param_map: { f_n: 'first_name' }, buffer_s: 30,
    max_lease_s: 900, min_hold_s: 120, sticky_s: 3600, attribution_window_s: 7200, number_limit: 5,
  }));
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json.numbers, ['+18885550101', '+18885550102']);
  assert.equal(r.json.version, 1);
  assert.equal(r.json.number_limit, 5);

  r = await admin(o, 'GET', '/v1/pools/crud');
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'Spring');
  assert.equal(r.json.buffer_s, 30);
  assert.deepEqual(r.json.param_map, { f_n: 'first_name' });

  r = await admin(o, 'GET', '/v1/pools');
  assert.ok(r.json.pools.some((p) => p.id === 'crud'));

  r = await admin(o, 'PATCH', '/v1/pools/crud', { name: 'Summer', numbers: ['+18885550101', '+18885550103'] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Summer');
  assert.equal(r.json.version, 2);
  assert.deepEqual(r.json.numbers, ['+18885550101', '+18885550103']);
  assert.equal(r.json.buffer_s, 30, 'fields not in the patch are kept');

  r = await admin(o, 'PATCH', '/v1/pools/crud', { number_limit: 1 });
  assert.equal(r.status, 422, 'number_limit below the numbers');
  r = await admin(o, 'GET', '/v1/pools/crud');
  assert.equal(r.json.version, 2, 'a refused patch changes nothing');

  r = await admin(o, 'DELETE', '/v1/pools/crud');
  assert.equal(r.status, 200);
  r = await admin(o, 'GET', '/v1/pools/crud');
  assert.equal(r.status, 404);
  assert.equal(typeof r.json.error, 'string');
  r = await admin(o, 'DELETE', '/v1/pools/crud');
  assert.equal(r.status, 404);
});

test('validation errors are 422 with a message', async () => {
  const bad = [
    pool('v1', ['not a number']),
    pool('v2', ['+18885550201', '+18885550201']),
    pool('v3', ['+18885550201'], { default_number: 'x' }),
    pool('v4', ['+18885550201', '+18885550202'], { number_limit: 1 }),
    pool('v5', ['+18885550201'], { buffer_s: -5 }),
    pool('v6', ['+18885550201'], { max_lease_s: 0 }),
    pool('v7', ['+18885550201'], { min_hold_s: 1000, max_lease_s: 500 }),
    pool('v8', ['+18885550201'], { mode: 'tags' }),
    pool('v9', ['+18885550201'], { unknown_field: 1 }),
    pool('bad id!', ['+18885550201']),
    pool('v10', ['+18005551234']),
  ];
  for (const p of bad) {
    const r = await admin(o, 'POST', '/v1/pools', p);
    assert.equal(r.status, 422, `${JSON.stringify(p)} -> ${r.text}`);
    assert.equal(typeof r.json.error, 'string');
  }
  const r = await admin(o, 'GET', '/v1/pools');
  assert.ok(!r.json.pools.some((p) => p.id.startsWith('v')), 'nothing stored');
});

test('conflicts are 409', async () => {
  let r = await admin(o, 'POST', '/v1/pools', pool('c1', ['+18885550301']));
  assert.equal(r.status, 201);
  r = await admin(o, 'POST', '/v1/pools', pool('c1', ['+18885550302']));
  assert.equal(r.status, 409, 'same id');
  r = await admin(o, 'POST', '/v1/pools', pool('c2', ['+18885550301']));
  assert.equal(r.status, 409, 'number of another pool');
  r = await admin(o, 'GET', '/v1/pools/c2');
  assert.equal(r.status, 404, 'the refused pool was not kept');
});

test('auth: missing token 401, wrong token 403, edge secret is not admin', async () => {
  let r = await req(o, 'GET', '/v1/pools');
  assert.equal(r.status, 401);
  assert.ok(r.json.error);
  r = await req(o, 'GET', '/v1/pools', { token: 'nope' });
  assert.equal(r.status, 403);
  r = await req(o, 'GET', '/v1/pools', { token: EDGE });
  assert.equal(r.status, 403);
  r = await req(o, 'POST', '/v1/edge/sync', { token: ADMIN, body: { edge: 'e', seq: 1 } });
  assert.equal(r.status, 403);
});

test('bad JSON 400, wrong content type 415, oversized 413, unknown 404, method 405', async () => {
  let r = await req(o, 'POST', '/v1/pools', { token: ADMIN, body: '{"id": "x",' });
  assert.equal(r.status, 400);
  assert.ok(r.json.error);
  r = await req(o, 'POST', '/v1/pools', { token: ADMIN, body: 'id=x', type: 'text/plain' });
  assert.equal(r.status, 415);
  r = await req(o, 'POST', '/v1/pools', { token: ADMIN, body: JSON.stringify({ name: 'x'.repeat(10000) }) });
  assert.equal(r.status, 413);
  assert.ok(r.json.error);
  r = await req(o, 'GET', '/v1/nothing', { token: ADMIN });
  assert.equal(r.status, 404);
  r = await req(o, 'PUT', '/v1/pools', { token: ADMIN, body: {} });
  assert.equal(r.status, 405);
  assert.ok(r.json.error);
  r = await req(o, 'GET', '/v1/edge/sync', { token: EDGE });
  assert.equal(r.status, 405);
  r = await req(o, 'POST', '/v1/webhooks/call', { body: '{', type: 'application/json' });
  assert.equal(r.status, 400);
  r = await req(o, 'POST', '/v1/webhooks/call', { body: 'x', type: 'text/plain' });
  assert.equal(r.status, 415);
  r = await req(o, 'POST', '/v1/edge/sync', { token: EDGE, body: '[1,' });
  assert.equal(r.status, 400);
});

test('param map: put, get, validated, returned to edges', async () => {
  let r = await admin(o, 'PUT', '/v1/param-map', { f_n: 'first_name', gclid: 'gclid' });
  assert.equal(r.status, 200);
  r = await admin(o, 'GET', '/v1/param-map');
  assert.deepEqual(r.json, { f_n: 'first_name', gclid: 'gclid' });
  r = await admin(o, 'PUT', '/v1/param-map', { f_n: 3 });
  assert.equal(r.status, 422);
  r = await req(o, 'POST', '/v1/edge/sync', { token: EDGE, body: { edge: 'pm', seq: 1 } });
  assert.deepEqual(r.json.param_map, { f_n: 'first_name', gclid: 'gclid' });
});

test('healthz and metrics', async () => {
  let r = await req(o, 'GET', '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, true);
  r = await req(o, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /dni_origin_requests_total\{route="\/v1\/pools",status="201"\} \d+/);
  assert.match(r.text, /dni_origin_request_duration_seconds_bucket\{route="\/v1\/pools",le="\+Inf"\} \d+/);
  assert.match(r.text, /dni_origin_stale_events_total \d+/);
  assert.match(r.text, /dni_origin_webhook_duplicates_total \d+/);
});
