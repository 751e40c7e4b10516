// dni.mjs - the JavaScript binding of the edgedni core built to WebAssembly.
//
// One API over either build: the wasm32-wasi reactor (build/wasm/dni.wasm,
// no imports, used by the edge) and the Emscripten module
// (build/wasm/emscripten/dni.mjs). It runs unchanged in Node, workerd and
// browsers: no Node module is imported and nothing is fetched.
//
//   import { loadDni } from './dni.mjs';
//   const dni = await loadDni(wasmBytesOrModule);
//   const rw = dni.rewriter(['800-555-1234=+18885550000']);
//   for await (const chunk of body) out.push(rw.write(chunk));
//   out.push(rw.end());
//   rw.free();
//
// Objects made by the binding (rewriters, pools) hold memory inside the
// module: call free() when done. Errors are thrown as DniError, whose
// message is the core's dni_strerror() text (or, for a rule, the line naming
// the part at fault) and whose code/name are the DNI_ code and symbol.
// The full description is docs/wasm.md.

const ENOTPHONE = -3;
const DEFAULT_INPUT = 64 * 1024; // bytes copied into the module per feed
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An error reported by the core: code is the negative DNI_ code. */
export class DniError extends Error {
  constructor(message, code, name) {
    super(message);
    this.name = 'DniError';
    this.code = code;
    this.errName = name;
  }
}

// The instance's exports and memory, with the few helpers every wrapper
// needs: views that follow memory growth, a scratch area for strings, and
// errors with the core's text.
class Core {
  constructor(exports, memory) {
    this.x = exports;
    this.memory = memory;
    this.view = new Uint8Array(memory.buffer);
    this.scratch = 0;
    this.scratchCap = 0;
  }

  // A view of all of linear memory. Growing memory detaches the old
  // buffer (its length drops to 0), so one length check keeps it fresh.
  u8() {
    if (this.view.byteLength === 0) this.view = new Uint8Array(this.memory.buffer);
    return this.view;
  }

  dv() {
    return new DataView(this.memory.buffer);
  }

  malloc(n) {
    const p = this.x.malloc(n > 0 ? n : 1);
    if (p === 0) throw this.error(-1);
    return p;
  }

  // The scratch area, at least n bytes: reused by every call that passes
  // strings, so passing a number or a rule allocates nothing.
  scratchArea(n) {
    if (n > this.scratchCap) {
      if (this.scratch) this.x.free(this.scratch);
      this.scratchCap = Math.max(n, 1024);
      this.scratch = 0;
      this.scratch = this.malloc(this.scratchCap);
    }
    return this.scratch;
  }

  // Writes the strings one after the other into the scratch area, after
  // `reserve` bytes left for results; returns [ptr, len] pairs flattened.
  strings(reserve, ...texts) {
    const bytes = texts.map((t) => encoder.encode(t == null ? '' : String(t)));
    const total = bytes.reduce((s, b) => s + b.length, reserve);
    const base = this.scratchArea(total);
    const u8 = this.u8();
    const out = [];
    let at = base + reserve;
    for (const b of bytes) {
      u8.set(b, at);
      out.push(at, b.length);
      at += b.length;
    }
    return out;
  }

  cstring(p, max = 4096) {
    const u8 = this.u8();
    let end = p;
    while (end < p + max && u8[end] !== 0) end++;
    return decoder.decode(u8.subarray(p, end));
  }

  error(code, message) {
    const text = this.cstring(this.x.dni_w_strerror(code));
    const name = this.cstring(this.x.dni_w_err_name(code));
    return new DniError(message || text, code, name);
  }

  check(rc, message) {
    if (rc < 0) throw this.error(rc, message);
    return rc;
  }
}

function asBytes(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('write() takes a Uint8Array, an ArrayBuffer or a string');
}

function concat(parts, total) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Adds one rule to the ruleset rs: a 'DEFAULT=REPLACEMENT[@TEMPLATE]' spec
// or a {from, to, template} object.
function addRule(core, rs, rule, country) {
  const x = core.x;
  if (typeof rule === 'string') {
    const WHY = 256;
    const [sp, sl, cp, cl] = core.strings(WHY, rule, country);
    const why = core.scratch;
    core.u8()[why] = 0;
    const rc = x.dni_w_ruleset_add_spec(rs, sp, sl, cp, cl, why, WHY);
    if (rc < 0) throw core.error(rc, core.cstring(why, WHY) || undefined);
    return;
  }
  if (rule === null || typeof rule !== 'object' || rule.from == null || rule.to == null)
    throw new TypeError('a rule is a "DEFAULT=REPLACEMENT[@TEMPLATE]" string or {from, to, template}');
  const [fp, fl, tp, tl, mp, ml, cp, cl] = core.strings(
    8, rule.from, rule.to, rule.template ?? '', country);
  const which = core.scratch;
  const rc = x.dni_w_ruleset_add(rs, fp, fl, tp, tl, mp, ml, cp, cl, which);
  if (rc < 0) {
    const part = core.dv().getInt32(which, true);
    const text = core.cstring(x.dni_w_strerror(rc));
    const what = part === 1 ? `default number "${rule.from}"`
      : part === 2 ? `replacement "${rule.to}"` : `rule for "${rule.from}"`;
    throw core.error(rc, `${what}: ${text}`);
  }
}

