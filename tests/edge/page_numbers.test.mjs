// Which pools a page view leases in, and with which configuration
// (docs/edge.md, "How leases are protected"): real workerd, real
// dni-origin.
//   - A page leases only in the pools whose default number it showed the
//     last time the edge rewrote it; a page not known yet leases in every
//     pool.
//   - A pool created or changed at the origin applies to the first page
//     view after the edge synced it, even though the worker keeps its copy
//     of the site configuration for a long time (--config-ttl 600 here).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT } from './upstream.mjs';
import { Visitor, waitFor } from './harness.mjs';
import { admin, HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';
import { startRealStack } from './real_stack.mjs';
import { PageNumbers, rulesWithIdentities, shownDefaults, mayShow, sameNumbers, numbersKeyUrl } from '../../edge/page_numbers.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const range = (from) => Array.from({ length: 10 }, (_, i) => N(from + i));
const A_NUMBERS = range(10); // (888) 555-0010 ..
const B_DEFAULT = '+18005550000';
const B_NUMBERS = range(20);
const C_DEFAULT = '+18005557777';
const C_NUMBERS = range(30);

const page = (...lines) => Buffer.from(`<!DOCTYPE html><html><head><title>t</title></head><body>${lines.map((l) => `<p>${l}</p>`).join('')}</body></html>`);
const FILES = {
  sales: page('Sales: (800) 555-1234'),
  both: page('Sales: (800) 555-1234', 'Support: 800-555-0000'),
  all: page('Sales: (800) 555-1234', 'Support: 800-555-0000', 'Parts: 800-555-7777'),
};

async function assigned(edge, pool) {
  const p = (await edge.status()).pools.find((x) => x.pool === pool);
  return p ? p.assigned : 0;
}
const poolsOf = (meta) => (meta || []).map((l) => l.pool).sort();

test('the rules, what a page shows, and where it is kept', async () => {
  const site = { pools: [
    { id: 'a', config: { default_number: '+18005551234' } },
    { id: 'b', config: { default_number: '+18005550000' } },
    { id: 'off', config: { default_number: '+18005559999', enabled: false } },
  ] };
  const { rules, defaults } = rulesWithIdentities(site, [{ default_number: '+18005551234', number: '+18885550001' }]);
  assert.deepEqual(rules, [{ from: '+18005551234', to: '+18885550001' }, { from: '+18005550000', to: '+18005550000' }]);
  assert.deepEqual(defaults, ['+18005551234', '+18005550000']);
  assert.deepEqual(shownDefaults(defaults, [3, 0]), ['+18005551234']);
  assert.equal(rulesWithIdentities(site, [], 1).rules.length, 1, 'at most `limit` rules');

  const known = { numbers: new Set(['+18005551234']), checked: new Set(defaults) };
  assert.equal(mayShow(null, '+18005550000'), true, 'a page not known: every pool');
  assert.equal(mayShow(known, '+18005551234'), true);
  assert.equal(mayShow(known, '+18005550000'), false);
  assert.equal(mayShow(known, '+18005557777'), true, 'a number the page was not checked for');
  assert.equal(sameNumbers(known, ['+18005551234'], defaults), true);
  assert.equal(sameNumbers(known, ['+18005551234', '+18005550000'], defaults), false);
  assert.equal(sameNumbers(null, [], []), false);

  // the Cache API: read once by another isolate; a miss is not asked again at once
  const store = new Map();
  let asked = 0;
  const cache = {
    async match(req) { asked++; const r = store.get(req.url); return r ? r.clone() : undefined; },
    async put(req, res) { store.set(req.url, res); },
  };
  const key = 'https://site.example/page';
  const other = new PageNumbers();
  assert.equal(await other.get(key, cache), null);
  assert.equal(await other.get(key, cache), null);
  assert.equal(asked, 1, 'the miss is remembered');
  const one = new PageNumbers();
  await one.put(key, ['+18005551234'], defaults, 60, cache);
  assert.ok(store.has(numbersKeyUrl(key)));
  const fresh = new PageNumbers();
  const got = await fresh.get(key, cache);
  assert.deepEqual([...got.numbers], ['+18005551234']);
  assert.deepEqual([...got.checked], defaults);
  assert.equal(one.put(key, [], defaults, 0, cache), null, 'a page that may not be cached is not kept');
});

describe('only pools the page shows', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let origin; let edge;

  before(async () => {
    stack = await startRealStack({
      pools: [['a', DEFAULT, A_NUMBERS], ['b', B_DEFAULT, B_NUMBERS]].map(([id, def, numbers]) => (
        { id, name: id, numbers, default_number: def })),
      files: FILES, edge: { edgeId: 'edge-page-numbers' } });
    ({ origin, edge } = stack);
  });

  after(async () => { if (stack) await stack.close(); });

  test('a page that does not show pool b\'s number leases in b only on its first view', async () => {
    const b0 = await assigned(edge, 'b');
    const first = await new Visitor(edge.url).page('/file/sales');
    assert.deepEqual(poolsOf(first.meta), ['a', 'b'], 'not known yet: every pool, as before');
    assert.equal(await assigned(edge, 'b'), b0 + 1);
    for (let i = 0; i < 3; i++) {
      // the tracking parameters are not part of the page's key
      const v = await new Visitor(edge.url).page(`/file/sales?utm_source=s${i}`);
      assert.deepEqual(poolsOf(v.meta), ['a'], `view ${i + 2}`);
      assert.ok(A_NUMBERS.includes(v.meta[0].number));
      assert.equal((v.text.match(/\(888\) 555-001\d/g) || []).length, 1, 'the tracking number shown');
    }
    assert.equal(await assigned(edge, 'b'), b0 + 1, 'no lease in b after the first view');
    const st = await edge.status();
    assert.ok(st.page_numbers.learned >= 1 && st.page_numbers.hits >= 3, JSON.stringify(st.page_numbers));
  });

  test('a page that shows both numbers leases in both, every view', async () => {
    const b0 = await assigned(edge, 'b');
    for (let i = 0; i < 3; i++) {
      const v = await new Visitor(edge.url).page('/file/both');
      assert.deepEqual(poolsOf(v.meta), ['a', 'b'], `view ${i + 1}`);
      const b = v.meta.find((l) => l.pool === 'b');
      assert.ok(B_NUMBERS.includes(b.number));
      assert.match(v.text, /Support: 888-555-002\d/);
    }
    assert.equal(await assigned(edge, 'b'), b0 + 3);
  });
});

