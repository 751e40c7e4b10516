#!/usr/bin/env node
// `make bench` for the browser snippet, in Debian's Chromium: the size the
// edge serves, DOMContentLoaded -> swapped in snippet-only mode on a
// 2,000-node page, one swap pass over 10,000 text nodes, and the cost of
// 1,000 nodes inserted after load (MutationObserver, once per frame), each
// next to the same page without the snippet. Times are measured inside the
// page with performance.now(), so they are the snippet's own cost, not the
// driver's; each figure is the median (and best) of RUNS page loads.
//
// DOMContentLoaded -> swapped is measured as a site uses it: the page on
// its own origin, the snippet and the numbers from a real edge (workerd)
// and dni-origin on another origin (CORS), for a visitor's first view
// (nothing cached), the first page of a later visit (the script cached,
// no answer kept) and the next page (the answer kept a minute: a link
// followed in the same tab, and one opened in a new tab), on
// loopback and with RTT ms of round trip to every server (Chromium's
// network emulation; RTT=50 by default), with the tag docs/snippet.md
// shows (async, fetchpriority="high") and, next to it, a plain async tag
// and a defer tag. Without dni-origin built, only the fake edge's figures
// are given.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launch, startServer, startOrigin, snippetSource, BUILD, UA, JS, JSON_TYPE } from '../../tests/browser/harness.mjs';
import { startEdge, SECRET } from '../../tests/edge/harness.mjs';

const RUNS = Number(process.env.RUNS || 15);
const RTT = Number(process.env.RTT ?? 50);
const DEF = '+18005551234';
const NUM = '+18885550001';
const js = snippetSource();

// A page of about `nodes` DOM nodes: paragraphs of text, inline tags and
// links, one number in every tenth paragraph.
function body(nodes) {
  const parts = [];
  for (let i = 0, n = 0; n < nodes; i++) {
    const num = i % 10 === 0;
    parts.push(num
      ? `<p>Call <a href="tel:+18005551234">(800) 555-1234</a> today, order ${i} ships <b>free</b>.</p>`
      : `<p>Paragraph ${i} about <em>plumbing</em>, open ${i % 24}h, suite ${i}, <span>more text</span>.</p>`);
    n += num ? 7 : 8; // elements and text nodes
  }
  return parts.join('\n');
}

// The documented stub, behind a getter that notes when the snippet ran
// (its first statement reads window.dni); at DOMContentLoaded a task is
// queued to note when the browser first let any script run after it (the
// page's first layout and paint usually come first).
const STUB = '<script>(function(){var v=function(){(v.q=v.q||[]).push(arguments)},armed;'
  + 'Object.defineProperty(window,"dni",{configurable:true,set:function(x){v=x;x.ready.then(function(){'
  + 'window.swapped=performance.now();window.left=document.body.textContent.split("555-1234").length-1})},'
  + 'get:function(){if(armed&&!window.ran)window.ran=performance.now();return v}});armed=1})();'
  + 'addEventListener("DOMContentLoaded",function(){window.dcl=performance.now();'
  + 'setTimeout(function(){window.task=performance.now()})});</script>';
const DCL_ONLY = '<script>addEventListener("DOMContentLoaded",function(){window.dcl=performance.now()});</script>';

const pages = {
  '/with': `<!DOCTYPE html><html><head><meta charset="utf-8">${STUB}<script src="/_dni/dni.js" async fetchpriority="high"></script></head><body>${body(2000)}</body></html>`,
  '/without': `<!DOCTYPE html><html><head><meta charset="utf-8">${DCL_ONLY}</head><body>${body(2000)}</body></html>`,
  '/big': `<!DOCTYPE html><html><head><meta charset="utf-8">${STUB}<script src="/_dni/dni.js" async fetchpriority="high"></script></head><body>${body(20000)}</body></html>`,
  '/big-without': `<!DOCTYPE html><html><head><meta charset="utf-8">${DCL_ONLY}</head><body>${body(20000)}</body></html>`,
};

