// The simulator scenarios (tests/sim/<name>.pool.json + <name>.jsonl)
// through both WebAssembly builds: `node wasm/cli.mjs sim` prints the same
// report as the native `dni sim`, with and without --size/--recommend; and
// bad input gets the same message and exit status.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TARGETS, native, wasmCli } from './targets.mjs';

const DIR = path.join(ROOT, 'tests/sim');
const SCENARIOS = fs.readdirSync(DIR)
  .filter((f) => f.endsWith('.pool.json'))
  .map((f) => f.slice(0, -'.pool.json'.length))
  .filter((n) => fs.existsSync(path.join(DIR, `${n}.jsonl`)))
  .sort();
const VARIANTS = [[], ['--recommend', '0.9'], ['--size', '3'], ['--size', '1', '--recommend', '0.5']];

function same(target, args, input) {
  const ref = native(args, input);
  const got = wasmCli(target, args, input);
  assert.equal(got.status, ref.status, `${args.join(' ')}: exit status (${got.stderr})`);
  assert.equal(got.stderr, ref.stderr, `${args.join(' ')}: stderr`);
  assert.equal(got.stdout.toString(), ref.stdout.toString(), `${args.join(' ')}: report`);
  return ref;
}

test('there are simulator scenarios', () => {
  assert.ok(SCENARIOS.length >= 1, `found ${SCENARIOS.length}`);
});

// Bad pools and traces, each written to a temporary folder.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dni-wasm-sim-'));
const write = (name, text) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};
const POOL = write('ok.json', '{"numbers":["+18885550000","+18885550001"],"default_number":"+18005550100"}');
const TRACE = write('ok.jsonl', '{"t":0,"ev":"visit","visitor":"a"}\n\n{"t":5,"ev":"call","visitor":"a","duration":60}\n');
const BAD_POOLS = [
  '{', '[]', '{"numbers":"x"}', '{"numbers":[1]}', '{"numbers":[],"mode":"x"}',
  '{"numbers":[],"buffer_s":-1}', '{"numbers":[],"default_number":"800-555-0100"}',
  '{"numbers":["+18885550000","+18885550000"]}', '{"numbers":["12"]}',
  '{"numbers":[],"tracked_tags":"a"}', '{"numbers":[],"number_limit":1.5}',
  '{"numbers":["+18885550000"]} trailing', '\ufeff{"numbers":["+18885550000"]}',
];
const BAD_TRACES = [
  'nope', '{"t":"0","ev":"visit","visitor":"a"}', '{"t":0,"ev":1,"visitor":"a"}',
  '{"t":0,"ev":"visit","visitor":2}', '{"t":0,"ev":"visit","visitor":"a","tags":[]}',
  '{"t":0,"ev":"visit","visitor":"a","tags":{"x":1}}', '{"t":0,"ev":"fly","visitor":"a"}',
  '{"t":5,"ev":"visit","visitor":"a"}\n{"t":1,"ev":"hb","visitor":"a"}',
  '{"t":0,"ev":"call","visitor":"a","duration":-1}', `{"t":0,"ev":"${'x'.repeat(80)}","visitor":"a"}`,
  '{"t":0,"ev":"visit","visitor":"a"} {"junk"',
];

for (const target of TARGETS) {
  test(`${target}: every scenario's report equals native`, () => {
    for (const name of SCENARIOS) {
      for (const v of VARIANTS) {
        const ref = same(target, ['sim', '--pool', path.join(DIR, `${name}.pool.json`), ...v, path.join(DIR, `${name}.jsonl`)]);
        assert.equal(ref.status, 0, `${name}: native sim failed: ${ref.stderr}`);
        assert.match(ref.stdout.toString(), /"accuracy":/);
      }
    }
  });

  test(`${target}: trace on stdin and bad input give native's output and status`, () => {
    same(target, ['sim', '--pool', POOL], fs.readFileSync(TRACE));
    same(target, ['sim', '--pool', POOL, TRACE]);
    BAD_POOLS.forEach((text, i) => same(target, ['sim', '--pool', write(`bad${i}.json`, text), TRACE]));
    BAD_TRACES.forEach((text, i) => same(target, ['sim', '--pool', POOL, write(`bad${i}.jsonl`, text)]));
    for (const args of [['sim'], ['sim', '--pool'], ['sim', '--pool', POOL, '--size', '0'],
      ['sim', '--pool', POOL, '--recommend', '1.5'], ['sim', '--pool', POOL, '--recommend', ' 0.5', TRACE],
      ['sim', '--pool', POOL, '--bogus'], ['sim', '--pool', POOL, TRACE, TRACE],
      ['sim', '--pool', path.join(tmp, 'missing.json'), TRACE], ['sim', '--pool', POOL, tmp], ['sim', '--help']])
      same(target, args);
  });

  test(`${target}: swap usage errors give native's message and status`, () => {
    const page = write('p.html', '<p>800-555-1234</p>');
    for (const args of [[], ['bogus'], ['--help'], ['swap'], ['swap', '--rule'],
      ['swap', '--rule', '800-555-1234'], ['swap', '--rule', 'x=+18885550000'],
      ['swap', '--rule=800-555-1234=+18885550000', '--chunk-size', '0', page],
      ['swap', '--rule', '800-555-1234=+18885550000', '--country', 'ZZ', page],
      ['swap', '--rule', '800-555-1234=+18885550000@##', page],
      ['swap', '--rule', '800-555-1234=+18885550000', '--what', page],
      ['swap', '--rule', '800-555-1234=+18885550000', page, page],
      ['swap', '--rule', '800-555-1234=+18885550000', path.join(tmp, 'missing.html')],
      ['swap', '--rule', '800-555-1234=+18885550000', tmp],
      ['swap', '--rule', '800-555-1234=+18885550000', '--chunk-size=3', page]]) {
      const ref = same(target, args, '<b>(800) 555-1234</b>');
      assert.ok(ref.status === 0 || ref.stderr.length > 0, `${args.join(' ')}: an error says why`);
    }
  });
}

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
