// No poison batch, the edge's half: events the origin refuses one by one
// are logged and counted while the rest of their batch is applied, and a
// batch the origin refuses whole is tried three times, set aside, and the
// events behind it are delivered. Against the origin stub, which can be
// told to refuse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOriginStub } from './origin_stub.mjs';
import { startUpstream, DEFAULT } from './upstream.mjs';
import { startEdge, Visitor, SECRET, waitFor } from './harness.mjs';

const NUMBERS = ['+18885557001', '+18885557002', '+18885557003', '+18885557004'];
let origin; let up; let edge;

const hasTag = (b, value) => b.events.some((e) => e.type === 'assign' && e.tags && e.tags.utm_source === value);

before(async () => {
  origin = await startOriginStub({ secret: SECRET, pools: [{ id: 'sa', config: {
    id: 'sa', numbers: NUMBERS, default_number: DEFAULT, overflow_number: '+18885557999',
    buffer_s: 60, min_hold_s: 30, max_lease_s: 600 } }] });
  up = await startUpstream();
  edge = await startEdge({ upstream: up.url, origin: origin.url, edgeId: 'edge-aside' });
});
after(async () => {
  if (edge) await edge.destroy();
  if (up) await up.close();
  if (origin) await origin.close();
});

const assigned = (value) => origin.events.some((e) => e.type === 'assign' && e.tags && e.tags.utm_source === value);

test('an event the origin refuses alone is counted; the rest of its batch is delivered', async () => {
  origin.refuseEvents = (b) => b.events.map((e, index) => ({ e, index }))
    .filter(({ e }) => e.type === 'assign' && e.tags && e.tags.utm_source === 'bad')
    .map(({ index }) => ({ index, reason: 'refused by the test' }));
  await new Visitor(edge.url).page('/page?utm_source=bad');
  await new Visitor(edge.url).page('/page?utm_source=fine');
  await waitFor(() => assigned('fine'), { what: 'the good event delivered' });
  await waitFor(async () => (await edge.status()).sync.events_refused >= 1, { what: 'the refusal counted' });
  assert.ok(!assigned('bad'));
  assert.match(edge.output(), /origin refused event \d+ \(assign, pool sa\)/);
  origin.refuseEvents = null;
});

test('a batch the origin refuses whole is set aside after three tries; the events behind it move on', async () => {
  origin.refuseWhole = (b) => hasTag(b, 'poison');
  await new Visitor(edge.url).page('/page?utm_source=poison');
  await waitFor(async () => (await edge.status()).sync.set_aside === 1, { what: 'the batch set aside', timeout: 20000 });
  assert.equal(origin.refusedWhole, 3, 'tried three times');
  assert.match(edge.output(), /set aside after 3 refusals/);
  await new Visitor(edge.url).page('/page?utm_source=after');
  await waitFor(() => assigned('after'), { what: 'the next visitor\'s event delivered' });
  const st = (await edge.status()).sync;
  assert.equal(st.last_error, '');
  assert.equal(st.inflight, 0);
  assert.ok(!assigned('poison'));
  origin.refuseWhole = null;
});
