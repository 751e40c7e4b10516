// The head insert point through both WebAssembly builds: every case of
// tests/golden/head/ (the same files the C test checks) gives its
// .expected.html byte for byte, whole and in random chunkings, with the
// insert passed as the rewriter's `head` option.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, TARGETS, load, prng, concat } from './targets.mjs';

const DIR = path.join(ROOT, 'tests/golden/head');
const HEAD = '<meta name="dni" content="[{&quot;pool&quot;:1}]">';
const RULE = '800-555-1234=+18885550000';
const CASES = fs.readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.html'))
  .map((f) => f.slice(0, -'.expected.html'.length))
  .sort();

function rewrite(rw, input, cuts) {
  const parts = [];
  let at = 0;
  for (const c of [...cuts, input.length]) {
    parts.push(rw.write(input.subarray(at, c)));
    at = c;
  }
  parts.push(rw.end());
  return concat(parts);
}

for (const target of TARGETS) {
  test(`${target}: head insert, every case of tests/golden/head`, async () => {
    const dni = await load(target);
    assert.ok(CASES.length >= 15);
    const rand = prng(12);
    for (const name of CASES) {
      const input = fs.readFileSync(path.join(DIR, `${name}.html`));
      const want = fs.readFileSync(path.join(DIR, `${name}.expected.html`));
      const rw = dni.rewriter([RULE], { head: HEAD });
      try {
        assert.deepEqual(Buffer.from(rewrite(rw, input, [])), want, `${name}: whole`);
        assert.ok(rw.headWritten, `${name}: headWritten`);
        for (let round = 0; round < 20; round++) {
          rw.reset();
          assert.equal(rw.headWritten, false);
          rw.setHead(HEAD);
          const cuts = [];
          for (let at = 1 + Math.floor(rand() * 6); at < input.length; at += 1 + Math.floor(rand() * 6))
            cuts.push(at);
          assert.deepEqual(Buffer.from(rewrite(rw, input, cuts)), want, `${name}: cuts ${cuts}`);
        }
      } finally {
        rw.free();
      }
    }
  });

  test(`${target}: setHead after the first byte is refused`, async () => {
    const dni = await load(target);
    const rw = dni.rewriter([RULE]);
    try {
      rw.write('<html>');
      assert.throws(() => rw.setHead('<meta>'), (e) => e.errName === 'DNI_ESTATE');
      rw.end();
      rw.reset();
      rw.setHead(new TextEncoder().encode('<m>'));
      assert.equal(Buffer.from(concat([rw.write('<p>x'), rw.end()])).toString(), '<m><p>x');
    } finally {
      rw.free();
    }
  });
}
