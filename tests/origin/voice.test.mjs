// POST /v1/voice: a tracking number's voice URL. Signed requests get TwiML
// that forwards the call (parsed here, and compared with what Twilio's own
// library writes for the same instructions); unsigned ones get 403 JSON;
// the call is recorded, attributed at once and listed by /v1/calls; a
// number in no pool still gets a valid answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startOrigin, admin, sync, req, form, pool } from './helpers.mjs';

const TOKEN = 'voice-test-auth-token';
const PUBLIC = 'https://calls.example.com';
const FALLBACK = '+14155550000';
const now = () => Date.now() / 1000;

// A small strict XML reader: elements, attributes, text, the five
// entities. Throws on anything malformed.
export function parseXml(text) {
  let i = 0;
  const fail = (m) => { throw new Error(`XML: ${m} at ${i}: ${JSON.stringify(text.slice(i, i + 30))}`); };
  const ent = (s) => s.replace(/&(amp|lt|gt|quot|apos);|&/g, (m, e) => {
    if (!e) fail('bare &');
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e];
  });
  const ws = () => { while (/\s/.test(text[i] ?? '')) i++; };
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    if (!/^<\?xml version="1\.0" encoding="UTF-8"\?>$/.test(text.slice(0, end + 2))) fail('declaration');
    i = end + 2;
  }
  function element() {
    if (text[i] !== '<') fail('expected <');
    i++;
    const name = /^[A-Za-z][\w.-]*/.exec(text.slice(i))?.[0] ?? fail('element name');
    i += name.length;
    const attrs = {};
    for (;;) {
      ws();
      if (text.startsWith('/>', i)) { i += 2; return { name, attrs, children: [] }; }
      if (text[i] === '>') { i++; break; }
      const an = /^[A-Za-z][\w.-]*/.exec(text.slice(i))?.[0] ?? fail('attribute name');
      i += an.length;
      if (text[i] !== '=' || text[i + 1] !== '"') fail('attribute value');
      const end = text.indexOf('"', i + 2);
      if (end < 0) fail('unterminated attribute');
      if (an in attrs) fail(`attribute ${an} twice`);
      attrs[an] = ent(text.slice(i + 2, end));
      if (attrs[an].includes('<')) fail('< in attribute');
      i = end + 1;
    }
    const children = [];
    for (;;) {
      if (text.startsWith('</', i)) {
        i += 2;
        if (!text.startsWith(name + '>', i)) fail(`expected </${name}>`);
        i += name.length + 1;
        return { name, attrs, children };
      }
      if (text[i] === '<') children.push(element());
      else {
        const end = text.indexOf('<', i);
        if (end < 0) fail('unterminated element');
        const t = ent(text.slice(i, end));
        if (t.trim()) children.push(t);
        i = end;
      }
    }
  }
  ws();
  const root = element();
  ws();
  if (i !== text.length) fail('trailing content');
  return root;
}

const sign = (path, fields) => twilio.getExpectedTwilioSignature(TOKEN, PUBLIC + path, fields);

async function voice(o, fields, { signed = true, path = '/v1/voice' } = {}) {
  const headers = signed ? { 'x-twilio-signature': sign(path, fields) } : {};
  return req(o, 'POST', path, { body: form(fields), type: 'application/x-www-form-urlencoded', headers });
}

// What Twilio's own library writes for "dial target, these options".
function expectedDial(target, { callerId, record } = {}) {
  const r = new twilio.twiml.VoiceResponse();
  const opts = {};
  if (callerId) opts.callerId = callerId;
  if (record) opts.record = 'record-from-answer-dual';
  r.dial(opts).number({
    statusCallbackEvent: 'answered completed',
    statusCallbackMethod: 'POST',
    statusCallback: `${PUBLIC}/v1/webhooks/call`,
  }, target);
  return parseXml(r.toString());
}

let o;
let grants;
before(async () => {
  o = await startOrigin({
    unsigned: false,
    env: { DNI_TWILIO_AUTH_TOKEN: TOKEN },
    args: ['--public-url', PUBLIC, '--voice-fallback', FALLBACK],
  });
  let r = await admin(o, 'POST', '/v1/pools', pool('vp', ['+14155550101', '+14155550102'], {
    forward_to: '+1 (415) 555-9999', record_calls: true,
  }));
  assert.equal(r.status, 201, r.text);
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'vq', numbers: ['+14155550201'], default_number: '+18005550300',
  });
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'ev', seq: 0 });
  assert.equal(r.status, 200, r.text);
  grants = Object.fromEntries(r.json.pools.flatMap((p) => p.grants.map((g) => [g.number, g.epoch])));
});
after(async () => { await o.stop(); o.cleanup(); });

