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

// The DNI_ codes the binding answers itself (core/include/dni.h).
const ENOTPHONE = -3;
const ELIMIT = -7;
const ENOTFOUND = -8;
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
    this.dataView = new DataView(memory.buffer);
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
    if (this.dataView.buffer !== this.memory.buffer)
      this.dataView = new DataView(this.memory.buffer);
    return this.dataView;
  }

  // Writes text at p (room for 3 bytes per UTF-16 unit is the caller's
  // business) and returns its UTF-8 length. Short ASCII text, the usual
  // visitor id or number, is copied by hand: cheaper than an encoder call.
  put(text, p) {
    const u8 = this.u8();
    const n = text.length;
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        u8[p + i] = c;
      }
      if (i === n) return n;
    }
    return encoder.encodeInto(text, u8.subarray(p, p + 3 * n)).written;
  }

  // ASCII text at p, up to the first NUL or max bytes (E.164 numbers).
  ascii(p, max) {
    const u8 = this.u8();
    let s = '';
    for (let i = p; i < p + max && u8[i] !== 0; i++) s += String.fromCharCode(u8[i]);
    return s;
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
      this.nrules = list.length;
      this.inCap = opts.inputSize > 0 ? opts.inputSize | 0 : DEFAULT_INPUT;
      const slot = core.scratchArea(4);
      core.check(x.dni_w_stream_new(rs, this.inCap, slot));
      this.h = core.dv().getUint32(slot, true);
    } finally {
      x.dni_w_ruleset_free(rs);
    }
    this.in = x.dni_w_stream_input(this.h, this.inCap);
    if (opts.head != null) this.setHead(opts.head);
  }

  /**
   * Bytes (a string or Uint8Array) to write once where the document's
   * head content begins, as the tokenizer reads the page: after the
   * <head ...> start tag, or before the first content of a page without
   * one (dni_rewriter_set_head()). Before the first write() of a
   * document only; reset() forgets it.
   */
  setHead(head) {
    if (!this.h) throw new Error('rewriter already freed');
    const bytes = asBytes(head);
    const p = this.core.malloc(bytes.length);
    try {
      this.core.u8().set(bytes, p);
      this.core.check(this.core.x.dni_w_stream_set_head(this.h, p, bytes.length));
    } finally {
      this.core.x.free(p);
    }
  }

  /** True once the head bytes were written in this document. */
  get headWritten() {
    return this.h ? this.core.x.dni_w_stream_head_written(this.h) === 1 : false;
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
  /** Swaps made by each rule (in the order given), current document. */
  get ruleSwaps() {
    if (!this.h) return [];
    return Array.from({ length: this.nrules || 0 }, (_, i) => this.core.x.dni_w_stream_rule_swaps(this.h, i));
  }

  get swaps() {
    return this.h ? this.core.x.dni_w_stream_swaps(this.h) : 0;
  }

  /** Releases the module memory; the object is unusable after. */
  free() {
    if (this.h) this.core.x.dni_w_stream_free(this.h);
    this.h = 0;
  }
}

const TIMERS = ['buffer_s', 'max_lease_s', 'min_hold_s', 'sticky_s', 'attribution_window_s',
  'unconfirmed_hold_s'];
const ASSIGN_KINDS = ['new', 'sticky', 'current', 'overflow'];
const EVENT_TYPES = [null, 'assign', 'seen', 'join', 'release', 'overflow', 'call'];
const STATS = ['numbers', 'free_numbers', 'live_leases', 'peak_live_leases', 'leases',
  'overflows', 'joins', 'sticky', 'calls', 'calls_attributed', 'bytes',
  'bytes_per_number', 'bytes_per_lease'];
const SIM_RESULT = ['size', 'visits', 'leases', 'overflow', 'calls', 'correct', 'wrong',
  'unattributed', 'peak_live_leases', 'numbers_used'];

// Core settings from a settings object with the JSON names of the pool
// settings (docs/configuration.md); missing keys keep the documented defaults. Returns the
// pointer; the caller frees it with dni_w_settings_free.
function makeSettings(core, settings = {}) {
  const x = core.x;
  const s = x.dni_w_settings_new();
  if (s === 0) throw core.error(-1);
  try {
    const set = (key, v) => {
      const [kp, kl] = core.strings(0, key);
      const rc = x.dni_w_settings_set(s, kp, kl, v);
      if (rc < 0) throw core.error(rc, `${key}: ${core.cstring(x.dni_w_strerror(rc))}`);
    };
    if (settings.mode != null) {
      if (settings.mode !== 'visitor' && settings.mode !== 'tags')
        throw core.error(-2, 'mode must be "visitor" or "tags"');
      set('mode', settings.mode === 'tags' ? 1 : 0);
    }
    for (const k of TIMERS) if (settings[k] != null) set(k, Number(settings[k]));
    if (settings.number_limit != null) set('number_limit', Number(settings.number_limit));
  } catch (e) {
    x.dni_w_settings_free(s);
    throw e;
  }
  return s;
}

