// Three dni-origin processes on one PostgreSQL database (a throwaway
// cluster of its own, tests/pg_cluster.sh): they start at once and the
// schema is migrated once; two edges sync through different processes in
// turn and at the same time, and no (number, epoch) is ever granted to two
// edges; webhooks are spread over all three, with duplicates, and one
// process is killed with SIGKILL under that load: every acknowledged
// webhook and sync batch is stored, and each call is stored once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const dir = `build/pg-procs-${process.pid}`;
const cluster = (cmd) => execFileSync('sh', ['tests/pg_cluster.sh', cmd, dir], { encoding: 'utf8' }).trim();
const NUMBERS = Array.from({ length: 8 }, (_, i) => `+1888555${String(7000 + i)}`);

let h;
let procs = [];
before(async () => {
  process.env.DNI_TEST_PG_URL = cluster('start');
  h = await import('../origin/helpers.mjs');
});

after(async () => {
  for (const o of procs) await o.stop('SIGKILL');
  if (procs[0]) procs[0].cleanup();
  cluster('destroy');
});

test('three processes starting at once migrate the database once', async () => {
  const shared = mkdtempSync(join(tmpdir(), 'dni-origin-procs-'));
  procs = await Promise.all([0, 1, 2].map(() => h.startOrigin({ dir: shared })));
  for (const o of procs) {
    const r = await fetch(`${o.base}/healthz`);
    assert.equal(r.status, 200, o.stderr);
  }
  assert.equal(procs[0].db, procs[1].db);
  const m = h.sql(procs[0].db, 'SELECT count(*), count(DISTINCT version), min(version) FROM schema_migrations');
  const [n, distinct, min] = m.split('|').map(Number);
  assert.equal(n, distinct);
  assert.equal(min, 1);
  assert.ok(n >= 7);
});

// (number, epoch) -> edge, from every sync answer seen.
const granted = new Map();
const seqs = { e1: 0, e2: 0 };
const ackedBatches = [];
function check(edge, r) {
  assert.equal(r.status, 200, r.text);
  ackedBatches.push([edge, r.json.ack]);
  const p = r.json.pools.find((x) => x.id === 'mp');
  for (const g of p.grants) {
    const k = `${g.number}@${g.epoch}`;
    const other = granted.get(k);
    assert.ok(!other || other === edge, `${k} granted to ${other} and ${edge}`);
    granted.set(k, edge);
  }
  return p;
}

async function edgeSync(o, edge, last) {
  const seq = ++seqs[edge];
  const t = Date.now() / 1000;
  // A lease on the first number the previous answer granted, at its epoch.
  const events = last && last.grants.length
    ? [{ type: 'assign', pool: 'mp', lease: `${edge}-${seq}`, number: last.grants[0].number,
        epoch: last.grants[0].epoch, visitor: `v${seq}`, t }]
    : [];
  return check(edge, await h.sync(o, { edge, seq, events }));
}

// Every change of a number row, kept by a trigger of the test's own (not
// part of the schema): a grant must only ever take a free number, so a
// number never passes from one edge to another without being revoked and
// freed first, whatever the answers the test happened to see.
function auditGrants(db) {
  h.sql(db, `CREATE TABLE grant_audit (number TEXT, old_edge TEXT, old_state INTEGER,
      old_epoch BIGINT, new_edge TEXT, new_state INTEGER, new_epoch BIGINT);
    CREATE FUNCTION grant_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO grant_audit VALUES (OLD.number, OLD.edge, OLD.state, OLD.epoch,
        NEW.edge, NEW.state, NEW.epoch);
      RETURN NEW; END $$;
    CREATE TRIGGER grant_audit AFTER UPDATE ON numbers FOR EACH ROW EXECUTE FUNCTION grant_audit()`);
}
function checkAudit(db) {
  const grants = Number(h.sql(db, 'SELECT count(*) FROM grant_audit WHERE new_state = 1 AND old_state = 0'));
  assert.ok(grants > 0, 'no grant audited');
  const bad = h.sql(db, `SELECT number, old_edge, old_state, old_epoch, new_edge, new_state, new_epoch
    FROM grant_audit WHERE new_state > 0 AND (
      (old_state > 0 AND (new_edge IS DISTINCT FROM old_edge OR new_epoch <> old_epoch))
      OR (old_state = 0 AND new_epoch <> old_epoch + 1))`);
  assert.equal(bad, '', 'numbers granted while another edge held them, or without a new epoch');
}

