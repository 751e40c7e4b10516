// The worker's heartbeat cache answers a lease's end time itself
// (edge/beat_cache.mjs leaseEnd); the shard's engine computes it in C.
// They must agree to the bit, or a visitor would be promised an end the
// shard does not keep. Compares the two over edge cases and random times.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDni } from '../../wasm/dni.mjs';
import { leaseEnd } from '../../edge/beat_cache.mjs';

const build = process.env.DNI_BUILD || 'build';

test('leaseEnd in the worker equals the core lease rule', async () => {
  const dni = await loadDni(readFileSync(join(build, 'wasm', 'dni.wasm')));
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 2 ** 32;
  };
  const cases = [
    // [buffer_s, min_hold_s, max_lease_s, start, last_seen, last_join]
    [60, 300, 1800, 1000, 1000, 1000],   // nothing since the page view: min_hold_s rules
    [60, 300, 1800, 1000, 1290, 1000],   // heartbeat late in the hold
    [60, 300, 1800, 1000, 2790, 1000],   // capped by max_lease_s
    [60, 0, 1800, 1000.25, 1000.5, 1000.25],
    [0, 0, 0, 5, 5, 5],
    [60, 300, 1800, 1795305975.243, 1795306011.017, 1795305990.5], // real clock values
  ];
  for (let i = 0; i < 2000; i++) {
    const start = 1.7e9 + rnd() * 1e8;
    const join = start + rnd() * 4000;
    cases.push([Math.floor(rnd() * 600), Math.floor(rnd() * 900), 60 + Math.floor(rnd() * 7200),
      start, join + rnd() * 5000, join]);
  }
  for (const [buffer_s, min_hold_s, max_lease_s, start, seen, join] of cases) {
    const core = dni.leaseEndTime({ buffer_s, min_hold_s, max_lease_s }, start, seen, join);
    const mine = leaseEnd([buffer_s, min_hold_s, max_lease_s], start, seen, join);
    assert.equal(mine, core, `timers ${buffer_s}/${min_hold_s}/${max_lease_s}, times ${start} ${seen} ${join}`);
    // the same with an unconfirmed hold, confirmed or not
    for (const unconfirmed_hold_s of [0, 30, 60, min_hold_s, 1e4]) {
      const t = { buffer_s, min_hold_s, max_lease_s, unconfirmed_hold_s };
      for (const confirmed of [false, true]) {
        assert.equal(leaseEnd([buffer_s, min_hold_s, max_lease_s, unconfirmed_hold_s], start, seen, join, confirmed),
          dni.leaseEnd(t, start, seen, join, confirmed),
          `unconfirmed ${unconfirmed_hold_s} confirmed ${confirmed}, times ${start} ${seen} ${join}`);
      }
    }
  }
});