/**
 * A streaming rewriter. write() and end() return the rewritten bytes that
 * are ready (a fresh Uint8Array the caller owns); the concatenation of all
 * of them is the same whatever the chunking.
 */
class Rewriter {
  constructor(core, rules, opts) {
    this.core = core;
    const x = core.x;
    const list = typeof rules === 'string' ? [rules] : rules;
    if (!Array.isArray(list)) throw new TypeError('rules must be an array');
    const country = opts.country ?? '';
    const rs = x.dni_w_ruleset_new();
    if (rs === 0) throw core.error(-1);
    try {
      for (const rule of list) addRule(core, rs, rule, country);
      this.inCap = opts.inputSize > 0 ? opts.inputSize | 0 : DEFAULT_INPUT;
      const slot = core.scratchArea(4);
      core.check(x.dni_w_stream_new(rs, this.inCap, slot));
      this.h = core.dv().getUint32(slot, true);
    } finally {
      x.dni_w_ruleset_free(rs);
    }
    this.in = x.dni_w_stream_input(this.h, this.inCap);
  }

  // Output of the last feed/finish, copied out of the module.
  take() {
    const x = this.core.x;
    const n = x.dni_w_stream_out_len(this.h);
    const p = x.dni_w_stream_out(this.h);
    return this.core.u8().slice(p, p + n);
  }

  /** Rewrites the next chunk; returns the bytes ready so far. */
  write(chunk) {
    if (!this.h) throw new Error('rewriter already freed');
    const bytes = asBytes(chunk);
    if (bytes.length <= this.inCap) return this.feed(bytes);
    // The input buffer has a fixed size: big chunks go in slices, so the
    // module's memory does not grow with the chunk size.
    const parts = [];
    let total = 0;
    for (let at = 0; at < bytes.length; at += this.inCap) {
      const out = this.feed(bytes.subarray(at, at + this.inCap));
      parts.push(out);
      total += out.length;
    }
    return concat(parts, total);
  }

  feed(bytes) {
    const core = this.core;
    if (bytes.length > 0) core.u8().set(bytes, this.in);
    core.check(core.x.dni_w_stream_feed(this.h, bytes.length));
    return this.take();
  }

  /** Ends the document; returns the bytes held back. */
  end() {
    if (!this.h) throw new Error('rewriter already freed');
    this.core.check(this.core.x.dni_w_stream_finish(this.h));
    return this.take();
  }

  /** Starts a new document with the same rules. */
  reset() {
    if (this.h) this.core.x.dni_w_stream_reset(this.h);
  }

  /** Numbers swapped so far in the current document. */
  get swaps() {
    return this.h ? this.core.x.dni_w_stream_swaps(this.h) : 0;
  }

  /** Releases the module memory; the object is unusable after. */
  free() {
    if (this.h) this.core.x.dni_w_stream_free(this.h);
    this.h = 0;
  }
}

// The object loadDni() resolves to.
function api(core) {
  const x = core.x;
  return {
    /**
     * A streaming rewriter. rules: one 'DEFAULT=REPLACEMENT[@TEMPLATE]'
     * string or an array of them and/or {from, to, template} objects.
     * opts.country: how numbers without a country code are read (default
     * North America). Throws DniError on a bad rule.
     */
    rewriter(rules, opts = {}) {
      return new Rewriter(core, rules, opts);
    },

    /** E.164 form of text, or null when it is not a phone number. */
    phoneParse(text, country = '') {
      const [tp, tl, cp, cl] = core.strings(32, text, country);
      const out = core.scratch;
      const rc = x.dni_w_phone_parse(tp, tl, cp, cl, out);
      if (rc === ENOTPHONE) return null;
      core.check(rc);
      return core.cstring(out, 32);
    },

    /** The core's sentence and symbolic name for an error code. */
    strerror(code) {
      return core.cstring(x.dni_w_strerror(code));
    },
    errName(code) {
      return core.cstring(x.dni_w_err_name(code));
    },

    /** Bytes one rewriter occupies inside the module. */
    rewriterMemory() {
      return x.dni_w_rewriter_memory();
    },

    /** The WebAssembly.Memory (for measurements). */
    memory: core.memory,
  };
}

function fromInstance(instance) {
  const ex = instance.exports;
  if (typeof ex._initialize === 'function') ex._initialize();
  return api(new Core(ex, ex.memory));
}

/**
 * Loads the wasm32-wasi build. source: a WebAssembly.Module (as workerd and
 * bundlers import .wasm files) or the module's bytes (BufferSource). It
 * needs no imports. Resolves to the API object.
 */
export async function loadDni(source) {
  const mod = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  return fromInstance(await WebAssembly.instantiate(mod, {}));
}

/** Same as loadDni(), synchronously, from a compiled WebAssembly.Module. */
export function loadDniSync(mod) {
  return fromInstance(new WebAssembly.Instance(mod, {}));
}

/**
 * Loads the Emscripten build: factory is the default export of
 * build/wasm/emscripten/dni.mjs and wasmBinary the bytes of the dni.wasm
 * next to it (handed over so its loader never fetches). Same API.
 */
export async function loadDniEmscripten(factory, wasmBinary) {
  const m = await factory({ wasmBinary });
  return api(new Core(m.asm, m.asm.memory));
}