describe('fresh configuration after a sync', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, () => {
  let stack; let origin; let edge;

  before(async () => {
    // The worker keeps its copy of the site configuration for 10 minutes:
    // only the edge's own sync may tell it of a change.
    stack = await startRealStack({ pools: [{ id: 'a', name: 'a', numbers: A_NUMBERS, default_number: DEFAULT }],
      files: FILES, edge: { edgeId: 'edge-fresh', configTtl: 600 } });
    ({ origin, edge } = stack);
  });

  after(async () => { if (stack) await stack.close(); });

  // Waits until the edge's sync holds what `ok(site pools)` wants.
  async function synced(ok) {
    await waitFor(async () => ok((await edge.status()).sync), { what: 'the edge to sync the change', timeout: 20000 });
  }

  test('a pool created at the origin: the first view after the sync leases in it', async () => {
    const p = await admin(origin.url, 'POST', '/v1/pools', { id: 'c', name: 'c', numbers: C_NUMBERS, default_number: C_DEFAULT });
    assert.equal(p.status, 201, p.text);
    await synced((s) => s.pools.includes('c'));
    const v = await new Visitor(edge.url).page('/file/all');
    assert.deepEqual(poolsOf(v.meta), ['a', 'c']);
    assert.match(v.text, /Parts: 888-555-003\d/);
  });

  test('a pool changed at the origin: the first view after the sync uses the new settings', async () => {
    const before = await edge.status();
    const p = await admin(origin.url, 'PATCH', '/v1/pools/a', { consent_required: true, consent_cookie: 'ok_to_track' });
    assert.equal(p.status, 200, p.text);
    await synced((s) => s.syncs >= before.sync.syncs + 2);
    const a0 = await assigned(edge, 'a');
    const no = await new Visitor(edge.url).page('/file/sales');
    assert.ok(!poolsOf(no.meta).includes('a'), `no consent cookie: no lease in a: ${JSON.stringify(no.meta)}`);
    assert.match(no.text, /\(800\) 555-1234/);
    assert.equal(await assigned(edge, 'a'), a0);
    const yes = new Visitor(edge.url);
    yes.jar.ok_to_track = '1';
    const got = await yes.page('/file/sales');
    const a = (got.meta || []).find((l) => l.pool === 'a');
    assert.ok(a && A_NUMBERS.includes(a.number), JSON.stringify(got.meta));
  });
});
