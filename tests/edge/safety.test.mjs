// Edge safety on a real workerd process against the real dni-origin:
//   - the four poison triggers (a URL and a Referer over 4 KB, a utm_source
//     whose emoji a length limit would cut, a tag beacon with a lone
//     surrogate) never stall the sync: a normal visitor after them has its
//     lease at the origin and its call attributed;
//   - an edge restarted on an empty state directory with the same id gets
//     its new leases to the origin, and nothing of the old one is applied
//     twice;
//   - the cache never hands one visitor's page to another (cookies, a
//     reflected tracking parameter) and serves a public page with each
//     visitor's own number;
//   - the meta tag lands where the tokenizer says (a <head> in a script, a
//     comment, an attribute or a <template>; pages without <head>).
// Skipped when the origin binary has not been built.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEdge, Visitor, SECRET, ROOT, freePort, waitFor, countNumber, metaOf } from './harness.mjs';

const ADMIN = 'edge-safety-admin';
const BIN = resolve(ROOT, process.env.DNI_BUILD || 'build', 'bin/dni-origin');
const DEFAULT = '+18005551234';
const N = (i) => `+1888556${String(i).padStart(4, '0')}`;
const NUMBERS = Array.from({ length: 40 }, (_, i) => N(i + 1));
const sql = (db, q) => execFileSync('sqlite3', ['-batch', db, q], { encoding: 'utf8' }).trim();

function startOrigin({ port, db }) {
  let out = '';
  const child = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--db', db, '--allow-unsigned-webhooks'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: SECRET, DNI_TWILIO_AUTH_TOKEN: '' },
  });
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  return {
    url, db, output: () => out,
    ready: () => waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`dni-origin exited: ${out}`);
      return (await fetch(`${url}/healthz`)).ok;
    }, { what: 'dni-origin to listen' }),
    stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } },
  };
}

async function api(url, method, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

// A call to `number` now; resolves to the call once it is attributed.
async function attributedCall(origin, sid, number) {
  const w = await api(origin.url, 'POST', '/v1/webhooks/call', { CallSid: sid, To: number, From: '+12125550199',
    CallStatus: 'ringing', Timestamp: String(Date.now() / 1000) });
  assert.equal(w.status, 200, w.text);
  return waitFor(async () => {
    const c = await api(origin.url, 'GET', `/v1/calls/${sid}`);
    return c.json && c.json.session ? c.json : null;
  }, { what: `call ${sid} to be attributed`, timeout: 10000 });
}

// A new visitor's lease on the edge at `url`: a fresh edge (or one just
// restarted) shows the default number until the origin has granted it
// numbers, which may take a sync or two while another edge gives some up.
function leasedVisit(url, path) {
  return waitFor(async () => {
    const v = new Visitor(url);
    const m = (await v.page(path)).meta[0];
    return m.lease ? { v, m } : null;
  }, { what: `a lease for ${path}`, every: 300 });
}

// The head cases: upstream page with '@@' where the meta tag must land.
const HEAD_CASES = {
  '/h/script-trap': '<!DOCTYPE html>\n@@<script>var s="<head>";document.title="ok"</script>\n<head><title>t</title></head><body><p>Hi</p></body>\n',
  '/h/comment': '<!DOCTYPE html><!-- <head> --><html><head lang="en">@@<title>t</title></head><body>x</body></html>\n',
  '/h/attribute': '<!doctype html><html data-x="<head>"><head data-y="a>b">@@<title>t</title></head></html>\n',
  '/h/template': '<!doctype html><html>@@<template><head></template><head></head><body></body></html>\n',
  '/h/none': '<!doctype html>\n<html>\n@@<body><p>No head here</p></body></html>\n',
  '/h/text': '@@Just text, <head> later\n',
};

// The site: pages that reflect what they are sent, landing pages, traps.
function startSite() {
  const hits = {};
  const seen = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    hits[u.pathname] = (hits[u.pathname] || 0) + 1;
    seen.push({ url: req.url, cookie: req.headers.cookie || '' });
    const type = { 'content-type': 'text/html; charset=utf-8' };
    const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
    if (u.pathname === '/me') {
      // No Cache-Control at all, as many sites send.
      const m = /(?:^|;\s*)session=([^;]*)/.exec(req.headers.cookie || '');
      res.writeHead(200, type);
      return res.end(`<html><head></head><body>Hello ${esc(m ? m[1] : 'nobody')}. Call 800-555-1234</body></html>`);
    }
    if (u.pathname === '/lead') {
      // A reflected parameter (as an upstream bug would) on a public page.
      res.writeHead(200, { ...type, 'cache-control': 'public, max-age=60' });
      return res.end(`<html><head></head><body>Campaign: ${u.searchParams.get('utm_source') || 'none'}. Call 800-555-1234</body></html>`);
    }
    if (u.pathname === '/public') {
      res.writeHead(200, { ...type, 'cache-control': 'public, max-age=60' });
      return res.end('<html><head><title>Public</title></head><body>Call (800) 555-1234 now</body></html>');
    }
    if (HEAD_CASES[u.pathname]) {
      res.writeHead(200, type);
      return res.end(HEAD_CASES[u.pathname].replace('@@', ''));
    }
    res.writeHead(200, type);
    return res.end('<!DOCTYPE html><html><head><title>Shop</title></head><body>Call 800-555-1234</body></html>');
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({
    url: `http://127.0.0.1:${server.address().port}`, hits, seen,
    close: () => new Promise((c) => { server.closeAllConnections(); server.close(c); }),
  })));
}

