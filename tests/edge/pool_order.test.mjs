// Pools that share a default number are tried in `priority` order (lowest
// first, then by id), not in the order of their ids (edge/site_rules.mjs,
// choosePools; docs/edge.md, "Site configuration"): the rule on its own,
// then through real workerd and a real dni-origin, where a changed
// priority applies to the first page view after the edge synced it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePools, pageView } from '../../edge/site_rules.mjs';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startEdge, Visitor, waitFor } from './harness.mjs';
import { startOrigin, admin, HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';

const N = (i) => `+1888555${String(i).padStart(4, '0')}`;
const pool = (id, config) => ({ id, config: { default_number: DEFAULT, numbers: [N(1)], ...config } });
const chosen = (pools, url = 'https://site.example/page', ref = '') => choosePools({ pools }, pageView(new URL(url), ref)).map((c) => c.pool);

test('priority decides among pools of one default number, then the id', () => {
  assert.deepEqual(chosen([pool('a', {}), pool('b', {})]), ['a']);
  assert.deepEqual(chosen([pool('a', {}), pool('b', { priority: -1 })]), ['b']);
  assert.deepEqual(chosen([pool('a', { priority: 2 }), pool('b', { priority: 1 })]), ['b']);
  assert.deepEqual(chosen([pool('b', { priority: 1 }), pool('a', { priority: 1 })]), ['a']);
  // rules first, in priority order; a pool without a rule takes the rest
  const ppc = [pool('z', { traffic_source: 'param:gclid', priority: 1 }), pool('y', { traffic_source: 'param:gclid', priority: 0 }),
    pool('all', { priority: -9 })];
  assert.deepEqual(chosen(ppc, 'https://site.example/?gclid=1'), ['y']);
  assert.deepEqual(chosen(ppc), ['all']);
  // each default number is chosen on its own
  assert.deepEqual(chosen([pool('a', {}), pool('b', { default_number: '+18005550000', priority: 5 })]).sort(), ['a', 'b']);
});

test('the origin\'s priority reaches the edge; a change applies after the sync', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, async () => {
  const origin = await startOrigin();
  const up = await startUpstream();
  let edge;
  try {
    const A = [N(1), N(2), N(3)];
    const B = [N(11), N(12), N(13)];
    let p = await admin(origin.url, 'POST', '/v1/pools', { id: 'a', name: 'a', numbers: A, default_number: DEFAULT });
    assert.equal(p.status, 201, p.text);
    p = await admin(origin.url, 'POST', '/v1/pools', { id: 'b', name: 'b', numbers: B, default_number: DEFAULT, priority: -1 });
    assert.equal(p.status, 201, p.text);
    assert.equal(p.body.priority, -1);
    edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-order', configTtl: 600 });
    const first = await waitFor(async () => (await new Visitor(edge.url).page('/page')).meta, { what: 'a first lease' });
    assert.equal(first[0].pool, 'b', 'the lower priority first, though its id sorts later');
    assert.ok(B.includes(first[0].number));

    const before = (await edge.status()).sync.syncs;
    p = await admin(origin.url, 'PATCH', '/v1/pools/a', { priority: -5 });
    assert.equal(p.status, 200, p.text);
    await waitFor(async () => (await edge.status()).sync.syncs >= before + 2, { what: 'the edge to sync the change' });
    const next = (await new Visitor(edge.url).page('/page')).meta;
    assert.equal(next[0].pool, 'a');
    assert.ok(A.includes(next[0].number));
  } finally {
    if (edge) await edge.destroy();
    await up.close();
    await origin.destroy();
  }
});
