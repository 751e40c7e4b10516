// Who gets a tracking number (docs/edge.md, "How leases are protected"):
// real workerd, real dni-origin. Scripts, crawlers, prefetches and
// sub-resource requests get the page exactly as upstream serves it and no
// cookie; a real Chromium navigation gets a lease.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { landingPage, DEFAULT } from './upstream.mjs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Visitor, waitFor, rawFetch, NAVIGATION_HEADERS, countNumber, metaOf } from './harness.mjs';
import { HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';
import { startRealStack, launchVisitorBrowser } from './real_stack.mjs';
import { scriptedClients, NOT_VISITS } from './scripted_clients.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const NUMBERS = Array.from({ length: 20 }, (_, i) => N(i + 1));

async function shardOf(edge, pool = 'p1') {
  const s = await edge.status();
  return s.pools.find((x) => x.pool === pool) || null;
}
async function assigned(edge, pool = 'p1') {
  const p = await shardOf(edge, pool);
  return p ? p.assigned : 0;
}

// Reads the origin's database (WAL: a reader next to the running service).
function sql(origin, query) {
  return execFileSync('sqlite3', ['-json', join(origin.dir, 'origin.db'), query], { encoding: 'utf8' });
}

describe('only visitors take numbers', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let origin; let edge;

  before(async () => {
    stack = await startRealStack({ pools: [{ id: 'p1', name: 'Landing pages', numbers: NUMBERS, default_number: DEFAULT }],
      edge: { edgeId: 'edge-visitors' } });
    ({ origin, edge } = stack);
  });

  after(async () => { if (stack) await stack.close(); });

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
    const { browser, ctx } = await launchVisitorBrowser();
    try {
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

describe('no numbers for other sites', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let edge; let evil;

  before(async () => {
    stack = await startRealStack({
      pools: [['p1', DEFAULT, 1], ['p2', '+18005550000', 21]].map(([id, def, from]) => (
        { id, name: id, numbers: Array.from({ length: 20 }, (_, i) => N(from + i)), default_number: def })),
      edge: { edgeId: 'edge-other-sites' } });
    ({ edge } = stack);
    // A third-party page that tries to take numbers from its visitors'
    // browsers: images, a no-cors POST, a typed JSON POST (preflight).
    const page = `<!DOCTYPE html><title>elsewhere</title><script>
      const u = ${JSON.stringify(`${edge.url}/_dni/v1/number`)};
      window.done = Promise.all([
        ...Array.from({ length: 30 }, (_, i) => new Promise((r) => { const im = new Image(); im.onload = im.onerror = r; im.src = u + '?i=' + i; })),
        ...Array.from({ length: 10 }, () => fetch(u, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' }).catch(() => 0)),
        ...Array.from({ length: 10 }, () => fetch(u, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => 0)),
      ]).then(() => 'done');
    </script>`;
    evil = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    if (evil) evil.close();
    if (stack) await stack.close();
  });

  test('a third-party page\'s 50 requests to /_dni/v1/number in Chromium take no number', { timeout: 60000 }, async () => {
    const { browser, ctx } = await launchVisitorBrowser();
    try {
      const page = await ctx.newPage();
      const before = [await assigned(edge, 'p1'), await assigned(edge, 'p2')];
      await page.goto(`http://127.0.0.1:${evil.address().port}/`);
      assert.equal(await page.evaluate(() => window.done), 'done');
      assert.deepEqual([await assigned(edge, 'p1'), await assigned(edge, 'p2')], before, 'no lease in either pool');
      assert.ok(!(await ctx.cookies()).some((c) => c.name === 'dni_vid'), 'no visitor cookie');
    } finally {
      await browser.close();
    }
  });
});

describe('a client that loops on the page cannot drain the pool', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let origin; let edge;

  before(async () => {
    // The default budget (10 per 600 s) refills one lease a minute; a
    // day's window keeps the count exact however long the run takes.
    stack = await startRealStack({
      pools: [{ id: 'p1', name: 'Landing pages', numbers: NUMBERS, default_number: DEFAULT, client_budget_s: 86400 }],
      edge: { edgeId: 'edge-attack' } });
    ({ origin, edge } = stack);
    assert.equal(stack.created[0].client_budget, 10, 'budget default filled in');
  });

  after(async () => { if (stack) await stack.close(); });

  test('5,000 cookie-less browser page loads from one address', { timeout: 600000 }, async () => {
    const ATTACKS = 5000;
    const headers = { ...NAVIGATION_HEADERS, 'user-agent':
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'cf-connecting-ip': '203.0.113.66' };
    const before = await shardOf(edge);
    let tracked = 0; let shownDefault = 0; let i = 0;
    const worker = async () => {
      while (i < ATTACKS) {
        i++;
        const res = await rawFetch(`${edge.url}/page`, { headers });
        const text = await res.text();
        assert.equal(res.status, 200);
        const meta = metaOf(text);
        if (meta && meta[0].lease && NUMBERS.includes(meta[0].number) && countNumber(text, meta[0].number) > 0) tracked++;
        else if (countNumber(text.replace(/<meta name="dni"[^>]*>/, ''), DEFAULT) === countNumber(landingPage(), DEFAULT)) shownDefault++;
      }
    };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 16 }, worker));
    const seconds = (Date.now() - t0) / 1000;
    const after = await shardOf(edge);
    const leases = after.assigned - before.assigned;
    const left = NUMBERS.length - after.leases.length;
    console.log(`# attack: ${ATTACKS} page loads in ${seconds.toFixed(1)} s: ${leases} leases taken, `
      + `${left} numbers left, ${after.overflow - before.overflow} overflow, ${after.budget.limited} limited`);
    assert.equal(leases, 10, 'the budget: 10 new leases for the address');
    assert.equal(tracked, 10);
    assert.equal(shownDefault, ATTACKS - 10, 'every other page load shows the default number');
    assert.equal(after.overflow, before.overflow, 'the overflow counter did not move');
    assert.equal(after.budget.limited, ATTACKS - 10);
    assert.ok(left >= 8, `numbers left for visitors: ${left}`);

    // a visitor from another address still gets a tracking number
    const v = new Visitor(edge.url, undefined, { ip: '198.51.100.7' });
    const { meta } = await v.page('/page');
    assert.ok(meta && NUMBERS.includes(meta[0].number), `visitor got ${JSON.stringify(meta)}`);

    // the origin counts the limited views per pool, apart from overflow
    await waitFor(async () => {
      const rows = JSON.parse(sql(origin, 'SELECT pool_id, n, clients FROM limited_counts') || '[]');
      return rows.length === 1 && rows[0].n === ATTACKS - 10 ? rows : null;
    }, { what: 'the limited views at the origin', timeout: 20000 });
    const rows = JSON.parse(sql(origin, 'SELECT pool_id, sum(n) AS n, sum(clients) AS c FROM limited_counts GROUP BY pool_id'));
    assert.equal(rows[0].pool_id, 'p1');
    assert.ok(rows[0].c >= 1 && rows[0].c <= rows[0].n);
    assert.equal(sql(origin, 'SELECT count(*) AS n FROM overflow_counts').trim(), '[{"n":0}]');
  });

  test('a visitor who holds a lease keeps it past the budget', async () => {
    // the attacker's address has no budget left; a visitor behind it who
    // already has a lease (their cookie) keeps their number
    const v = new Visitor(edge.url, undefined, { ip: '203.0.113.99' });
    const first = (await v.page('/page')).meta[0];
    assert.ok(first.lease);
    for (let k = 0; k < 12; k++) await new Visitor(edge.url, undefined, { ip: '203.0.113.99' }).page('/page');
    const again = (await v.page('/other')).meta[0];
    assert.equal(again.number, first.number);
    assert.equal(again.lease, first.lease);
    const spent = (await new Visitor(edge.url, undefined, { ip: '203.0.113.99' }).page('/page')).meta[0];
    assert.equal(spent.lease, null);
    assert.equal(spent.number, DEFAULT);
    assert.equal(spent.limited, undefined, 'the page tells the snippet nothing beyond lease null');
  });
});

