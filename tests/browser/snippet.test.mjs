// The snippet in real Chromium against a fake edge (a local server whose
// answers each test sets): snippet-only swapping, late content, the API,
// heartbeats and their back-off, leave, page-event tags, consent and
// hostile input. The real edge and origin are in edge_stack.test.mjs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startServer, snippetSource, page, lease, waitFor, sleep, JS, JSON_TYPE } from './harness.mjs';

const DEF = '+18005551234';
const NUM = '+18885550001';
const NUM2 = '+18885550002';

let browser;
let server;
const pages = {};
let answer = () => ({ leases: [lease(DEF, NUM)] });
let beatAnswer = (b) => ({ leases: b.leases.map((l) => ({ lease: l, ok: true, number: NUM })) });

before(async () => {
  browser = await launch();
  const js = snippetSource();
  server = await startServer((req, body, url) => {
    if (url.pathname === '/_dni/dni.js') return { headers: JS, body: js };
    if (url.pathname === '/_dni/v1/number') return (async () => ({ headers: JSON_TYPE, ...wrap(await answer(JSON.parse(body || '{}'))) }))();
    if (url.pathname === '/_dni/v1/hb') return { headers: JSON_TYPE, ...wrap(beatAnswer(JSON.parse(body))) };
    if (url.pathname.startsWith('/_dni/v1/')) return { headers: JSON_TYPE, body: '{"leases":[]}' };
    return pages[url.pathname];
  });
});
after(async () => { await browser.close(); await server.close(); });

// An answer is {status, body} when it has a status, else a JSON object.
function wrap(a) {
  if (a && a.raw !== undefined) return { status: a.status || 200, body: a.raw };
  return { body: JSON.stringify(a) };
}

const requests = (path) => server.log.filter((r) => r.path === path);

async function open(path, html, { clock = false, init } = {}) {
  pages[path] = html;
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  if (clock) await p.clock.install();
  if (init) await p.addInitScript(init);
  await p.goto(server.url + path);
  return { p, ctx, close: () => ctx.close() };
}

const text = (p, sel = 'body') => p.$eval(sel, (e) => e.textContent);