// A region of `bytes` bytes in module memory for results, owned by one
// object (so results never clobber the shared scratch area mid-call).
function region(core, bytes) {
  return core.malloc(bytes);
}

/**
 * A lease engine (docs/pool.md) inside the module. Times are
 * seconds (numbers); `now` must never go backwards.
 */
class Pool {
  // snapshot: bytes from Pool.snapshot() to restore from (settings then
  // replace the stored ones unless settings.keepStored is true).
  constructor(core, settings, snapshot) {
    this.core = core;
    const x = core.x;
    this.tags = settings.mode === 'tags' ? (settings.tracked_tags ?? []).map(String) : null;
    this.numbers = []; // slot -> E.164, filled as assign() meets them
    if (snapshot) {
      this.p = restorePool(core, snapshot, settings.keepStored ? null : settings);
    } else {
      const s = makeSettings(core, settings);
      try {
        const slot = core.scratchArea(4);
        core.check(x.dni_w_pool_create(s, slot));
        this.p = core.dv().getUint32(slot, true);
      } finally {
        x.dni_w_settings_free(s);
      }
    }
    this.out = region(core, 256); // assignment, attribution, lease info, stats
    this.keyCap = 4096;
    this.key = region(core, this.keyCap + 4);
    this.evCap = 256;
    this.ev = region(core, this.evCap * 32);
    if (snapshot) return;
    try {
      if (settings.default_number != null || settings.overflow_number != null) {
        const [dp, dl, op, ol] = core.strings(0, settings.default_number ?? '', settings.overflow_number ?? '');
        core.check(x.dni_w_pool_set_fallback(this.p, dp, dl, op, ol));
      }
      for (const n of settings.numbers ?? []) this.grant(n);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  // The identity key of a visitor: its id, or in tags mode the tag key of
  // its tracked tag values (built by the core, so every target agrees).
  keyOf(visitor, tags) {
    const core = this.core;
    if (this.tags === null) {
      const text = String(visitor);
      const at = core.scratchArea(3 * text.length + 1);
      return [at, core.put(text, at)];
    }
    const lenAt = this.key + this.keyCap;
    core.dv().setUint32(lenAt, 0, true);
    for (const name of this.tags) {
      const v = tags != null && Object.prototype.hasOwnProperty.call(tags, name) ? tags[name] : null;
      const [vp, vl] = core.strings(0, v ?? '');
      core.check(core.x.dni_w_tag_key_append(this.key, this.keyCap, lenAt, vp, vl, v == null ? 0 : 1));
    }
    return [this.key, core.dv().getUint32(lenAt, true)];
  }

  /**
   * Gives a visitor a number at now: {kind: 'new'|'sticky'|'current'|
   * 'overflow', lease (0 on overflow), slot (-1 on overflow), number}.
   * In tags mode the visitor's tags ({name: value}) decide the lease.
   */
  assign(visitor, now, tags) {
    const [kp, kl] = this.keyOf(visitor, tags);
    this.core.check(this.core.x.dni_w_pool_assign(this.p, kp, kl, now, this.out));
    const dv = this.core.dv();
    const slot = dv.getInt32(this.out + 8, true);
    // A slot's number is read once and cached until a grant or revoke
    // may change what the slot holds.
    let number = slot >= 0 ? this.numbers[slot] : undefined;
    if (number === undefined) {
      number = this.core.ascii(this.out + 12, 17);
      if (slot >= 0) this.numbers[slot] = number;
    }
    return {
      kind: ASSIGN_KINDS[dv.getInt32(this.out, true)],
      lease: dv.getUint32(this.out + 4, true),
      slot,
      number,
    };
  }

  /**
   * The visitor's live lease id at now, or 0 when they hold none; never
   * makes a lease (the edge asks this when it may not hand out a number).
   */
  lookup(visitor, now, tags) {
    const [kp, kl] = this.keyOf(visitor, tags);
    return this.core.check(this.core.x.dni_w_pool_lookup(this.p, kp, kl, now));
  }

  /**
   * A heartbeat (leave false) or a leave (true) that also answers the
   * lease's new end time: the end (seconds), or -1 when the lease is over.
   */
  touch(lease, now, leave = false) {
    const rc = this.core.x.dni_w_pool_touch(this.p, lease, now, leave ? 1 : 0, this.out);
    if (rc === ENOTFOUND) return -1;
    this.core.check(rc);
    return this.core.dv().getFloat64(this.out, true);
  }

  /** Ends a lease now whatever its times: true, or false when it was already over. */
  endLease(lease, now) {
    const rc = this.core.x.dni_w_pool_end_lease(this.p, lease, now);
    if (rc === ENOTFOUND) return false;
    this.core.check(rc);
    return true;
  }

  /**
   * The whole engine as bytes (a fresh Uint8Array the caller owns), for
   * dni.poolRestore(): same lease ids, numbers, queues, sticky memory and
   * queued events after a restore.
   */
  snapshot() {
    const core = this.core;
    const x = core.x;
    const n = x.dni_w_pool_snapshot_size(this.p) >>> 0;
    const buf = core.malloc(n);
    try {
      core.check(x.dni_w_pool_snapshot(this.p, buf, n));
      return core.u8().slice(buf, buf + n);
    } finally {
      x.free(buf);
    }
  }

  /** A heartbeat: true, or false when the lease is already over. */
  seen(lease, now) {
    const rc = this.core.x.dni_w_pool_seen(this.p, lease, now);
    if (rc === ENOTFOUND) return false;
    this.core.check(rc);
    return true;
  }

  heartbeat(lease, now) {
    return this.seen(lease, now);
  }

  /** The visitor left: true, or false when the lease is already over. */
  leave(lease, now) {
    const rc = this.core.x.dni_w_pool_leave(this.p, lease, now);
    if (rc === ENOTFOUND) return false;
    this.core.check(rc);
    return true;
  }

  /** Ends the leases whose time ran out; returns how many numbers were released. */
  tick(now) {
    return this.core.check(this.core.x.dni_w_pool_tick(this.p, now));
  }

  /** Adds a number (E.164) to the pool; returns its slot. */
  grant(number) {
    this.numbers = [];
    const [np, nl] = this.core.strings(0, number);
    return this.core.check(this.core.x.dni_w_pool_add_number(this.p, np, nl));
  }

  /** Removes a number: 0 when it left at once, 1 when it leaves after its lease/call. */
  revoke(number, now) {
    this.numbers = [];
    const [np, nl] = this.core.strings(0, number);
    return this.core.check(this.core.x.dni_w_pool_remove_number(this.p, np, nl, now));
  }

  /** The slot of a number, or -1 when it is not in the pool. */
  slotOf(number) {
    const [np, nl] = this.core.strings(0, number);
    const rc = this.core.x.dni_w_pool_find_number(this.p, np, nl);
    return rc === ENOTFOUND ? -1 : this.core.check(rc);
  }

  /** The number in a slot. */
  numberOf(slot) {
    this.core.check(this.core.x.dni_w_pool_number_e164(this.p, slot, this.out));
    return this.core.cstring(this.out, 17);
  }

  slotArg(numberOrSlot) {
    if (typeof numberOrSlot === 'number') return numberOrSlot;
    const slot = this.slotOf(numberOrSlot);
    if (slot < 0) throw this.core.error(-8);
    return slot;
  }

  /**
   * A call on a number (E.164 or slot) starts at now: pins the number and
   * returns its attribution {attributed, lease (0: none), likelihood, live}.
   */
  callStart(numberOrSlot, now) {
    const rc = this.core.check(this.core.x.dni_w_pool_call_start(this.p, this.slotArg(numberOrSlot), now, this.out));
    const dv = this.core.dv();
    return {
      attributed: rc === 1,
      lease: dv.getFloat64(this.out, true),
      likelihood: dv.getFloat64(this.out + 8, true),
      live: dv.getFloat64(this.out + 16, true) === 1,
    };
  }

  call(numberOrSlot, now) {
    return this.callStart(numberOrSlot, now);
  }

  /** The call on a number ended at now. */
  callEnd(numberOrSlot, now) {
    this.core.check(this.core.x.dni_w_pool_call_end(this.p, this.slotArg(numberOrSlot), now));
  }

  /** A live lease: {lease, slot, start, last_seen, last_join, end, joins, pinned}, or null. */
  leaseInfo(lease) {
    const rc = this.core.x.dni_w_pool_lease_info(this.p, lease, this.out);
    if (rc === ENOTFOUND) return null;
    this.core.check(rc);
    const f = new Float64Array(this.core.memory.buffer, this.out, 9);
    return { lease: f[0], slot: f[1], start: f[2], last_seen: f[3], last_join: f[4],
      end: f[5], joins: f[6], pinned: f[7] === 1, confirmed: f[8] === 1 };
  }

  /** Counters and sizes (dni_pool_stats_t's fields, by name). */
  stats() {
    this.core.x.dni_w_pool_stats(this.p, this.out);
    const f = new Float64Array(this.core.memory.buffer, this.out, STATS.length);
    return Object.fromEntries(STATS.map((k, i) => [k, f[i]]));
  }

  /** Turns event recording on or off (off at creation). */
  recordEvents(on = true) {
    this.core.x.dni_w_pool_events_enable(this.p, on ? 1 : 0);
  }

  /** Takes every queued event, oldest first: [{type, t, lease, slot, likelihood}]. */
  events() {
    const out = [];
    for (;;) {
      const n = this.core.x.dni_w_pool_events_take(this.p, this.ev, this.evCap);
      const dv = this.core.dv();
      for (let i = 0; i < n; i++) {
        const at = this.ev + i * 32;
        out.push({
          type: EVENT_TYPES[dv.getInt32(at + 24, true)],
          t: dv.getFloat64(at, true),
          lease: dv.getUint32(at + 16, true),
          slot: dv.getInt32(at + 20, true),
          likelihood: dv.getFloat64(at + 8, true),
        });
      }
      if (n < this.evCap) return out;
    }
  }

  /** Releases the module memory; the object is unusable after. */
  free() {
    const x = this.core.x;
    if (this.p) x.dni_w_pool_destroy(this.p);
    for (const r of [this.out, this.key, this.ev]) if (r) x.free(r);
    this.p = this.out = this.key = this.ev = 0;
  }
}

// A pool rebuilt from snapshot bytes; settings (or null) replace the
// stored settings. Returns the handle or throws DniError (DNI_ESYNTAX for
// corrupt bytes, DNI_ERANGE for another format version).
function restorePool(core, bytes, settings) {
  const x = core.x;
  const data = asBytes(bytes);
  const s = settings ? makeSettings(core, settings) : 0;
  const at = (data.length + 7) & ~7; // the handle goes after, aligned
  const buf = core.malloc(at + 8);
  try {
    core.u8().set(data, buf);
    const slot = buf + at;
    const rc = x.dni_w_pool_restore(buf, data.length, s, slot);
    if (rc < 0) throw core.error(rc, `snapshot refused: ${core.cstring(x.dni_w_strerror(rc))}`);
    return core.dv().getUint32(slot, true);
  } finally {
    x.free(buf);
    if (s) x.dni_w_settings_free(s);
  }
}

/**
 * The simulator behind `dni sim`: record a trace, then replay it. The
 * report is formatted by the core, so it is the same on every target.
 */
class Sim {
  constructor(core, settings) {
    this.core = core;
    const x = core.x;
    const s = makeSettings(core, settings);
    try {
      const slot = core.scratchArea(4);
      core.check(x.dni_w_sim_create(s, slot));
      this.sim = core.dv().getUint32(slot, true);
    } finally {
      x.dni_w_settings_free(s);
    }
  }

  /** Each of these returns the core's code (0 or negative); they do not throw. */
  addNumber(e164) {
    const [p, l] = this.core.strings(0, e164);
    return this.core.x.dni_w_sim_add_number(this.sim, p, l);
  }

  trackTag(name) {
    const [p, l] = this.core.strings(0, name);
    return this.core.x.dni_w_sim_track_tag(this.sim, p, l);
  }

  tag(name, value) {
    const [np, nl, vp, vl] = this.core.strings(0, name, value);
    return this.core.x.dni_w_sim_tag(this.sim, np, nl, vp, vl);
  }

  visit(t, visitor) {
    const [p, l] = this.core.strings(0, visitor);
    return this.core.x.dni_w_sim_visit(this.sim, t, p, l);
  }

  hb(t, visitor) {
    const [p, l] = this.core.strings(0, visitor);
    return this.core.x.dni_w_sim_hb(this.sim, t, p, l);
  }

  leave(t, visitor) {
    const [p, l] = this.core.strings(0, visitor);
    return this.core.x.dni_w_sim_leave(this.sim, t, p, l);
  }

  call(t, visitor, duration = 0) {
    const [p, l] = this.core.strings(0, visitor);
    return this.core.x.dni_w_sim_call(this.sim, t, p, l, duration);
  }

  /** Numbers added so far. */
  get numbers() {
    return this.core.x.dni_w_sim_numbers(this.sim) >>> 0;
  }

  /** One replay with `size` numbers: the counters, by name. */
  run(size) {
    const out = this.core.malloc(8 * SIM_RESULT.length);
    try {
      this.core.check(this.core.x.dni_w_sim_run(this.sim, size, out));
      const f = new Float64Array(this.core.memory.buffer, out, SIM_RESULT.length);
      return Object.fromEntries(SIM_RESULT.map((k, i) => [k, f[i]]));
    } finally {
      this.core.x.free(out);
    }
  }

  /** The JSON report text (size 0: the numbers added; recommend < 0: none). */
  report(size = 0, recommend = -1) {
    const core = this.core;
    const x = core.x;
    let cap = 1024;
    for (let attempt = 0; ; attempt++) {
      const buf = core.malloc(cap + 4);
      try {
        const rc = x.dni_w_sim_report(this.sim, size, recommend, buf, cap, buf + cap);
        const len = core.dv().getUint32(buf + cap, true);
        if (rc === ELIMIT && len >= cap && attempt === 0) {
          cap = len + 1;
          continue;
        }
        core.check(rc);
        return decoder.decode(core.u8().subarray(buf, buf + len));
      } finally {
        x.free(buf);
      }
    }
  }

  free() {
    if (this.sim) this.core.x.dni_w_sim_destroy(this.sim);
    this.sim = 0;
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
     * North America); opts.head: bytes to insert where the head's content
     * begins (Rewriter.setHead()). Throws DniError on a bad rule.
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

    /**
     * A lease engine. settings: the pool object (docs/configuration.md)
     * (numbers, default_number, overflow_number, mode, tracked_tags,
     * buffer_s, max_lease_s, min_hold_s, sticky_s, attribution_window_s,
     * number_limit). Throws DniError on a bad setting or number.
     */
    pool(settings = {}) {
      return new Pool(core, settings);
    },

    /**
     * A lease engine rebuilt from Pool.snapshot() bytes (never trusted:
     * corrupt or truncated bytes throw DniError with code DNI_ESYNTAX).
     * settings: the pool object as for pool(); its timers replace the
     * stored ones (the numbers in it are ignored: they are in the
     * snapshot). Omit it to keep the stored settings (visitor mode keys).
     */
    poolRestore(bytes, settings) {
      return new Pool(core, settings ?? { keepStored: true }, bytes);
    },

    /** The simulator behind `dni sim`, for the same settings. */
    sim(settings = {}) {
      return new Sim(core, settings);
    },

    /** When a lease stops being live (dni_lease_end_time()). */
    leaseEndTime(settings, start, lastSeen, lastJoin) {
      const s = makeSettings(core, settings);
      try {
        return x.dni_w_lease_end_time(s, start, lastSeen, lastJoin);
      } finally {
        x.dni_w_settings_free(s);
      }
    },

    /** The engine's end of a lease, confirmed or not (dni_lease_end()). */
    leaseEnd(settings, start, lastSeen, lastJoin, confirmed = true) {
      const s = makeSettings(core, settings);
      try {
        return x.dni_w_lease_end(s, start, lastSeen, lastJoin, confirmed ? 1 : 0);
      } finally {
        x.dni_w_settings_free(s);
      }
    },

    /**
     * Attribution of a call at t given a number's lease spans
     * ([{start, end}], end Infinity while live): [{index, likelihood}],
     * best first, empty when unattributed.
     */
    attribute(settings, spans, t, max = 8) {
      const s = makeSettings(core, settings);
      const sp = core.malloc(16 * Math.max(spans.length, 1));
      const out = core.malloc(16 * max);
      try {
        const f = new Float64Array(core.memory.buffer, sp, 2 * spans.length);
        spans.forEach((span, i) => { f[2 * i] = span.start; f[2 * i + 1] = span.end; });
        const n = core.check(x.dni_w_attribute(s, sp, spans.length, t, out, max));
        const r = new Float64Array(core.memory.buffer, out, 2 * n);
        return Array.from({ length: n }, (_, i) => ({ index: r[2 * i], likelihood: r[2 * i + 1] }));
      } finally {
        x.free(sp);
        x.free(out);
        x.dni_w_settings_free(s);
      }
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
