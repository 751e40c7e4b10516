// The fake Twilio answers as Twilio documents it: every success body it
// sends is checked against Twilio's published OpenAPI description of the
// 2010-04-01 API (read in place from ../shared/reference/twilio/, or
// $DNI_TWILIO_OPENAPI), both ways: each field it sends is described there
// with that type, and each field described there is sent. And the origin's
// own requests (search, purchase, list, release) are ones it documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeTwilio } from './fake_twilio.mjs';
import { startOrigin, admin } from './helpers.mjs';

function findSpec() {
  if (process.env.DNI_TWILIO_OPENAPI) return process.env.DNI_TWILIO_OPENAPI;
  // The reference folder sits beside the checkout (../shared/reference);
  // a worktree may be nested deeper, so look up from here.
  let dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (let i = 0; i < 5; i++) {
    const f = join(dir, '..', 'shared', 'reference', 'twilio', 'twilio_api_v2010.json');
    if (existsSync(f)) return f;
    dir = resolve(dir, '..');
  }
  return null;
}

const specFile = findSpec();
const spec = specFile ? JSON.parse(readFileSync(specFile, 'utf8')) : null;
const skip = spec ? false : 'Twilio OpenAPI description not found (set DNI_TWILIO_OPENAPI)';

function deref(s) {
  while (s && s.$ref) {
    const path = s.$ref.replace(/^#\//, '').split('/');
    s = path.reduce((o, k) => o[k], spec);
  }
  return s;
}

// Returns a list of problems of value against schema s at path p.
function check(value, s, p = '$', problems = []) {
  s = deref(s);
  if (value === null) {
    if (!s.nullable) problems.push(`${p}: null but not nullable`);
    return problems;
  }
  const t = s.type;
  const is = {
    string: typeof value === 'string',
    integer: Number.isInteger(value),
    number: typeof value === 'number',
    boolean: typeof value === 'boolean',
    object: typeof value === 'object' && !Array.isArray(value),
    array: Array.isArray(value),
  };
  if (t && !is[t]) {
    problems.push(`${p}: ${JSON.stringify(value)} is not ${t}`);
    return problems;
  }
  if (s.enum && !s.enum.includes(value)) problems.push(`${p}: ${value} not in ${s.enum.join(',')}`);
  if (t === 'string') {
    if (s.pattern && !new RegExp(s.pattern).test(value)) problems.push(`${p}: ${value} !~ ${s.pattern}`);
    if (s.minLength && value.length < s.minLength) problems.push(`${p}: shorter than ${s.minLength}`);
    if (s.maxLength && value.length > s.maxLength) problems.push(`${p}: longer than ${s.maxLength}`);
    // "phone-number" covers the display form too ("(415) 555-0101" as a
    // friendly_name); phone_number itself is E.164.
    if (p.endsWith('.phone_number') && !/^\+[1-9]\d{7,14}$/.test(value)) problems.push(`${p}: not E.164`);
    if (s.format === 'date-time-rfc-2822' && Number.isNaN(Date.parse(value))) problems.push(`${p}: not a date`);
  }
  if (t === 'object' && s.properties) {
    for (const [k, v] of Object.entries(value)) {
      if (!(k in s.properties)) problems.push(`${p}.${k}: not in the description`);
      else check(v, s.properties[k], `${p}.${k}`, problems);
    }
    for (const k of Object.keys(s.properties)) {
      if (!(k in value)) problems.push(`${p}.${k}: described but not sent`);
    }
  }
  if (t === 'array' && s.items) value.forEach((v, i) => check(v, s.items, `${p}[${i}]`, problems));
  return problems;
}

function responseSchema(path, method, status) {
  const op = spec.paths[path][method];
  return op.responses[String(status)]?.content?.['application/json']?.schema;
}

async function call(tw, method, path, form) {
  const headers = { authorization: 'Basic ' + Buffer.from(`${tw.user}:${tw.secret}`).toString('base64') };
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const r = await fetch(tw.base + path, { method, headers, body });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

test('the fake answers with the shapes of Twilio\'s OpenAPI description', { skip }, async () => {
  const tw = await startFakeTwilio({
    local: ['+14155550101', '+14155550102', '+12125550103'],
    tollFree: ['+18885550104'],
  });
  const A = `/2010-04-01/Accounts/${tw.account}`;
  const P = '/2010-04-01/Accounts/{AccountSid}';
  try {
    let r = await call(tw, 'GET', `${A}/AvailablePhoneNumbers/US/Local.json?AreaCode=415&PageSize=5`);
    assert.equal(r.status, 200);
    assert.deepEqual(check(r.json, responseSchema(`${P}/AvailablePhoneNumbers/{CountryCode}/Local.json`, 'get', 200)), []);
    assert.deepEqual(r.json.available_phone_numbers.map((n) => n.phone_number), ['+14155550101', '+14155550102']);

    r = await call(tw, 'GET', `${A}/AvailablePhoneNumbers/US/TollFree.json?PageSize=5`);
    assert.equal(r.status, 200);
    assert.deepEqual(check(r.json, responseSchema(`${P}/AvailablePhoneNumbers/{CountryCode}/TollFree.json`, 'get', 200)), []);
    assert.equal(r.json.available_phone_numbers.length, 1);

    r = await call(tw, 'POST', `${A}/IncomingPhoneNumbers.json`, {
      PhoneNumber: '+14155550101', VoiceUrl: 'https://o.example/v1/voice', VoiceMethod: 'POST',
      StatusCallback: 'https://o.example/v1/webhooks/call', StatusCallbackMethod: 'POST', FriendlyName: 'edgedni p1',
    });
    assert.equal(r.status, 201);
    assert.deepEqual(check(r.json, responseSchema(`${P}/IncomingPhoneNumbers.json`, 'post', 201)), []);
    assert.equal(r.json.voice_url, 'https://o.example/v1/voice');
    const sid = r.json.sid;

    // The request fields the provider sends are all ones the description has.
    const props = deref(spec.paths[`${P}/IncomingPhoneNumbers.json`].post.requestBody.content['application/x-www-form-urlencoded'].schema).properties;
    for (const k of ['PhoneNumber', 'VoiceUrl', 'VoiceMethod', 'StatusCallback', 'StatusCallbackMethod', 'FriendlyName']) {
      assert.ok(k in props, `${k} is a documented field`);
    }
    const q = spec.paths[`${P}/AvailablePhoneNumbers/{CountryCode}/Local.json`].get.parameters.map((x) => x.name);
    for (const k of ['AreaCode', 'Contains', 'VoiceEnabled', 'PageSize']) assert.ok(q.includes(k), `${k} is a documented parameter`);

    r = await call(tw, 'GET', `${A}/IncomingPhoneNumbers.json?PageSize=1000`);
    assert.equal(r.status, 200);
    assert.deepEqual(check(r.json, responseSchema(`${P}/IncomingPhoneNumbers.json`, 'get', 200)), []);
    assert.equal(r.json.incoming_phone_numbers.length, 1);

    r = await call(tw, 'DELETE', `${A}/IncomingPhoneNumbers/${sid}.json`);
    assert.equal(r.status, 204);
    assert.ok(spec.paths[`${P}/IncomingPhoneNumbers/{Sid}.json`].delete.responses['204']);

    // Errors: Twilio's documented {code, message, more_info, status}.
    r = await call(tw, 'DELETE', `${A}/IncomingPhoneNumbers/${sid}.json`);
    assert.equal(r.status, 404);
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'message', 'more_info', 'status']);
    r = await call(tw, 'POST', `${A}/IncomingPhoneNumbers.json`, { PhoneNumber: '+14155550101' });
    assert.equal(r.status, 400, 'a number sold already is not available');
    assert.equal(r.json.code, 21422);
    const bad = await fetch(`${tw.base}${A}/IncomingPhoneNumbers.json`);
    assert.equal(bad.status, 401);
  } finally {
    await tw.close();
  }
});

