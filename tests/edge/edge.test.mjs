// The edge on a real workerd process, between a local upstream site and an
// origin (the stub of the sync protocol in tests/edge/origin_stub.mjs).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startUpstream, landingPage, DEFAULT, KEPT_DEFAULTS } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, countNumber, sleep, waitFor, NAVIGATION_HEADERS } from './harness.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

function visitorPool(extra = {}, size = 3) {
  return { id: 'p1', config: { numbers: Array.from({ length: size }, (_, i) => N(i + 1)), default_number: DEFAULT,
    overflow_number: N(9999), buffer_s: 3, min_hold_s: 1, max_lease_s: 600, ...extra } };
}
function tagsPool() {
  return { id: 'ptags', config: { numbers: [N(11), N(12)], default_number: DEFAULT, mode: 'tags',
    tracked_tags: ['utm_campaign'], traffic_source: 'param:utm_campaign', buffer_s: 30, min_hold_s: 30 } };
}

async function setup({ pools, grantTtl = 60 } = {}) {
  const up = await startUpstream();
  const origin = await startOriginStub({ secret: SECRET, pools: pools || [visitorPool(), tagsPool()], grantTtl });
  const edge = await startEdge({ upstream: up.url, origin: origin.url });
  return { up, origin, edge, async close() { await edge.destroy(); await up.close(); await origin.close(); } };
}

