#!/usr/bin/env node
// cli.mjs - the `dni` command on a WebAssembly build of the core.
//
//   node wasm/cli.mjs swap ... [--target wasi|emscripten]
//   node wasm/cli.mjs sim ...  [--target wasi|emscripten]
//
// Takes exactly the arguments of the native `dni swap` / `dni sim`
// (core/src/cli/) and prints exactly what it prints: the same stdout bytes,
// the same exit status (0 ok, 1 I/O error, 2 usage error or bad input) and
// the same one-line messages on stderr. Only the parsing of files and
// arguments is done here; rules, rewriting, the simulator and its report
// all come from the WebAssembly core, so parity tests compare the cores.
// `--target` may stand anywhere; the builds are read from $DNI_BUILD
// (default build/) under the repository.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadDni, loadDniEmscripten } from './dni.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.resolve(ROOT, process.env.DNI_BUILD || 'build');

const MAIN_USAGE =
  'usage: dni swap --rule DEFAULT=REPLACEMENT[@TEMPLATE] [--rule ...]\n' +
  '                [--country CC] [--chunk-size N] [FILE]\n' +
  '       dni sim --pool POOL.json [--size N] [--recommend ACCURACY]\n' +
  '               [TRACE.jsonl]\n' +
  '       dni call --origin URL --to NUMBER [--from NUMBER] [--duration S]\n' +
  '                [--status-sequence S1,S2,...] [--sid SID] [--wait S]\n' +
  '                [--json]\n';
const SIM_USAGE = 'usage: dni sim --pool POOL.json [--size N] [--recommend ACCURACY] [TRACE.jsonl]\n';
const MAX_RULE_ARGS = 64;
const DNI_MAX_RULES = 16;

// glibc's strerror() texts for the errors opening or reading a file can
// give, so messages match the native command's.
const STRERROR = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied',
  EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', EPERM: 'Operation not permitted',
  ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files', ENFILE: 'Too many open files in system',
  ENXIO: 'No such device or address', EIO: 'Input/output error', ENOMEM: 'Cannot allocate memory',
  EROFS: 'Read-only file system', ETXTBSY: 'Text file busy', ENODEV: 'No such device',
};
const strerror = (e) => STRERROR[e.code] || e.message;

class Exit extends Error {
  constructor(status) {
    super(`exit ${status}`);
    this.status = status;
  }
}

// ---- output --------------------------------------------------------------