test('the list pages as Twilio does (next_page_uri until null)', async () => {
  const local = Array.from({ length: 7 }, (_, i) => `+1415555${String(2000 + i)}`);
  const tw = await startFakeTwilio({ local });
  const A = `/2010-04-01/Accounts/${tw.account}`;
  try {
    for (const n of local) {
      const r = await call(tw, 'POST', `${A}/IncomingPhoneNumbers.json`, { PhoneNumber: n });
      assert.equal(r.status, 201);
    }
    let uri = `${A}/IncomingPhoneNumbers.json?PageSize=3`;
    const seen = [];
    while (uri) {
      const r = await call(tw, 'GET', uri);
      assert.equal(r.status, 200);
      seen.push(...r.json.incoming_phone_numbers.map((x) => x.phone_number));
      uri = r.json.next_page_uri;
    }
    assert.deepEqual(seen.sort(), local.sort());
  } finally {
    await tw.close();
  }
});

// Each request the origin made: a documented path and method, documented
// path, query and form parameters of the documented types, required ones
// present.
function requestProblems(r) {
  const problems = [];
  const entry = Object.entries(spec.paths).find(([tpl]) =>
    new RegExp('^' + tpl.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$').test(r.path));
  if (!entry) return [`${r.method} ${r.path}: no such path`];
  const [tpl, item] = entry;
  const op = item[r.method.toLowerCase()];
  if (!op) return [`${r.method} ${tpl}: no such method`];
  const params = op.parameters ?? [];
  const names = tpl.match(/\{[^}]+\}/g) ?? [];
  const values = new RegExp('^' + tpl.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '([^/]+)') + '$').exec(r.path).slice(1);
  const typed = (where, name, value, schema) => {
    schema = deref(schema);
    if (schema.type === 'integer' && !/^\d+$/.test(value)) problems.push(`${where} ${name}=${value}: not an integer`);
    if (schema.type === 'boolean' && !/^(true|false)$/.test(value)) problems.push(`${where} ${name}=${value}: not a boolean`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${where} ${name}=${value}: !~ ${schema.pattern}`);
    if (schema.enum && !schema.enum.includes(value)) problems.push(`${where} ${name}=${value}: not in ${schema.enum}`);
    if (schema.format === 'uri' && !/^https?:\/\/[^/]/.test(value)) problems.push(`${where} ${name}=${value}: not a URI`);
    if (schema.format === 'iso-country-code' && !/^[A-Z]{2}$/.test(value)) problems.push(`${where} ${name}=${value}: not a country`);
    if (schema.format === 'phone-number' && !/^\+[1-9]\d{7,14}$/.test(value)) problems.push(`${where} ${name}=${value}: not E.164`);
  };
  names.forEach((n, i) => {
    const p = params.find((x) => x.in === 'path' && `{${x.name}}` === n);
    if (!p) problems.push(`${tpl}: path parameter ${n} undocumented`);
    else typed('path', p.name, decodeURIComponent(values[i]), p.schema);
  });
  for (const [k, v] of Object.entries(r.query)) {
    const p = params.find((x) => x.in === 'query' && x.name === k);
    if (!p) problems.push(`${r.method} ${tpl}: query ${k} undocumented`);
    else typed('query', k, v, p.schema);
  }
  const body = op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
  if (Object.keys(r.form).length && !body) problems.push(`${r.method} ${tpl}: a form body where none is documented`);
  if (body) {
    const b = deref(body);
    for (const [k, v] of Object.entries(r.form)) {
      if (!b.properties?.[k]) problems.push(`${r.method} ${tpl}: form field ${k} undocumented`);
      else typed('form', k, v, b.properties[k]);
    }
    for (const k of b.required ?? []) if (!(k in r.form)) problems.push(`${r.method} ${tpl}: required ${k} missing`);
  }
  return problems;
}

test('the origin\'s own requests to Twilio are ones its OpenAPI description documents', { skip }, async (t) => {
  const tw = await startFakeTwilio({ local: ['+14155550191', '+14155550192'], tollFree: ['+18885550193'] });
  const o = await startOrigin({
    env: tw.originEnv(),
    args: [...tw.originArgs(), '--public-url', 'https://calls.example.com', '--grant-ttl', '1',
      '--provider-timeout', '1'],
  });
  t.after(async () => { await o.stop(); o.cleanup(); await tw.close(); });
  // The purchase's answer is lost, so the origin also lists its numbers.
  tw.nextPurchase({ hang: 'after' });
  const until = async (fn, what) => {
    for (let i = 0; i < 600; i++) { if (await fn()) return; await new Promise((r) => setTimeout(r, 100)); }
    throw new Error(`gave up waiting for ${what}`);
  };
  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'doc', numbers: [], default_number: '+18005551234', stockpile: 1,
    provider: { kind: 'twilio', area_code: '415' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await admin(o, 'GET', '/v1/pools/doc')).json?.numbers?.length === 1, 'the settled purchase');
  r = await admin(o, 'GET', '/v1/providers/twilio/available?toll_free=true&contains=0193&limit=5');
  assert.equal(r.status, 200, r.text);
  r = await admin(o, 'DELETE', '/v1/pools/doc');
  assert.equal(r.status, 200, r.text);
  await until(() => tw.log.releases.length === 1, 'the release');

  const seen = new Set(tw.log.requests.map((x) => `${x.method} ${x.path.replace(/\/Accounts\/[^/]+/, '/Accounts/{AC}').replace(/PN\w+/, '{PN}')}`));
  for (const want of ['GET /2010-04-01/Accounts/{AC}/AvailablePhoneNumbers/US/Local.json',
    'GET /2010-04-01/Accounts/{AC}/AvailablePhoneNumbers/US/TollFree.json',
    'POST /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json',
    'GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json',
    'DELETE /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json']) {
    assert.ok(seen.has(want), `${want} among ${[...seen].join(', ')}`);
  }
  const problems = tw.log.requests.flatMap(requestProblems);
  assert.deepEqual(problems, []);
});
