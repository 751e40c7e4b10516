// The lease engine through the binding on both builds: the lease rules
// (docs/pool.md) on a small pool, and one long random operation script whose
// every answer and event must be identical on the two targets.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS, load, prng } from './targets.mjs';

const NUMBERS = ['+18885550000', '+18885550001', '+18885550002'];

for (const target of TARGETS) {
  test(`${target}: assign, overflow, heartbeat, leave, release and attribution`, async () => {
    const dni = await load(target);
    const pool = dni.pool({ numbers: NUMBERS.slice(0, 2), default_number: '+18005550100',
      overflow_number: '+18005550199', buffer_s: 60, min_hold_s: 120, max_lease_s: 600, unconfirmed_hold_s: 90 });
    pool.recordEvents();
    const a = pool.assign('v1', 0);
    const b = pool.assign('v2', 1);
    assert.equal(a.kind, 'new');
    // new leases hold unconfirmed_hold_s until confirmed
    assert.equal(pool.leaseInfo(b.lease).confirmed, false);
    assert.equal(pool.leaseInfo(b.lease).end, 91);
    assert.equal(dni.leaseEnd({ min_hold_s: 120, unconfirmed_hold_s: 90 }, 1, 1, 1, false), 91);
    assert.equal(dni.leaseEnd({ min_hold_s: 120, unconfirmed_hold_s: 90 }, 1, 1, 1, true), 121);
    assert.notEqual(a.number, b.number);
    assert.deepEqual(pool.assign('v1', 2), { ...a, kind: 'current' });
    const over = pool.assign('v3', 3);
    assert.equal(over.kind, 'overflow');
    assert.equal(over.number, '+18005550199');
    assert.equal(pool.leaseInfo(a.lease).confirmed, true, 'a second assign confirms');
    assert.equal(pool.leave(b.lease, 90), true);
    assert.equal(pool.leaseInfo(b.lease).confirmed, true, 'a leave confirms');
    assert.equal(pool.seen(a.lease, 100), true);
    assert.equal(pool.leaseInfo(a.lease).last_seen, 100);
    const call = pool.callStart(a.number, 150);
    assert.deepEqual(call, { attributed: true, lease: a.lease, likelihood: 1, live: true });
    assert.equal(pool.tick(1000), 1, 'b released, a pinned by its call');
    pool.callEnd(a.number, 1100);
    assert.equal(pool.leaseInfo(a.lease), null);
    const types = pool.events().map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['assign', 'assign', 'seen']);
    assert.ok(types.includes('overflow') && types.includes('call') && types.includes('release'));
    const st = pool.stats();
    assert.equal(st.overflows, 1);
    assert.equal(st.leases, 2);
    assert.ok(st.bytes_per_lease > 0);
    assert.throws(() => pool.assign('v4', 5), (e) => e.errName === 'DNI_EORDER');
    assert.throws(() => pool.grant('nope'), (e) => e.errName === 'DNI_ENOTPHONE');
    pool.free();
  });

  test(`${target}: tags mode shares one lease among equal tracked tags`, async () => {
    const dni = await load(target);
    const pool = dni.pool({ mode: 'tags', tracked_tags: ['utm_source', 'gclid'], numbers: NUMBERS });
    const g1 = pool.assign('a', 0, { utm_source: 'google', other: 'x' });
    const g2 = pool.assign('b', 1, { utm_source: 'google', other: 'y' });
    const g3 = pool.assign('c', 2, { utm_source: 'google', gclid: '' });
    assert.equal(g2.lease, g1.lease);
    assert.equal(g2.kind, 'current');
    assert.notEqual(g3.lease, g1.lease, 'an empty value differs from no value');
    pool.free();
    assert.equal(dni.leaseEndTime({ buffer_s: 60, min_hold_s: 300, max_lease_s: 1800 }, 0, 1000, 0), 1060);
    const cands = dni.attribute({}, [{ start: 0, end: 100 }, { start: 200, end: Infinity }], 250);
    assert.equal(cands[0].index, 1);
    assert.equal(cands[0].likelihood, 1);
  });
}

// The same random script on both targets: every result and event equal.
function script(dni, seed) {
  const rnd = prng(seed);
  const pool = dni.pool({ numbers: Array.from({ length: 20 }, (_, i) => `+1888555${String(i).padStart(4, '0')}`),
    default_number: '+18005550100', buffer_s: 30, min_hold_s: 60, max_lease_s: 900 });
  pool.recordEvents();
  const log = [];
  const leases = [];
  let t = 0;
  for (let i = 0; i < 20000; i++) {
    t += rnd() * 2;
    const r = rnd();
    try {
      if (r < 0.4) {
        const a = pool.assign(`v${Math.floor(rnd() * 300)}`, t);
        if (a.lease) leases.push(a.lease);
        log.push(a);
      } else if (r < 0.7 && leases.length) {
        log.push(pool.seen(leases[Math.floor(rnd() * leases.length)], t));
      } else if (r < 0.8 && leases.length) {
        log.push(pool.leave(leases[Math.floor(rnd() * leases.length)], t));
      } else if (r < 0.85) {
        const n = Math.floor(rnd() * 20);
        log.push(pool.callStart(n, t));
        log.push(pool.callEnd(n, t + rnd() * 5));
        t += 5;
      } else {
        log.push(pool.tick(t));
      }
    } catch (e) {
      log.push(e.errName);
    }
    if (i % 1000 === 0) log.push(pool.events());
  }
  log.push(pool.events(), pool.stats());
  pool.free();
  return log;
}

test('the two targets answer a 20000-operation script identically', async () => {
  const [a, b] = await Promise.all(TARGETS.map(load));
  const la = script(a, 99);
  const lb = script(b, 99);
  assert.ok(la.length > 20000);
  assert.ok(la.some((x) => x && x.kind === 'overflow') || la.some((x) => x && x.kind === 'sticky'));
  assert.deepEqual(lb, la);
});
