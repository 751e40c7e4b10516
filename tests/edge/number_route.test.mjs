// The number route (edge/number_route.mjs) and the snippet route on a real
// workerd: CORS only for the site origins a pool allows, the visitor id
// carried in the body when the edge's cookie cannot be, and /_dni/dni.js
// with its ETag and cache lifetime.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, ROOT } from './harness.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const SITE = 'https://shop.example';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

describe('number route', () => {
  let up; let origin; let edge;
  before(async () => {
    up = await startUpstream();
    origin = await startOriginStub({ secret: SECRET, pools: [{ id: 'p1', config: {
      numbers: [N(1), N(2), N(3)], default_number: DEFAULT, site_origins: [SITE, 'not a url'],
      buffer_s: 30, min_hold_s: 30 } }] });
    edge = await startEdge({ upstream: up.url, origin: origin.url });
  });
  after(async () => { await edge.destroy(); await up.close(); await origin.close(); });

  const ask = (headers, body) => fetch(`${edge.url}/_dni/v1/number`, {
    method: 'POST', headers: { 'user-agent': UA, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ url: `${SITE}/landing?utm_source=google`, ...body }) });

  test('an allowed site origin gets CORS and its visitor id back', async () => {
    const r = await ask({ origin: SITE });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), SITE);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    const b = await r.json();
    assert.match(b.vid, /^[A-Za-z0-9_-]{8,64}$/);
    assert.equal(b.leases.length, 1);
    const l = b.leases[0];
    assert.equal(l.default, DEFAULT);
    assert.ok([N(1), N(2), N(3)].includes(l.number));
    // The same visitor id in the body (no cookie): the same lease.
    const again = await (await ask({ origin: SITE }, { vid: b.vid })).json();
    assert.equal(again.vid, b.vid);
    assert.equal(again.leases[0].lease, l.lease);
    // What the snippet sends: a text body (CORS-simple, no preflight).
    const plain = await ask({ origin: SITE, 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' }, { vid: b.vid });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('access-control-allow-origin'), SITE);
    assert.equal((await plain.json()).leases[0].lease, l.lease);
    // Beacons from that origin carry the id in the body too.
    const hb = await fetch(`${edge.url}/_dni/v1/hb`, { method: 'POST',
      headers: { origin: SITE, 'content-type': 'text/plain' }, body: JSON.stringify({ lease: l.lease, vid: b.vid }) });
    assert.equal(hb.status, 200);
    assert.equal(hb.headers.get('access-control-allow-origin'), SITE);
    assert.equal((await hb.json()).leases[0].ok, true);
  });

  test('another origin gets no CORS and no numbers, and its body visitor id is ignored', async () => {
    const first = await (await ask({ origin: SITE })).json();
    const r = await ask({ origin: 'https://evil.example' }, { vid: first.vid });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal(r.status, 403);
    const b = await r.json();
    assert.equal(b.vid, undefined);
    assert.equal(b.leases, undefined);
    assert.equal(b.error, 'origin not allowed');
    const hb = await fetch(`${edge.url}/_dni/v1/hb`, { method: 'POST',
      headers: { origin: 'https://evil.example' }, body: JSON.stringify({ lease: first.leases[0].lease, vid: first.vid }) });
    assert.equal(hb.status, 401);
    await hb.arrayBuffer();
    const pre = await fetch(`${edge.url}/_dni/v1/number`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(pre.status, 403);
    await pre.arrayBuffer();
    const ok = await fetch(`${edge.url}/_dni/v1/number`, { method: 'OPTIONS', headers: { origin: SITE } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), SITE);
  });

  test('same-origin requests keep the cookie and never see the visitor id', async () => {
    const v = new Visitor(edge.url);
    const r = await v.number({ url: `${edge.url}/p` });
    const b = await r.json();
    assert.equal(b.vid, undefined);
    assert.ok(v.jar.dni_vid);
    assert.equal(b.leases[0].default, DEFAULT);
  });

  test('no numbers for other sites: GET, untyped bodies, foreign origins and non-browsers get none', async () => {
    const before = (await edge.status()).pools.find((p) => p.pool === 'p1').assigned;
    const url = `${edge.url}/_dni/v1/number`;
    const evil = 'https://evil.example';
    const refused = [
      // a third-party page's new Image() / <img>: a GET
      [{ method: 'GET', headers: { 'user-agent': UA, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } }, 405],
      [{ method: 'GET', headers: { 'user-agent': UA } }, 405],
      // a form post, a no-cors or a simple cors fetch: their Origin, or none
      [{ method: 'POST', headers: { 'user-agent': UA, origin: evil, 'content-type': 'text/plain' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, origin: evil, 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, origin: evil, 'content-type': 'application/x-www-form-urlencoded' } }, 415],
      [{ method: 'POST', headers: { 'user-agent': UA, origin: SITE, 'content-type': 'multipart/form-data; boundary=x' } }, 415],
      [{ method: 'POST', headers: { 'user-agent': UA, 'content-type': 'text/plain' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, 'content-type': 'text/plain', 'sec-fetch-site': 'same-site' } }, 403],
      // typed JSON from elsewhere (the preflight was refused; or a script)
      [{ method: 'POST', headers: { 'user-agent': UA, origin: evil, 'content-type': 'application/json' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, origin: 'null', 'content-type': 'application/json' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, 'content-type': 'application/json' } }, 403],
      [{ method: 'POST', headers: { 'user-agent': UA, origin: edge.url, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' } }, 403],
    ];
    for (const [init, status] of refused) {
      const r = await fetch(url, { ...init, body: init.method === 'POST' ? '{"url":"https://shop.example/"}' : undefined });
      assert.equal(r.status, status, JSON.stringify(init.headers));
      assert.deepEqual(r.headers.getSetCookie(), [], 'no cookie');
      assert.ok((await r.json()).error);
    }
    // the site's own origin, but not a browser's script: no leases
    for (const headers of [{ 'user-agent': 'python-requests/2.31' }, {},
      { 'user-agent': UA, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'user-agent': UA, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }]) {
      const r = await fetch(url, { method: 'POST', body: '{}',
        headers: { origin: edge.url, 'content-type': 'application/json', ...headers } });
      assert.equal(r.status, 200);
      assert.deepEqual((await r.json()).leases, [], JSON.stringify(headers));
    }
    assert.equal((await edge.status()).pools.find((p) => p.pool === 'p1').assigned, before, 'no lease made');
  });

  test('/_dni/dni.js: ETag, long cache, 304, pinned version immutable', async (t) => {
    if (!existsSync(join(ROOT, 'js/dni.js'))) { t.skip('no js/dni.js'); return; }
    const r = await fetch(`${edge.url}/_dni/dni.js`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /javascript/);
    assert.match(r.headers.get('cache-control'), /max-age=86400/);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{24}"$/);
    assert.ok((await r.text()).includes('dni'));
    const nm = await fetch(`${edge.url}/_dni/dni.js`, { headers: { 'if-none-match': etag } });
    assert.equal(nm.status, 304);
    const pinned = await fetch(`${edge.url}/_dni/dni.js?v=${etag.slice(1, -1)}`);
    assert.match(pinned.headers.get('cache-control'), /immutable/);
    await pinned.arrayBuffer();
  });
});
