// Who gets a tracking number (docs/edge.md, "How leases are protected"):
// real workerd, real dni-origin. Scripts, crawlers, prefetches and
// sub-resource requests get the page exactly as upstream serves it and no
// cookie; a real Chromium navigation gets a lease.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, landingPage, DEFAULT } from './upstream.mjs';
import { startEdge, Visitor, waitFor } from './harness.mjs';
import { startOrigin, admin, HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';
import { scriptedClients, NOT_VISITS } from './scripted_clients.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const NUMBERS = Array.from({ length: 20 }, (_, i) => N(i + 1));

async function assigned(edge, pool = 'p1') {
  const s = await edge.status();
  const p = s.pools.find((x) => x.pool === pool);
  return p ? p.assigned : 0;
}

describe('only visitors take numbers', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let origin; let up; let edge;

  before(async () => {
    origin = await startOrigin();
    const p = await admin(origin.url, 'POST', '/v1/pools', {
      id: 'p1', name: 'Landing pages', numbers: NUMBERS, default_number: DEFAULT,
    });
    assert.equal(p.status, 201, p.text);
    up = await startUpstream();
    edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-visitors' });
    // the edge has its grants (a visitor's view makes the first sync)
    await waitFor(async () => (await new Visitor(edge.url).page('/warm')).meta, { what: 'a first lease' });
  });

  after(async () => {
    if (edge) await edge.destroy();
    if (up) await up.close();
    if (origin) await origin.destroy();
  });

  test('scripted clients get the page unchanged, no cookie, no lease', async () => {
    const before = await assigned(edge);
    const clients = await scriptedClients();
    assert.ok(clients.length >= 10, `clients: ${clients.map((c) => c.name)}`);
    try {
      for (const c of clients) {
        const r = await c.get(`${edge.url}/page`);
        assert.equal(r.status, 200, c.name);
        assert.equal(r.body, landingPage(), `${c.name}: the page as upstream serves it`);
        assert.deepEqual(r.setCookie, [], `${c.name}: no cookie`);
      }
    } finally { clients.cleanup(); }
    assert.equal(await assigned(edge), before, 'no lease made');
  });

  test('prefetches, sub-resource loads, frames and crawlers get the page unchanged', async () => {
    const before = await assigned(edge);
    for (const { name, headers } of NOT_VISITS) {
      const res = await fetch(`${edge.url}/page`, { headers });
      assert.equal(res.status, 200, name);
      assert.equal(await res.text(), landingPage(), name);
      assert.deepEqual(res.headers.getSetCookie(), [], `${name}: no cookie`);
    }
    assert.equal(await assigned(edge), before, 'no lease made');
  });

  test('a real Chromium navigation gets a lease', { timeout: 60000 }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      // Headless Chromium names itself HeadlessChrome, which the edge
      // treats as a crawler (scrapers run it); a visitor's Chrome does not.
      const major = browser.version().split('.')[0];
      const ctx = await browser.newContext({ userAgent:
        `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36` });
      const page = await ctx.newPage();
      const before = await assigned(edge);
      const res = await page.goto(`${edge.url}/page?utm_source=chromium`);
      assert.equal(res.status(), 200);
      const meta = JSON.parse(await page.getAttribute('meta[name="dni"]', 'content'));
      assert.equal(meta.length, 1);
      assert.ok(NUMBERS.includes(meta[0].number), `a tracking number: ${meta[0].number}`);
      assert.ok(meta[0].lease);
      const cookies = await ctx.cookies();
      assert.ok(cookies.some((c) => c.name === 'dni_vid'), 'visitor cookie set');
      assert.equal(await assigned(edge), before + 1);
    } finally {
      await browser.close();
    }
  });
});
