// A local upstream site for the edge tests and benchmark: landing pages
// that carry the site's default number in text, tel: links, attributes,
// a script and JSON-LD, sent in many small chunks, optionally gzipped.
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';

export const DEFAULT = '+18005551234';

export function landingPage(title = 'Acme Plumbing') {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} | Call (800) 555-1234</title>
<script type="application/ld+json">{"@type":"LocalBusiness","telephone":"+1-800-555-1234"}</script>
<script>var support = "800-555-1234";</script>
</head>
<body>
<header><a href="tel:+1-800-555-1234" class="call">Call (800) 555-1234</a></header>
<main>
<h1>24/7 emergency plumbing</h1>
<p>Questions? Call us at 800.555.1234 or 1-800-555-1234 today.</p>
<img src="/van.png" alt="Call 800 555 1234">
<p data-note="800-555-1234">Order number 48005551234999 is not a phone number.</p>
<div data-dni-skip><p>Head office (800) 555-1234</p></div>
<footer><a href="callto:8005551234">8005551234</a></footer>
</main>
</body>
</html>
`;
}

// Where the default number may stay in landingPage(): JSON-LD, the script,
// the data attribute and the data-dni-skip block.
export const KEPT_DEFAULTS = 4;

async function sendChunked(res, body, chunk) {
  for (let i = 0; i < body.length; i += chunk) {
    res.write(body.subarray(i, i + chunk));
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

// Starts the server on a free 127.0.0.1 port. Routes:
//   /page, /page2, /any/other/path  landing page, 7-byte chunks
//   /gzip                           landing page, gzip when accepted
//   /utf16                          UTF-16 page (must pass untouched)
//   /style.css, /data.json          non-HTML
//   /big?file=PATH                  a file from disk (benchmark)
//   /nohead                         HTML without <head>
// `hits` counts upstream requests per path (to see edge cache hits).
export function startUpstream({ files = {} } = {}) {
  const hits = {};
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x');
    hits[u.pathname] = (hits[u.pathname] || 0) + 1;
    const html = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=60' };
    if (u.pathname === '/gzip') {
      const body = Buffer.from(landingPage('Gzip page'));
      if (/gzip/.test(req.headers['accept-encoding'] || '')) {
        const z = gzipSync(body);
        res.writeHead(200, { ...html, 'content-encoding': 'gzip', 'content-length': z.length, vary: 'Accept-Encoding' });
        return sendChunked(res, z, 64);
      }
      res.writeHead(200, { ...html, 'content-length': body.length });
      return res.end(body);
    }
    if (u.pathname === '/utf16') {
      const text = '\ufeff<html><head></head><body>Call 800-555-1234</body></html>';
      const body = Buffer.from(text, 'utf16le');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-16' });
      return res.end(body);
    }
    if (u.pathname === '/style.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      return res.end('a::after{content:"800-555-1234"}');
    }
    if (u.pathname === '/data.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"phone":"800-555-1234"}');
    }
    if (u.pathname === '/nohead') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<p>Call 800-555-1234</p>');
    }
    if (u.pathname.startsWith('/file/')) {
      const body = files[u.pathname.slice(6)];
      if (!body) { res.writeHead(404); return res.end(); }
      res.writeHead(200, { ...html, 'content-length': body.length });
      return res.end(body);
    }
    const body = Buffer.from(landingPage());
    res.writeHead(200, { ...html, 'content-length': body.length });
    return sendChunked(res, body, 7);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, hits, server,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) });
    });
  });
}
