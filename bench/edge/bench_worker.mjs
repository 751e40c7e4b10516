// Benchmark entry for workerd: the edge worker plus /_bench/* routes that
// stream one document (fetched once from the upstream, then kept in
// memory) in chunks of a chosen size through (a) an identity transform,
// (b) the edge's WASM rewrite stream, (c) HTMLRewriter with a tel: selector
// and a text handler doing the same swap.
import edge, { PoolShard, EdgeSync } from './worker.mjs';
import { rewriteStream } from './html_stream.mjs';

export { PoolShard, EdgeSync };

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
