// Hostile bodies against every write route of the origin (read from
// origin/src/routes.c, so a new route is covered the day it is added):
// duplicated keys at every level, invalid UTF-8, NUL, huge and hex
// numbers, deep nesting, wrong types; for form routes NUL, invalid UTF-8,
// bad escapes, too many fields. Each gets a JSON 4xx, nothing is stored,
// and the service stays up. Also: settings the edge could not act on are
// refused, and URLs kept for display are http(s) only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startOrigin, admin, sync, webhook, req, pool, sql, ADMIN, EDGE } from './helpers.mjs';

const ROUTES = readFileSync(new URL('../../origin/src/routes.c', import.meta.url), 'utf8');
const WRITE_ROUTES = [...ROUTES.matchAll(/\{"([^"]+)",\s*"([^"]+)",\s*DNI_ACCESS_(\w+),/g)]
  .flatMap(([, path, methods, access]) => methods.split(' ')
    .filter((m) => ['POST', 'PUT', 'PATCH'].includes(m)).map((method) => ({ path, method, access })));

const enc = (s) => Buffer.from(s, 'latin1'); // byte strings below are written as \xNN

const JSON_BODIES = [
  ['duplicated key', '{"id":"a","id":"b"}'],
  ['duplicated key, other value types', '{"min_hold_s":300,"min_hold_s":-5}'],
  ['duplicated key in a nested object', '{"config":{"a":1,"a":2},"param_map":{"x":"y","x":"z"}}'],
  ['duplicated key in an array element', '{"events":[{"type":"assign","type":"release"}]}'],
  ['duplicated key escaped differently', '{"ab":1,"a\\u0062":2}'],
  ['invalid UTF-8', enc('{"name":"\xff\xfe"}')],
  ['overlong UTF-8', enc('{"name":"\xc0\xaf"}')],
  ['UTF-8 surrogate', enc('{"name":"\xed\xa0\x80"}')],
  ['lone surrogate escape', '{"name":"\\ud800"}'],
  ['escaped NUL', '{"id":"ab\\u0000cd","name":"x\\u0000"}'],
  ['raw NUL', enc('{"id":"ab\x00cd"}')],
  ['huge number', '{"min_hold_s":1e400}'],
  ['20-digit number', '{"seq":99999999999999999999}'],
  ['number past 2^53', '{"seq":9007199254740993}'],
  ['hex number', '{"min_hold_s":0x10}'],
  ['hex float', '{"t":0x1p3}'],
  ['NaN', '{"t":NaN}'],
  ['Infinity', '{"t":-Infinity}'],
  ['leading plus', '{"t":+1}'],
  ['deep nesting', '{"a":' + '['.repeat(100) + ']'.repeat(100) + '}'],
  ['very deep nesting', '['.repeat(100000)],
  ['truncated', '{"id":"a",'],
  ['trailing garbage', '{} {}'],
  ['byte order mark', enc('\xef\xbb\xbf{}')],
  ['array', '[]'],
  ['string', '"pool"'],
  ['number', '42'],
  ['null', 'null'],
  ['true', 'true'],
];

const FORM_BODIES = [
  ['%00 in a value', 'CallSid=CAh1&To=%2B18885550100&CallStatus=ringing&x=1%00junk'],
  ['%00 in a name', 'CallSid=CAh2&To=%2B18885550100&CallStatus=ringing&x%00y=1'],
  ['raw NUL', enc('CallSid=CAh3&To=%2B18885550100&CallStatus=ringing&x=\x00')],
  ['invalid UTF-8', 'CallSid=CAh4&To=%2B18885550100&CallStatus=ringing&x=%ff'],
  ['overlong UTF-8', 'CallSid=CAh5&To=%2B18885550100&CallStatus=ringing&x=%c0%af'],
  ['bad escape', 'CallSid=CAh6&To=%2B18885550100&CallStatus=ringing&x=%zz'],
  ['cut escape', 'CallSid=CAh7&To=%2B18885550100&CallStatus=ringing&x=%4'],
  ['too many fields', 'CallSid=CAh8&To=%2B18885550100&CallStatus=ringing&' + Array.from({ length: 300 }, (_, i) => `f${i}=1`).join('&')],
];
// Only the call webhook reads these fields itself.
const CALL_FORM_BODIES = [
  ['CallSid twice', 'CallSid=CAh9&CallSid=CAh10&To=%2B18885550100&CallStatus=ringing'],
  ['Timestamp 1e308', 'CallSid=CAh11&To=%2B18885550100&CallStatus=ringing&Timestamp=1e308'],
  ['hex Timestamp', 'CallSid=CAh12&To=%2B18885550100&CallStatus=ringing&Timestamp=0x1p30'],
  ['SequenceNumber of 20 digits', 'CallSid=CAh13&To=%2B18885550100&CallStatus=ringing&SequenceNumber=99999999999999999999'],
  ['negative CallDuration', 'CallSid=CAh14&To=%2B18885550100&CallStatus=completed&CallDuration=-5'],
];

const TABLES = ['pools', 'numbers', 'calls', 'call_events', 'leases', 'sync_batches', 'settings', 'edges',
  'call_changes', 'inventory'];

let o;
before(async () => {
  o = await startOrigin();
  const r = await admin(o, 'POST', '/v1/pools', pool('hp', ['+18885550100', '+18885550101']));
  assert.equal(r.status, 201, r.text);
  assert.equal((await admin(o, 'PUT', '/v1/param-map', { gclid: 'gclid' })).status, 200);
  assert.equal((await sync(o, { edge: 'hostile-edge', seq: 0 })).status, 200);
  assert.equal((await webhook(o, { CallSid: 'CAhostile0', To: '+18885550100', CallStatus: 'ringing' })).status, 200);
});
after(async () => { await o.stop(); o.cleanup(); });

function counts() {
  const have = sql(o.db, /^postgres/.test(o.db)
    ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    : "SELECT name FROM sqlite_master WHERE type = 'table'").split('\n');
  const q = TABLES.filter((t) => have.includes(t)).map((t) => `SELECT '${t}', count(*) FROM ${t}`).join(' UNION ALL ');
  return sql(o.db, q);
}

async function stored() {
  return JSON.stringify([(await admin(o, 'GET', '/v1/pools')).json, (await admin(o, 'GET', '/v1/param-map')).json]);
}

function send(route, body, type) {
  const path = route.path.replace('{id}', route.path.startsWith('/v1/calls') ? 'CAhostile0' : 'hp');
  const headers = { 'content-type': type };
  if (route.access === 'ADMIN') headers.authorization = `Bearer ${ADMIN}`;
  if (route.access === 'EDGE') headers.authorization = `Bearer ${EDGE}`;
  return fetch(o.base + path, { method: route.method, headers, body });
}

function expectRefused(res, text, what) {
  assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${text}`);
  assert.match(res.headers.get('content-type') || '', /application\/json/, `${what}: ${text}`);
  assert.equal(typeof JSON.parse(text).error, 'string', what);
}

test('the route table has the write routes this suite expects', () => {
  const names = WRITE_ROUTES.map((r) => `${r.method} ${r.path}`);
  for (const r of ['POST /v1/pools', 'PATCH /v1/pools/{id}', 'PUT /v1/param-map', 'POST /v1/edge/sync',
    'POST /v1/webhooks/call']) assert.ok(names.includes(r), r);
});

test('hostile JSON bodies: a JSON 4xx from every write route, nothing stored, the service up', async () => {
  const before0 = counts();
  const stored0 = await stored();
  for (const route of WRITE_ROUTES) {
    for (const [name, body] of JSON_BODIES) {
      const res = await send(route, body, 'application/json');
      const text = await res.text();
      expectRefused(res, text, `${route.method} ${route.path}: ${name}`);
      if (['duplicated key', 'escaped NUL', 'huge number', '20-digit number'].includes(name) && res.status !== 415 && res.status !== 403) {
        assert.ok(res.status === 400 || res.status === 422, `${route.method} ${route.path}: ${name}: ${res.status}`);
      }
    }
  }
  assert.equal(counts(), before0, 'nothing stored');
  assert.equal(await stored(), stored0, 'stored values unchanged');
  assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
});

test('an empty body is refused where a body is required', async () => {
  for (const route of WRITE_ROUTES.filter((r) => ['/v1/pools', '/v1/pools/{id}', '/v1/param-map', '/v1/edge/sync',
    '/v1/webhooks/call'].includes(r.path))) {
    const res = await send(route, '', 'application/json');
    expectRefused(res, await res.text(), `${route.method} ${route.path}: empty body`);
  }
});

test('duplicated keys are named in the error', async () => {
  const r = await req(o, 'POST', '/v1/pools', { token: ADMIN, body: '{"id":"x","numbers":[],"default_number":"+18005551234","overflow_number":"+18555550009","overflow_number":"\\"><script>"}' });
  assert.equal(r.status, 422);
  assert.equal(r.json.error, 'duplicated key "overflow_number"');
  const s = await req(o, 'POST', '/v1/edge/sync', { token: EDGE, body: '{"edge":"e","seq":1,"events":[{},{"t":1,"t":2}]}' });
  assert.equal(s.status, 422);
  assert.equal(s.json.error, 'events[1]: duplicated key "t"');
});

test('hostile form bodies on webhook routes: a JSON 4xx, nothing stored', async () => {
  const before0 = counts();
  for (const route of WRITE_ROUTES.filter((r) => r.access === 'WEBHOOK')) {
    const bodies = route.path === '/v1/webhooks/call' ? [...FORM_BODIES, ...CALL_FORM_BODIES] : FORM_BODIES;
    for (const [name, body] of bodies) {
      const res = await send(route, body, 'application/x-www-form-urlencoded');
      const text = await res.text();
      expectRefused(res, text, `${route.method} ${route.path}: ${name}`);
    }
  }
  assert.equal(counts(), before0, 'nothing stored');
  assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
});

test('settings the edge could not act on are refused', async () => {
  const bad = [
    { traffic_source: 'serch' },
    { traffic_source: 'google' },
    { traffic_source: 'param:' },
    { traffic_source: 'param:a=b=c' },
    { traffic_source: 'path:lp' },
    { traffic_source: '' },
    { traffic_source: [] },
    { traffic_source: ['search', 'nope'] },
    { traffic_source: { type: 'referer', kind: 'search' } },
    { traffic_source: { type: 'param' } },
    { traffic_source: { type: 'param', name: 'a', extra: 1 } },
    { traffic_source: { type: 'referrer', kind: 'web' } },
    { traffic_source: { type: 'path', prefix: 'lp' } },
    { traffic_source: 5 },
    { postback_url: 'javascript:alert(1)' },
    { postback_url: 'https://' },
    { postback_url: 'https://a b/' },
    { postback_url: 'https://user:pw@example.com/' },
    { min_hold_s: -5 },
    { max_lease_s: 0 },
    { buffer_s: 'soon' },
  ];
  for (const extra of bad) {
    const r = await admin(o, 'POST', '/v1/pools', pool('settings', ['+18885550201'], extra));
    assert.equal(r.status, 422, `${JSON.stringify(extra)}: ${r.text}`);
  }
  const good = [
    { traffic_source: 'search' }, { traffic_source: 'param:gclid' }, { traffic_source: 'param:utm_source=google' },
    { traffic_source: 'path:/lp/' }, { traffic_source: ['social', { type: 'referrer', host: 'partner.com' }] },
    { traffic_source: { type: 'param', name: 'x', value: 3 } }, { postback_url: 'https://example.com:8443/pb?x=1' },
  ];
  for (const [i, extra] of good.entries()) {
    const r = await admin(o, 'POST', '/v1/pools', pool(`good${i}`, [`+1888555030${i}`], { default_number: `+1800555040${i}`, ...extra }));
    assert.equal(r.status, 201, `${JSON.stringify(extra)}: ${r.text}`);
  }
});

test('sync events: landing and referrer URLs that are not http(s) are dropped, the event kept', async () => {
  const g = (await sync(o, { edge: 'hostile-edge', seq: 1 })).json.pools.find((p) => p.id === 'hp');
  const grant = g.grants[0];
  const t = Date.now() / 1000;
  const r = await sync(o, { edge: 'hostile-edge', seq: 2, events: [
    { type: 'assign', pool: 'hp', lease: 'L-js', number: grant.number, epoch: grant.epoch, visitor: 'v1', t,
      url: 'javascript:alert(1)', referrer: 'data:text/html,<script>alert(1)</script>' },
  ] });
  assert.equal(r.status, 200, r.text);
  const row = sql(o.db, "SELECT coalesce(url, 'NULL') || '|' || coalesce(referrer, 'NULL') FROM leases WHERE lease = 'L-js'");
  assert.equal(row, 'NULL|NULL');
});
