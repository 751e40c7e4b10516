// The edge on a real workerd process against the real origin service
// (build/bin/dni-origin, or $DNI_BUILD/bin/dni-origin): a pool made through
// the admin API, numbers granted by the origin, the edge's events applied
// by it, and a call webhook attributed to the visitor who saw the number.
// Skipped when the origin binary has not been built.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startEdge, Visitor, SECRET, ROOT, freePort, sleep, waitFor, countNumber } from './harness.mjs';

const ADMIN = 'edge-test-admin';
const BIN = resolve(ROOT, process.env.DNI_BUILD || 'build', 'bin/dni-origin');
const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const NUMBERS = [N(1), N(2), N(3), N(4)];
const OVERFLOW = N(9999);

// Runs dni-origin on a fixed port and database so it can be killed and
// started again on the same ones. Returns {url, stop(signal), start()}.
function originProcess({ port, db, grantTtl }) {
  let child = null;
  let out = '';
  const url = `http://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--db', db, '--grant-ttl', String(grantTtl),
      '--allow-unsigned-webhooks'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: SECRET, DNI_TWILIO_AUTH_TOKEN: '' },
    });
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.exited = new Promise((r) => child.once('exit', r));
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`dni-origin exited: ${out}`);
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      return r.ok;
    }, { timeout: 10000, what: 'dni-origin to listen' });
  };
  const stop = async (signal = 'SIGKILL') => {
    if (child && child.exitCode === null && child.signalCode === null) { child.kill(signal); await child.exited; }
  };
  return { url, start, stop, output: () => out };
}

async function admin(url, method, path, body) {
  const res = await fetch(url + path, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  return { status: res.status, body: json, text };
}

async function callWebhook(url, fields) {
  const res = await fetch(`${url}/v1/webhooks/call`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

// Places a call to `number` at the origin and returns its attribution.
async function callTo(url, sid, number) {
  const t = Date.now() / 1000;
  const w = await callWebhook(url, { CallSid: sid, To: number, From: '+12125550100', CallStatus: 'ringing',
    Timestamp: String(t) });
  assert.equal(w.status, 200, `webhook accepted: ${JSON.stringify(w.body)}`);
  const c = await admin(url, 'GET', `/v1/calls/${sid}`);
  assert.equal(c.status, 200, c.text);
  return c.body;
}

describe('edge against the real dni-origin', { skip: !existsSync(BIN) && `${BIN} not built` }, () => {
  let dir; let origin; let up; let edge;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dni-edge-origin-'));
    // A long grant lifetime: an outage of a few seconds must not cost the
    // edge its grants.
    origin = originProcess({ port: await freePort(), db: join(dir, 'origin.db'), grantTtl: 60 });
    await origin.start();
    const p = await admin(origin.url, 'POST', '/v1/pools', {
      id: 'p1', name: 'Landing pages', numbers: NUMBERS, default_number: DEFAULT, overflow_number: OVERFLOW,
      buffer_s: 60, min_hold_s: 30, max_lease_s: 600,
    });
    assert.equal(p.status, 201, `pool created: ${p.text}`);
    up = await startUpstream();
    edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-real' });
  });

  after(async () => {
    if (edge) await edge.destroy();
    if (up) await up.close();
    if (origin) await origin.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('admin API: the pool is stored and a bad pool gets a JSON error', async () => {
    const g = await admin(origin.url, 'GET', '/v1/pools/p1');
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.numbers, NUMBERS);
    assert.equal(g.body.default_number, DEFAULT);
    const bad = await admin(origin.url, 'POST', '/v1/pools', { id: 'bad', numbers: ['not a number'] });
    assert.ok(bad.status >= 400 && bad.status < 500, `status ${bad.status}`);
    assert.equal(typeof bad.body.error, 'string');
  });

  let seenA;
  test('a visitor gets a number granted by the origin, not the default', async () => {
    const v = new Visitor(edge.url);
    const { res, text, meta } = await v.page('/page?utm_source=google');
    assert.equal(res.status, 200);
    assert.ok(meta && meta.length === 1, 'one lease in the page');
    const m = meta[0];
    assert.ok(NUMBERS.includes(m.number), `${m.number} is one of the pool's numbers`);
    assert.notEqual(m.number, DEFAULT);
    assert.ok(m.lease, 'a real lease, not the fallback');
    assert.ok(countNumber(text, m.number) > 0, 'the page shows the number');
    // the edge status shows the origin's grants
    const st = await edge.status();
    assert.equal(st.sync.last_error, '');
    seenA = { v, m };
  });

  test('the assign event is applied by the origin and a call is attributed to that visitor', async () => {
    const { v, m } = seenA;
    await waitFor(async () => (await metric(origin.url, 'dni_origin_leases_live')) >= 1,
      { what: 'the lease to be live at the origin' });
    const call = await callTo(origin.url, 'CAreal0001', m.number);
    assert.equal(call.sid, 'CAreal0001');
    assert.equal(call.pool, 'p1');
    assert.ok(call.session, `call attributed: ${JSON.stringify(call)}`);
    assert.equal(call.session.visitor, v.jar.dni_vid);
    assert.equal(call.session.lease, m.lease);
    assert.equal(call.session.edge, 'edge-real');
    assert.equal(call.session.tags.utm_source, 'google');
    assert.match(call.session.landing_url, /\/page\?utm_source=google$/);
    // no event of a healthy edge was refused
    assert.equal(await metric(origin.url, 'dni_origin_stale_events_total'), 0);
  });

  test('two visitors hold different numbers and each call finds its own visitor', async () => {
    const b = new Visitor(edge.url);
    const mb = (await b.page('/page2?utm_source=bing')).meta[0];
    assert.ok(NUMBERS.includes(mb.number));
    assert.notEqual(mb.number, seenA.m.number);
    // the call comes after the edge has shipped the assign (a call placed
    // before the origin knows the lease is a different story, see docs/edge.md)
    await waitFor(async () => (await metric(origin.url, 'dni_origin_leases_live')) >= 2,
      { what: 'both leases live at the origin' });
    const call = await callTo(origin.url, 'CAreal0002', mb.number);
    assert.ok(call.session, `call attributed: ${JSON.stringify(call)}`);
    assert.equal(call.session.visitor, b.jar.dni_vid);
    assert.equal(call.session.tags.utm_source, 'bing');
  });

  test('origin outage: pages keep being served; the edge catches up after a restart', async () => {
    const syncsBefore = (await edge.status()).sync.syncs;
    await origin.stop('SIGKILL');
    const c = new Visitor(edge.url);
    const pc = await c.page('/page?utm_source=outage');
    assert.equal(pc.res.status, 200, 'the page is served while the origin is down');
    const mc = pc.meta[0];
    assert.ok(NUMBERS.includes(mc.number), 'grants still valid: a tracking number');
    assert.notEqual(mc.number, seenA.m.number);
    await waitFor(async () => (await edge.status()).sync.failures > 0, { what: 'a failed sync' });
    await sleep(1500);
    assert.equal((await new Visitor(edge.url).page('/page')).res.status, 200);

    await origin.start();
    await waitFor(async () => {
      const s = (await edge.status()).sync;
      return s.failures === 0 && s.syncs > syncsBefore && s.inflight === 0;
    }, { timeout: 15000, what: 'the edge to sync again' });
    // the lease made during the outage reached the origin: its call is
    // attributed to the visitor who saw the number while the origin was down
    const call = await waitFor(async () => {
      const w = await callWebhook(origin.url, { CallSid: 'CAreal0003', To: mc.number, From: '+12125550102',
        CallStatus: 'ringing', Timestamp: String(Date.now() / 1000) });
      assert.equal(w.status, 200);
      const r = await admin(origin.url, 'GET', '/v1/calls/CAreal0003');
      return r.body && r.body.session ? r.body : null;
    }, { what: 'the outage call to be attributed' });
    assert.equal(call.session.visitor, c.jar.dni_vid);
    assert.equal(call.session.tags.utm_source, 'outage');
    // the earlier call survived the kill (2xx means on disk)
    const first = await admin(origin.url, 'GET', '/v1/calls/CAreal0001');
    assert.equal(first.status, 200);
    assert.equal(first.body.session.visitor, seenA.v.jar.dni_vid);
    assert.equal(await metric(origin.url, 'dni_origin_stale_events_total'), 0);
  });

  test('a pool change at the origin reaches the edge', async () => {
    const p = await admin(origin.url, 'PATCH', '/v1/pools/p1', { overflow_number: N(8888) });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.overflow_number, N(8888));
    // all four numbers are leased by now (three visitors and one page view
    // during the outage): new visitors get the overflow number, the new one
    // once the edge has the new version
    const live = (await edge.status()).pools.find((x) => x.pool === 'p1').leases.length;
    assert.equal(live, NUMBERS.length, 'every number leased');
    const m = await waitFor(async () => {
      const got = (await new Visitor(edge.url).page('/page')).meta[0];
      return got.number === N(8888) ? got : null;
    }, { what: 'the new overflow number at the edge' });
    assert.equal(m.lease, null);
    await waitFor(async () => (await metric(origin.url, 'dni_origin_overflow_total')) >= 1,
      { what: 'overflow events counted at the origin' });
  });
});