describe('snippet-only pages', () => {
  test('the number is fetched and swapped wherever the core swaps it, and nowhere else', async () => {
    const body = `<h1 title="Call 800-555-1234">Call (800) 555-1234</h1>
      <p id="split"><span>800</span>-555-<b>1234</b></p>
      <p id="ents">800&#8211;555&#8211;1234 and 800&nbsp;555&nbsp;1234</p>
      <a id="tel" href="tel:+1-800-555-1234">1-800-555-1234</a><a id="cto" href="callto:8005551234">x</a>
      <img alt="800.555.1234" aria-label="+1 800 555 1234">
      <p id="near">Open 24/7 800-555-1234, order 48005551234999, 800-555-12345, 800-555-1234-5</p>
      <p id="block"><span>800</span><br>555-1234</p><div id="blk"><div>800</div>555-1234</div>
      <script>var s = "800-555-1234";</script><textarea>800-555-1234</textarea><input value="800-555-1234">
      <div data-dni-skip><p id="skip">800-555-1234</p></div><p contenteditable id="ce">800-555-1234</p>
      <a id="other" href="/x?n=800-555-1234" data-n="800-555-1234">y</a>`;
    const { p, close } = await open('/swap', page(body));
    try {
      const nums = await p.evaluate(() => window.dni.ready);
      assert.equal(nums.length, 1);
      assert.equal(nums[0].number, NUM);
      assert.equal(nums[0].default, DEF);
      assert.equal(await text(p, 'h1'), 'Call (888) 555-0001');
      assert.equal(await p.$eval('h1', (e) => e.title), 'Call 888-555-0001');
      assert.equal(await p.$eval('#split', (e) => e.innerHTML), '<span>888</span>-555-<b>0001</b>');
      assert.equal(await text(p, '#ents'), '888\u2013555\u20130001 and 888\u00a0555\u00a00001');
      assert.equal(await p.$eval('#tel', (e) => e.getAttribute('href')), 'tel:+1-888-555-0001');
      assert.equal(await text(p, '#tel'), '1-888-555-0001');
      assert.equal(await p.$eval('#cto', (e) => e.getAttribute('href')), 'callto:8885550001');
      assert.equal(await p.$eval('img', (e) => e.alt + '|' + e.getAttribute('aria-label')), '888.555.0001|+1 888 555 0001');
      assert.equal(await text(p, '#near'), 'Open 24/7 888-555-0001, order 48005551234999, 800-555-12345, 800-555-1234-5');
      assert.equal(await text(p, '#block'), '800555-1234');
      assert.equal(await text(p, '#blk'), '800555-1234');
      assert.equal(await p.$eval('script:not([src])', (e) => e.textContent), 'var s = "800-555-1234";');
      assert.equal(await p.$eval('textarea', (e) => e.value), '800-555-1234');
      assert.equal(await p.$eval('input', (e) => e.value), '800-555-1234');
      assert.equal(await text(p, '#skip'), '800-555-1234');
      assert.equal(await text(p, '#ce'), '800-555-1234');
      assert.equal(await p.$eval('#other', (e) => e.getAttribute('href') + e.dataset.n), '/x?n=800-555-1234800-555-1234');
      const ask = JSON.parse(requests('/_dni/v1/number').at(-1).body);
      assert.equal(ask.url, `${server.url}/swap`);
    } finally { await close(); }
  });

  test('content inserted a second later is swapped; dni.swap() swaps a detached subtree', async () => {
    const body = `<div id="root"></div><script>
      setTimeout(() => { const d = document.createElement('div'); d.id = 'late';
        d.innerHTML = '<p>Call <a href="tel:8005551234"><span>(800)</span> 555-1234</a></p>';
        document.getElementById('root').append(d); }, 1000);</script>`;
    const { p, close } = await open('/late', page(body));
    try {
      await p.evaluate(() => window.dni.ready);
      await p.waitForSelector('#late');
      await waitFor(async () => (await text(p, '#late')) === 'Call (888) 555-0001', { what: 'late content swapped' });
      assert.equal(await p.$eval('#late a', (e) => e.getAttribute('href')), 'tel:8885550001');
      // text changed in place (a framework's state update) is swapped again
      await p.evaluate(() => { document.querySelector('#late a').lastChild.data = ' 555-1234'; });
      await p.evaluate(() => { document.querySelector('#late span').firstChild.data = '(800)'; });
      await waitFor(async () => (await text(p, '#late')) === 'Call (888) 555-0001', { what: 'changed text swapped' });
      const detached = await p.evaluate(() => {
        const d = document.createElement('div');
        d.innerHTML = '<b title="800-555-1234">800 555 1234</b>';
        window.dni.swap(d);
        return d.innerHTML;
      });
      assert.equal(detached, '<b title="888-555-0001">888 555 0001</b>');
    } finally { await close(); }
  });

  test('calls made before the script is ready are queued; loaded twice it runs once', async () => {
    const stub = '<script>window.dni=window.dni||function(){(dni.q=dni.q||[]).push(arguments)};'
      + 'dni("onNumber",function(n){window.seen=(window.seen||[]).concat(n[0].number)});dni("tag",{early:"1"});</script>';
    const before0 = requests('/_dni/v1/number').length;
    const { p, close } = await open('/twice', page('<p>800-555-1234</p><script src="/_dni/dni.js"></script>', { head: stub }));
    try {
      await p.evaluate(() => window.dni.ready);
      await waitFor(() => p.evaluate(() => window.seen && window.seen.length), { what: 'onNumber callback' });
      assert.deepEqual(await p.evaluate(() => window.seen), [NUM]);
      assert.equal(requests('/_dni/v1/number').length - before0, 1, 'one number request');
      assert.equal(await text(p, 'p'), '888-555-0001');
      await waitFor(() => requests('/_dni/v1/tag').some((r) => JSON.parse(r.body).tags.early === '1'), { what: 'queued tag' });
    } finally { await close(); }
  });

  test('split numbers across inline tags, several defaults, another shape', async () => {
    const saved = answer;
    answer = () => ({ leases: [lease(DEF, NUM), { pool: 'uk', lease: 'uk~1', number: '+442079460000', default: '+18005559999' }] });
    const body = `<p id="a"><a href="tel:+18005551234"><span>1-800-</span><span>555-1234</span></a></p>
      <p id="b"><span class="area">(800)</span> 555-9999</p>`;
    const { p, close } = await open('/split', page(body));
    try {
      await p.evaluate(() => window.dni.ready);
      assert.equal(await p.$eval('#a', (e) => e.innerHTML), '<a href="tel:+18885550001"><span>1-888-</span><span>555-0001</span></a>');
      assert.equal(await p.$eval('#b', (e) => e.innerHTML), '<span class="area">+442079460000</span>');
      const n = await p.evaluate(() => window.dni.numbers());
      assert.equal(n.length, 2);
      assert.equal(n[0].formatted, '1-888-555-0001');
    } finally { answer = saved; await close(); }
  });
});