describe('edge safety against the real dni-origin', { skip: !existsSync(BIN) && `${BIN} not built` }, () => {
  let dir; let origin; let site; let edge;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dni-edge-safety-'));
    origin = startOrigin({ port: await freePort(), db: join(dir, 'origin.db') });
    await origin.ready();
    const p = await api(origin.url, 'POST', '/v1/pools', {
      id: 'p1', numbers: NUMBERS, default_number: DEFAULT, overflow_number: N(9999),
      buffer_s: 60, min_hold_s: 30, max_lease_s: 600,
    });
    assert.equal(p.status, 201, p.text);
    site = await startSite();
    edge = await startEdge({ upstream: site.url, origin: origin.url, edgeId: 'edge-safe' });
  });

  after(async () => {
    if (edge) await edge.destroy();
    if (site) await site.close();
    if (origin) await origin.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each of the four poison triggers, then a normal visitor: its lease reaches the origin and its call is attributed', async () => {
    // Each trigger, then a normal visitor: its lease reaches the origin and
    // a call to its number is attributed to it.
    let calls = 0;
    const normalVisitor = async (after) => {
      const normal = new Visitor(edge.url);
      const m = (await normal.page(`/shop?utm_source=after-${after}`)).meta[0];
      assert.ok(NUMBERS.includes(m.number), `${after}: a tracking number`);
      const call = await attributedCall(origin, `CAsafe000${++calls}`, m.number);
      assert.equal(call.session.visitor, normal.jar.dni_vid, `${after}: the call finds the visitor`);
      assert.equal(call.session.tags.utm_source, `after-${after}`);
    };
    // 1: a URL over 4 KB
    const long = new Visitor(edge.url);
    const r1 = await long.page(`/landing/${'a'.repeat(300)}?q=${'x'.repeat(5000)}`);
    assert.equal(r1.res.status, 200);
    assert.ok(r1.meta[0].lease, 'a lease for the long URL');
    await normalVisitor('long-url');
    // 2: a Referer over 4 KB
    const ref = new Visitor(edge.url);
    const r2 = await ref.page('/shop', { headers: { referer: `https://ref.example/${'r'.repeat(5000)}` } });
    assert.ok(r2.meta[0].lease);
    await normalVisitor('long-referer');
    // 3: a utm_source of 199 characters and an emoji
    const emoji = new Visitor(edge.url);
    const r3 = await emoji.page(`/shop?utm_source=${encodeURIComponent(`${'u'.repeat(199)}\u{1F600}`)}`);
    assert.ok(r3.meta[0].lease);
    await normalVisitor('emoji');
    // 4: a tag beacon with a lone surrogate (the JSON text escapes it)
    const tag = await emoji.beacon('tag', { lease: r3.meta[0].lease, tags: { k: '\ud800' } });
    assert.equal(tag.status, 200, JSON.stringify(tag.body));
    await normalVisitor('lone-surrogate');

    // What the poison triggers became: stored, bounded, well-formed.
    const rows = JSON.parse(sql(origin.db, "SELECT json_group_array(json_object('lease', lease, 'url', url,"
      + " 'referrer', referrer, 'tags', json(tags))) FROM leases WHERE edge = 'edge-safe'"));
    const byLease = Object.fromEntries(rows.map((r) => [r.lease, r]));
    const u1 = byLease[r1.meta[0].lease];
    assert.ok(u1, 'the long-URL lease is at the origin');
    assert.ok(Buffer.byteLength(u1.url) <= 2048, `url trimmed (${u1.url.length})`);
    assert.match(u1.url, new RegExp(`^http://127\\.0\\.0\\.1:\\d+/landing/a{300}`), 'scheme, host and path kept');
    const u2 = byLease[r2.meta[0].lease];
    assert.ok(u2 && Buffer.byteLength(u2.referrer) <= 2048 && u2.referrer.startsWith('https://ref.example/rrr'));
    const u3 = byLease[r3.meta[0].lease];
    assert.equal(u3.tags.utm_source, `${'u'.repeat(199)}\u{1F600}`, 'the emoji whole');
    await waitFor(async () => {
      const t = JSON.parse(sql(origin.db, `SELECT tags FROM leases WHERE lease = '${r3.meta[0].lease}'`));
      return t.k === '\ufffd';
    }, { what: 'the cleaned tag to reach the origin' });
    const st = (await edge.status()).sync;
    assert.equal(st.last_error, '');
    assert.equal(st.events_refused, 0, 'nothing for the origin to refuse');
    assert.equal(st.set_aside, 0);
    assert.equal(await metric(origin.url, 'dni_origin_sync_events_refused_total'), 0);
  });

  test('an edge restarted on an empty state directory: new leases reach the origin, old events are not applied twice', async () => {
    const state = mkdtempSync(join(tmpdir(), 'dni-edge-amnesia-'));
    const e = await startEdge({ upstream: site.url, origin: origin.url, edgeId: 'edge-amnesia', state });
    try {
      const { m: ma } = await leasedVisit(e.url, '/shop?utm_source=before');
      await waitFor(() => sql(origin.db, `SELECT count(*) FROM leases WHERE lease = '${ma.lease}'`) === '1',
        { what: 'the first lease at the origin' });
      const gen1 = (await e.status()).sync.generation;
      const leases = [ma.lease];
      for (let i = 0; i < 3; i++) leases.push((await leasedVisit(e.url, `/shop?utm_source=more${i}`)).m.lease);
      const list = leases.map((l) => `'${l}'`).join(',');
      await waitFor(() => sql(origin.db, `SELECT count(*) FROM leases WHERE lease IN (${list})`) === '4',
        { what: 'the first generation\'s leases at the origin' });
      // Three syncs at least, so the new generation's seq 1..3 are numbers
      // the old one used.
      await waitFor(async () => (await e.status()).sync.seq >= 3, { what: 'three syncs' });
      const before = Number(sql(origin.db, "SELECT count(*) FROM leases WHERE edge = 'edge-amnesia'"));

      // The state directory is lost; the same edge id starts again at seq 1.
      await e.stop();
      rmSync(state, { recursive: true, force: true });
      mkdirSync(state);
      await e.restart();
      const { v: b, m: mb } = await leasedVisit(e.url, '/shop?utm_source=after');
      assert.notEqual(mb.lease, ma.lease);
      const st = (await e.status()).sync;
      assert.notEqual(st.generation, gen1, 'a new generation');
      await waitFor(() => sql(origin.db, `SELECT count(*) FROM leases WHERE lease = '${mb.lease}'`) === '1',
        { what: 'the new lease at the origin' });
      const call = await attributedCall(origin, 'CAsafe0100', mb.number);
      assert.equal(call.session.visitor, b.jar.dni_vid);
      assert.equal(call.session.tags.utm_source, 'after');
      assert.equal(Number(sql(origin.db, "SELECT count(*) FROM leases WHERE edge = 'edge-amnesia'")), before + 1,
        'every lease once');
      assert.equal(sql(origin.db, "SELECT count(DISTINCT generation) FROM sync_batches WHERE edge = 'edge-amnesia'"), '2');
      assert.equal(sql(origin.db, `SELECT released_at IS NOT NULL FROM leases WHERE lease = '${ma.lease}'`), '1',
        'the lost state\'s lease is closed at the origin');
    } finally {
      await e.destroy();
      rmSync(state, { recursive: true, force: true });
    }
  });

  test('the cache: cookies and a reflected tracking parameter never reach another visitor', async () => {
    const alice = new Visitor(edge.url);
    alice.jar.session = 'alice';
    const bob = new Visitor(edge.url);
    bob.jar.session = 'bob';
    assert.match((await alice.page('/me')).text, /Hello alice\./);
    assert.match((await bob.page('/me')).text, /Hello bob\./);
    const anon = await new Visitor(edge.url).page('/me');
    assert.match(anon.text, /Hello nobody\./, 'a page without Cache-Control is not stored');
    assert.equal(site.hits['/me'], 3);

    const attacker = await new Visitor(edge.url).page('/lead?utm_source=attacker-campaign');
    assert.doesNotMatch(attacker.text, /attacker-campaign/, 'upstream never got the stripped parameter');
    assert.match(attacker.text, /Campaign: none/);
    const victim = await new Visitor(edge.url).page('/lead?utm_source=google');
    assert.doesNotMatch(victim.text, /attacker/);
    assert.equal(site.hits['/lead'], 1, 'the public page came from the cache');
    for (const s of site.seen.filter((x) => x.url.startsWith('/lead'))) {
      assert.equal(s.url, '/lead', 'forwarded as the cache key names it');
      assert.equal(s.cookie, '');
    }
    // ...while the lease still carries the visitor's own campaign.
    const mv = victim.meta[0];
    await waitFor(() => sql(origin.db, `SELECT json_extract(tags, '$.utm_source') FROM leases WHERE lease = '${mv.lease}'`) === 'google',
      { what: 'the victim\'s lease with its own tag' });
  });

  test('a public page is cached and served with each visitor\'s own number', async () => {
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const v = new Visitor(edge.url);
      const p = await v.page('/public');
      const m = p.meta[0];
      assert.ok(NUMBERS.includes(m.number));
      const body = p.text.replace(/<meta name="dni" content="[^"]*">/, '');
      assert.equal(countNumber(body, m.number), 1, 'the page shows this visitor\'s number');
      assert.equal(countNumber(body, DEFAULT), 0);
      assert.match(p.res.headers.get('cache-control'), /private/);
      seen.push(m.number);
    }
    assert.equal(new Set(seen).size, 3, 'three visitors, three numbers');
    assert.equal(site.hits['/public'], 1, 'one upstream fetch');
    // A visitor who comes back (its dni_vid cookie) still gets the cached copy.
    const back = new Visitor(edge.url);
    await back.page('/public');
    await back.page('/public');
    assert.equal(site.hits['/public'], 1);
  });

  test('the meta tag lands where the tokenizer says', async () => {
    for (const [path, want] of Object.entries(HEAD_CASES)) {
      const { text, meta } = await new Visitor(edge.url).page(path);
      assert.ok(meta && meta.length === 1, `${path}: one meta tag`);
      const tag = /<meta name="dni" content="[^"]*">/.exec(text)[0];
      assert.equal(text, want.replace('@@', tag), `${path}: byte for byte`);
    }
  });
});