test('two edges syncing through different processes are never granted the same number at one epoch', async () => {
  auditGrants(procs[0].db);
  const r = await h.admin(procs[0], 'POST', '/v1/pools', h.pool('mp', NUMBERS));
  assert.equal(r.status, 201, r.text);
  let last = { e1: null, e2: null };
  // In turn, each through a different process each time...
  for (let i = 0; i < 12; i++) {
    last.e1 = await edgeSync(procs[i % 3], 'e1', last.e1);
    last.e2 = await edgeSync(procs[(i + 1) % 3], 'e2', last.e2);
  }
  // ...and at the same time.
  for (let i = 0; i < 12; i++) {
    const [a, b] = await Promise.all([
      edgeSync(procs[i % 3], 'e1', last.e1),
      edgeSync(procs[(i + 2) % 3], 'e2', last.e2),
    ]);
    last = { e1: a, e2: b };
  }
  // Both edges hold numbers, disjoint, and the table agrees.
  const mine = (p) => new Set(p.grants.map((g) => g.number));
  const a = mine(last.e1);
  const b = mine(last.e2);
  assert.ok(a.size > 0 && b.size > 0, `shares ${a.size} and ${b.size}`);
  for (const n of a) assert.ok(!b.has(n), `${n} held by both edges`);
  const rows = h.sql(procs[0].db, "SELECT number, edge, epoch FROM numbers WHERE pool_id = 'mp' AND state = 1").split('\n');
  for (const row of rows) {
    const [number, edge, epoch] = row.split('|');
    assert.equal(granted.get(`${number}@${epoch}`) ?? edge, edge, `${number}@${epoch}`);
  }
  checkAudit(procs[0].db);
});

test('new edges syncing at once through different processes never take the same free number', async () => {
  // Each round: a pool of free numbers and two edges never seen before,
  // whose first syncs run at once: both find the numbers free.
  for (let k = 0; k < 6; k++) {
    const numbers = Array.from({ length: 6 }, (_, i) => `+1888556${k}${String(100 + i)}`);
    const r = await h.admin(procs[k % 3], 'POST', '/v1/pools', h.pool(`race${k}`, numbers));
    assert.equal(r.status, 201, r.text);
    const answers = await Promise.all([`r${k}a`, `r${k}b`].map((edge, i) =>
      h.sync(procs[(k + i) % 3], { edge, seq: 1 })));
    const held = answers.map((a) => {
      assert.equal(a.status, 200, a.text);
      const p = a.json.pools.find((x) => x.id === `race${k}`);
      return new Set(p.grants.map((g) => g.number));
    });
    for (const n of held[0]) assert.ok(!held[1].has(n), `${n} granted to both new edges`);
  }
  checkAudit(procs[0].db);
});

test('webhooks spread over three processes, one killed with SIGKILL: every acknowledged write stored once', async () => {
  const acked = [];
  let killed = false;
  let i = 0;
  const alive = () => (killed ? procs.slice(0, 2) : procs);
  const send = async (o, fields) => {
    try {
      const r = await h.webhook(o, fields);
      if (r.status === 200) acked.push(`${fields.CallSid}|${fields.CallStatus}`);
      else assert.ok(r.status === 503, `status ${r.status}: ${r.text}`);
    } catch { /* the killed process: not acknowledged */ }
  };
  const worker = async () => {
    while (i < 150) {
      const k = i++;
      const sid = `CAmp${k}`;
      const ps = alive();
      const to = NUMBERS[k % NUMBERS.length];
      // ringing, a duplicate of it elsewhere, then completed elsewhere.
      await send(ps[k % ps.length], { CallSid: sid, To: to, CallStatus: 'ringing' });
      await send(ps[(k + 1) % ps.length], { CallSid: sid, To: to, CallStatus: 'ringing' });
      await send(ps[(k + 2) % ps.length], { CallSid: sid, To: to, CallStatus: 'completed', CallDuration: '30' });
    }
  };
  const syncer = async (edge) => {
    let last = null;
    while (i < 150) {
      const ps = alive();
      try { last = await edgeSync(ps[seqs[edge] % ps.length], edge, last); } catch (e) {
        if (!String(e).includes('fetch failed')) throw e;
        seqs[edge]--; // not acknowledged: the same seq again elsewhere
      }
    }
  };
  const killer = (async () => {
    while (i < 50) await new Promise((r) => setTimeout(r, 10));
    killed = true;
    await procs[2].stop('SIGKILL');
  })();
  await Promise.all([worker(), worker(), worker(), worker(), syncer('e1'), syncer('e2'), killer]);

  const db = procs[0].db;
  const events = new Set(h.sql(db, "SELECT sid || '|' || status FROM call_events WHERE sid LIKE 'CAmp%'").split('\n'));
  const lost = acked.filter((k) => !events.has(k));
  assert.deepEqual(lost, [], 'acknowledged webhooks missing');
  assert.equal(h.sql(db, "SELECT count(*) FROM (SELECT sid FROM calls GROUP BY sid HAVING count(*) > 1) d"), '0');
  const completed = acked.filter((k) => k.endsWith('|completed')).map((k) => k.split('|')[0]);
  const finals = new Map(h.sql(db, "SELECT sid, status FROM calls WHERE sid LIKE 'CAmp%'").split('\n').map((l) => l.split('|')));
  for (const sid of completed) assert.equal(finals.get(sid), 'completed', sid);
  const batches = new Set(h.sql(db, "SELECT edge || '|' || seq FROM sync_batches").split('\n'));
  for (const [edge, seq] of ackedBatches) assert.ok(batches.has(`${edge}|${seq}`), `batch ${edge} #${seq}`);
  assert.ok(acked.length > 120, `${acked.length} acknowledged`);
  checkAudit(db);
});