test('pooled number: forwarded to forward_to with caller ID and recording; attributed at once', async () => {
  const t = now() - 30;
  let r = await sync(o, { edge: 'ev', seq: 1, events: [
    { type: 'assign', pool: 'vp', lease: 'VL1', number: '+14155550101', epoch: grants['+14155550101'], visitor: 'alice', tags: { utm_source: 'google' }, t },
    { type: 'seen', lease: 'VL1', t: t + 15 },
  ] });
  assert.equal(r.status, 200, r.text);
  const fields = { CallSid: 'CAvoice1', AccountSid: 'AC' + '0'.repeat(32), From: '+12125550123', To: '+14155550101', CallStatus: 'ringing', Direction: 'inbound' };
  r = await voice(o, fields);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/xml/);
  const doc = parseXml(r.text);
  assert.deepEqual(doc, expectedDial('+14155559999', { callerId: '+12125550123', record: true }));

  r = await admin(o, 'GET', '/v1/calls/CAvoice1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'ringing');
  assert.equal(r.json.pool, 'vp');
  assert.equal(r.json.session?.visitor, 'alice', JSON.stringify(r.json));
  const list = await admin(o, 'GET', '/v1/calls');
  assert.ok(list.json.calls.some((c) => c.sid === 'CAvoice1'));

  // The forwarded leg reports back as its own call with ParentCallSid:
  // its events complete the caller's call.
  const leg = { CallSid: 'CAleg1', ParentCallSid: 'CAvoice1', From: '+12125550123', To: '+14155559999', CallStatus: 'completed', CallDuration: '42' };
  r = await req(o, 'POST', '/v1/webhooks/call', { body: form(leg), type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': sign('/v1/webhooks/call', leg) } });
  assert.equal(r.status, 200, r.text);
  r = await admin(o, 'GET', '/v1/calls/CAvoice1');
  assert.equal(r.json.status, 'completed');
  assert.equal((await admin(o, 'GET', '/v1/calls/CAleg1')).status, 404, 'the leg is not a call of its own');

  // The provider retries a voice request it did not get an answer to:
  // same instructions, one call.
  r = await voice(o, fields);
  assert.equal(r.status, 200);
  assert.deepEqual(parseXml(r.text), expectedDial('+14155559999', { callerId: '+12125550123', record: true }));
  const again = await admin(o, 'GET', '/v1/calls');
  assert.equal(again.json.calls.filter((c) => c.sid === 'CAvoice1').length, 1);
});

test('unpooled numbers: a pool\'s default and overflow numbers forward to its forward_to', async () => {
  let r = await voice(o, { CallSid: 'CAvoice2', From: '+12125550124', To: '+18005559999' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(parseXml(r.text), expectedDial('+14155559999', { callerId: '+12125550124', record: true }));
  r = await admin(o, 'GET', '/v1/calls/CAvoice2');
  assert.equal(r.json.pool, 'vp');
  assert.equal(r.json.attribution, 'overflow');

  // Pool vq forwards to its default number (no forward_to), without
  // recording; a call to the default number itself would ring this route
  // again, so it goes to the fallback instead.
  r = await voice(o, { CallSid: 'CAvoice3', From: '+12125550125', To: '+14155550201' });
  assert.deepEqual(parseXml(r.text), expectedDial('+18005550300', { callerId: '+12125550125' }));
  r = await voice(o, { CallSid: 'CAvoice4', From: '+12125550126', To: '+18005550300' });
  assert.deepEqual(parseXml(r.text), expectedDial(FALLBACK, { callerId: '+12125550126' }));
});

test('unknown number: forwarded to --voice-fallback, or a polite hang-up; never an error page', async (t) => {
  let r = await voice(o, { CallSid: 'CAvoice5', From: 'anonymous', To: '+13125550000' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(parseXml(r.text), expectedDial(FALLBACK), 'no caller ID when the caller hides it');
  r = await admin(o, 'GET', '/v1/calls/CAvoice5');
  assert.equal(r.json.attribution, 'unknown');
  // Fields missing or malformed: still instructions.
  r = await voice(o, { From: '+12125550127' });
  assert.equal(r.status, 200);
  assert.deepEqual(parseXml(r.text), expectedDial(FALLBACK, { callerId: '+12125550127' }));

  const p = await startOrigin({ unsigned: false, env: { DNI_TWILIO_AUTH_TOKEN: TOKEN }, args: ['--public-url', PUBLIC] });
  t.after(async () => { await p.stop(); p.cleanup(); });
  r = await voice(p, { CallSid: 'CAvoice6', From: '+12125550128', To: '+13125550000' });
  assert.equal(r.status, 200, r.text);
  const doc = parseXml(r.text);
  const expected = new twilio.twiml.VoiceResponse();
  expected.say('Sorry, the number you called is not in service. Goodbye.');
  expected.hangup();
  assert.deepEqual(doc, parseXml(expected.toString()));
});

test('unsigned or wrongly signed: 403 JSON, nothing recorded', async () => {
  const fields = { CallSid: 'CAvoice7', From: '+12125550129', To: '+14155550102' };
  let r = await voice(o, fields, { signed: false });
  assert.equal(r.status, 403);
  assert.ok(r.json?.error, r.text);
  r = await req(o, 'POST', '/v1/voice', {
    body: form(fields), type: 'application/x-www-form-urlencoded',
    headers: { 'x-twilio-signature': sign('/v1/voice', { ...fields, To: '+14155550101' }) },
  });
  assert.equal(r.status, 403);
  assert.equal((await admin(o, 'GET', '/v1/calls/CAvoice7')).status, 404);
  // The route is the provider's: a GET is 405, JSON is refused.
  r = await req(o, 'GET', '/v1/voice');
  assert.equal(r.status, 405);
  r = await req(o, 'POST', '/v1/voice', { body: fields, headers: { 'x-twilio-signature': 'x' } });
  assert.ok(r.status === 415 || r.status === 403, r.text);
});

test('without a token the route is refused unless the origin allows unsigned webhooks', async (t) => {
  const p = await startOrigin({ unsigned: false });
  t.after(async () => { await p.stop(); p.cleanup(); });
  const r = await req(p, 'POST', '/v1/voice', { body: form({ CallSid: 'CAx', To: '+14155550101' }), type: 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 403);
  assert.ok(r.json?.error);
  const q = await startOrigin({ unsigned: true });
  t.after(async () => { await q.stop(); q.cleanup(); });
  const s = await req(q, 'POST', '/v1/voice', { body: form({ CallSid: 'CAx', To: '+14155550101' }), type: 'application/x-www-form-urlencoded' });
  assert.equal(s.status, 200, s.text);
  parseXml(s.text);
});
