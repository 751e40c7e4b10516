// The sample site of `make run`: the static files of demo/site/ served as
// an ordinary web server would (the edge proxies it). Node only: never
// loaded into the worker.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SITE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'site');
export const SITE_DEFAULT_NUMBER = '+18005551234';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

// Starts the site on host:port (port 0: a free one). Resolves to
// {url, port, close()}; rejects when the port is taken. edge: the edge's
// URL, written where a page says {{EDGE}} (the page that loads the snippet
// from the edge, as a site not served through it does).
export function startSite({ host = '127.0.0.1', port = 0, log = () => {}, edge = '' } = {}) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const name = path === '/' ? 'index.html' : path.slice(1);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return res.end();
    }
    // Only plain file names of the folder: no '..', no sub-folders.
    if (!/^[a-z0-9_-]+\.[a-z]+$/.test(name) || !TYPES[extname(name)]) return notFound(res);
    let body;
    try { body = await readFile(join(SITE_DIR, name)); } catch { return notFound(res); }
    if (extname(name) === '.html') body = Buffer.from(body.toString('utf8').replaceAll('{{EDGE}}', edge));
    res.writeHead(200, {
      'content-type': TYPES[extname(name)], 'content-length': body.length,
      'cache-control': 'public, max-age=60',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    log(`${req.method} ${path} 200`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const p = server.address().port;
      resolve({
        url: `http://${host}:${p}`, port: p,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      });
    });
  });
}

function notFound(res) {
  res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!DOCTYPE html><title>Not found</title><p>Not found. <a href="/">Home</a></p>\n');
}
