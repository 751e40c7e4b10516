// Benchmark entry for workerd: the edge worker plus /_bench/* routes that
// stream one document (fetched once from the upstream, then kept in
// memory) in chunks of a chosen size through (a) an identity transform,
// (b) the edge's WASM rewrite stream, (c) HTMLRewriter with a tel: selector
// and a text handler doing the same swap.
import edge, { PoolShard as Shard, EdgeSync } from './worker.mjs';
import { rewriteStream, metaTag } from './html_stream.mjs';

// The shard with one extra RPC method that does nothing, to time the
// worker -> Durable Object hop on its own.
export class PoolShard extends Shard {
  ping() { return 1; }

  // The same empty hop through the Durable Object fetch() interface.
  fetch() { return new Response('1'); }
}
export { EdgeSync };

const docs = new Map();
let dni = null;

async function doc(env, name) {
  if (!docs.has(name)) {
    const r = await fetch(new URL('/file/' + name, env.UPSTREAM));
    docs.set(name, new Uint8Array(await r.arrayBuffer()));
  }
  return docs.get(name);
}

function chunked(bytes, size) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) { c.close(); return; }
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

const FROM = '+18005551234';
const TO = '+18885550001';
// The same job for HTMLRewriter: the handler can only look at the text
// chunk it is given, so a number split across chunks is missed.
const TEXT_RE = /(?<!\d)(\+?1[ .-]?)?\(?800\)?[ .-]?555[ .-]?1234(?!\d)/g;
const swapText = (s) => s.replace(TEXT_RE, (m) => m.replace(/800/, '888').replace(/1234$/, '0001'));

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith('/_bench/')) return edge.fetch(request, env, ctx);
    // Parts of a heartbeat, for the profile: the worker alone answering
    // JSON, and the worker plus an empty RPC to the pool's shard.
    if (url.pathname === '/_bench/null') return new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } });
    // The least a beacon can cost: read the POST body, parse it, answer a
    // JSON body of a heartbeat answer's shape (no cookie, no lease).
    if (url.pathname === '/_bench/echo') {
      const b = JSON.parse(await request.text());
      return new Response(JSON.stringify({ leases: [{ ok: true, lease: b.lease, number: TO, expires_at: Date.now() / 1000 }] }),
        { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
    }
    if (url.pathname === '/_bench/dofetch') {
      const r = await env.POOLS.get(env.POOLS.idFromName('bench')).fetch('http://shard/ping');
      return new Response(`{"ok":${await r.text()}}`, { headers: { 'content-type': 'application/json' } });
    }
    if (url.pathname === '/_bench/rpc') {
      const n = await env.POOLS.get(env.POOLS.idFromName('bench')).ping();
      return new Response(`{"ok":${n}}`, { headers: { 'content-type': 'application/json' } });
    }
    const body = chunked(await doc(env, url.searchParams.get('doc')), Number(url.searchParams.get('chunk') || 4096));
    const headers = { 'content-type': 'text/html' };
    switch (url.pathname) {
      case '/_bench/a':
        return new Response(body.pipeThrough(new TransformStream()), { headers });
      case '/_bench/b': {
        if (!dni) {
          const [b, w] = await Promise.all([import('./dni.mjs'), import('./dni.wasm')]);
          dni = await b.loadDni(w.default);
        }
        const s = rewriteStream({ makeRewriter: () => dni.rewriter([{ from: FROM, to: TO }]),
          metaHtml: '', log: console.error });
        return new Response(body.pipeThrough(s), { headers });
      }
      case '/_bench/d': {
        // (d) what a page view costs the edge on top of (b): the lease from
        // the pool's shard (a returning visitor: the lease is current) and
        // the <meta name="dni"> injection.
        if (!dni) {
          const [b, w] = await Promise.all([import('./dni.mjs'), import('./dni.wasm')]);
          dni = await b.loadDni(w.default);
        }
        const lease = await env.POOLS.get(env.POOLS.idFromName('bench')).assign({
          pool: 'bench', visitor: 'bench-visitor-0001', tags: {}, referrer: '', url: request.url });
        if (!lease || !lease.number) return new Response('no lease', { status: 503 });
        const s = rewriteStream({ makeRewriter: () => dni.rewriter([{ from: FROM, to: lease.number }]),
          metaHtml: metaTag([lease]), log: console.error });
        return new Response(body.pipeThrough(s), { headers });
      }
      case '/_bench/c': {
        const rw = new HTMLRewriter()
          .on('a[href^="tel:"]', { element(e) { e.setAttribute('href', swapText(e.getAttribute('href'))); } })
          .on('*', { text(t) { if (t.text) { const r = swapText(t.text); if (r !== t.text) t.replace(r, { html: false }); } } });
        return rw.transform(new Response(body, { headers }));
      }
      default: return new Response('no such bench route', { status: 404 });
    }
  },
};
