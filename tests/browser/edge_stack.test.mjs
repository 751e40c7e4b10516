// The snippet in Chromium through the real system: the edge on workerd,
// the real dni-origin, and a site. Edge mode (the page came through the
// edge), snippet-only mode on another origin (CORS, the visitor id in the
// site's own storage), and a React page server-rendered, swapped by the
// edge and hydrated with hydrateRoot. Skipped without dni-origin.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { startEdge, SECRET } from '../edge/harness.mjs';
import { launch, startServer, startOrigin, waitFor, sleep, BUILD, ROOT, JS, UA } from './harness.mjs';
import { App, DEFAULT } from './react_app.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const NUMBERS = [N(1), N(2), N(3), N(4), N(5), N(6)];
const HAVE_ORIGIN = existsSync(join(BUILD, 'bin/dni-origin'));
const nsnOf = (e) => e.slice(2);
const dashed = (e) => `${nsnOf(e).slice(0, 3)}-${nsnOf(e).slice(3, 6)}-${nsnOf(e).slice(6)}`;

describe('through the real edge and origin', { skip: !HAVE_ORIGIN && 'dni-origin not built' }, () => {
  let dir; let origin; let upstream; let site; let edge; let browser; let bundle;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dni-browser-'));
    const out = join(dir, 'app.js');
    execFileSync('esbuild', [join(ROOT, 'tests/browser/react_entry.mjs'), '--bundle', '--format=iife', '--minify',
      '--define:process.env.NODE_ENV="production"', '--log-level=warning', `--outfile=${out}`], { cwd: ROOT });
    bundle = readFileSync(out, 'utf8');
    const ssr = renderToString(h(App));
    upstream = await startServer((req, body, url) => {
      if (url.pathname === '/app.js') return { headers: JS, body: bundle };
      if (url.pathname === '/landing') {
        return `<!DOCTYPE html><html><head><title>Acme | (800) 555-1234</title>
          <script src="/_dni/dni.js" async></script></head><body>
          <h1>Call <a id="tel" href="tel:+18005551234">(800) 555-1234</a></h1>
          <p id="p">Call us: 800-555-1234</p><div id="later"></div>
          <button id="quote" data-dni-tag="form=quote">Get a quote</button><a id="next" href="/next">next</a>
          <script>setTimeout(() => { document.getElementById('later').innerHTML = '<b>800.555.1234</b>'; }, 300);</script>
          </body></html>`;
      }
      if (url.pathname === '/next') return '<!DOCTYPE html><html><head></head><body>next</body></html>';
      if (url.pathname === '/react') {
        return `<!DOCTYPE html><html><head><script src="/_dni/dni.js" async></script></head>
          <body><div id="root">${ssr}</div><script src="/app.js" defer></script></body></html>`;
      }
      return undefined;
    });
    // The site of snippet-only mode: another origin than the edge.
    site = await startServer((req, body, url) => (url.pathname === '/shop'
      ? `<!DOCTYPE html><html><head><script src="${edge.url}/_dni/dni.js" async></script></head><body>
         <p id="p">Call <span>800</span>-555-<b>1234</b></p></body></html>` : undefined));
    site.origin = `http://localhost:${site.port}`;
    origin = await startOrigin({ dir, secret: SECRET });
    const p = await origin.admin('POST', '/v1/pools', { id: 'p1', name: 'Site', numbers: NUMBERS,
      default_number: DEFAULT, buffer_s: 60, min_hold_s: 30, max_lease_s: 600, site_origins: [site.origin] });
    assert.equal(p.status, 201, p.text);
    const bad = await origin.admin('POST', '/v1/pools', { id: 'p2', numbers: [N(9)], default_number: '+18005550000',
      site_origins: ['javascript:alert(1)'] });
    assert.equal(bad.status >= 400 && bad.status < 500, true, bad.text);
    edge = await startEdge({ upstream: upstream.url, origin: origin.url, edgeId: 'edge-browser' });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (edge) await edge.destroy();
    if (origin) await origin.stop();
    if (upstream) await upstream.close();
    if (site) await site.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('edge mode: the number is in the first paint; heartbeats extend the lease; a tag reaches the session; leave on navigation', async () => {
    const ctx = await browser.newContext({ userAgent: UA });
    const page = await ctx.newPage();
    await page.clock.install();
    const first = page.waitForResponse((r) => r.url().includes('/landing'));
    await page.goto(`${edge.url}/landing?utm_source=google`);
    const html = await (await first).text();
    const numbers = await page.evaluate(() => window.dni.ready);
    assert.equal(numbers.length, 1);
    const { number, lease } = numbers[0];
    assert.ok(NUMBERS.includes(number), number);
    // What the browser received, so what it painted, never shows the default.
    assert.ok(!/800.555.1234/.test(html.replace(/<script[\s\S]*?<\/script>/g, '')), `no default number in the HTML: ${html}`);
    assert.ok(html.includes(dashed(number).replace(/-/g, '-')), 'the tracking number in the HTML');
    assert.equal(await page.$eval('#p', (e) => e.textContent), `Call us: ${dashed(number)}`);
    // late content: swapped by the snippet (the page's clock is driven by hand)
    await page.clock.runFor(400);
    await waitFor(async () => (await page.$eval('#later', (e) => e.textContent)) === dashed(number).replace(/-/g, '.'),
      { what: 'late content swapped' });
    const meta = await page.$eval('meta[name=dni]', (e) => JSON.parse(e.content)[0]);
    await sleep(1500);
    const beat = page.waitForResponse((r) => r.url().endsWith('/_dni/v1/hb'));
    await page.clock.runFor(15000);
    const hb = await (await beat).json();
    assert.equal(hb.leases[0].ok, true);
    assert.ok(hb.leases[0].expires_at > meta.expires + 1, `extended: ${hb.leases[0].expires_at} > ${meta.expires}`);
    // a page-event tag reaches the visitor's session at the origin
    await page.click('#quote');
    await waitFor(async () => JSON.stringify((await origin.admin('GET', '/v1/leases')).body).includes('"form":"quote"'),
      { what: 'the tag at the origin' });
    const w = await fetch(`${origin.url}/v1/webhooks/call`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ CallSid: 'CAbrowser1', To: number, From: '+12125550100', CallStatus: 'ringing',
        Timestamp: String(Date.now() / 1000) }) });
    assert.equal(w.status, 200, await w.text());
    const call = (await origin.admin('GET', '/v1/calls/CAbrowser1')).body;
    assert.equal(call.session.lease, lease);
    assert.equal(call.session.tags.form, 'quote');
    assert.equal(call.session.tags.utm_source, 'google');
    // leave when the visitor navigates away
    // (a beacon sent while the page unloads is not shown to the test's
    // request events: the edge's lease cache counts it instead)
    const seen = async () => { const c = (await edge.status()).beat_cache; return c.hits + c.misses; };
    const before = await seen();
    await page.click('#next');
    await waitFor(async () => (await seen()) > before, { what: 'the leave beacon at the edge' });
    await ctx.close();
  });

  test('snippet-only on another origin: the number comes from the edge, the visitor id stays the site\'s', async () => {
    const ctx = await browser.newContext({ userAgent: UA });
    const page = await ctx.newPage();
    await page.goto(`${site.origin}/shop?utm_source=newsletter`);
    const [n] = await page.evaluate(() => window.dni.ready);
    assert.ok(NUMBERS.includes(n.number));
    assert.equal(n.default, DEFAULT);
    assert.equal(await page.$eval('#p', (e) => e.innerHTML), `Call <span>${nsnOf(n.number).slice(0, 3)}</span>-${
      nsnOf(n.number).slice(3, 6)}-<b>${nsnOf(n.number).slice(6)}</b>`);
    const vid = await page.evaluate(() => JSON.parse(localStorage.getItem('dni'))[0]);
    assert.match(vid, /^[\w-]{8,64}$/);
    // the same visitor on the next page view keeps the number
    await page.reload();
    const [again] = await page.evaluate(() => window.dni.ready);
    assert.equal(again.number, n.number);
    assert.equal(again.lease, n.lease);
    // a heartbeat from the site's origin is answered for that visitor
    const hb = await page.evaluate(async ([e, l, v]) => (await fetch(`${e}/_dni/v1/hb`, { method: 'POST',
      credentials: 'include', body: JSON.stringify({ lease: l, vid: v }) })).json(), [edge.url, n.lease, vid]);
    assert.equal(hb.leases[0].ok, true);
    await ctx.close();
  });

  test('React: server-rendered, swapped by the edge, hydrated; re-renders keep the tracking number', async () => {
    const ctx = await browser.newContext({ userAgent: UA });
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${edge.url}/react`);
    const [n] = await page.evaluate(() => window.dni.ready);
    await page.waitForFunction(() => window.hydrated);
    const nsn = nsnOf(n.number);
    const shown = async () => page.evaluate(() => [document.getElementById('call').textContent,
      document.getElementById('call').getAttribute('href'), document.getElementById('text').textContent]);
    const fmt = `(${nsn.slice(0, 3)}) ${nsn.slice(3, 6)}-${nsn.slice(6)}`;
    await waitFor(async () => {
      const [a, href, p] = await shown();
      return a === `Call ${fmt}` && href === `tel:+1${nsn}` && p === `Tel 0: ${nsn.slice(0, 3)}.${nsn.slice(3, 6)}.${nsn.slice(6)}`;
    }, { what: `hydrated page shows ${n.number}: ${JSON.stringify(await shown())}` });
    for (let i = 1; i <= 3; i++) {
      await page.click('#more');
      await waitFor(async () => {
        const [a, href, p] = await shown();
        const d = i % 2 ? dashed(n.number) : `${nsn.slice(0, 3)}.${nsn.slice(3, 6)}.${nsn.slice(6)}`;
        return a === `Call ${fmt}` && href === (i % 2 ? `tel:${nsn}` : `tel:+1${nsn}`)
          && p === `${i % 2 ? 'Phone' : 'Tel'} ${i}: ${d}`;
      }, { what: `re-render ${i} swapped: ${JSON.stringify(await shown())}` });
    }
    assert.equal(await page.$eval('#more', (e) => e.textContent), 'clicked 3', 'React still drives the page');
    assert.deepEqual(errors, []);
    await ctx.close();
  });
});