// Synchronous writes with a retry on EAGAIN (a pipe set non-blocking by
// the parent), so output order and completeness never depend on the event
// loop.
function writeAll(fd, bytes) {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += fs.writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function say(line) {
  writeAll(2, Buffer.from(line));
}

function fail(status, message) {
  say(message + '\n');
  throw new Exit(status);
}

// Output collected up to 64 KiB before each write, as stdio would.
class Out {
  constructor() {
    this.parts = [];
    this.size = 0;
  }

  push(bytes) {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.size >= 65536) this.flush();
  }

  flush() {
    if (this.size > 0) writeAll(1, Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}

// Reads up to buf.length bytes, like fread(): short only at end of file.
function readFull(fd, buf) {
  let got = 0;
  while (got < buf.length) {
    let n;
    try {
      n = fs.readSync(fd, buf, got, buf.length - got, null);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      if (e.code === 'EOF') return got;
      e.got = got;
      throw e;
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}

// ---- loading the core ----------------------------------------------------

async function loadTarget(target) {
  try {
    if (target === 'wasi') return await loadDni(fs.readFileSync(path.join(BUILD, 'wasm/dni.wasm')));
    const dir = path.join(BUILD, 'wasm/emscripten');
    const factory = (await import(pathToFileURL(path.join(dir, 'dni.mjs')).href)).default;
    return await loadDniEmscripten(factory, fs.readFileSync(path.join(dir, 'dni.wasm')));
  } catch (e) {
    return fail(1, `dni: cannot load the ${target} WebAssembly build from ${BUILD}: ${e.message}`);
  }
}

// ---- dni swap ------------------------------------------------------------

async function swap(argv, target) {
  const ruleArgs = [];
  let country = null;
  let file = null;
  let chunk = 64 * 1024;
  // "--name V" or "--name=V", as swap.c's option_value().
  const optionValue = (i, name) => {
    const a = argv[i];
    if (!a.startsWith(name)) return null;
    if (a[name.length] === '=') return { value: a.slice(name.length + 1), next: i };
    if (a.length !== name.length) return null;
    if (i + 1 >= argv.length) return { missing: true };
    return { value: argv[i + 1], next: i + 1 };
  };
  for (let i = 1; i < argv.length; i++) {
    let o;
    let missing = false;
    if ((o = optionValue(i, '--rule')) && !o.missing) {
      if (ruleArgs.length === MAX_RULE_ARGS) fail(2, `dni swap: at most ${DNI_MAX_RULES} rules`);
      ruleArgs.push(o.value);
      i = o.next;
      continue;
    }
    missing ||= Boolean(o && o.missing);
    if ((o = optionValue(i, '--country')) && !o.missing) {
      country = o.value;
      i = o.next;
      continue;
    }
    missing ||= Boolean(o && o.missing);
    if ((o = optionValue(i, '--chunk-size')) && !o.missing) {
      const v = o.value;
      if (!/^[0-9]+$/.test(v) || BigInt(v) === 0n || BigInt(v) > 1n << 30n)
        fail(2, `dni swap: --chunk-size must be a whole number from 1 to 1073741824, not '${v}'`);
      chunk = Number(v);
      i = o.next;
      continue;
    }
    missing ||= Boolean(o && o.missing);
    const a = argv[i];
    if (missing) fail(2, `dni swap: option '${a}' needs a value`);
    else if (a[0] === '-' && a.length > 1) fail(2, `dni swap: unknown option '${a}'`);
    else if (file !== null) fail(2, `dni swap: more than one input file ('${a}')`);
    else file = a;
  }
  if (ruleArgs.length === 0) fail(2, 'dni swap: at least one --rule DEFAULT=REPLACEMENT is needed');

  const dni = await loadTarget(target);
  let rw;
  try {
    rw = dni.rewriter(ruleArgs, { country: country ?? '', inputSize: chunk });
  } catch (e) {
    if (e.code === -1) fail(1, 'dni swap: out of memory');
    fail(2, `dni swap: ${e.message}`);
  }

  let fd = 0;
  if (file !== null && file !== '-') {
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      fail(1, `dni swap: cannot open '${file}': ${strerror(e)}`);
    }
  }
  const out = new Out();
  const buf = Buffer.allocUnsafe(Math.max(chunk, 65536));
  let status = 0;
  let readFailed = false;
  try {
    for (;;) {
      let got;
      try {
        got = readFull(fd, buf);
      } catch (e) {
        got = e.got ?? 0;
        readFailed = true;
      }
      for (let off = 0; off < got; off += chunk) out.push(rw.write(buf.subarray(off, Math.min(got, off + chunk))));
      if (readFailed) {
        say(`dni swap: cannot read '${file ?? 'stdin'}'\n`);
        status = 1;
        break;
      }
      if (got < buf.length) break;
    }
    if (status === 0) out.push(rw.end());
    out.flush();
  } catch (e) {
    if (e instanceof Exit) throw e;
    status = 1;
  }
  if (status === 1 && !readFailed) say('dni swap: cannot write the output\n');
  rw.free();
  if (fd !== 0) fs.closeSync(fd);
  return status;
}

// ---- dni sim -------------------------------------------------------------

// C strings end at the first NUL: the native command sees only that much.
const cstr = (s) => {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
};
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNumber = (v) => typeof v === 'number';

// JSON as the native command's parser reads it: a value followed by
// anything is still that value, and a UTF-8 byte order mark is skipped.
function parseJson(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const end = valueEnd(text);
    if (end > 0 && end < text.length) {
      try {
        return { ok: true, value: JSON.parse(text.slice(0, end)) };
      } catch {
        // fall through
      }
    }
    return { ok: false };
  }
}

// Where the first object or array of text ends (0 when it does not).
function valueEnd(text) {
  let i = 0;
  while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  if (text[i] !== '{' && text[i] !== '[') return 0;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return 0;
}

// strtod() over the whole argument, as `--recommend` is read; NaN when
// the text is not entirely one number.
function strtodWhole(v) {
  const s = v.replace(/^[ \t\n\v\f\r]+/, '');
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/.exec(s);
  if (hex && (hex[2] || hex[3])) {
    const m = parseInt((hex[2] || '0') + (hex[3] || ''), 16);
    const e = Number(hex[4] || 0) - 4 * (hex[3] || '').length;
    return (hex[1] === '-' ? -1 : 1) * m * 2 ** e;
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^[+-]?nan(\([0-9A-Za-z_]*\))?$/i.test(s)) return NaN;
  return NaN;
}

function readWhole(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    return { error: strerror(e) };
  }
  try {
    const parts = [];
    const buf = Buffer.allocUnsafe(1 << 16);
    for (;;) {
      const n = readFull(fd, buf);
      parts.push(Buffer.from(buf.subarray(0, n)));
      if (n < buf.length) return { bytes: Buffer.concat(parts) };
    }
  } catch (e) {
    return { readError: e };
  } finally {
    fs.closeSync(fd);
  }
}

// Checks the pool object as sim.c's load_pool() does; returns the
// settings for the core or fails with the same message.
function loadPool(poolPath, bytes) {
  const bad = (what) => fail(2, `dni sim: ${poolPath}: ${what}`);
  const parsed = parseJson(bytes.toString('utf8'));
  if (!parsed.ok) bad('malformed JSON');
  const pool = parsed.value;
  if (!isObject(pool)) bad('the pool must be a JSON object');
  const settings = {};
  if (hasOwn(pool, 'mode')) {
    if (pool.mode === 'visitor' || pool.mode === 'tags') settings.mode = pool.mode;
    else bad('mode must be "visitor" or "tags"');
  }
  for (const k of ['buffer_s', 'max_lease_s', 'min_hold_s', 'sticky_s', 'attribution_window_s',
    'unconfirmed_hold_s']) {
    if (!hasOwn(pool, k)) continue;
    const v = pool[k];
    if (!isNumber(v) || !Number.isFinite(v) || v < 0) bad(`${k} must be a number of seconds >= 0`);
    settings[k] = v;
  }
  const nums = pool.numbers;
  if (!Array.isArray(nums) || !nums.every((n) => typeof n === 'string'))
    bad('numbers must be an array of E.164 numbers');
  for (const k of ['default_number', 'overflow_number']) {
    if (!hasOwn(pool, k) || pool[k] === null) continue;
    const d = pool[k];
    if (typeof d !== 'string' || dniCore.phoneParse(cstr(d)) !== cstr(d)) bad(`${k} is not an E.164 number`);
  }
  if (hasOwn(pool, 'tracked_tags')) {
    const t = pool.tracked_tags;
    if (!Array.isArray(t) || !t.every((n) => typeof n === 'string')) bad('tracked_tags must be an array of names');
  }
  if (hasOwn(pool, 'number_limit')) {
    const l = pool.number_limit;
    if (!isNumber(l) || l < 0 || l > 4294967295 || l !== Math.floor(l)) bad('number_limit must be a whole number >= 0');
    settings.number_limit = l;
  }
  return { pool, settings };
}

// Feeds one trace line; returns null or the error text (feed_line()).
function feedLine(sim, line) {
  const parsed = parseJson(line);
  if (!parsed.ok || !isObject(parsed.value)) return 'malformed JSON';
  const ev = parsed.value;
  const { t, ev: type, visitor } = ev;
  if (!isNumber(t) || !Number.isFinite(t)) return '"t" must be a number of seconds';
  if (typeof type !== 'string') return '"ev" must be a string';
  if (typeof visitor !== 'string') return '"visitor" must be a string';
  const v = cstr(visitor);
  const kind = cstr(type);
  let rc = 0;
  let err = null;
  if (kind === 'visit') {
    const tags = hasOwn(ev, 'tags') ? ev.tags : undefined;
    if (tags !== undefined && !isObject(tags)) {
      err = '"tags" must be an object';
    } else if (tags !== undefined) {
      for (const [name, value] of Object.entries(tags)) {
        if (typeof value !== 'string') {
          err = 'tag values must be strings';
          break;
        }
        rc = sim.tag(cstr(name), cstr(value));
        if (rc < 0) break;
      }
    }
    if (err === null && rc === 0) rc = sim.visit(t, v);
  } else if (kind === 'hb') {
    rc = sim.hb(t, v);
  } else if (kind === 'leave') {
    rc = sim.leave(t, v);
  } else if (kind === 'call') {
    let dur = 0;
    if (hasOwn(ev, 'duration')) {
      const d = ev.duration;
      if (!isNumber(d) || !Number.isFinite(d) || d < 0) err = '"duration" must be a number of seconds >= 0';
      else dur = d;
    }
    if (err === null) rc = sim.call(t, v, dur);
  } else {
    // "%.60s": at most 60 bytes of the name.
    const name = Buffer.from(kind).subarray(0, 60).toString('latin1');
    return Buffer.from(`unknown event type "${name}"`, 'latin1');
  }
  if (err === null && rc === -11) return 'events out of time order';
  if (err === null && rc < 0) return dniCore.strerror(rc);
  return err;
}

let dniCore = null;

async function simCommand(argv, target) {
  let poolPath = null;
  let trace = null;
  let size = 0;
  let haveSize = false;
  let recommend = -1;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      writeAll(1, Buffer.from(SIM_USAGE));
      return 0;
    }
    if (a === '--pool' || a === '--size' || a === '--recommend') {
      if (i + 1 >= argv.length) fail(2, `dni sim: ${a} needs a value`);
      const v = argv[++i];
      if (a === '--pool') {
        poolPath = v;
      } else if (a === '--size') {
        if (!/^[0-9]+$/.test(v) || BigInt(v) > 100000000n || BigInt(v) === 0n)
          fail(2, `dni sim: --size must be a whole number from 1 to 100000000, not "${v}"`);
        size = Number(v);
        haveSize = true;
      } else {
        recommend = strtodWhole(v);
        if (!(recommend >= 0) || recommend > 1)
          fail(2, `dni sim: --recommend must be an accuracy from 0 to 1, not "${v}"`);
      }
    } else if (a[0] === '-' && a.length > 1) {
      fail(2, `dni sim: unknown option ${a}`);
    } else if (trace !== null) {
      fail(2, `dni sim: only one trace file, got ${trace} and ${a}`);
    } else {
      trace = a;
    }
  }
  if (poolPath === null) {
    say('dni sim: --pool is required\n' + SIM_USAGE);
    return 2;
  }

  dniCore = await loadTarget(target);
  const pf = readWhole(poolPath);
  if (pf.error) fail(1, `dni sim: ${poolPath}: ${pf.error}`);
  if (pf.readError) fail(1, `dni sim: ${poolPath}: Input/output error`);
  const { pool, settings } = loadPool(poolPath, pf.bytes);
  let sim;
  try {
    sim = dniCore.sim(settings);
  } catch {
    fail(2, `dni sim: ${poolPath}: invalid pool settings`);
  }
  try {
    for (const n of pool.numbers) {
      const rc = sim.addNumber(cstr(n));
      if (rc === -9) fail(2, `dni sim: ${poolPath}: ${n} is listed twice`);
      if (rc < 0) fail(2, `dni sim: ${poolPath}: ${n} is not an E.164 number`);
    }
    for (const t of pool.tracked_tags ?? []) if (sim.trackTag(cstr(t)) < 0) fail(1, 'dni sim: out of memory');
    if (!haveSize) {
      size = sim.numbers;
      if (settings.number_limit > 0 && settings.number_limit < size) size = settings.number_limit;
    }
    const tname = trace ?? 'stdin';
    let bytes;
    if (trace === null) {
      const r = readStdin();
      if (r.readError) fail(1, `dni sim: ${tname}: read error`);
      bytes = r.bytes;
    } else {
      const r = readWhole(trace);
      if (r.error) fail(1, `dni sim: ${trace}: ${r.error}`);
      if (r.readError) fail(1, `dni sim: ${tname}: read error`);
      bytes = r.bytes;
    }
    let lineno = 0;
    for (let start = 0; start < bytes.length;) {
      let end = bytes.indexOf(10, start);
      const next = end < 0 ? bytes.length : end + 1;
      if (end < 0) end = bytes.length;
      lineno++;
      let a = start;
      let b = end;
      start = next;
      while (b > a && [10, 13, 32, 9].includes(bytes[b - 1])) b--;
      while (a < b && (bytes[a] === 32 || bytes[a] === 9)) a++;
      if (a === b) continue;
      const line = bytes.subarray(a, b);
      if (line.includes(0)) fail(2, `dni sim: ${tname}:${lineno}: malformed JSON`);
      const err = feedLine(sim, line.toString('utf8'));
      if (err !== null) {
        writeAll(2, Buffer.concat([Buffer.from(`dni sim: ${tname}:${lineno}: `), Buffer.from(err), Buffer.from('\n')]));
        throw new Exit(2);
      }
    }
    let report;
    try {
      report = sim.report(size, recommend);
    } catch (e) {
      fail(e.code === -1 ? 1 : 2, `dni sim: ${e.message}`);
    }
    try {
      writeAll(1, Buffer.from(report));
    } catch {
      fail(1, 'dni sim: cannot write the report');
    }
    return 0;
  } finally {
    sim.free();
  }
}

