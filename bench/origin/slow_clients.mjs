#!/usr/bin/env node
// `make bench-slow-clients`: 1,000 connections trickling headers for 20 s
// (tests/origin/slow_clients.mjs) against a real dni-origin with its
// default limits, and how /healthz, signed webhooks and edge syncs fare
// meanwhile: connections held, answers, p50/p99/max latency.
// Usage: node bench/origin/slow_clients.mjs path/to/dni-origin [extra origin args]
// Env: DNI_SLOW_CONNECTIONS (1000), DNI_SLOW_ADDRESSES (20), DNI_SLOW_SECONDS (20).
import { startOrigin, admin, sync, EDGE } from '../../tests/origin/helpers.mjs';
import { runSlowClients, SLOW_ENV, SLOW_ARGS } from '../../tests/origin/slow_clients.mjs';

const [bin, ...extra] = process.argv.slice(2);
if (bin) process.env.DNI_ORIGIN_BIN = bin;
const o = await startOrigin({ unsigned: false, env: SLOW_ENV, args: [...SLOW_ARGS, ...extra] });
try {
  const r = await admin(o, 'POST', '/v1/pools', { id: 'slow', numbers: ['+18885557001', '+18885557002'],
    default_number: '+18885557000' });
  if (r.status !== 201) throw new Error(`pool: ${r.status} ${r.text}`);
  await sync(o, { edge: 'slow-edge', seq: 0 });
  const fig = await runSlowClients(o, {
    connections: Number(process.env.DNI_SLOW_CONNECTIONS || 1000),
    addresses: Number(process.env.DNI_SLOW_ADDRESSES || 20),
    seconds: Number(process.env.DNI_SLOW_SECONDS || 20),
    edgeSecret: EDGE,
  });
  console.log(`slow clients: ${fig.connections} trickling connections from ${fig.addresses} addresses for ${fig.seconds} s`);
  console.log(`  held open: min ${fig.held.min}, median ${fig.held.median}, max ${fig.held.max}; opened ${fig.opened}, `
    + `cut by the origin ${fig.cut}, refused at connect ${fig.refused_at_connect}; answers ${JSON.stringify(fig.answers)}`);
  for (const p of fig.probes) {
    console.log(`  ${p.name.padEnd(8)} ok ${String(p.ok).padStart(6)}  failed ${String(p.failed).padStart(4)}  `
      + `p50 ${p.p50_ms} ms  p99 ${p.p99_ms} ms  max ${p.max_ms} ms${p.failed ? '  ' + JSON.stringify(p.errors) : ''}`);
  }
} finally {
  await o.stop();
  o.cleanup();
}
