// The streaming half of the edge: a TransformStream that runs every chunk
// through the WebAssembly rewriter as it arrives. The rewriter also writes
// the <meta name="dni"> tag where its tokenizer finds the head's content
// begins: after the real <head ...> start tag, or before the first content
// of a page without one, never inside a comment, an attribute or a script
// (dni_rewriter_set_head()). Nothing here holds more than the rewriter's
// few hundred bytes (a number or tag split across chunks).

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

// Builds the TransformStream for one response. `makeRewriter()` returns a
// fresh WASM rewriter ({write, end, free}) or throws; `log` receives one
// line per failure. A failure before the first byte leaves the page as it
// came; a failure in the middle passes the rest of the input through as it
// came (the few bytes the rewriter held at that moment are its loss, and
// the failure is logged with the byte offset).
// onEnd(rewriter), when given, is called once the whole page went through
// the rewriter (not after a failure), before it is freed.
export function rewriteStream({ makeRewriter, metaHtml, log, onEnd }) {
  let rw = null;
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
          try {
            rw = makeRewriter();
            if (metaHtml) rw.setHead(metaHtml);
          } catch (e) { fail('start', e); }
        }
      }
      if (passthrough) { controller.enqueue(bytes); offset += bytes.length; return; }
      let out;
      try { out = rw.write(bytes); } catch (e) {
        fail('write', e);
        controller.enqueue(bytes);
        offset += bytes.length;
        return;
      }
      offset += bytes.length;
      if (out && out.length) controller.enqueue(out);
    },
    flush(controller) {
      if (passthrough || !rw) return;
      try {
        const end = rw.end();
        if (end && end.length) controller.enqueue(end);
        if (onEnd) {
          try { onEnd(rw); } catch (e) { log(`dni: after the rewrite: ${e.message}`); }
        }
      } catch (e) {
        fail('end', e);
      } finally {
        try { rw && rw.free(); } catch { /* ignore */ }
        rw = null;
      }
    },
  });
}
