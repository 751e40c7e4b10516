// 1,000 connections trickling their headers a byte a second for 20 s, from
// 20 loopback addresses, while /healthz, signed webhooks and edge syncs are
// called one after another from 127.0.0.1: every one of them is answered,
// the slow connections are held (none is refused for lack of room) and
// each is cut, with a JSON 408, once its header deadline passes. The
// latencies are printed, not asserted (`make bench-slow-clients` reports
// them; docs/origin.md has the figures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, admin, sync, EDGE } from './helpers.mjs';
import { runSlowClients, SLOW_ENV, SLOW_ARGS } from './slow_clients.mjs';

test('1,000 trickling connections: health, signed webhooks and syncs keep being answered', async () => {
  const o = await startOrigin({ unsigned: false, env: SLOW_ENV, args: SLOW_ARGS });
  try {
    const r = await admin(o, 'POST', '/v1/pools', { id: 'slow', numbers: ['+18885557001', '+18885557002'],
      default_number: '+18885557000' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await sync(o, { edge: 'slow-edge', seq: 0 })).status, 200);
    const fig = await runSlowClients(o, { connections: 1000, addresses: 20, seconds: 20, edgeSecret: EDGE });
    console.log(JSON.stringify(fig));
    for (const p of fig.probes) {
      assert.equal(p.failed, 0, `${p.name}: ${JSON.stringify(p.errors)}`);
      assert.ok(p.ok > 0, `${p.name} answered`);
    }
    assert.equal(fig.held.max, 1000, 'all 1,000 slow connections held at once');
    assert.equal(fig.refused_at_connect, 0);
    // Every slow connection the origin closed got its JSON 408 first.
    for (const [status, n] of Object.entries(fig.answers)) assert.equal(status, '408', `${n} answered ${status}`);
    assert.equal((await fetch(`${o.base}/healthz`)).status, 200);
  } finally {
    await o.stop();
    o.cleanup();
  }
});
