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
    method: 'POST', headers: { 'user-agent': UA, 'content-type': 'text/plain', ...headers },
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
    // Beacons from that origin carry the id in the body too.
    const hb = await fetch(`${edge.url}/_dni/v1/hb`, { method: 'POST',
      headers: { origin: SITE, 'content-type': 'text/plain' }, body: JSON.stringify({ lease: l.lease, vid: b.vid }) });
    assert.equal(hb.status, 200);
    assert.equal(hb.headers.get('access-control-allow-origin'), SITE);
    assert.equal((await hb.json()).leases[0].ok, true);
  });

  test('another origin gets no CORS, and its body visitor id is ignored', async () => {
    const first = await (await ask({ origin: SITE })).json();
    const r = await ask({ origin: 'https://evil.example' }, { vid: first.vid });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const b = await r.json();
    assert.equal(b.vid, undefined);
    assert.notEqual(b.leases[0].lease, first.leases[0].lease);
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
    const r = await v.fetch('/_dni/v1/number?url=' + encodeURIComponent(`${edge.url}/p`));
    const b = await r.json();
    assert.equal(b.vid, undefined);
    assert.ok(v.jar.dni_vid);
    assert.equal(b.leases[0].default, DEFAULT);
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
