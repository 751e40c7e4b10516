// A minimal origin speaking the sync protocol (docs/design.md), for edge tests that need
// to control grants and outages precisely: it grants every number of each
// pool to the calling edge with a configurable lifetime, records every
// batch, acknowledges by seq and drops repeated seqs.
import { createServer } from 'node:http';

export function startOriginStub({ pools, secret, grantTtl = 60, paramMap = {} }) {
  const state = {
    batches: [], events: [], seen: new Set(), down: false, grantTtl, pools, hold: {},
    epochs: {}, revoked: {},
  };
  const server = createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.down) { req.socket.destroy(); return; }
    if (req.method !== 'POST' || req.url !== '/v1/edge/sync') return reply(404, { error: 'not found' });
    if (req.headers.authorization !== `Bearer ${secret}`) return reply(401, { error: 'bad edge secret' });
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      let b;
      try { b = JSON.parse(raw); } catch { return reply(400, { error: 'body is not JSON' }); }
      if (typeof b.edge !== 'string' || !Number.isInteger(b.seq) || !Array.isArray(b.events)) {
        return reply(400, { error: 'edge, seq and events are required' });
      }
      // Tests may refuse a batch whole (refuseWhole(b) true: 422) or some
      // of its events (refuseEvents(b): [{index, reason}], as the origin
      // reports them).
      if (state.refuseWhole && state.refuseWhole(b)) {
        state.refusedWhole = (state.refusedWhole || 0) + 1;
        return reply(422, { error: 'refused whole by the test' });
      }
      const refused = state.refuseEvents ? state.refuseEvents(b) : [];
      const key = `${b.edge}/${b.generation || ''}/${b.seq}`;
      if (!state.seen.has(key)) {
        state.seen.add(key);
        state.batches.push(b);
        state.events.push(...b.events.filter((_, i) => !refused.some((r) => r.index === i)));
      }
      const now = Date.now() / 1000;
      return reply(200, {
        ack: b.seq,
        refused,
        param_map: paramMap,
        pools: state.pools.map((p) => ({
          id: p.id, version: 1, config: p.config,
          grants: p.config.numbers.filter((n) => !(state.revoked[p.id] || []).includes(n))
            .map((n) => ({ number: n, epoch: state.epochs[n] || 1 })),
          revoked: (state.revoked[p.id] || []).map((n) => ({ number: n, epoch: state.epochs[n] || 1 })),
          expires_at: now + state.grantTtl,
          hold: state.hold[p.id] || [],
        })),
      });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.port = server.address().port;
      state.url = `http://127.0.0.1:${state.port}`;
      state.close = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
      state.server = server;
      resolve(state);
    });
  });
}