describe('new leases are short until confirmed', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let origin; let edge;
  const THREE = NUMBERS.slice(0, 3);

  before(async () => {
    // no warm-up here: a warm-up view's lease is itself unconfirmed (the
    // test waits for it to end)
    stack = await startRealStack({
      pools: [{ id: 'p1', numbers: THREE, default_number: DEFAULT, unconfirmed_hold_s: 3, min_hold_s: 300, buffer_s: 300 }],
      edge: { edgeId: 'edge-unconfirmed' }, warm: false });
    ({ origin, edge } = stack);
    assert.equal(stack.created[0].unconfirmed_hold_s, 3);
  });

  after(async () => { if (stack) await stack.close(); });

  test('an unconfirmed lease ends and its number goes back; confirmed ones live on, across a restart', { timeout: 180000 }, async () => {
    const live = async () => (await shardOf(edge)).leases;
    // grants first (a warm-up view's lease is itself unconfirmed: it ends)
    await waitFor(async () => (await new Visitor(edge.url).page('/warm')).meta?.[0]?.lease, { what: 'a first lease' });
    await waitFor(async () => (await live()).length === 0, { what: 'the warm-up lease to end', timeout: 30000 });

    const lone = new Visitor(edge.url); // one page view, no script
    const beater = new Visitor(edge.url); // the snippet's heartbeat
    const again = new Visitor(edge.url); // a second page view
    const l1 = (await lone.page('/page')).meta[0];
    const l2 = (await beater.page('/page')).meta[0];
    const l3 = (await again.page('/page')).meta[0];
    for (const l of [l1, l2, l3]) assert.ok(l.lease && THREE.includes(l.number), JSON.stringify(l));
    // the page says how long the new lease holds: the unconfirmed end
    assert.ok(l1.expires - Date.now() / 1000 <= 3.5, `expires ${l1.expires}`);
    const hb = await beater.beacon('hb', { lease: l2.lease });
    assert.equal(hb.status, 200, JSON.stringify(hb.body));
    assert.ok(hb.body.leases[0].expires_at - Date.now() / 1000 > 200, 'confirmed: the normal rules from its start');
    assert.equal((await again.page('/other')).meta[0].lease, l3.lease);
    await waitFor(async () => {
      const ls = await live();
      const s = (await shardOf(edge)).journal;
      return ls.find((x) => x.id === l2.lease)?.confirmed && ls.find((x) => x.id === l3.lease)?.confirmed
        && s.queued === 0;
    }, { what: 'both confirmations written' });

    await edge.restart();

    // the unconfirmed lease ended (its end passed during the restart) ...
    await waitFor(async () => !(await live()).some((x) => x.id === l1.lease), { what: 'the unconfirmed lease to end' });
    const gone = await lone.beacon('hb', { lease: l1.lease });
    assert.equal(gone.status, 410);
    // ... its number goes to the next visitor
    const next = (await new Visitor(edge.url).page('/page')).meta[0];
    assert.equal(next.number, l1.number);
    // the confirmed ones live by the normal rules, confirmed still
    const ls = await live();
    for (const l of [l2, l3]) {
      const x = ls.find((y) => y.id === l.lease);
      assert.ok(x && x.confirmed, `${l.lease} live and confirmed after the restart`);
      assert.ok(x.expires_at - Date.now() / 1000 > 200);
    }
    assert.equal((await beater.beacon('hb', { lease: l2.lease })).status, 200);
    // the origin has the release, at the unconfirmed end
    const row = await waitFor(async () => {
      const r = JSON.parse(sql(origin, `SELECT start, released_at FROM leases WHERE lease = '${l1.lease}'`) || '[]');
      return r[0] && r[0].released_at !== null ? r[0] : null;
    }, { what: 'the release at the origin', timeout: 20000 });
    assert.ok(Math.abs(row.released_at - (row.start + 3)) < 0.01, JSON.stringify(row));
  });
});
