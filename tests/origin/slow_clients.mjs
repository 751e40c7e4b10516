// Slow clients against a running origin: many connections that trickle a
// request header one byte a second and never finish it, from several
// loopback addresses (127.0.0.2, 127.0.0.3, ...), while probes from
// 127.0.0.1 call /healthz, post signed webhooks and sync as an edge, one
// request after another. Used by slow_client.test.mjs (which asserts every
// probe was answered) and by `make bench-slow-clients` (which prints the
// figures). Loops are bounded by the run's length; nothing here asserts a
// time.
import { connect } from 'node:net';
import twilio from 'twilio';

export const SLOW_TOKEN = 'slow-client-token';
const PUBLIC = 'https://hooks.example.com';

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// One probe loop: calls fn() until stop, recording each latency (ms) or
// failure. fn returns true for a good answer.
async function probeLoop(name, fn, until, out) {
  const rec = { name, ok: 0, failed: 0, lat: [], errors: {} };
  out.push(rec);
  for (let i = 0; Date.now() < until; i++) {
    const t0 = performance.now();
    let good = false;
    try {
      good = await fn(i);
    } catch (e) {
      const k = e.name === 'TimeoutError' ? 'timeout' : (e.cause && e.cause.code) || e.message;
      rec.errors[k] = (rec.errors[k] || 0) + 1;
    }
    const ms = performance.now() - t0;
    if (good) { rec.ok++; rec.lat.push(ms); } else rec.failed++;
  }
  rec.lat.sort((a, b) => a - b);
  return rec;
}

// Runs the load for `seconds` against origin o ({base, port}); the pool
// `pool` with granted numbers must exist. Returns the figures.
export async function runSlowClients(o, { connections = 1000, addresses = 20, seconds = 20, edgeSecret,
  timeoutMs = 15000 } = {}) {
  const stats = { opened: 0, open: 0, cut: 0, refusedAtConnect: 0, answers: {}, held: [] };
  const sockets = new Set();
  let stop = false;
  const until = Date.now() + seconds * 1000;

  function trickler(addr) {
    if (stop) return;
    const s = connect({ host: '127.0.0.1', port: o.port, localAddress: addr });
    sockets.add(s);
    let connected = false;
    let timer = null;
    let reply = '';
    s.setNoDelay(true);
    s.on('connect', () => {
      connected = true;
      stats.opened++;
      stats.open++;
      s.write('GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ');
      timer = setInterval(() => { if (!s.destroyed) s.write('x'); }, 1000);
    });
    s.on('data', (d) => { reply += d; });
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      if (timer) clearInterval(timer);
      if (connected) { stats.open--; stats.cut++; } else stats.refusedAtConnect++;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
      const k = m ? m[1] : 'closed';
      stats.answers[k] = (stats.answers[k] || 0) + 1;
      if (!stop) setTimeout(() => trickler(addr), 200);
    });
  }

  const per = Math.ceil(connections / addresses);
  for (let a = 0; a < addresses; a++) {
    const addr = `127.0.0.${2 + a}`;
    for (let i = 0; i < per && a * per + i < connections; i++) trickler(addr);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Let them settle, then probe while sampling how many are held.
  await new Promise((r) => setTimeout(r, 2000));
  const sampler = setInterval(() => stats.held.push(stats.open), 500);

  const signal = () => AbortSignal.timeout(timeoutMs);
  const probes = [];
  const url = `${PUBLIC}/v1/webhooks/call`;
  let seq = 1;
  await Promise.all([
    probeLoop('healthz', async () => {
      const r = await fetch(`${o.base}/healthz`, { signal: signal() });
      await r.arrayBuffer();
      return r.status === 200;
    }, until, probes),
    probeLoop('webhook', async (i) => {
      const params = { CallSid: `CAslow${Date.now()}x${i}`, To: '+18885557001', CallStatus: 'ringing' };
      const sig = twilio.getExpectedTwilioSignature(SLOW_TOKEN, url, params);
      const r = await fetch(`${o.base}/v1/webhooks/call`, {
        method: 'POST', body: new URLSearchParams(params).toString(), signal: signal(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
      });
      await r.arrayBuffer();
      return r.status === 200;
    }, until, probes),
    probeLoop('sync', async () => {
      const r = await fetch(`${o.base}/v1/edge/sync`, {
        method: 'POST', body: JSON.stringify({ edge: 'slow-edge', seq: seq++, events: [] }), signal: signal(),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${edgeSecret}` },
      });
      await r.arrayBuffer();
      return r.status === 200;
    }, until, probes),
  ]);
  clearInterval(sampler);
  stop = true;
  const answers = { ...stats.answers };
  for (const s of sockets) s.destroy();
  const held = stats.held.slice().sort((a, b) => a - b);
  return {
    connections, addresses, seconds,
    held: { min: held[0] ?? 0, median: quantile(held, 0.5), max: held[held.length - 1] ?? 0 },
    opened: stats.opened, cut: stats.cut, refused_at_connect: stats.refusedAtConnect, answers,
    probes: probes.map((p) => ({
      name: p.name, ok: p.ok, failed: p.failed, errors: p.errors,
      p50_ms: +quantile(p.lat, 0.5).toFixed(2), p99_ms: +quantile(p.lat, 0.99).toFixed(2),
      max_ms: +(p.lat[p.lat.length - 1] ?? NaN).toFixed(2),
    })),
  };
}

// The origin's arguments and environment for this load: signed webhooks.
export const SLOW_ENV = { DNI_TWILIO_AUTH_TOKEN: SLOW_TOKEN };
export const SLOW_ARGS = ['--public-url', PUBLIC];