function stripMeta(html) { return html.replace(/<meta name="dni" content="[^"]*">/, ''); }

function shard(status, pool) { return status.pools.find((p) => p.pool === pool); }

describe('page rewrite', () => {
  let env;
  before(async () => { env = await setup({ pools: [visitorPool({}, 40), tagsPool()] }); });
  after(async () => { await env.close(); });

  test('the visitor number is in every visible place and nowhere else', async () => {
    const v = new Visitor(env.edge.url);
    const { res, text: full, meta } = await v.page('/page');
    const text = stripMeta(full);
    assert.equal(res.status, 200);
    assert.ok(meta && meta.length === 1, 'one lease in <meta name="dni">');
    const number = meta[0].number;
    assert.match(number, /^\+18885550\d\d\d$/, `leased number ${number}`);
    assert.match(meta[0].lease, /^p1~/);
    const original = landingPage();
    const visible = countNumber(original, DEFAULT) - KEPT_DEFAULTS;
    // every visible occurrence now carries the leased number...
    assert.equal(countNumber(text, number), visible);
    // ...and the default stays only in script, JSON-LD, data-* and skip blocks
    assert.equal(countNumber(text, DEFAULT), KEPT_DEFAULTS);
    assert.ok(text.includes(`href="tel:+1-888-555-${number.slice(-4)}"`), 'tel: link rewritten in place');
    assert.ok(text.includes('"telephone":"+1-800-555-1234"'), 'JSON-LD untouched');
    assert.ok(text.includes('48005551234999'), 'longer digit runs untouched');
    assert.match(full, /<head><meta name="dni"/, 'meta right after <head>');
  });

  test('response headers: private, no stale length, visitor cookie', async () => {
    const v = new Visitor(env.edge.url);
    const { res } = await v.page('/page');
    assert.equal(res.headers.get('content-length'), null);
    assert.match(res.headers.get('cache-control'), /private/);
    const sc = res.headers.getSetCookie().find((c) => c.startsWith('dni_vid='));
    assert.ok(sc, 'dni_vid set');
    assert.match(sc, /HttpOnly/);
    assert.match(sc, /SameSite=Lax/);
    assert.doesNotMatch(sc, /Secure/, 'no Secure over plain HTTP');
    const s = await v.fetch('/page', { headers: { 'x-forwarded-proto': 'https', cookie: '' } });
    await s.text();
    const sc2 = s.headers.getSetCookie().find((c) => c.startsWith('dni_vid='));
    assert.ok(sc2 === undefined || /Secure/.test(sc2));
  });

  test('same visitor keeps the number, another visitor gets another', async () => {
    const a = new Visitor(env.edge.url);
    const b = new Visitor(env.edge.url);
    const a1 = (await a.page('/page')).meta[0];
    const a2 = (await a.page('/page2')).meta[0];
    assert.equal(a2.number, a1.number);
    assert.equal(a2.lease, a1.lease);
    const b1 = (await b.page('/page')).meta[0];
    assert.notEqual(b1.number, a1.number);
  });

  test('tags mode: equal tracked tags share a number, others do not', async () => {
    const a = new Visitor(env.edge.url);
    const b = new Visitor(env.edge.url);
    const c = new Visitor(env.edge.url);
    const ma = (await a.page('/page?utm_campaign=spring')).meta[0];
    const mb = (await b.page('/page?utm_campaign=spring&utm_source=x')).meta[0];
    const mc = (await c.page('/page?utm_campaign=fall')).meta[0];
    assert.equal(ma.pool, 'ptags');
    assert.equal(mb.number, ma.number);
    assert.equal(mb.lease, ma.lease);
    assert.notEqual(mc.number, ma.number);
    await waitFor(() => env.origin.events.some((e) => e.type === 'join' && e.lease === ma.lease
      && e.visitor === b.jar.dni_vid), { what: 'join event' });
    assert.ok([N(11), N(12)].includes(mc.number));
  });

  test('crawlers get the original page and no lease', async () => {
    const before_ = shard(await env.edge.status(), 'p1').assigned;
    const bot = new Visitor(env.edge.url, GOOGLEBOT);
    const { res, text, meta } = await bot.page('/page');
    assert.equal(text, landingPage());
    assert.equal(meta, null);
    assert.equal(res.headers.getSetCookie().length, 0);
    assert.equal(shard(await env.edge.status(), 'p1').assigned, before_);
  });

  test('non-HTML, UTF-16 and head-less pages', async () => {
    const v = new Visitor(env.edge.url);
    assert.equal(await (await v.fetch('/style.css')).text(), 'a::after{content:"800-555-1234"}');
    assert.equal(await (await v.fetch('/data.json')).text(), '{"phone":"800-555-1234"}');
    const u = await v.fetch('/utf16');
    const raw = Buffer.from(await u.arrayBuffer());
    assert.equal(raw.toString('utf16le'), '\ufeff<html><head></head><body>Call 800-555-1234</body></html>');
    const nh = await v.page('/nohead');
    assert.equal(nh.meta.length, 1, 'a page without <head> gets the tag before its first content');
    assert.match(nh.text, /^<meta name="dni" content="[^"]*"><p>Call /);
    assert.doesNotMatch(nh.text, /800-555-1234/, 'swapped even without <head>');
  });

  test('gzip stays gzip and is rewritten', async () => {
    const v = new Visitor(env.edge.url);
    v.jar.dni_vid = 'gzipvisitor0001';
    const res = await v.fetch('/gzip', { headers: { 'accept-encoding': 'gzip' } });
    // fetch() decodes transparently; ask the raw stream through node:http instead
    await res.arrayBuffer();
    const { request } = await import('node:http');
    const body = await new Promise((resolve, reject) => {
      const r = request(`${env.edge.url}/gzip`, { headers: { ...NAVIGATION_HEADERS, 'accept-encoding': 'gzip',
        'user-agent': v.ua, cookie: v.cookie() } }, (resp) => {
        const parts = [];
        resp.on('data', (d) => parts.push(d));
        resp.on('end', () => resolve({ headers: resp.headers, raw: Buffer.concat(parts) }));
      });
      r.on('error', reject);
      r.end();
    });
    assert.equal(body.headers['content-encoding'], 'gzip');
    assert.equal(body.headers['content-length'], undefined);
    const html = gunzipSync(body.raw).toString();
    const meta = /<meta name="dni" content="([^"]*)">/.exec(html);
    assert.ok(meta, 'meta injected into the gzipped page');
    assert.equal(countNumber(stripMeta(html), DEFAULT), KEPT_DEFAULTS);
  });

  test('upstream HTML is cached without tracking parameters', async () => {
    const a = new Visitor(env.edge.url);
    const before_ = env.up.hits['/cached'] || 0;
    await a.page('/cached?utm_source=google&gclid=1');
    await a.page('/cached?utm_source=bing');
    await new Visitor(env.edge.url).page('/cached');
    assert.equal((env.up.hits['/cached'] || 0) - before_, 1, 'one upstream fetch for three views');
    const other = await a.page('/cached?page=2');
    assert.equal(other.res.status, 200);
    assert.equal(env.up.hits['/cached'] - before_, 2, 'a real parameter is a different page');
  });

  test('heartbeats extend the lease and leave starts buffer_s', async () => {
    const v = new Visitor(env.edge.url);
    const m = (await v.page('/page')).meta[0];
    await sleep(1500);
    const hb = await v.beacon('hb', { lease: m.lease });
    assert.equal(hb.status, 200);
    assert.ok(hb.body.leases[0].expires_at > m.expires, 'heartbeat moved the end');
    await sleep(1500);
    const hb2 = await v.beacon('hb', { leases: [m.lease] });
    assert.ok(hb2.body.leases[0].expires_at > hb.body.leases[0].expires_at);
    const lv = await v.beacon('leave', { lease: m.lease });
    assert.equal(lv.status, 200);
    const t = Date.now() / 1000;
    assert.ok(Math.abs(lv.body.leases[0].expires_at - (t + 3)) < 1, 'ends buffer_s after leave');
    // another visitor may not beat on this lease
    const other = new Visitor(env.edge.url);
    await other.page('/page');
    assert.equal((await other.beacon('hb', { lease: m.lease })).status, 403);
    // after buffer_s the lease is over and its release reaches the origin
    await waitFor(() => env.origin.events.some((e) => e.type === 'release' && e.lease === m.lease),
      { timeout: 12000, what: 'release event' });
    assert.equal((await v.beacon('hb', { lease: m.lease })).status, 410, 'an ended lease is gone');
    // a lease this shard never made is unknown
    assert.equal((await v.beacon('hb', { lease: 'p1~nosuchgen.1' })).status, 404);
  });

  test('beacons refuse bad input with a JSON error', async () => {
    const v = new Visitor(env.edge.url);
    await v.page('/page');
    const bad = await v.fetch('/_dni/v1/hb', { method: 'POST', body: '{nope' });
    assert.equal(bad.status, 400);
    assert.ok((await bad.json()).error);
    assert.equal((await v.beacon('hb', {})).status, 400);
    assert.equal((await v.beacon('tag', { lease: 'p1~x', tags: 'no' })).status, 400);
    const anon = await fetch(`${env.edge.url}/_dni/v1/hb`, { method: 'POST', body: '{"lease":"p1~x"}' });
    assert.equal(anon.status, 401);
  });

  test('/_dni/v1/number and tag beacons', async () => {
    const v = new Visitor(env.edge.url);
    const r = await v.number({ url: 'http://site.test/landing?utm_source=fb' });
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.leases.length, 1);
    assert.ok(body.leases[0].lease);
    const t = await v.beacon('tag', { lease: body.leases[0].lease, tags: { first_name: 'Ada' } });
    assert.equal(t.status, 200);
    await waitFor(() => env.origin.events.some((e) => e.type === 'tag' && e.lease === body.leases[0].lease
      && e.tags.first_name === 'Ada'), { what: 'tag event' });
    const a = env.origin.events.find((e) => e.type === 'assign' && e.lease === body.leases[0].lease);
    assert.equal(a.tags.utm_source, 'fb');
    assert.equal(a.pool, 'p1');
    assert.ok(Number.isInteger(a.epoch));
    const js = await v.fetch('/_dni/dni.js');
    assert.ok(js.status === 200 || js.status === 404);
    await js.arrayBuffer();
  });
});