describe('edge mode', () => {
  test('a page the edge wrote: no request, the numbers as the page writes them, later content swapped', async () => {
    const meta = JSON.stringify([lease(DEF, NUM)]).replace(/"/g, '&quot;');
    const asked = requests('/_dni/v1/number').length;
    const { p, close } = await open('/edge-written', page('<p>Call <b id="n">(888) 555-0001</b> today</p><p id="late"></p>',
      { head: `<meta name="dni" content="${meta}">` }));
    try {
      const [n] = await p.evaluate(() => window.dni.ready);
      assert.equal(n.number, NUM);
      assert.equal(n.formatted, '(888) 555-0001', 'the tracking number as the edge wrote it in the page');
      assert.equal(await text(p, '#n'), '(888) 555-0001');
      await p.evaluate(() => { document.getElementById('late').textContent = 'Or 800.555.1234'; });
      await waitFor(async () => (await text(p, '#late')) === 'Or 888.555.0001', { what: 'later content swapped' });
      assert.equal(requests('/_dni/v1/number').length, asked, 'the leases came from the page');
    } finally { await close(); }
  });
});

describe('the answer kept for the next page', () => {
  test('a visitor\'s next page swaps at DOMContentLoaded from the kept answer, then takes the new one', async () => {
    const saved = answer;
    const ctx = await browser.newContext();
    try {
      pages['/keep'] = page('<p id="n">800-555-1234</p>');
      const p = await ctx.newPage();
      await p.goto(`${server.url}/keep`);
      await p.evaluate(() => window.dni.ready);
      assert.ok(await p.evaluate(() => JSON.parse(localStorage.getItem('dni'))[2].length));
      // The edge is slow now and answers with another number.
      answer = async () => { await new Promise((r) => setTimeout(r, 1500)); return { leases: [lease(DEF, NUM2, 'p1~L9')] }; };
      await p.reload();
      const first = await p.evaluate(() => window.dni.ready);
      assert.equal(first[0].number, NUM, 'the kept number, without waiting for the edge');
      assert.equal(await text(p, '#n'), '888-555-0001');
      await waitFor(async () => (await text(p, '#n')) === '888-555-0002', { what: 'the new answer shown' });
      assert.equal((await p.evaluate(() => window.dni.numbers()))[0].lease, 'p1~L9');
    } finally { answer = saved; await ctx.close(); }
  });
  test('with an answer kept, the page is swapped before the new answer is asked for', async () => {
    const ctx = await browser.newContext();
    try {
      // The tag after the number: it is parsed when the script runs.
      pages['/keep-first'] = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        + '<p id="n">Call 800-555-1234 now</p><script src="/_dni/dni.js" async></script></body></html>';
      const p = await ctx.newPage();
      await p.goto(`${server.url}/keep-first`);
      await p.evaluate(() => window.dni.ready);
      // What the page shows when the snippet calls fetch for a number.
      await p.addInitScript(() => {
        const f = window.fetch;
        window.fetch = function (url, ...rest) {
          if (String(url).includes('/v1/number')) window.shownWhenAsked = document.getElementById('n')?.textContent;
          return f.call(this, url, ...rest);
        };
      });
      const asked = requests('/_dni/v1/number').length;
      await p.reload();
      await waitFor(() => requests('/_dni/v1/number').length > asked, { what: 'the new answer asked for' });
      assert.equal(await p.evaluate(() => window.shownWhenAsked), 'Call 888-555-0001 now');
    } finally { await ctx.close(); }
  });
});

describe('a page still arriving', () => {
  test('what is parsed is swapped before the rest arrives; a number the next part may go on waits for it', async () => {
    const gates = [];
    const part = (html) => new Promise((r) => gates.push(() => r(html)));
    const [head] = page('').split('<body>');
    pages['/parts'] = { body: [`${head}<body><p id="a">Call 800-555-1234 today</p><p id="c">more`,
      part('</p><p id="b">Order 800-555-1234<b>'),
      part('-5678</b> now</p><p id="d">Call <span>800</span>-555-1234 today</p></body></html>')] };
    const ctx = await browser.newContext();
    try {
      const p = await ctx.newPage();
      await p.goto(`${server.url}/parts`, { waitUntil: 'commit' });
      const now = () => p.evaluate(() => [document.readyState, ...['#a', '#b', '#d'].map((s) => document.querySelector(s)?.textContent)]);
      await waitFor(async () => (await now())[1] === 'Call 888-555-0001 today', { what: '#a swapped while the page arrives' });
      assert.equal((await now())[0], 'loading');
      gates[0]();
      await waitFor(() => p.evaluate(() => !!document.querySelector('#b b')), { what: 'the second part parsed' });
      await sleep(100);
      // the number at the end of what has arrived may go on: not swapped yet
      assert.deepEqual(await now(), ['loading', 'Call 888-555-0001 today', 'Order 800-555-1234', undefined]);
      gates[1]();
      await p.evaluate(() => window.dni.ready);
      assert.deepEqual((await now()).slice(1), ['Call 888-555-0001 today', 'Order 800-555-1234-5678 now', 'Call 888-555-0001 today']);
    } finally { gates.forEach((g) => g()); await ctx.close(); }
  });
});

describe('heartbeats and leave', () => {
  test('every 15 s while visible; a lease answered 410 gets one new number; leave on pagehide', async () => {
    const saved = beatAnswer;
    const savedAnswer = answer;
    const { p, close } = await open('/beats', page('<p id="n">800-555-1234</p>'), { clock: true });
    try {
      await p.evaluate(() => window.dni.ready);
      const n0 = requests('/_dni/v1/hb').length;
      await p.clock.runFor(15000);
      await waitFor(() => requests('/_dni/v1/hb').length === n0 + 1, { what: 'first heartbeat' });
      assert.deepEqual(JSON.parse(requests('/_dni/v1/hb').at(-1).body).leases, ['p1~L1']);
      // the lease is over: the snippet asks once for a new number and shows it
      beatAnswer = (b) => ({ leases: b.leases.map((l) => ({ lease: l, ok: false, status: 410 })) });
      answer = (b) => ({ leases: [lease(b.default, NUM2, 'p1~L2')] });
      const asks = requests('/_dni/v1/number').length;
      // The next beat is timed from the first one's answer, which a loaded
      // machine may deliver late: the clock moves in steps until it came.
      await waitFor(async () => { await p.clock.runFor(1000); return (await text(p, '#n')) === '888-555-0002'; }, { what: 'new number shown' });
      assert.equal(requests('/_dni/v1/number').length, asks + 1);
      assert.equal(JSON.parse(requests('/_dni/v1/number').at(-1).body).default, DEF);
      answer = savedAnswer;
      beatAnswer = saved;
      await waitFor(async () => { await p.clock.runFor(1000); return JSON.parse(requests('/_dni/v1/hb').at(-1).body).leases[0] === 'p1~L2'; }, { what: 'beat of new lease' });
      const leaves = requests('/_dni/v1/leave').length;
      await p.goto('about:blank');
      await waitFor(() => requests('/_dni/v1/leave').length === leaves + 1, { what: 'leave beacon' });
      assert.deepEqual(JSON.parse(requests('/_dni/v1/leave').at(-1).body).leases, ['p1~L2']);
    } finally { beatAnswer = saved; answer = savedAnswer; await close(); }
  });

  test('paused while hidden; exponential back-off with jitter when the edge does not answer', async () => {
    const saved = beatAnswer;
    // The page notes each heartbeat it sends ('beat') and each delay the
    // snippet asks of setTimeout (Playwright's clock, which only moves when
    // the test moves it), so nothing here depends on how fast the machine is.
    const init = `window.beats = 0; window.delays = [];
      const f = window.fetch;
      window.fetch = (u, o) => { if (String(u).includes('/_dni/v1/hb')) { window.beats++; window.delays.push('beat'); } return f(u, o); };
      const st = window.setTimeout;
      window.setTimeout = (fn, ms) => { window.delays.push(ms); return st(fn, ms); };`;
    const { p, close } = await open('/backoff', page('<p>800-555-1234</p>'), { clock: true, init });
    const state = () => p.evaluate(() => ({ beats: window.beats, delays: window.delays.slice() }));
    const setHidden = (h) => p.evaluate((hidden) => {
      Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, h);
    try {
      await p.evaluate(() => window.dni.ready);
      beatAnswer = () => ({ raw: '{"error":"down"}', status: 503 });
      // Hidden: no heartbeat however long (a due beat would be sent while
      // the clock runs, so the page's count says it at once).
      await setHidden(true);
      const b0 = (await state()).beats;
      await p.clock.runFor(120000);
      assert.equal((await state()).beats, b0, 'no heartbeat while hidden');
      // Visible again: a heartbeat at once.
      await setHidden(false);
      await p.clock.runFor(1);
      assert.equal((await state()).beats, b0 + 1, 'a heartbeat on return');
      // Each failed beat backs off: 30 s, 60 s, 120 s, 240 s, each
      // jittered to [50 %, 100 %]; the next beat comes after that delay.
      const ratios = [];
      for (let i = 1; i <= 4; i++) {
        const d = await waitFor(async () => {
          const { delays } = await state();
          const k = delays.lastIndexOf('beat');
          return k >= 0 && k < delays.length - 1 && { ms: delays.at(-1) };
        }, { what: `the delay after failed beat ${i}` });
        const full = 15000 * 2 ** i;
        assert.ok(d.ms >= full / 2 && d.ms <= full, `delay ${i}: ${d.ms} ms for ${full}`);
        ratios.push(d.ms / full);
        await p.clock.runFor(Math.ceil(d.ms));
        assert.equal((await state()).beats, b0 + 1 + i, `beat ${i + 1} after the delay`);
      }
      assert.ok(new Set(ratios).size > 1, 'jittered');
    } finally { beatAnswer = saved; await close(); }
  });
});

describe('page-event tags', () => {
  test('data-dni-tag sends its tag on click, on a form on submit', async () => {
    const body = `<button id="b" data-dni-tag="cta=call&amp;place=header">Call</button>
      <form id="f" data-dni-tag="form=quote" action="/thanks" method="get"><button id="s">Send</button></form>`;
    pages['/thanks'] = '<p>thanks</p>';
    const { p, close } = await open('/tags', page(body));
    try {
      await p.evaluate(() => window.dni.ready);
      await p.click('#b');
      await waitFor(() => requests('/_dni/v1/tag').some((r) => JSON.parse(r.body).tags.cta === 'call'), { what: 'click tag' });
      const t = JSON.parse(requests('/_dni/v1/tag').find((r) => JSON.parse(r.body).tags.cta === 'call').body);
      assert.deepEqual(t, { leases: ['p1~L1'], tags: { cta: 'call', place: 'header' } });
      await p.click('#s');
      await waitFor(() => requests('/_dni/v1/tag').some((r) => JSON.parse(r.body).tags.form === 'quote'), { what: 'submit tag' });
      await p.evaluate(() => window.dni && window.dni.tag({ step: 2 }));
    } finally { await close(); }
  });
});

describe('consent', () => {
  test('required and absent: no request, nothing stored, no swap; dni.consent(true) swaps', async () => {
    const asks = requests('/_dni/v1/number').length;
    const { p, close } = await open('/consent', page('<p>800-555-1234</p>', { attrs: 'data-consent' }));
    try {
      await p.waitForFunction(() => window.dni);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(requests('/_dni/v1/number').length, asks, 'no request');
      assert.equal(await p.evaluate(() => document.cookie + localStorage.length), '0');
      assert.equal(await text(p, 'p'), '800-555-1234');
      await p.evaluate(() => window.dni.consent(true));
      await p.evaluate(() => window.dni.ready);
      assert.equal(await text(p, 'p'), '888-555-0001');
      assert.equal(JSON.parse(requests('/_dni/v1/number').at(-1).body).consent, 1);
      // withdrawn: the default number again, a leave, nothing kept
      await p.evaluate(() => window.dni.consent(false));
      assert.equal(await text(p, 'p'), '800-555-1234');
      assert.match(await p.evaluate(() => document.cookie), /dni_consent=0/);
    } finally { await close(); }
  });

  test('the consent cookie present: swapped at once', async () => {
    const { p, ctx, close } = await open('/consent2', page('<p>800-555-1234</p>', { attrs: 'data-consent="cmp_ok"' }),
      { init: 'document.cookie = "cmp_ok=yes; path=/"' });
    try {
      await p.evaluate(() => window.dni.ready);
      assert.equal(await text(p, 'p'), '888-555-0001');
      assert.ok(ctx);
    } finally { await close(); }
  });
});

describe('hostile input', () => {
  const PAYLOADS = ['<img src=x onerror=pwn()>', '"><script>pwn()</script>', "javascript:pwn()", '+1<svg onload=pwn()>'];

  test('payloads in the URL, referrer and cookie never execute; tampered answers are ignored', async () => {
    const saved = answer;
    const init = `window.pwned = 0; window.pwn = () => { window.pwned++; };
      document.cookie = 'dni_vid=' + encodeURIComponent(${JSON.stringify(PAYLOADS[0])}) + '; path=/';
      try { localStorage.setItem('dni', JSON.stringify([${JSON.stringify(PAYLOADS[1])}, 0, []])); } catch (e) {}`;
    const answers = [
      { leases: [{ ...lease(DEF, '<img src=x onerror=pwn()>') }] },
      { leases: [{ ...lease(DEF, NUM), template: '<script>pwn()</script>###' }] },
      { leases: [{ ...lease('+1800<b>', NUM) }] },
      { raw: '<script>pwn()</script>' },
      { raw: JSON.stringify({ leases: [lease(DEF, NUM)], pad: 'x'.repeat(200000) }) },
      { leases: [lease(DEF, NUM)], vid: '<img src=x onerror=pwn()>' },
    ];
    try {
      for (const [i, a] of answers.entries()) {
        answer = () => a;
        const q = PAYLOADS.map((x, k) => `p${k}=${encodeURIComponent(x)}`).join('&');
        pages['/hostile'] = page('<p id="n">800-555-1234</p><div id="r"></div>');
        const ctx = await browser.newContext({ extraHTTPHeaders: {} });
        const p = await ctx.newPage();
        await p.addInitScript(init);
        await p.goto(`${server.url}/hostile?${q}`, { referer: `https://evil.example/?q=${encodeURIComponent(PAYLOADS[1])}` });
        await p.waitForFunction(() => window.dni);
        await Promise.race([p.evaluate(() => window.dni.ready), new Promise((r) => setTimeout(r, 500))]);
        await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
        const shown = await text(p, '#n');
        if (i === 1) assert.equal(shown, '888-555-0001', 'a bad template is dropped, the number kept');
        else if (i === 5) {
          assert.equal(shown, '888-555-0001');
          assert.notEqual(await p.evaluate(() => JSON.parse(localStorage.getItem('dni'))[0]), a.vid);
        } else assert.equal(shown, '800-555-1234', `answer ${i} ignored`);
        assert.equal(await p.evaluate(() => window.pwned), 0, `answer ${i}: no payload ran`);
        assert.equal(await p.$$eval('img,svg,script:not([src])', (l) => l.length), 0, 'no element inserted');
        await ctx.close();
      }
    } finally { answer = saved; }
  });
});
