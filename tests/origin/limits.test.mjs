// Request line and header limits answer JSON like every other error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startOrigin, ADMIN } from './helpers.mjs';

const MAX_HEADER = 4096;
let o;
before(async () => { o = await startOrigin({ args: ['--max-header', String(MAX_HEADER)] }); });
after(async () => { await o.stop(); o.cleanup(); });

// Sends raw request bytes and resolves with {status, headers, body} of the
// answer (the server closes or the answer is complete).
function raw(port, text) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('close', () => {
      const str = data.toString('latin1');
      const head = str.slice(0, str.indexOf('\r\n\r\n'));
      const body = str.slice(head.length + 4);
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      }));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    s.end(text);
  });
}

const get = (path, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n${extra}Connection: close\r\n\r\n`;

test('headers within --max-header are served', async () => {
  const r = await raw(o.port, get('/v1/pools', `X-Pad: ${'a'.repeat(MAX_HEADER - 300)}\r\n`));
  assert.equal(r.status, 200, r.body);
  assert.ok(Array.isArray(JSON.parse(r.body).pools));
});

test('headers over --max-header: 431 with a JSON error', async () => {
  for (const size of [MAX_HEADER + 10, 2 * MAX_HEADER, 3 * MAX_HEADER]) {
    const r = await raw(o.port, get('/v1/pools', `X-Pad: ${'a'.repeat(size)}\r\n`));
    assert.equal(r.status, 431, `${size} bytes`);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(JSON.parse(r.body).error, 'request headers too large');
  }
  // Many small headers add up the same way.
  const many = Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'b'.repeat(20)}\r\n`).join('');
  const r = await raw(o.port, get('/v1/pools', many));
  assert.equal(r.status, 431);
  assert.ok(JSON.parse(r.body).error);
});

test('a request line over --max-header: 414 with a JSON error', async () => {
  const r = await raw(o.port, get(`/v1/calls?pool=${'p'.repeat(MAX_HEADER + 100)}`));
  assert.equal(r.status, 414);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(JSON.parse(r.body).error, 'request line too long');
});

test('an oversized POST is refused before its body and nothing is stored', async () => {
  const body = JSON.stringify({ id: 'toolarge', numbers: ['+18885556001'], default_number: '+18005556000' });
  const r = await raw(o.port, `POST /v1/pools HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n`
    + `Content-Type: application/json\r\nX-Pad: ${'c'.repeat(MAX_HEADER)}\r\nContent-Length: ${body.length}\r\n`
    + `Connection: close\r\n\r\n${body}`);
  assert.equal(r.status, 431);
  assert.ok(JSON.parse(r.body).error);
  const g = await raw(o.port, get('/v1/pools/toolarge'));
  assert.equal(g.status, 404);
  // The server is still fine.
  assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
});
