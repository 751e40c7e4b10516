// The door (origin/src/door.c): what the origin answers before a request
// reaches its HTTP server. Every refusal is JSON: malformed and oversized
// header blocks, a Content-Length that is not a plain decimal, too many
// connections in all or from one address, headers or a body that do not
// arrive in time (sending a byte at a time does not help). The reserve
// above --max-connections serves /healthz, webhooks and edge syncs only.
// Waits are for events (an answer, a close), never for a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startOrigin, EDGE } from './helpers.mjs';

// Sends text on a new connection (optionally from another loopback
// address) and resolves with the answer once the server closes it.
function raw(o, text, { from = '127.0.0.1', trickle = null } = {}) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: o.port, localAddress: from });
    let data = '';
    let timer = null;
    s.on('connect', () => {
      s.write(text);
      if (trickle) timer = setInterval(() => { if (!s.destroyed) s.write(trickle); }, 200);
    });
    s.on('data', (d) => { data += d; });
    s.on('error', () => {});
    s.on('close', () => {
      if (timer) clearInterval(timer);
      resolve(parse(data));
    });
  });
}

function parse(data) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
  const at = data.indexOf('\r\n\r\n');
  const head = at >= 0 ? data.slice(0, at) : data;
  const body = at >= 0 ? data.slice(at + 4) : '';
  let json = null;
  try { json = JSON.parse(body); } catch { /* not JSON */ }
  return { status: m ? Number(m[1]) : 0, head, body, json };
}

// A connection that stays open, sending nothing after a partial header.
function hold(o, from) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: o.port, localAddress: from });
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('error', () => {});
    s.on('connect', () => { s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); resolve(s); });
    s.done = new Promise((r) => s.on("close", () => r(parse(data))));
  });
}

function assertJsonError(r, status, pattern) {
  assert.equal(r.status, status, `${r.head}\n${r.body}`);
  assert.match(r.head, /content-type: application\/json/i);
  assert.match(r.head, /x-content-type-options: nosniff/i);
  assert.equal(typeof r.json.error, 'string', r.body);
  if (pattern) assert.match(r.json.error, pattern);
}

test('malformed and oversized requests get JSON errors, never the library\'s HTML', async () => {
  const o = await startOrigin({ args: ['--max-header', '4096'] });
  try {
    const cases = [
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, /Content-Length/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n', 400, /Content-Length/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n', 413, /too large/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n', 413, /too large/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n', 400, /two different/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 501, /chunked/],
      ['POST /v1/pools HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400, /together/],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\n${'a: b\r\n'.repeat(150)}\r\n`, 431, /too many/],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`, 431, /too large/],
      [`GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, /too long/],
      ['GET /healthz HTTP/1.1\r\n\r\n', 400, /Host/],
      ['GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /Host/],
      ['GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n', 505, /version/],
      ['GET /healthz\r\nHost: x\r\n\r\n', 400, /request line/],
      ['GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
      ['G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 400, /header/],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n', 400, /header/],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n', 400, /header/],
    ];
    for (const [text, status, pattern] of cases) {
      assertJsonError(await raw(o, text), status, pattern);
    }
    // The origin is still serving.
    const ok = await raw(o, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(ok.status, 200);
    assert.match(ok.head, /connection: close/i, 'an anonymous caller is not kept alive');
    assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
    const m = await (await fetch(`${o.base}/metrics`)).text();
    const refused = /^dni_origin_connections_refused_total\{reason="malformed"\} (\d+)$/m.exec(m);
    assert.ok(refused && Number(refused[1]) >= cases.length, m);
  } finally {
    await o.stop();
    o.cleanup();
  }
});

test('headers and bodies must arrive in time, however they trickle', async () => {
  const o = await startOrigin({ args: ['--header-timeout', '1', '--body-timeout', '1'] });
  try {
    const h = await raw(o, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', { trickle: 'x' });
    assertJsonError(h, 408, /headers not received in time/);
    const b = await raw(o, 'POST /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      + 'Content-Length: 1000\r\n\r\n{', { trickle: ' ' });
    assertJsonError(b, 408, /body not received in time/);
    assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
  } finally {
    await o.stop();
    o.cleanup();
  }
});

test('per-address limit 429, total limit 503, and a reserve for health, webhooks and syncs', async () => {
  const o = await startOrigin({ args: ['--max-connections', '20', '--max-per-address', '5'] });
  const held = [];
  try {
    // Five from one address are held; the sixth is refused.
    for (let i = 0; i < 5; i++) held.push(await hold(o, '127.0.0.2'));
    const sixth = await raw(o, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { from: '127.0.0.2' });
    assertJsonError(sixth, 429, /this address/);
    assert.match(sixth.head, /retry-after: 1/i);
    // Fill the rest of the 20 from other addresses.
    for (let a = 3; a <= 5; a++) for (let i = 0; i < 5; i++) held.push(await hold(o, `127.0.0.${a}`));
    // Now only the reserve is left: anonymous admin calls are refused ...
    const busy = await raw(o, 'GET /v1/pools HTTP/1.1\r\nHost: x\r\n\r\n', { from: '127.0.0.9' });
    assertJsonError(busy, 503, /busy/);
    const wrongSecret = await raw(o, 'POST /v1/edge/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n'
      + 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', { from: '127.0.0.9' });
    assertJsonError(wrongSecret, 503, /busy/);
    // ... while health, a webhook and a sync with the edge secret get through.
    const hz = await raw(o, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { from: '127.0.0.9' });
    assert.equal(hz.status, 200, hz.body);
    const form = 'CallSid=CAreserve1&To=%2B18885550100&CallStatus=ringing';
    const wh = await raw(o, 'POST /v1/webhooks/call HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`,
    { from: '127.0.0.10' });
    assert.equal(wh.status, 200, wh.body);
    const body = JSON.stringify({ edge: 'reserve-edge', seq: 1, events: [] });
    const sy = await raw(o, `POST /v1/edge/sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${EDGE}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, { from: '127.0.0.11' });
    assert.equal(sy.status, 200, sy.body);
    // Past the reserve (16 more held connections), everything is refused at once.
    for (let a = 12; a <= 15; a++) for (let i = 0; i < 4; i++) held.push(await hold(o, `127.0.0.${a}`));
    const full = await raw(o, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { from: '127.0.0.20' });
    assertJsonError(full, 503, /busy/);
    // The reserve's slow connections were cut (they must be prompt).
    const cut = await Promise.all(held.slice(20).map((s) => s.done));
    for (const r of cut) assertJsonError(r, 408);
  } finally {
    for (const s of held) s.destroy();
    await o.stop();
    o.cleanup();
  }
});