const server = await startServer((req, b, url) => {
  if (url.pathname === '/_dni/dni.js') return { headers: { ...JS, 'cache-control': 'max-age=3600' }, body: js };
  if (url.pathname === '/_dni/v1/number') {
    return { headers: JSON_TYPE, body: JSON.stringify({ leases: [{ pool: 'p', lease: 'p~1', number: NUM, default: DEF }] }) };
  }
  return pages[url.pathname];
});
const browser = await launch();
const ctx = await browser.newContext();

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
// Of a list of page loads: the default numbers still on the page when
// dni.ready resolved (0 when every swap happened), and DCL -> swapped's
// two modes: how many loads met the target, and the loads where the
// browser ran the script before DCL.
const left = (l) => `default numbers left when ready ${l.reduce((a, r) => a + r.left, 0)}`;
function modes(l) {
  const before = l.filter((r) => r.ran < r.dcl);
  return `under 20 ms in ${l.filter((r) => r.swapped - r.dcl < 20).length} of ${l.length}; when the script ran before DCL (${
    before.length} of ${l.length}): ${fmt(before.map((r) => r.swapped - r.dcl))}`;
}
// What a page load of the snippet noted (runs in the page): DCL, when the
// script ran and dni.ready resolved, the default numbers left then, the
// number request (may still be under way: no entry) and the script's
// arrival, the page's first task after DCL, its elements and nodes.
function reading() {
  const n = performance.getEntriesByType('resource').find((e) => e.name.includes('/_dni/v1/number'));
  const s = performance.getEntriesByType('resource').find((e) => e.name.includes('/_dni/dni.js'));
  return { dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventStart, swapped: window.swapped,
    left: window.left, asked: n && n.startTime, answer: n && n.responseEnd, script: s && s.responseEnd, ran: window.ran,
    task: window.task, count: document.body.getElementsByTagName('*').length,
    nodes: document.getElementsByTagName('*').length + document.evaluate('count(//text())', document, null, 1).numberValue };
}
const fmt = (a) => (a.length ? `${median(a).toFixed(2)} ms (best ${Math.min(...a).toFixed(2)})` : 'n/a');

async function runs(fn) {
  const out = [];
  for (let i = 0; i < RUNS; i++) out.push(await fn(i));
  return out;
}

async function load(path) {
  const p = await ctx.newPage();
  await p.goto(server.url + path);
  return p;
}

// DOMContentLoaded -> swapped (snippet-only mode), and where that time
// went: the next pages of one visit, each a link followed in the same tab.
const tab = await load('/with');
await tab.waitForFunction(() => window.swapped && window.task);
const dcl = await runs(async () => {
  await tab.goto(server.url + '/with');
  await tab.waitForFunction(() => window.swapped && window.task);
  return tab.evaluate(reading);
});
await tab.close();
const baseDcl = await runs(async () => {
  const p = await load('/without');
  await p.waitForFunction(() => window.dcl);
  const t = await p.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventStart);
  await p.close();
  return t;
});

// One pass over ~10,000 text nodes (dni.swap of the whole body, numbers
// already swapped: the walk and the scan), next to a plain walk reading
// every text node.
const pass = await runs(async () => {
  const p = await load('/big');
  await p.waitForFunction(() => window.swapped);
  const r = await p.evaluate(() => {
    let texts = 0;
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let t0 = performance.now();
    let len = 0;
    while (w.nextNode()) { texts++; len += w.currentNode.data.length; }
    const walk = performance.now() - t0;
    t0 = performance.now();
    window.dni.swap(document.body);
    return { texts, walk, pass: performance.now() - t0, len };
  });
  await p.close();
  return r;
});

// 1,000 nodes inserted after load: the insertion and the next frame, with
// the snippet (which swaps them in that frame) and without.
async function inserted(path) {
  return runs(async () => {
    const p = await load(path);
    await p.waitForFunction(() => window.dcl && (!window.dni || window.swapped));
    const r = await p.evaluate(() => new Promise((resolve) => {
      requestAnimationFrame(() => {
        const t0 = performance.now();
        const box = document.createElement('div');
        document.body.append(box);
        for (let i = 0; i < 1000; i++) {
          const d = document.createElement('div');
          d.textContent = i % 10 ? `Item ${i} in stock` : 'Call 800-555-1234';
          box.append(d);
        }
        const inserted = performance.now() - t0;
        requestAnimationFrame(() => setTimeout(() => {
          resolve({ total: performance.now() - t0, inserted,
            swapped: box.textContent.split('888-555-0001').length - 1 });
        }, 0));
      });
    }));
    await p.close();
    return r;
  });
}
const ins = await inserted('/with');
const insBase = await inserted('/without');

