// A real dni-origin with its pools, an upstream site and an edge between
// them: what the tests of whole visits start before their first case.
import assert from 'node:assert/strict';
import { startUpstream } from './upstream.mjs';
import { startEdge, Visitor, waitFor } from './harness.mjs';
import { startOrigin, admin } from './origin_process.mjs';

// pools: the bodies of POST /v1/pools, each created (201) in order.
// files: the upstream's extra pages. edge: startEdge's options besides
// upstream and origin. warm: wait until a visitor's view gets a lease
// (the edge has its grants) before returning.
// Returns {origin, up, edge, created, close()}; created holds each pool's
// answer. What started is stopped again if a later step fails.
export async function startRealStack({ pools, files, edge: edgeOptions = {}, warm = true }) {
  const stack = { created: [] };
  stack.close = async () => {
    if (stack.edge) await stack.edge.destroy();
    if (stack.up) await stack.up.close();
    if (stack.origin) await stack.origin.destroy();
  };
  try {
    stack.origin = await startOrigin();
    for (const pool of pools) {
      const p = await admin(stack.origin.url, 'POST', '/v1/pools', pool);
      assert.equal(p.status, 201, p.text);
      stack.created.push(p.body);
    }
    stack.up = await startUpstream({ files });
    stack.edge = await startEdge({ upstream: stack.up.url, origin: stack.origin.url, ...edgeOptions });
    if (warm) await waitFor(async () => (await new Visitor(stack.edge.url).page('/warm')).meta, { what: 'a first lease' });
  } catch (e) {
    await stack.close();
    throw e;
  }
  return stack;
}

// Chromium as a visitor's browser: headless Chromium names itself
// HeadlessChrome, which the edge treats as a crawler (scrapers run it); a
// visitor's Chrome does not. Returns {browser, ctx}; close the browser.
export async function launchVisitorBrowser() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const major = browser.version().split('.')[0];
  const ctx = await browser.newContext({ userAgent:
    `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36` });
  return { browser, ctx };
}
