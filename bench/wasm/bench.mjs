// bench.mjs - the WebAssembly builds next to native, on the same work:
//
//   - rewriter throughput (MB/s) over the corpus pages (argv[2], the
//     folder `make bench` passes as $(CORPUS)) or, without it, a generated
//     1 MB page; the WASM figure goes through the JS binding (copy in,
//     rewrite, copy out), as the edge uses it;
//   - lease-engine operations per second (assign, heartbeat, leave);
//   - size of dni.wasm, raw and gzipped (target: under 50 KB gzipped), and
//     the time to compile and instantiate it.
//
// Targets (WASM >= 0.5x native, < 50 KB) are printed next to the figures,
// never asserted. Usage: node bench/wasm/bench.mjs [CORPUS_DIR]
// with DNI_BUILD pointing at the build folder (default build/).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadDni, loadDniEmscripten } from '../../wasm/dni.mjs';
import { generatePage, RULES } from '../../tests/wasm/page.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = path.resolve(ROOT, process.env.DNI_BUILD || 'build');
const NATIVE = path.join(BUILD, 'bench/wasm/native_ref');
const SECONDS = Number(process.env.DNI_BENCH_SECONDS || 1.5);
const POOL_OPS = 2_000_000;
const WASI = path.join(BUILD, 'wasm/dni.wasm');
const EM_DIR = path.join(BUILD, 'wasm/emscripten');

// ---- corpus ------------------------------------------------------------

let corpusDir = process.argv[2];
let files;
let tmp = null;
if (corpusDir && fs.existsSync(corpusDir) && fs.statSync(corpusDir).isDirectory()) {
  files = fs.readdirSync(corpusDir).filter((f) => /\.html?$/.test(f)).sort().map((f) => path.join(corpusDir, f));
}
if (!files || files.length === 0) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dni-bench-'));
  const f = path.join(tmp, 'generated.html');
  fs.writeFileSync(f, generatePage(1024 * 1024, 7));
  files = [f];
  corpusDir = 'generated 1 MB page';
}
const pages = files.map((f) => fs.readFileSync(f));
const corpusBytes = pages.reduce((s, p) => s + p.length, 0);

// ---- helpers -------------------------------------------------------------

const mbps = (bytes, s) => bytes / s / 1e6;
const fmt = (x, d = 1) => x.toFixed(d).padStart(9);
function row(label, native, wasi, em, unit) {
  const r = (x) => (native ? `${(x / native).toFixed(2)}x` : '-').padStart(7);
  console.log(`${label.padEnd(26)}${fmt(native)}${fmt(wasi)} ${r(wasi)}${fmt(em)} ${r(em)}  ${unit}`);
}

function nativeRun(args) {
  return JSON.parse(execFileSync(NATIVE, args, { encoding: 'utf8' }));
}

async function loadBoth() {
  const wasi = await loadDni(fs.readFileSync(WASI));
  const factory = (await import(pathToFileURL(path.join(EM_DIR, 'dni.mjs')).href)).default;
  const em = await loadDniEmscripten(factory, fs.readFileSync(path.join(EM_DIR, 'dni.wasm')));
  return { wasi, em };
}

// The same loop as native_ref swap: every page in 64 KiB writes, again and
// again for about SECONDS, after one warm-up round.
function wasmSwap(dni) {
  const rw = dni.rewriter(RULES);
  const round = () => {
    for (const page of pages) {
      rw.reset();
      for (let at = 0; at < page.length; at += 65536) rw.write(page.subarray(at, at + 65536));
      rw.end();
    }
  };
  // Warm up long enough for V8 to tier the module up from its baseline
  // compiler to the optimising one, as it is on a busy edge.
  for (const t0 = performance.now(); performance.now() - t0 < 500;) round();
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  for (let r = 0; elapsed < SECONDS || r < 2; r++) {
    round();
    bytes += corpusBytes;
    elapsed = (performance.now() - start) / 1000;
  }
  rw.free();
  return mbps(bytes, elapsed);
}