// DOMContentLoaded -> swapped through the real edge, snippet-only mode.
const real = [];
if (existsSync(join(BUILD, 'bin/dni-origin'))) {
  const dir = mkdtempSync(join(tmpdir(), 'dni-bench-snippet-'));
  let site;
  let edge;
  let origin;
  try {
    const sitePages = {};
    site = await startServer((req, b, url) => sitePages[url.pathname]);
    site.origin = `http://localhost:${site.port}`;
    origin = await startOrigin({ dir, secret: SECRET });
    const numbers = Array.from({ length: 400 }, (_, i) => `+1888555${String(i).padStart(4, '0')}`);
    const made = await origin.admin('POST', '/v1/pools', { id: 'bench', name: 'Bench', numbers, default_number: DEF,
      buffer_s: 60, min_hold_s: 30, max_lease_s: 600, client_budget: 0, site_origins: [site.origin] });
    if (made.status !== 201) throw new Error(`pool: ${made.text}`);
    const up = await startServer(() => 'upstream');
    edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-bench' });
    edge.up = up;
    // The tag docs/snippet.md shows (async, fetchpriority high), the same
    // without fetchpriority (Chromium may then hold the script until after
    // the page's first paint), and with defer (DOMContentLoaded waits for
    // the script).
    const tag = `<script src="${edge.url}/_dni/dni.js" async fetchpriority="high"></script>`;
    sitePages['/with'] = `<!DOCTYPE html><html><head><meta charset="utf-8">${STUB}${tag}</head><body>${body(2000)}</body></html>`;
    sitePages['/with-async'] = sitePages['/with'].replace(' fetchpriority="high"', '');
    sitePages['/with-defer'] = sitePages['/with'].replace(' async fetchpriority="high">', ' defer>');
    sitePages['/without'] = pages['/without'];
    // one number request first: the edge's first answer (configuration,
    // pool start) is not what a visitor of a running edge waits for
    const warm = await browser.newContext({ userAgent: UA });
    const wp = await warm.newPage();
    await wp.goto(site.origin + '/with');
    await wp.waitForFunction(() => window.swapped, null, { timeout: 30000 });
    await warm.close();

    // A tab, with the network's round trip and a count of the CORS
    // preflights (OPTIONS) the browser sent before the number request.
    const open = async (ctx, rtt) => {
      const p = await ctx.newPage();
      const cdp = await ctx.newCDPSession(p);
      await cdp.send('Network.enable');
      cdp.on('Network.requestWillBeSent', (e) => {
        if (e.request.method === 'OPTIONS' && e.request.url.includes('/_dni/v1/number')) p.preflights++;
      });
      if (rtt) await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: rtt, downloadThroughput: -1, uploadThroughput: -1 });
      return p;
    };
    // A page load in tab p.
    const measure = async (p, path = '/with') => {
      p.preflights = 0;
      await p.goto(site.origin + path);
      await p.waitForFunction(() => window.swapped && window.task, null, { timeout: 30000 });
      const r = await p.evaluate(reading);
      r.preflights = p.preflights;
      return r;
    };
    // A page load in a new tab, closed after.
    const inNewTab = async (ctx, rtt, path) => {
      const p = await open(ctx, rtt);
      const r = await measure(p, path);
      await p.close();
      return r;
    };
    for (const rtt of [0, RTT]) {
      if (rtt === RTT && rtt === 0) continue;
      // a visitor's first view: nothing cached
      const firstOf = (path) => runs(async () => {
        const ctx = await browser.newContext({ userAgent: UA });
        const r = await inNewTab(ctx, rtt, path);
        await ctx.close();
        return r;
      });
      // the next page of a visit, the answer of the last one kept: a link
      // followed in the same tab (newTab: opened in a new one)
      const nextOf = async (path, newTab) => {
        const ctx = await browser.newContext({ userAgent: UA });
        const p = await open(ctx, rtt);
        await measure(p, path);
        const l = await runs(() => (newTab ? inNewTab(ctx, rtt, path) : measure(p, path)));
        await ctx.close();
        return l;
      };
      const first = await firstOf('/with');
      // a later visit: the script in the browser's cache, no answer kept
      const later = await browser.newContext({ userAgent: UA });
      await later.addInitScript(() => { try { const k = JSON.parse(localStorage.dni); localStorage.dni = JSON.stringify([k[0], 0, []]); } catch { /* none */ } });
      await inNewTab(later, rtt);
      const cached = await runs(() => inNewTab(later, rtt));
      await later.close();
      const next = await nextOf('/with');
      const nextTab = await nextOf('/with', true);
      // a first view and a next page with a plain async tag, a next page
      // with a defer tag (on a first view defer only waits longer)
      const firstAsync = await firstOf('/with-async');
      const nextAsync = await nextOf('/with-async');
      const nextDefer = await nextOf('/with-defer');
      const without = await runs(async () => {
        const ctx = await browser.newContext({ userAgent: UA });
        const p = await open(ctx, rtt);
        await p.goto(site.origin + '/without');
        await p.waitForFunction(() => window.dcl);
        const t = await p.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventStart);
        await ctx.close();
        return t;
      });
      real.push({ rtt, first, cached, next, nextTab, firstAsync, nextAsync, nextDefer, without });
    }
  } catch (e) {
    console.error(`bench-snippet: the real edge part failed: ${e.stack}\n${edge ? edge.output().slice(-2000) : ''}`);
  } finally {
    if (edge) { await edge.destroy(); await edge.up.close(); }
    if (origin) await origin.stop();
    if (site) await site.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await browser.close();
await server.close();

const gz = gzipSync(Buffer.from(js), { level: 9 }).length;
console.log(`snippet (Chromium ${browser.version ? '' : ''}headless, ${RUNS} page loads each, median and best)`);
console.log(`  size served          ${js.length} bytes, ${gz} bytes gzipped (-9); target < 3072`);
// Per mode: DCL -> swapped; when the script had arrived and when the
// number was answered, after DCL; and the snippet's own part, from the
// last of DCL, the script and (when no answer is kept) the number answer
// to swapped.
for (const { rtt, first, cached, next, nextTab, firstAsync, nextAsync, nextDefer, without } of real) {
  console.log(`  DCL -> swapped, snippet-only, real edge on another origin, ${first[0].nodes}-node page, ${rtt ? `${rtt} ms RTT` : 'loopback'} (target < 20 ms):`);
  for (const [name, l] of [['first view, nothing cached', first], ['later visit, script cached', cached],
    ['next page, answer kept', next], ['next page in a new tab', nextTab], ['first view, plain async', firstAsync], ['next page, plain async', nextAsync],
    ['next page, defer tag', nextDefer]]) {
    console.log(`    ${name.padEnd(27)} ${fmt(l.map((r) => r.swapped - r.dcl))}; ${left(l)}`);
    console.log(`      ${modes(l)}`);
    console.log(`      the script ran ${fmt(l.map((r) => r.ran - r.dcl))} after DCL (the page's first task after DCL: ${
      fmt(l.map((r) => r.task - r.dcl))}); ran -> swapped ${fmt(l.map((r) => r.swapped - r.ran))}`);
    // (The page is closed once swapped: a number request still under way
    // then has no timing entry.)
    const sent = l.filter((r) => r.answer !== undefined);
    const waited = sent.filter((r) => r.answer < r.swapped);
    console.log(`      number request: sent ${fmt(sent.map((r) => r.asked - r.ran))} after the script ran, answered in ${
      fmt(sent.map((r) => r.answer - r.asked))}${waited.length < l.length ? ` (swapped before it in ${l.length - waited.length} of ${l.length})`
      : `, swapped ${fmt(l.map((r) => r.swapped - Math.max(r.answer, r.dcl)))} after it (or after DCL)`}; CORS preflights ${l.reduce((a, r) => a + r.preflights, 0)}; DCL ${fmt(l.map((r) => r.dcl))}`);
  }
  console.log(`    the same page without the snippet: DCL ${fmt(without)}`);
}
console.log(`  fake edge on the page's origin (answers at once), next pages of one visit:`);
console.log(`    DCL -> swapped     ${fmt(dcl.map((r) => r.swapped - r.dcl))} on a ${dcl[0].count}-element page; ${left(dcl)}`);
console.log(`      ${modes(dcl)}`);
console.log(`    script ran         ${fmt(dcl.map((r) => r.ran - r.dcl))} after DCL (the page's first task after DCL: ${fmt(dcl.map((r) => r.task - r.dcl))})`);
console.log(`    ran -> swapped     ${fmt(dcl.map((r) => r.swapped - r.ran))} (the answer kept: no wait for the network)`);
console.log(`    number answered    ${fmt(dcl.filter((r) => r.answer !== undefined).map((r) => r.answer - r.dcl))} after DCL (negative: before)`);
console.log(`    DCL, same page     ${fmt(dcl.map((r) => r.dcl))} with the snippet, ${fmt(baseDcl)} without`);
console.log(`  pass over ${pass[0].texts} text nodes   ${fmt(pass.map((r) => r.pass))}; a bare TreeWalker reading them ${fmt(pass.map((r) => r.walk))}`);
console.log(`  1,000 inserted nodes ${fmt(ins.map((r) => r.total))} to the next frame with the snippet (${ins[0].swapped} numbers swapped), ${fmt(insBase.map((r) => r.total))} without`);
