// A pool config that would wedge an edge: end to end on workerd and the
// real dni-origin, then the edge's own defences with an origin stub that
// hands out configs the lease engine refuses.
//
// Before the origin's strict JSON reader, `"min_hold_s":300,"min_hold_s":-5`
// was accepted (the first copy validated, the raw object stored and sent);
// the edge's JSON.parse took -5, the engine refused it, the shard stored
// the refused config, and after its next restart every sync threw: other
// pools' grants expired and every visitor got the default number, deleted
// pool or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startOriginStub } from './origin_stub.mjs';
import { startEdge, Visitor, SECRET, ROOT, freePort, waitFor } from './harness.mjs';

const ADMIN = 'bad-config-admin';
const BIN = resolve(ROOT, process.env.DNI_BUILD || 'build', 'bin/dni-origin');
const N = (i) => `+1888556${String(i).padStart(4, '0')}`;
const GOOD = [N(1), N(2), N(3), N(4)];

async function startOrigin(dir) {
  const port = await freePort();
  let out = '';
  const child = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--db', join(dir, 'origin.db'), '--grant-ttl', '30'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DNI_ADMIN_TOKEN: ADMIN, DNI_EDGE_SECRET: SECRET, DNI_TWILIO_AUTH_TOKEN: 'unused' },
  });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, { what: 'dni-origin to listen' });
  return { url, output: () => out, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

async function admin(url, method, path, body) {
  const res = await fetch(url + path, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

// A number from the pool for a new visitor (not the default): the pool is
// being served.
async function servedNumber(edge, numbers) {
  return waitFor(async () => {
    const { meta } = await new Visitor(edge.url).page('/page');
    const m = meta && meta.find((x) => numbers.includes(x.number));
    return m && m.lease ? m.number : null;
  }, { what: 'a number of the pool for a new visitor' });
}

async function syncs(edge, n) {
  const start = (await edge.status()).sync.syncs;
  await waitFor(async () => (await edge.status()).sync.syncs >= start + n, { what: `${n} more syncs` });
}

test('duplicated keys cannot wedge an edge: refused at the origin, other pools keep serving, a deleted pool is forgotten',
  { skip: !existsSync(BIN) && `${BIN} not built` }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dni-bad-config-'));
    const origin = await startOrigin(dir);
    const up = await startUpstream();
    let edge;
    try {
      let r = await admin(origin.url, 'POST', '/v1/pools', { id: 'good', numbers: GOOD, default_number: DEFAULT,
        overflow_number: N(99), min_hold_s: 30 });
      assert.equal(r.status, 201, r.text);
      edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-bad-config' });
      assert.ok(GOOD.includes(await servedNumber(edge, GOOD)));

      // The wedge: a duplicated key at creation and in a change.
      r = await admin(origin.url, 'POST', '/v1/pools', `{"id":"wedge","numbers":["${N(11)}"],`
        + `"default_number":"${N(50)}","min_hold_s":300,"min_hold_s":-5}`);
      assert.equal(r.status, 422, `duplicated key refused: ${r.text}`);
      assert.match(r.json.error, /duplicated key "min_hold_s"/);
      r = await admin(origin.url, 'PATCH', '/v1/pools/good',
        `{"overflow_number":"+18555550009","overflow_number":"\\"><script>alert(1)</script>"}`);
      assert.equal(r.status, 422, r.text);
      assert.equal((await admin(origin.url, 'GET', '/v1/pools/wedge')).status, 404, 'nothing stored');
      assert.equal((await admin(origin.url, 'GET', '/v1/pools/good')).json.overflow_number, N(99));

      // A pool that lives and is deleted: drained once, then forgotten.
      r = await admin(origin.url, 'POST', '/v1/pools', { id: 'temp', numbers: [N(21), N(22)], default_number: DEFAULT,
        traffic_source: 'param:temp' });
      assert.equal(r.status, 201, r.text);
      await waitFor(async () => (await edge.status()).sync.known.includes('temp'), { what: 'the edge to know pool temp' });
      await waitFor(async () => {
        const t = await new Visitor(edge.url).page('/page?temp=1');
        return t.meta && t.meta.some((m) => m.pool === 'temp' && m.lease);
      }, { what: 'pool temp to serve a number' });
      assert.equal((await admin(origin.url, 'DELETE', '/v1/pools/temp')).status, 200);
      await waitFor(async () => !(await edge.status()).sync.known.includes('temp'),
        { timeout: 30000, what: 'the deleted pool to be forgotten' });

      // A shard restart (the whole edge) changes nothing for the good pool.
      await syncs(edge, 2);
      await edge.restart();
      await syncs(edge, 2);
      assert.ok(GOOD.includes(await servedNumber(edge, GOOD)));
      const h = await (await fetch(`${edge.url}/_dni/healthz`)).json();
      assert.equal(h.ok, true);
      assert.equal(h.refused_configs, 0);
      assert.equal((await edge.status()).sync.last_error, '');
    } finally {
      if (edge) await edge.destroy();
      await up.close();
      await origin.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

// Rewrites the stored `meta` of every PoolShard of pool `pool` (workerd keeps
// values in V8's serialization format, which node:v8 reads and writes).
function editShardMeta(state, fn) {
  const dirp = join(state, 'do', 'edgedni-pool-shard');
  let changed = 0;
  for (const f of readdirSync(dirp).filter((x) => x.endsWith('.sqlite') && x !== 'metadata.sqlite')) {
    const db = join(dirp, f);
    const hex = execFileSync('sqlite3', [db, "SELECT hex(value) FROM _cf_KV WHERE key = 'meta'"], { encoding: 'utf8' }).trim();
    if (!hex) continue;
    const meta = deserialize(Buffer.from(hex, 'hex'));
    if (!fn(meta)) continue;
    const out = serialize(meta).toString('hex');
    execFileSync('sqlite3', [db, `UPDATE _cf_KV SET value = X'${out}' WHERE key = 'meta'`]);
    changed++;
  }
  return changed;
}

test('a config the lease engine refuses is skipped, counted in /_dni/healthz, never stored; refused stored state starts fresh',
  async () => {
    const up = await startUpstream();
    const good = { id: 'good', config: { numbers: GOOD, default_number: DEFAULT, min_hold_s: 30 } };
    const bad = { id: 'bad', config: { numbers: [N(31), N(32)], default_number: N(60), min_hold_s: -5 } };
    const origin = await startOriginStub({ secret: SECRET, pools: [good, bad] });
    const state = mkdtempSync(join(tmpdir(), 'dni-bad-config-edge-'));
    const edge = await startEdge({ upstream: up.url, origin: origin.url, state });
    try {
      assert.ok(GOOD.includes(await servedNumber(edge, GOOD)));
      await syncs(edge, 2);
      let h = await (await fetch(`${edge.url}/_dni/healthz`)).json();
      assert.equal(h.refused_configs, 1, JSON.stringify(h));
      assert.deepEqual(h.refused_pools, ['bad']);
      assert.equal(h.headers, undefined);
      const st = await edge.status();
      assert.match(st.sync.refused.bad.reason, /refused by the lease engine/);
      assert.ok(!st.sync.pools.includes('bad'), 'pages are not routed by the refused config');
      assert.match(edge.output(), /pool bad config refused by the lease engine/);
      assert.equal((edge.output().match(/pool bad config refused/g) || []).length, 1, 'logged once');

      // Restart: the good pool serves, the bad one is still only skipped.
      await edge.restart();
      await syncs(edge, 2);
      assert.ok(GOOD.includes(await servedNumber(edge, GOOD)));
      assert.equal((await edge.status()).sync.last_error, '');

      // The bad pool is deleted at the origin: drained once, forgotten.
      origin.pools.splice(origin.pools.indexOf(bad), 1);
      await waitFor(async () => !(await edge.status()).sync.known.includes('bad'),
        { timeout: 30000, what: 'the deleted pool to be forgotten' });
      h = await (await fetch(`${edge.url}/_dni/healthz`)).json();
      assert.deepEqual(h.refused_pools, []);

      // Stored state from an older build holding a refused config: the
      // shard starts without it and takes the next good config.
      await edge.stop();
      const edited = editShardMeta(state, (m) => {
        if (m.pool !== 'good' || !m.config) return false;
        m.config.min_hold_s = -5;
        return true;
      });
      assert.equal(edited, 1);
      await edge.restart();
      assert.ok(GOOD.includes(await servedNumber(edge, GOOD)));
      assert.match(edge.output(), /pool good (state|stored config) refused/);
      assert.equal((await edge.status()).sync.last_error, '');
    } finally {
      await edge.destroy();
      await up.close();
      await origin.close();
      rmSync(state, { recursive: true, force: true });
    }
  });
