// targets.mjs - what every wasm test needs: where the builds are, the two
// WebAssembly targets loaded through the binding, and runners for the
// native `dni` command and `node wasm/cli.mjs`.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadDni, loadDniEmscripten } from '../../wasm/dni.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.resolve(ROOT, process.env.DNI_BUILD || 'build');
export const NATIVE = path.join(BUILD, 'bin/dni');
export const WASI_WASM = path.join(BUILD, 'wasm/dni.wasm');
export const EM_MJS = path.join(BUILD, 'wasm/emscripten/dni.mjs');
export const EM_WASM = path.join(BUILD, 'wasm/emscripten/dni.wasm');
export const CLI = path.join(ROOT, 'wasm/cli.mjs');

export const TARGETS = ['wasi', 'emscripten'];

/** The binding's API object over one build. */
export async function load(target) {
  if (target === 'wasi') return loadDni(fs.readFileSync(WASI_WASM));
  const factory = (await import(pathToFileURL(EM_MJS).href)).default;
  return loadDniEmscripten(factory, fs.readFileSync(EM_WASM));
}

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    input: input ?? '',
    maxBuffer: 1 << 28,
    env: { ...process.env, DNI_BUILD: BUILD },
  });
  // EPIPE: the command exited (e.g. on a usage error) before reading its
  // input; its status and output are still what is compared.
  if (r.error && r.error.code !== 'EPIPE') throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Runs the native command: `dni ...args`. */
export function native(args, input) {
  return run(NATIVE, args, input);
}

/** Runs `node wasm/cli.mjs ...args --target target`. */
export function wasmCli(target, args, input) {
  return run(process.execPath, [CLI, '--target', target, ...args], input);
}

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function concat(parts) {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}
