// Webhook signatures agree with the provider's own helper library (npm
// `twilio`, a test-only dependency): random parameter sets with unicode
// names and repeated values, signed by the library, are all accepted; for
// every one-byte change of a name or value the origin gives the library's
// verdict (almost always: refused), and bytes that are not UTF-8 are
// refused outright.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { startOrigin, req } from './helpers.mjs';

const TOKEN = 'signature-test-token';
let o, url;

before(async () => {
  o = await startOrigin({ unsigned: false, env: { DNI_TWILIO_AUTH_TOKEN: TOKEN }, args: ['--public-url', 'https://hooks.example.com'] });
  url = 'https://hooks.example.com/v1/webhooks/call';
});
after(async () => { await o.stop(); o.cleanup(); });

// A small deterministic generator, so a failure can be replayed.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

const PIECES = ['a', 'B', 'z', '_', '1', 'é', 'ß', '中', '文', '～', '😀', '𝄞', 'Ω', ' ', '+', '&', '=', '%', '~', '-', '.', 'Ａ'];
function word(r, min = 1, max = 6) {
  let s = '';
  const n = min + Math.floor(r() * (max - min + 1));
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

// A parameter set as the library takes it ({name: value | [values]}), and
// the flat list of pairs the body carries (repeated names, random order).
function randomSet(r, i) {
  const params = {
    CallSid: `CAsig${i}x${Math.floor(r() * 1e9)}`,
    To: '+18885550100',
    CallStatus: 'ringing',
  };
  const extras = 1 + Math.floor(r() * 5);
  for (let k = 0; k < extras; k++) {
    const name = 'X' + word(r);
    if (name in params) continue;
    const kind = r();
    if (kind < 0.3) params[name] = [word(r, 0, 3), word(r, 0, 3)];
    else if (kind < 0.5) { const v = word(r, 0, 3); params[name] = [v, v]; }
    else if (kind < 0.6) params[name] = [word(r), word(r), word(r)];
    else params[name] = word(r, 0, 8);
  }
  const pairs = [];
  for (const [k, v] of Object.entries(params)) for (const x of [].concat(v)) pairs.push([k, x]);
  for (let j = pairs.length - 1; j > 0; j--) {
    const m = Math.floor(r() * (j + 1));
    [pairs[j], pairs[m]] = [pairs[m], pairs[j]];
  }
  return { params, pairs };
}

// Percent-encodes raw bytes (so bytes that are not UTF-8 can be sent).
function encodeBytes(buf) {
  let s = '';
  for (const b of buf) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9*\-._]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}
const bodyOf = (pairs) => pairs.map(([k, v]) => `${encodeBytes(Buffer.from(k))}=${encodeBytes(Buffer.from(v))}`).join('&');
const bodyOfBytes = (pairs) => pairs.map(([k, v]) => `${encodeBytes(k)}=${encodeBytes(v)}`).join('&');

function paramsOf(pairs) {
  const p = {};
  for (const [k, v] of pairs) {
    if (!(k in p)) p[k] = v;
    else p[k] = [].concat(p[k], v);
  }
  return p;
}

const post = (body, sig) => req(o, 'POST', '/v1/webhooks/call', {
  body, type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': sig },
});

test('random sets signed by the provider library are accepted', async () => {
  const r = rng(20240611);
  for (let i = 0; i < 40; i++) {
    const { params, pairs } = randomSet(r, i);
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, params);
    assert.ok(twilio.validateRequest(TOKEN, sig, url, paramsOf(pairs)), 'the library accepts its own set');
    const res = await post(bodyOf(pairs), sig);
    assert.equal(res.status, 200, `set ${i} ${JSON.stringify(params)}: ${res.text}`);
  }
});

test('a repeated equal value and unicode order: the cases where bytes and the library differ', async () => {
  const cases = [
    [['CallSid', 'CArep1'], ['To', '+18885550100'], ['CallStatus', 'ringing'], ['a', '1'], ['a', '1']],
    [['CallSid', 'CArep2'], ['To', '+18885550100'], ['CallStatus', 'ringing'], ['～', 'x'], ['😀', 'y']],
    [['CallSid', 'CArep3'], ['To', '+18885550100'], ['CallStatus', 'ringing'], ['k', '～'], ['k', '😀']],
  ];
  for (const pairs of cases) {
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, paramsOf(pairs));
    const res = await post(bodyOf(pairs), sig);
    assert.equal(res.status, 200, `${JSON.stringify(pairs)}: ${res.text}`);
  }
});

test('every one-byte change of a name or value gets the library verdict (refused unless the signed set is unchanged)', async () => {
  const r = rng(777);
  let refused = 0, total = 0;
  for (let i = 0; i < 10; i++) {
    const { params, pairs } = randomSet(r, 100 + i);
    const sig = twilio.getExpectedTwilioSignature(TOKEN, url, params);
    const raw = pairs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
    for (let p = 0; p < raw.length; p++) {
      for (const side of [0, 1]) {
        for (let b = 0; b < raw[p][side].length; b++) {
          const mutated = raw.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]);
          const target = mutated[p][side];
          target[b] ^= 1 + Math.floor(r() * 255);
          if (target[b] === 0) target[b] = 0x41; // NUL has its own test
          const res = await post(bodyOfBytes(mutated), sig);
          total++;
          let valid = true;
          let strings;
          try {
            const dec = new TextDecoder('utf-8', { fatal: true });
            strings = mutated.map(([k, v]) => [dec.decode(k), dec.decode(v)]);
          } catch { valid = false; }
          if (!valid) {
            assert.equal(res.status, 400, `invalid UTF-8 refused: ${res.text}`);
            refused++;
            continue;
          }
          const ok = twilio.validateRequest(TOKEN, sig, url, paramsOf(strings));
          if (ok) {
            // The library signs the set of distinct values: a change that
            // leaves it equal is still signed, and may only be refused for
            // its content (never by the signature).
            assert.notEqual(res.status, 403, `library accepts ${JSON.stringify(strings)}`);
          } else {
            assert.equal(res.status, 403, `set ${i} pair ${p} side ${side} byte ${b}: ${JSON.stringify(strings)} -> ${res.status} ${res.text}`);
            refused++;
          }
        }
      }
    }
  }
  assert.ok(refused > total * 0.9, `${refused} of ${total} changes refused`);
});

test('a changed signature, a NUL appended to a value, another URL: refused', async () => {
  const pairs = [['CallSid', 'CAnul1'], ['To', '+18885550100'], ['CallStatus', 'ringing'], ['x', '1']];
  const sig = twilio.getExpectedTwilioSignature(TOKEN, url, paramsOf(pairs));
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < sig.length - 1; i++) { // the last char holds padding bits
    const c = B64[(B64.indexOf(sig[i]) + 1) % 64];
    const bad = sig.slice(0, i) + (sig[i] === '=' ? 'A' : c) + sig.slice(i + 1);
    const res = await post(bodyOf(pairs), bad);
    assert.equal(res.status, 403, `signature char ${i}`);
  }
  const nul = await post(bodyOf(pairs) + '%00junk', sig);
  assert.equal(nul.status, 400, nul.text);
  const other = await req(o, 'POST', '/v1/webhooks/call?x=1', {
    body: bodyOf(pairs), type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': sig },
  });
  assert.equal(other.status, 403);
  const good = await post(bodyOf(pairs), sig);
  assert.equal(good.status, 200, good.text);
});
