#!/usr/bin/env node
// `make bench` for the browser snippet, in Debian's Chromium: the size the
// edge serves, DOMContentLoaded -> swapped in snippet-only mode on a
// 2,000-node page, one swap pass over 10,000 text nodes, and the cost of
// 1,000 nodes inserted after load (MutationObserver, once per frame), each
// next to the same page without the snippet. Times are measured inside the
// page with performance.now(), so they are the snippet's own cost, not the
// driver's; each figure is the median (and best) of RUNS page loads.
import { gzipSync } from 'node:zlib';
import { launch, startServer, snippetSource, JS, JSON_TYPE } from '../../tests/browser/harness.mjs';

const RUNS = Number(process.env.RUNS || 15);
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

const STUB = '<script>window.dni=function(){(dni.q=dni.q||[]).push(arguments)};'
  + 'addEventListener("DOMContentLoaded",function(){window.dcl=performance.now()});'
  + 'dni("onNumber",function(){window.swapped=window.swapped||performance.now()});</script>';
const DCL_ONLY = '<script>addEventListener("DOMContentLoaded",function(){window.dcl=performance.now()});</script>';

const pages = {
  '/with': `<!DOCTYPE html><html><head><meta charset="utf-8">${STUB}<script src="/_dni/dni.js" async></script></head><body>${body(2000)}</body></html>`,
  '/without': `<!DOCTYPE html><html><head><meta charset="utf-8">${DCL_ONLY}</head><body>${body(2000)}</body></html>`,
  '/big': `<!DOCTYPE html><html><head><meta charset="utf-8">${STUB}<script src="/_dni/dni.js" async></script></head><body>${body(20000)}</body></html>`,
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
const fmt = (a) => `${median(a).toFixed(2)} ms (best ${Math.min(...a).toFixed(2)})`;

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

// DOMContentLoaded -> swapped (snippet-only mode), and where that time went.
const dcl = await runs(async () => {
  const p = await load('/with');
  await p.waitForFunction(() => window.swapped);
  const r = await p.evaluate(() => {
    const n = performance.getEntriesByType('resource').find((e) => e.name.includes('/_dni/v1/number'));
    const s = performance.getEntriesByType('resource').find((e) => e.name.includes('/_dni/dni.js'));
    return { dcl: window.dcl, swapped: window.swapped, answer: n.responseEnd, script: s.responseEnd,
      count: document.body.getElementsByTagName('*').length };
  });
  await p.close();
  return r;
});
const baseDcl = await runs(async () => {
  const p = await load('/without');
  await p.waitForFunction(() => window.dcl);
  const t = await p.evaluate(() => window.dcl);
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

await browser.close();
await server.close();

const gz = gzipSync(Buffer.from(js), { level: 9 }).length;
const own = dcl.map((r) => r.swapped - Math.max(r.dcl, r.answer));
console.log(`snippet (Chromium ${browser.version ? '' : ''}headless, ${RUNS} page loads each, median and best)`);
console.log(`  size served          ${js.length} bytes, ${gz} bytes gzipped (-9); target < 3072`);
console.log(`  DCL -> swapped       ${fmt(dcl.map((r) => r.swapped - r.dcl))} on a ${dcl[0].count}-element page (target < 20 ms)`);
console.log(`    of which the pass  ${fmt(own)} (swapped - max(DCL, number answer))`);
console.log(`    number answered    ${fmt(dcl.map((r) => r.answer - r.dcl))} after DCL (negative: before)`);
console.log(`  DCL, same page       ${fmt(dcl.map((r) => r.dcl))} with the snippet, ${fmt(baseDcl)} without`);
console.log(`  pass over ${pass[0].texts} text nodes   ${fmt(pass.map((r) => r.pass))}; a bare TreeWalker reading them ${fmt(pass.map((r) => r.walk))}`);
console.log(`  1,000 inserted nodes ${fmt(ins.map((r) => r.total))} to the next frame with the snippet (${ins[0].swapped} numbers swapped), ${fmt(insBase.map((r) => r.total))} without`);
