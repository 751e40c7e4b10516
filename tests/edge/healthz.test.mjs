// GET /_dni/healthz (edge/healthz.mjs): the worker, the WebAssembly core and
// the last successful sync, as JSON; 503 naming the problem when the edge
// cannot do its job. Real workerd, real dni-origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from './upstream.mjs';
import { startEdge, waitFor, freePort } from './harness.mjs';
import { startOrigin, HAVE_ORIGIN, ORIGIN_BIN } from './origin_process.mjs';

const health = async (edge) => {
  const r = await fetch(`${edge.url}/_dni/healthz`);
  assert.equal(r.headers.get('content-type'), 'application/json');
  return { status: r.status, body: await r.json() };
};

test('healthy with the core loaded and a recent sync; 503 without an origin', { skip: !HAVE_ORIGIN && `${ORIGIN_BIN} not built` }, async () => {
  const up = await startUpstream();
  const origin = await startOrigin();
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const edges = [];
  try {
    const edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-healthz' });
    edges.push(edge);
    // the first ask starts the edge's syncing
    const h = await waitFor(async () => { const x = await health(edge); return x.status === 200 ? x : null; },
      { what: 'a healthy edge' });
    assert.equal(h.body.ok, true);
    assert.equal(h.body.worker, 'up');
    assert.equal(h.body.core.loaded, true);
    assert.ok(h.body.sync.last_ok > 0 && h.body.sync.age_s >= 0 && h.body.sync.age_s < 60, JSON.stringify(h.body));
    assert.equal(h.body.last_sync_ok, h.body.sync.last_ok);
    assert.equal(h.body.refused_configs, 0);
    assert.deepEqual(h.body.refused_pools, []);
    assert.equal(h.body.problems, undefined);

    const lost = await startEdge({ upstream: up.url, origin: nowhere, edgeId: 'edge-healthz-lost' });
    edges.push(lost);
    const b = await health(lost);
    assert.equal(b.status, 503);
    assert.equal(b.body.ok, false);
    assert.equal(b.body.core.loaded, true);
    assert.equal(b.body.sync.last_ok, 0);
    assert.match(b.body.problems.join('\n'), /no successful sync/);
    // pages are served all the same, unchanged
    assert.equal((await fetch(`${lost.url}/page`)).status, 200);
  } finally {
    for (const e of edges) await e.destroy();
    await up.close();
    await origin.destroy();
  }
});