// The same operation mix as native_ref pool.
function wasmPool(dni) {
  const pool = dni.pool({ numbers: Array.from({ length: 1000 }, (_, n) => `+1888${String(n).padStart(7, '0')}`) });
  const keys = Array.from({ length: 20000 }, (_, v) => `v${v}`);
  const mix = (from, count) => {
    let ops = 0;
    for (let i = from; ops < count; i++) {
      const t = i * 0.01;
      const a = pool.assign(keys[(i * 7919) % 20000], t);
      ops++;
      if (a.lease !== 0) {
        pool.seen(a.lease, t);
        ops++;
        if (i % 4 === 0) {
          pool.leave(a.lease, t);
          ops++;
        }
      }
    }
  };
  mix(0, POOL_OPS / 4); // warm-up (time keeps rising into the measured run)
  pool.free();
  return measurePool(dni, keys);
}

function measurePool(dni, keys) {
  const pool = dni.pool({ numbers: Array.from({ length: 1000 }, (_, n) => `+1888${String(n).padStart(7, '0')}`) });
  let ops = 0;
  const start = performance.now();
  for (let i = 0; ops < POOL_OPS; i++) {
    const t = i * 0.01;
    const a = pool.assign(keys[(i * 7919) % 20000], t);
    ops++;
    if (a.lease !== 0) {
      pool.seen(a.lease, t);
      ops++;
      if (i % 4 === 0) {
        pool.leave(a.lease, t);
        ops++;
      }
    }
  }
  const s = (performance.now() - start) / 1000;
  pool.free();
  return ops / s;
}

async function compileTime(bytes, emFactory) {
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    if (emFactory) await emFactory({ wasmBinary: bytes });
    else await WebAssembly.instantiate(await WebAssembly.compile(bytes), {});
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// ---- run -------------------------------------------------------------------

const { wasi, em } = await loadBoth();
console.log(`# WebAssembly vs native (corpus: ${corpusDir}, ${files.length} file(s), ${(corpusBytes / 1e6).toFixed(2)} MB; node ${process.version})`);
console.log(`${''.padEnd(26)}${'native'.padStart(9)}${'wasi'.padStart(9)} ${'ratio'.padStart(7)}${'emscr.'.padStart(9)} ${'ratio'.padStart(7)}`);

const nswap = nativeRun(['swap', String(SECONDS), ...RULES, '--', ...files]);
row('rewriter throughput', mbps(nswap.bytes, nswap.seconds), wasmSwap(wasi), wasmSwap(em), 'MB/s (target wasm >= 0.5x)');

const npool = nativeRun(['pool', String(POOL_OPS)]);
const k = 1e6;
row('engine operations', npool.ops / npool.seconds / k, wasmPool(wasi) / k, wasmPool(em) / k, 'M ops/s');

const wasiBytes = fs.readFileSync(WASI);
const emBytes = fs.readFileSync(path.join(EM_DIR, 'dni.wasm'));
const emJs = fs.readFileSync(path.join(EM_DIR, 'dni.mjs'));
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
console.log('');
console.log(`dni.wasm (wasi)            ${(wasiBytes.length / 1024).toFixed(1)} KB raw, ${(gz(wasiBytes) / 1024).toFixed(1)} KB gzipped (target < 50 KB)`);
console.log(`emscripten dni.wasm + .mjs ${(emBytes.length / 1024).toFixed(1)} KB + ${(emJs.length / 1024).toFixed(1)} KB raw, ${(gz(emBytes) / 1024).toFixed(1)} KB + ${(gz(emJs) / 1024).toFixed(1)} KB gzipped`);
const emFactory = (await import(pathToFileURL(path.join(EM_DIR, 'dni.mjs')).href)).default;
console.log(`compile + instantiate      wasi ${(await compileTime(wasiBytes)).toFixed(2)} ms, emscripten ${(await compileTime(emBytes, emFactory)).toFixed(2)} ms (median of 15)`);
console.log(`memory per rewriter        ${wasi.rewriterMemory()} bytes inside the module`);
if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
