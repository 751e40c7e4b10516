// Event cleaning: every field the edge stores in an event and sends to the
// origin is bounded and well-formed, so one page view can never make a
// batch the origin refuses. Page URLs, referrers, tag values and visitor
// ids come from strangers: a URL of 10 KB, a lone UTF-16 surrogate from a
// beacon's JSON, an emoji cut in half by a length limit.
//
// The rules (docs/edge.md, "Event fields"):
//   - every string is well-formed UTF-16 (a lone surrogate becomes U+FFFD),
//     so it is valid UTF-8 once encoded, and is cut by its UTF-8 length at
//     a code point boundary, never inside a surrogate pair;
//   - URLs and referrers: at most URL_MAX bytes; a longer one keeps its
//     scheme, host and path (query and fragment go first, then the path is
//     cut), and something that is not a URL is cut as text;
//   - tags: at most TAGS_MAX of them, names of at most TAG_NAME_MAX bytes,
//     values (strings, numbers and booleans; anything else is dropped) of at
//     most TAG_VALUE_MAX bytes;
//   - ids (lease, pool, visitor, number): at most ID_MAX bytes.
// Pure functions: the same code runs in the worker and in the tests.

export const URL_MAX = 2048;
export const TAGS_MAX = 32;
export const TAG_NAME_MAX = 64;
export const TAG_VALUE_MAX = 256;
export const ID_MAX = 128;
export const TEXT_MAX = 256;

// s with every lone surrogate replaced by U+FFFD.
export function wellFormed(s) {
  s = String(s);
  if (!/[\ud800-\udfff]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) { out += s[i] + s[i + 1]; i++; continue; }
      out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\ufffd';
    } else {
      out += s[i];
    }
  }
  return out;
}

// Well-formed s, cut to at most max UTF-8 bytes at a code point boundary.
export function cutText(s, max = TEXT_MAX) {
  s = wellFormed(s);
  if (s.length * 3 <= max) return s; // fits whatever it holds
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.codePointAt(i);
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    i += c >= 0x10000 ? 2 : 1;
  }
  return s.slice(0, i);
}

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
  }
  return n;
}

// A URL (or referrer) of at most max bytes that keeps its scheme, host and
// path when it has to be shortened.
export function cleanUrl(u, max = URL_MAX) {
  if (u === undefined || u === null) return '';
  const s = wellFormed(u);
  if (utf8Length(s) <= max) return s;
  let url;
  try { url = new URL(s); } catch { return cutText(s, max); }
  const base = `${url.protocol}//${url.host}`;
  const full = base + url.pathname;
  if (utf8Length(full) <= max) {
    // Whole parameters of the query while they fit.
    let out = full;
    const params = url.search.length > 1 ? url.search.slice(1).split('&') : [];
    for (let i = 0; i < params.length; i++) {
      const next = out + (i === 0 ? '?' : '&') + params[i];
      if (utf8Length(next) > max) break;
      out = next;
    }
    return out;
  }
  return cutText(full, max);
}

// Tags: at most TAGS_MAX names of scalar values, both bounded.
export function cleanTags(tags) {
  const out = {};
  if (!tags || typeof tags !== 'object' || Array.isArray(tags)) return out;
  let n = 0;
  for (const [k, v] of Object.entries(tags)) {
    if (n >= TAGS_MAX) break;
    if (v === null || v === undefined || (typeof v === 'object') || typeof v === 'function') continue;
    const name = cutText(k, TAG_NAME_MAX);
    if (!name || name in out) continue;
    out[name] = cutText(String(v), TAG_VALUE_MAX);
    n++;
  }
  return out;
}

const URL_FIELDS = new Set(['url', 'referrer']);
const ID_FIELDS = new Set(['lease', 'pool', 'visitor', 'number', 'type']);

// A copy of an outbox event with every field bounded and well-formed.
// Numbers stay numbers (non-finite ones are dropped); nested objects other
// than tags are dropped.
export function cleanEvent(ev) {
  const out = {};
  if (!ev || typeof ev !== 'object') return out;
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'tags') out.tags = cleanTags(v);
    else if (typeof v === 'number') { if (Number.isFinite(v)) out[k] = v; } else if (typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'string') {
      out[k] = URL_FIELDS.has(k) ? cleanUrl(v) : cutText(v, ID_FIELDS.has(k) ? ID_MAX : TEXT_MAX);
    }
  }
  return out;
}
