// The streaming half of the edge: a TransformStream that injects the
// <meta name="dni"> tag after <head> and runs every chunk through the
// WebAssembly rewriter as it arrives. Nothing here holds more than a few
// bytes of the document: the head scanner keeps at most 5 bytes, the
// rewriter a few hundred (a number or tag split across chunks).

const enc = new TextEncoder();

// HTML-escapes a value for a double-quoted attribute.
export function attrEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;')
    .replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// The meta tag the snippet reads: JSON (entity-escaped) listing, per
// default number on the page, the pool, lease id and number shown.
export function metaTag(leases) {
  const content = JSON.stringify(leases.map((l) => ({
    pool: l.pool, lease: l.lease, number: l.number, default: l.default_number,
    expires: l.expires_at,
  })));
  return `<meta name="dni" content="${attrEscape(content)}">`;
}

// True when the first bytes carry a UTF-16 or UTF-32 byte order mark; such
// pages are passed through untouched (the rewriter reads ASCII-compatible
// encodings only).
export function hasWideBom(b) {
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) return true;
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff;
}

// Content-Type charsets the rewriter must not touch.
export function isWideCharset(contentType) {
  return /charset\s*=\s*["']?\s*(utf-?16|utf-?32|ucs-?2|ucs-?4)/i.test(contentType || '');
}

function lower(c) { return c >= 65 && c <= 90 ? c + 32 : c; }

// Finds "<head" followed by whitespace, '/' or '>' (so <header> is not
// taken for it). Returns its index or -1.
function findHead(b, from) {
  for (let i = from; i + 5 < b.length + 1; i++) {
    if (b[i] !== 60) continue;
    if (i + 5 >= b.length) return -2; // possible match cut by the chunk end
    if (lower(b[i + 1]) === 104 && lower(b[i + 2]) === 101 && lower(b[i + 3]) === 97
        && lower(b[i + 4]) === 100) {
      const d = b[i + 5];
      if (d === 62 || d === 47 || d === 32 || d === 9 || d === 10 || d === 13 || d === 12) return i;
    }
  }
  return -1;
}

function concat(a, b) {
  if (!a.length) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0); out.set(b, a.length);
  return out;
}

// Incremental injector: feed() returns the bytes to pass on (with the tag
// inserted after the '>' of the first <head ...>), flush() what is held.
// Gives up after `limit` bytes without a <head>, so a page without one is
// never held or altered.
export class HeadInjector {
  constructor(tag, limit = 65536) {
    this.tag = enc.encode(tag);
    this.state = tag ? 0 : 2; // 0 seek "<head", 1 seek '>', 2 done
    this.carry = new Uint8Array(0);
    this.seen = 0;
    this.limit = limit;
    this.injected = false;
  }

  feed(chunk) {
    if (this.state === 2) return chunk;
    const b = concat(this.carry, chunk);
    this.carry = new Uint8Array(0);
    let from = 0;
    if (this.state === 0) {
      const i = findHead(b, 0);
      if (i === -1 || i === -2) {
        this.seen += chunk.length;
        if (this.seen > this.limit) { this.state = 2; return b; }
        // keep the tail that might start "<head"
        const keep = Math.min(5, b.length);
        const lt = b.lastIndexOf(60, b.length - 1);
        const cut = lt >= 0 && lt >= b.length - keep ? lt : b.length;
        this.carry = b.slice(cut);
        return b.subarray(0, cut);
      }
      this.state = 1;
      from = i + 5;
    }
    const j = b.indexOf(62, from);
    if (j < 0) return b; // '>' still to come; nothing needs holding
    this.state = 2;
    this.injected = true;
    const out = new Uint8Array(b.length + this.tag.length);
    out.set(b.subarray(0, j + 1), 0);
    out.set(this.tag, j + 1);
    out.set(b.subarray(j + 1), j + 1 + this.tag.length);
    return out;
  }

  flush() {
    const c = this.carry;
    this.carry = new Uint8Array(0);
    this.state = 2;
    return c;
  }
}

// Builds the TransformStream for one response. `makeRewriter()` returns a
// fresh WASM rewriter ({write, end, free}) or throws; `log` receives one
// line per failure. A failure before the first byte leaves the page as it
// came; a failure in the middle passes the rest of the input through as it
// came (the few bytes the rewriter held at that moment are its loss, and
// the failure is logged with the byte offset).
export function rewriteStream({ makeRewriter, metaHtml, log }) {
  let rw = null;
  let inj = null;
  let passthrough = false;
  let first = true;
  let offset = 0;
  const fail = (what, e) => {
    passthrough = true;
    log(`dni: rewrite failed (${what}) at byte ${offset}: ${e && e.message ? e.message : e}`);
    try { rw && rw.free(); } catch { /* already gone */ }
    rw = null;
  };
  return new TransformStream({
    transform(chunk, controller) {
      const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
      if (first) {
        first = false;
        if (hasWideBom(bytes)) passthrough = true;
        else {
          try { rw = makeRewriter(); inj = new HeadInjector(metaHtml); } catch (e) { fail('start', e); }
        }
      }
      if (passthrough) { controller.enqueue(bytes); offset += bytes.length; return; }
      const injected = inj.feed(bytes);
      let out;
      try { out = rw.write(injected); } catch (e) {
        fail('write', e);
        controller.enqueue(injected);
        offset += bytes.length;
        return;
      }
      offset += bytes.length;
      if (out && out.length) controller.enqueue(out);
    },
    flush(controller) {
      if (passthrough || !rw) return;
      try {
        const tail = inj.flush();
        if (tail.length) {
          const out = rw.write(tail);
          if (out && out.length) controller.enqueue(out);
        }
        const end = rw.end();
        if (end && end.length) controller.enqueue(end);
      } catch (e) {
        fail('end', e);
      } finally {
        try { rw && rw.free(); } catch { /* ignore */ }
        rw = null;
      }
    },
  });
}
