// Snapshots of the lease engine through the binding, on both builds: a
// restored engine gives the same bytes and the same answers as the one it
// came from, both builds write the same bytes for the same state (so a
// Durable Object may be restored by either), corrupt or truncated bytes
// are refused with DNI_ESYNTAX, and the edge's extra calls (lookup, touch,
// endLease) behave as documented.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS, load, prng } from './targets.mjs';

const NUMBERS = Array.from({ length: 12 }, (_, i) => `+1888555${String(i).padStart(4, '0')}`);
const SETTINGS = { numbers: NUMBERS, default_number: '+18005550100', buffer_s: 20,
  min_hold_s: 30, max_lease_s: 300, sticky_s: 600 };

// One random step on a pool; returns what it answered (errors by name).
function step(pool, rnd, t, leases) {
  const r = rnd();
  try {
    if (r < 0.35) {
      const a = pool.assign(`v${Math.floor(rnd() * 40)}`, t);
      if (a.lease) leases.push(a.lease);
      return a;
    }
    const lease = leases.length ? leases[Math.floor(rnd() * leases.length)] : 1;
    if (r < 0.6) return pool.touch(lease, t);
    if (r < 0.7) return pool.touch(lease, t, true);
    if (r < 0.75) return pool.endLease(lease, t);
    if (r < 0.8) return pool.lookup(`v${Math.floor(rnd() * 40)}`, t);
    if (r < 0.85) {
      const n = Math.floor(rnd() * 12);
      return [pool.callStart(n, t), pool.callEnd(n, t)];
    }
    return pool.tick(t);
  } catch (e) {
    return e.errName;
  }
}

for (const target of TARGETS) {
  test(`${target}: a restored engine is the same engine`, async () => {
    const dni = await load(target);
    const a = dni.pool(SETTINGS);
    let b = dni.pool(SETTINGS);
    a.recordEvents();
    b.recordEvents();
    const ra = prng(7);
    const rb = prng(7);
    const la = [];
    const lb = [];
    let t = 0;
    let restores = 0;
    for (let i = 0; i < 4000; i++) {
      t += ra() * 3;
      rb();
      if (i % 37 === 36) {
        const bytes = b.snapshot();
        b.free();
        b = dni.poolRestore(bytes, SETTINGS);
        assert.deepEqual(b.snapshot(), bytes, 'restore then snapshot gives the same bytes');
        restores++;
      }
      const x = step(a, ra, t, la);
      const y = step(b, rb, t, lb);
      assert.deepEqual(y, x, `step ${i}`);
      if (i % 50 === 0) assert.deepEqual(b.events(), a.events(), `events at step ${i}`);
    }
    assert.ok(restores > 100);
    assert.deepEqual(b.stats().leases, a.stats().leases);
    assert.ok(a.stats().leases > 200, 'the run made leases');
    assert.deepEqual(b.snapshot(), a.snapshot());
    a.free();
    b.free();
  });

  test(`${target}: corrupt, truncated and foreign bytes are refused`, async () => {
    const dni = await load(target);
    const pool = dni.pool(SETTINGS);
    pool.assign('v1', 1);
    pool.assign('a-visitor-id-longer-than-thirty-two-bytes', 2);
    const good = pool.snapshot();
    for (const cut of [0, 3, 23, 24, good.length >> 1, good.length - 1]) {
      assert.throws(() => dni.poolRestore(good.subarray(0, cut)), (e) => e.errName === 'DNI_ESYNTAX', `cut ${cut}`);
    }
    let refused = 0;
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i] ^= 0x10;
      try { dni.poolRestore(bad).free(); } catch (e) {
        if (e.errName === 'DNI_ESYNTAX' || e.errName === 'DNI_ERANGE') refused++;
      }
    }
    assert.equal(refused, good.length, 'every flipped byte refused');
    assert.throws(() => dni.poolRestore(new TextEncoder().encode('{"leases":[]}')),
      (e) => e.errName === 'DNI_ESYNTAX' && /snapshot refused/.test(e.message));
    // memory is not leaked by refusals: the module did not grow for them
    const before = dni.memory.buffer.byteLength;
    for (let i = 0; i < 200; i++) {
      try { dni.poolRestore(good.subarray(0, good.length - 1)); } catch { /* expected */ }
    }
    assert.equal(dni.memory.buffer.byteLength, before);
    const back = dni.poolRestore(good);
    assert.equal(back.lookup('v1', 3), 1);
    back.free();
    pool.free();
  });

  test(`${target}: lookup, touch and endLease`, async () => {
    const dni = await load(target);
    const pool = dni.pool({ ...SETTINGS, mode: 'tags', tracked_tags: ['utm_campaign'] });
    pool.recordEvents();
    assert.equal(pool.lookup('x', 0, { utm_campaign: 'spring' }), 0);
    assert.equal(pool.stats().leases, 0, 'lookup makes no lease');
    const a = pool.assign('x', 1, { utm_campaign: 'spring' });
    assert.equal(pool.lookup('y', 2, { utm_campaign: 'spring' }), a.lease, 'same tags, same lease');
    assert.equal(pool.touch(a.lease, 10), 31, 'end = max(10 + 20, 1 + 30)');
    assert.equal(pool.touch(a.lease, 30, true), 50, 'a leave: buffer_s from now');
    assert.equal(pool.endLease(a.lease, 35), true);
    assert.equal(pool.endLease(a.lease, 36), false);
    assert.equal(pool.touch(a.lease, 37), -1);
    assert.equal(pool.lookup('x', 58, { utm_campaign: 'spring' }), 0);
    const types = pool.events().map((e) => e.type);
    assert.deepEqual(types, ['assign', 'seen', 'seen', 'release']);
    // restored with new settings: the lease's end follows them
    const b = pool.assign('x', 60, { utm_campaign: 'fall' });
    const r = dni.poolRestore(pool.snapshot(), { ...SETTINGS, mode: 'tags', tracked_tags: ['utm_campaign'], buffer_s: 100 });
    assert.equal(r.lookup('z', 61, { utm_campaign: 'fall' }), b.lease);
    assert.equal(r.touch(b.lease, 62), 162, 'buffer_s 100 now');
    r.free();
    pool.free();
  });
}

test('both builds write the same snapshot bytes and read each other\'s', async () => {
  const [a, b] = await Promise.all(TARGETS.map(load));
  const pa = a.pool(SETTINGS);
  const pb = b.pool(SETTINGS);
  const ra = prng(11);
  const rb = prng(11);
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    t += ra() * 3;
    rb();
    step(pa, ra, t, []);
    step(pb, rb, t, []);
  }
  const sa = pa.snapshot();
  assert.deepEqual(pb.snapshot(), sa);
  const cross = b.poolRestore(sa, SETTINGS);
  assert.deepEqual(cross.snapshot(), sa);
  assert.deepEqual(cross.assign('newcomer', t + 1), pa.assign('newcomer', t + 1));
  cross.free();
  pa.free();
  pb.free();
});
