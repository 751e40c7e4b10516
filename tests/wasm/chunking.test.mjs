// A generated page of more than 1 MB, full of numbers in every context,
// rewritten natively once and then through both WebAssembly builds under
// many random chunkings: every output must be byte-identical to native.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TARGETS, load, native, prng, concat } from './targets.mjs';
import { generatePage, RULES } from './page.mjs';

const SEED = Number(process.env.DNI_SEED || 20240611);
const CHUNKINGS = 24;
const page = generatePage(1.1 * 1024 * 1024, SEED);
const ruleArgs = RULES.flatMap((r) => ['--rule', r]);

let reference;
function nativeOutput() {
  if (reference) return reference;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dni-wasm-')), 'page.html');
  fs.writeFileSync(file, page);
  const r = native(['swap', ...ruleArgs, file]);
  fs.rmSync(path.dirname(file), { recursive: true });
  assert.equal(r.status, 0, r.stderr);
  reference = r.stdout;
  return reference;
}

// Chunk sizes from several regimes: single bytes, small, around the
// binding's input buffer, and huge.
function chunking(rnd) {
  const style = Math.floor(rnd() * 4);
  const sizes = [
    () => 1 + Math.floor(rnd() * 16),
    () => 1 + Math.floor(rnd() * 4096),
    () => 65536 - 8 + Math.floor(rnd() * 16),
    () => 1 + Math.floor(rnd() * 400000),
  ];
  const pieces = [];
  for (let at = 0; at < page.length;) {
    const n = rnd() < 0.1 ? 0 : sizes[(style + (rnd() < 0.2 ? 1 : 0)) % 4]();
    pieces.push(page.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

test('the generated page is over 1 MB and has numbers to swap', () => {
  assert.ok(page.length > 1024 * 1024);
  const out = nativeOutput();
  assert.notDeepEqual(out, page, 'native rewrote something');
});

for (const target of TARGETS) {
  test(`${target}: ${CHUNKINGS} random chunkings of a 1 MB page equal native (seed ${SEED})`, async () => {
    const dni = await load(target);
    const ref = nativeOutput();
    const rw = dni.rewriter(RULES);
    const rnd = prng(SEED ^ (target === 'wasi' ? 0x5eed : 0xe5c));
    for (let k = 0; k < CHUNKINGS; k++) {
      rw.reset();
      const out = [];
      for (const piece of chunking(rnd)) out.push(rw.write(piece));
      out.push(rw.end());
      const got = concat(out);
      assert.ok(got.equals(ref), `chunking ${k}: output differs from native (seed ${SEED})`);
    }
    const swaps = rw.swaps;
    assert.ok(swaps > 1000, `swaps counted: ${swaps}`);
    rw.free();
  });
}
