// A small in-memory HTTP cache for running the edge on workerd, where the
// Cache API (caches.default) is backed by whatever service the config
// names as cacheApiOutbound. On Cloudflare the platform cache is used and
// this file is not deployed.
//
// Protocol (what workerd sends): GET <key url> for match() (answer with
// Cf-Cache-Status: HIT and the stored response, or MISS); PUT <key url>
// with the serialised HTTP response as body for put(); PURGE for delete().
// Entries live for the response's s-maxage / max-age (default 60 s),
// bounded to MAX_ENTRIES, oldest evicted first.

const MAX_ENTRIES = 500;
const store = new Map(); // key -> {status, statusText, headers, body, expires}

function parseSerialised(bytes) {
  // "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n<body>"
  let end = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) return null;
  const head = new TextDecoder().decode(bytes.subarray(0, end)).split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3}) ?(.*)$/.exec(head[0]);
  if (!m) return null;
  const headers = [];
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return { status: Number(m[1]), statusText: m[2], headers, body: bytes.slice(end + 4) };
}

function ttlOf(headers) {
  const cc = (headers.find(([k]) => k.toLowerCase() === 'cache-control') || [])[1] || '';
  if (/no-store|private|no-cache/i.test(cc)) return 0;
  const m = /s-maxage=(\d+)/i.exec(cc) || /max-age=(\d+)/i.exec(cc);
  return m ? Number(m[1]) : 60;
}

export default {
  async fetch(request) {
    const key = request.url;
    if (request.method === 'PUT') {
      const r = parseSerialised(new Uint8Array(await request.arrayBuffer()));
      if (!r) return new Response(null, { status: 413 });
      const ttl = ttlOf(r.headers);
      if (ttl <= 0) return new Response(null, { status: 204 });
      store.delete(key);
      store.set(key, { ...r, expires: Date.now() + ttl * 1000 });
      while (store.size > MAX_ENTRIES) store.delete(store.keys().next().value);
      return new Response(null, { status: 204 });
    }
    if (request.method === 'PURGE') {
      return new Response(null, { status: store.delete(key) ? 200 : 404 });
    }
    const e = store.get(key);
    if (!e || e.expires < Date.now()) {
      if (e) store.delete(key);
      return new Response(null, { status: 504, headers: { 'cf-cache-status': 'MISS' } });
    }
    const headers = new Headers(e.headers);
    headers.set('cf-cache-status', 'HIT');
    return new Response(e.body, { status: e.status, statusText: e.statusText, headers });
  },
};