function readStdin() {
  const parts = [];
  const buf = Buffer.allocUnsafe(1 << 16);
  try {
    for (;;) {
      const n = readFull(0, buf);
      parts.push(Buffer.from(buf.subarray(0, n)));
      if (n < buf.length) return { bytes: Buffer.concat(parts) };
    }
  } catch (e) {
    return { readError: e };
  }
}

// ---- main ----------------------------------------------------------------

async function main(all) {
  let target = 'wasi';
  const argv = [];
  for (let i = 0; i < all.length; i++) {
    const a = all[i];
    if (a === '--target') {
      if (i + 1 >= all.length) fail(2, 'dni: --target needs a value (wasi or emscripten)');
      target = all[++i];
    } else if (a.startsWith('--target=')) {
      target = a.slice('--target='.length);
    } else {
      argv.push(a);
    }
  }
  if (target !== 'wasi' && target !== 'emscripten')
    fail(2, `dni: --target must be wasi or emscripten, not '${target}'`);
  if (argv[0] === 'swap') return swap(argv, target);
  if (argv[0] === 'sim') return simCommand(argv, target);
  if (argv[0] === '--help' || argv[0] === '-h') {
    writeAll(1, Buffer.from(MAIN_USAGE));
    return 0;
  }
  // `dni call` talks to an origin over the network: the native command's.
  if (argv[0] === 'call') {
    say('dni: call is not in the WebAssembly build; run build/bin/dni call\n');
    return 2;
  }
  if (argv.length === 0) say('dni: missing command (swap, sim or call); see dni --help\n');
  else say(`dni: unknown command '${argv[0]}'; see dni --help\n`);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof Exit)) throw e;
  process.exitCode = e.status;
}
