// The fake Twilio answers as Twilio documents it: every success body it
// sends is checked against Twilio's published OpenAPI description of the
// 2010-04-01 API (read in place from ../shared/reference/twilio/, or
// $DNI_TWILIO_OPENAPI), both ways: each field it sends is described there
// with that type, and each field described there is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeTwilio } from './fake_twilio.mjs';

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
