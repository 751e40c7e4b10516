// A PostgreSQL restart in the middle of load: while the database is down
// requests are answered 503 (never a 2xx that was not stored) and /healthz
// says so; every acknowledged webhook is in the database afterwards; the
// origin resumes by itself, without a restart. The test runs its own
// throwaway cluster (tests/pg_cluster.sh), since it stops it.
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const dir = `build/pg-outage-${process.pid}`;
const cluster = (cmd) => execFileSync('sh', ['tests/pg_cluster.sh', cmd, dir], { encoding: 'utf8' }).trim();

let o;
let helpers;
before(async () => {
  process.env.DNI_TEST_PG_URL = cluster('start');
  helpers = await import('../origin/helpers.mjs');
  o = await helpers.startOrigin();
});

after(async () => {
  if (o) { await o.stop(); o.cleanup(); }
  cluster('destroy');
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a database restart under load: 503 while down, nothing acknowledged lost, service resumes', async () => {
  const { webhook, sql } = helpers;
  const health = async () => (await fetch(`${o.base}/healthz`)).status;
  assert.equal(await health(), 200);
  const body = await (await fetch(`${o.base}/healthz`)).json();
  assert.equal(body.db, 'postgresql');

  const acked = [];
  const statuses = new Map();
  let n = 0;
  let running = true;
  // Four clients posting new calls back to back.
  const client = async (c) => {
    while (running) {
      const sid = `CAout${c}x${n++}`;
      let status;
      try {
        status = (await webhook(o, { CallSid: sid, To: '+18885550100', CallStatus: 'ringing' })).status;
      } catch {
        status = 'error';
      }
      statuses.set(status, (statuses.get(status) || 0) + 1);
      if (status === 200) acked.push(sid);
      await sleep(5);
    }
  };
  const clients = [0, 1, 2, 3].map(client);

  await sleep(700);
  const before = acked.length;
  cluster('stop');
  // Down: health says so, writes are refused with 503.
  let sawDown = false;
  for (let i = 0; i < 60 && !sawDown; i++) {
    await sleep(100);
    sawDown = (await health()) === 503;
  }
  assert.ok(sawDown, '/healthz answers 503 while the database is down');
  const during = (await webhook(o, { CallSid: 'CAoutdown', To: '+18885550100', CallStatus: 'ringing' })).status;
  assert.equal(during, 503, 'a write while the database is down');
  await sleep(500);
  cluster('start');
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    await sleep(100);
    up = (await health()) === 200;
  }
  assert.ok(up, '/healthz is 200 again once the database is back');
  await sleep(700);
  running = false;
  await Promise.all(clients);

  // Only 200 and 503, and some of each after the outage too.
  for (const s of statuses.keys()) assert.ok(s === 200 || s === 503, `status ${s} (${[...statuses]})`);
  assert.ok(statuses.get(503) > 0, 'some requests were refused while down');
  assert.ok(acked.length > before, 'writes were acknowledged again after the restart');
  const stored = new Set(sql(o.db, "SELECT sid FROM calls WHERE sid LIKE 'CAout%'").split('\n'));
  const lost = acked.filter((sid) => !stored.has(sid));
  assert.deepEqual(lost, [], 'every acknowledged webhook is stored');
  assert.ok(!stored.has('CAoutdown'));

  // Reads work again on every read connection (each lost its server).
  const reads = await Promise.all(Array.from({ length: 12 }, () => helpers.admin(o, 'GET', '/v1/calls?limit=5')));
  for (const r of reads) assert.equal(r.status, 200, r.text);

  // The same call again: stored once (the constraint, not memory).
  assert.equal((await webhook(o, { CallSid: acked[0], To: '+18885550100', CallStatus: 'ringing' })).status, 200);
  assert.equal(sql(o.db, `SELECT count(*) FROM calls WHERE sid = '${acked[0]}'`), '1');
});