describe('origin sync', () => {
  test('events reach the origin; revoked numbers are not handed out; deleted pools end leases', async () => {
    const env = await setup({ pools: [visitorPool({ buffer_s: 60, min_hold_s: 60 }, 6)] });
    try {
      const v = new Visitor(env.edge.url);
      const m = (await v.page('/page?utm_source=google')).meta[0];
      const ev = await waitFor(() => env.origin.events.find((e) => e.type === 'assign' && e.lease === m.lease),
        { what: 'assign event at the origin' });
      assert.equal(ev.number, m.number);
      assert.equal(ev.tags.utm_source, 'google');
      assert.equal(ev.visitor, v.jar.dni_vid);
      // seqs are increasing and never repeated
      const seqs = env.origin.batches.map((b) => b.seq);
      assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y));
      // the origin revokes the leased number: the open lease lives on, but a
      // new visitor never gets it
      env.origin.revoked.p1 = [m.number];
      const syncs = env.origin.batches.length;
      await waitFor(() => env.origin.batches.length >= syncs + 2, { what: 'two more syncs' });
      assert.equal((await v.page('/page')).meta[0].number, m.number);
      for (let i = 0; i < 3; i++) {
        const other = (await new Visitor(env.edge.url).page('/page')).meta[0];
        assert.notEqual(other.number, m.number);
      }
      // a pool deleted at the origin ends its leases
      env.origin.pools = [];
      await waitFor(() => env.origin.events.some((e) => e.type === 'release' && e.lease === m.lease),
        { what: 'lease of a deleted pool released' });
    } finally { await env.close(); }
  });

  test('origin outage: valid grants keep serving, then the default; catches up after', async () => {
    const env = await setup({ pools: [visitorPool()], grantTtl: 5 });
    try {
      const a = new Visitor(env.edge.url);
      const ma = (await a.page('/page')).meta[0];
      await waitFor(() => env.origin.events.some((e) => e.lease === ma.lease), { what: 'first sync' });
      env.origin.down = true;
      const b = new Visitor(env.edge.url);
      const mb = (await b.page('/page')).meta[0];
      assert.notEqual(mb.number, DEFAULT, 'grant still valid: a tracking number');
      // grants expire (ttl 5 s, skew 1 s): new visitors get the fallback number, the page still works
      await sleep(5500);
      const c = new Visitor(env.edge.url);
      const pc = await c.page('/page');
      assert.equal(pc.res.status, 200);
      assert.equal(pc.meta[0].number, N(9999), 'overflow/default number without a valid grant');
      assert.equal(pc.meta[0].lease, null);
      const seen = env.origin.events.length;
      env.origin.down = false;
      await waitFor(() => env.origin.events.some((e) => e.type === 'overflow' && e.reason === 'no_valid_grant'),
        { timeout: 15000, what: 'events from the outage delivered' });
      assert.ok(env.origin.events.some((e) => e.type === 'assign' && e.lease === mb.lease));
      assert.ok(env.origin.events.length > seen);
      const d = new Visitor(env.edge.url);
      const md = await waitFor(async () => {
        const m = (await d.page('/page')).meta[0];
        return m.lease ? m : null;
      }, { what: 'tracking numbers again' });
      assert.ok([N(1), N(2), N(3)].includes(md.number));
    } finally { await env.close(); }
  });

  test('a workerd restart keeps live leases', async () => {
    const env = await setup({ pools: [visitorPool({ buffer_s: 60, min_hold_s: 60 })] });
    try {
      const v = new Visitor(env.edge.url);
      const m = (await v.page('/page')).meta[0];
      await env.edge.restart();
      const again = (await v.page('/page')).meta[0];
      assert.equal(again.lease, m.lease);
      assert.equal(again.number, m.number);
      const hb = await v.beacon('hb', { lease: m.lease });
      assert.equal(hb.status, 200);
    } finally { await env.close(); }
  });

  test('pool exhausted: overflow number and an overflow event', async () => {
    const env = await setup({ pools: [visitorPool({ buffer_s: 60, min_hold_s: 60 })] });
    try {
      const numbers = [];
      for (let i = 0; i < 3; i++) numbers.push((await new Visitor(env.edge.url).page('/page')).meta[0].number);
      assert.equal(new Set(numbers).size, 3);
      const late = await new Visitor(env.edge.url).page('/page');
      assert.equal(late.meta[0].number, N(9999));
      assert.equal(countNumber(stripMeta(late.text), N(9999)), countNumber(landingPage(), DEFAULT) - KEPT_DEFAULTS);
      await waitFor(() => env.origin.events.some((e) => e.type === 'overflow' && e.reason === 'exhausted'),
        { what: 'overflow event' });
    } finally { await env.close(); }
  });
});
