// Every golden case (tests/golden/<case>.html with its .args) through both
// WebAssembly builds, via the binding and via `node wasm/cli.mjs swap`:
// byte-identical to the native `dni swap` output (which is itself checked
// against <case>.expected.html by the C tests).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, TARGETS, load, native, wasmCli, prng, concat } from './targets.mjs';

const DIR = path.join(ROOT, 'tests/golden');
const CASES = fs.readdirSync(DIR)
  .filter((f) => f.endsWith('.html') && !f.endsWith('.expected.html'))
  .map((f) => f.slice(0, -'.html'.length))
  .sort();

// The .args format of tests/golden/README.md: "--option value" per line.
function readArgs(name) {
  const file = path.join(DIR, `${name}.args`);
  const args = [];
  if (!fs.existsSync(file)) return args;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.indexOf(' ');
    if (sp < 0) args.push(line);
    else args.push(line.slice(0, sp), line.slice(sp + 1));
  }
  return args;
}

function rulesOf(args) {
  const rules = [];
  let country = '';
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--rule') rules.push(args[i + 1]);
    else if (args[i] === '--country') country = args[i + 1];
  }
  return { rules, country };
}

// Where two outputs first differ, for a readable failure.
export function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function assertSame(actual, expected, label) {
  const at = firstDiff(actual, expected);
  if (at < 0) return;
  const show = (buf) => JSON.stringify(buf.subarray(Math.max(0, at - 20), at + 20).toString('latin1'));
  assert.fail(`${label}: first difference at byte ${at}: got ${show(actual)}, native ${show(expected)}`);
}

test('the golden folder has cases', () => {
  assert.ok(CASES.length >= 10, `found ${CASES.length} cases`);
});

for (const target of TARGETS) {
  test(`${target}: every golden case, whole, split in two everywhere and byte by byte`, async () => {
    const dni = await load(target);
    for (const name of CASES) {
      const input = fs.readFileSync(path.join(DIR, `${name}.html`));
      const args = readArgs(name);
      const ref = native(['swap', ...args, path.join(DIR, `${name}.html`)]);
      assert.equal(ref.status, 0, `${name}: native dni swap failed: ${ref.stderr}`);
      const { rules, country } = rulesOf(args);
      const rw = dni.rewriter(rules, { country });
      const run = (pieces) => {
        rw.reset();
        const out = [];
        for (const p of pieces) out.push(rw.write(p));
        out.push(rw.end());
        return concat(out);
      };
      assertSame(run([input]), ref.stdout, `${name} whole`);
      for (let i = 0; i <= input.length; i++)
        assertSame(run([input.subarray(0, i), input.subarray(i)]), ref.stdout, `${name} split at ${i}`);
      const bytes = [];
      for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
      assertSame(run(bytes), ref.stdout, `${name} byte by byte`);
      const rnd = prng(name.length * 7919 + input.length);
      for (let k = 0; k < 8; k++) {
        const pieces = [];
        for (let at = 0; at < input.length;) {
          const n = 1 + Math.floor(rnd() * 64);
          pieces.push(input.subarray(at, at + n));
          at += n;
        }
        assertSame(run(pieces), ref.stdout, `${name} random chunking ${k}`);
      }
      rw.free();
    }
  });

  test(`${target}: wasm/cli.mjs swap prints what dni swap prints for every golden case`, () => {
    for (const name of CASES) {
      const file = path.join(DIR, `${name}.html`);
      const args = ['swap', ...readArgs(name), '--chunk-size', '7', file];
      const ref = native(args);
      const got = wasmCli(target, args);
      assert.equal(got.status, ref.status, `${name}: exit status (${got.stderr})`);
      assert.equal(got.stderr, ref.stderr, `${name}: stderr`);
      assertSame(got.stdout, ref.stdout, `${name} via cli`);
    }
  });
}
