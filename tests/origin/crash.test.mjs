// Crash test: kill -9 the origin while clients send webhooks and syncs.
// After the restart, every request that got a 2xx is there, nothing is
// duplicated, and SQLite's integrity check passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, webhook, sql } from './helpers.mjs';


test('kill -9 under load loses no acknowledged write', async () => {
  let o = await startOrigin();
  const numbers = Array.from({ length: 20 }, (_, i) => `+1888555${String(3000 + i)}`);
  let r = await admin(o, 'POST', '/v1/pools', { id: 'k1', numbers, default_number: '+18005551234' });
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'k', seq: 0 });
  const grants = r.json.pools[0].grants;
  assert.equal(grants.length, 20);

  const ackedCalls = new Set();
  const ackedLeases = new Set();
  const ackedSeqs = new Set();
  let stop = false;
  let seq = 1, sid = 0, lease = 0;
  const t0 = Date.now() / 1000;
  async function webhookClient() {
    while (!stop) {
      const id = `CAcrash${sid++}`;
      try {
        for (const status of ['ringing', 'completed']) {
          const w = await webhook(o, { CallSid: id, To: numbers[sid % 20], CallStatus: status, Timestamp: String(t0 + sid) });
          if (w.status === 200) ackedCalls.add(id);
        }
      } catch { /* the server died mid-request: not acknowledged */ }
    }
  }
  async function syncClient() {
    while (!stop) {
      const s = seq++;
      const events = Array.from({ length: 20 }, (_, i) => {
        const g = grants[i];
        return { type: 'assign', pool: 'k1', lease: `K${lease++}`, number: g.number, epoch: g.epoch, visitor: `v${s}`, t: t0 + s };
      });
      try {
        const y = await sync(o, { edge: 'k', seq: s, events });
        if (y.status === 200) {
          ackedSeqs.add(s);
          for (const e of events) ackedLeases.add(e.lease);
        }
      } catch { /* not acknowledged */ }
    }
  }
  const clients = [...Array(6)].map(webhookClient).concat([...Array(2)].map(syncClient));
  // Kill once enough writes were acknowledged, however slow the machine:
  // wait for acks, not for a time (the loops are bounded only so that a
  // wedged origin fails the test instead of hanging it).
  let dead = false;
  o.exited.then(() => { dead = true; });
  for (let i = 0; i < 6000 && !dead && (ackedCalls.size <= 20 || ackedSeqs.size <= 2); i++) {
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(!dead, `the origin died before the kill: ${o.stderr}`);
  // A little more load so the kill lands among requests in flight.
  const more = ackedCalls.size + 10;
  for (let i = 0; i < 6000 && !dead && ackedCalls.size < more; i++) await new Promise((res) => setTimeout(res, 5));
  o.proc.kill('SIGKILL');
  const ex = await o.exited;
  stop = true;
  await Promise.all(clients);
  assert.equal(ex.signal, 'SIGKILL');
  assert.ok(ackedCalls.size > 20, `some webhooks acknowledged (${ackedCalls.size})`);
  assert.ok(ackedSeqs.size > 2, `some syncs acknowledged (${ackedSeqs.size})`);

  if (!/^postgres/.test(o.db)) assert.equal(sql(o.db, 'PRAGMA integrity_check'), 'ok');
  const calls = new Set(sql(o.db, 'SELECT sid FROM calls').split('\n'));
  for (const id of ackedCalls) assert.ok(calls.has(id), `acknowledged call ${id} is stored`);
  assert.equal(sql(o.db, 'SELECT count(*) - count(DISTINCT sid) FROM calls'), '0');
  assert.equal(sql(o.db, "SELECT count(*) FROM call_events GROUP BY sid, status HAVING count(*) > 1"), '');
  const seqs = new Set(sql(o.db, "SELECT seq FROM sync_batches WHERE edge = 'k'").split('\n').map(Number));
  for (const s of ackedSeqs) assert.ok(seqs.has(s), `acknowledged sync ${s} is stored`);
  const leases = new Set(sql(o.db, "SELECT lease FROM leases WHERE edge = 'k'").split('\n'));
  for (const l of ackedLeases) assert.ok(leases.has(l), `lease ${l} of an acknowledged sync is stored`);

  // The restarted origin serves the same data.
  o = await startOrigin({ dir: o.dir, port: o.port });
  try {
    const any = [...ackedCalls][0];
    const c = await admin(o, 'GET', `/v1/calls/${any}`);
    assert.equal(c.status, 200);
    assert.equal(c.json.status, 'completed');
  } finally {
    await o.stop();
    o.cleanup();
  }
});

test('SIGTERM answers the requests in flight and exits 0', async () => {
  const o = await startOrigin();
  try {
    const pending = [...Array(20)].map((_, i) => webhook(o, { CallSid: `CAterm${i}`, To: '+18885553999', CallStatus: 'ringing' }).then((r) => r.status, () => 0));
    await new Promise((res) => setTimeout(res, 5));
    o.proc.kill('SIGTERM');
    const statuses = await Promise.all(pending);
    const ex = await o.exited;
    assert.equal(ex.code, 0, o.stderr);
    const ok = statuses.filter((s) => s === 200).length;
    const stored = Number(sql(o.db, "SELECT count(*) FROM calls WHERE sid LIKE 'CAterm%'"));
    assert.ok(stored >= ok, `${ok} acknowledged, ${stored} stored`);
    if (!/^postgres/.test(o.db)) assert.equal(sql(o.db, 'PRAGMA integrity_check'), 'ok');
  } finally {
    o.cleanup();
  }
});
