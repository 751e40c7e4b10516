// Lease budgets (docs/edge.md, "How leases are protected"): how many new
// leases one client address may take in one pool. Each PoolShard keeps one
// LeaseBudget; the worker names the client (edge/visitor_check.mjs,
// clientKey: CF-Connecting-IP, IPv6 per /64, '-' without it).
//
// A token bucket per client: `budget` leases at once, refilled at
// budget / window_s per second, so a client takes at most budget leases in
// any window_s after a quiet spell and one every window_s / budget beyond
// that. A visitor who already holds a lease is never counted: only a lease
// made anew spends a token. Past the budget the visitor is shown the
// pool's default number (not its overflow number) and the page view is
// counted as `limited`, which is not an overflow: it triggers no scaling.
//
// Memory: one Map entry (key + two numbers, ~100 bytes) per client seen
// in the last window, at most maxClients (default 50,000); beyond that the
// least recently used entry is dropped (that client starts afresh). The
// buckets live in the shard's memory only: a shard restart gives every
// client a full budget again.

export const DEFAULT_BUDGET = 10;
export const DEFAULT_WINDOW_S = 600;

// The budget settings of a pool: its config's `client_budget` and
// `client_budget_s`, else the edge's defaults (env CLIENT_BUDGET,
// CLIENT_BUDGET_S), else 10 per 600 s. budget 0: no limit.
export function budgetSettings(config, env = {}) {
  const num = (v, d) => (v === undefined || v === null || v === '' || !(Number(v) >= 0) ? d : Number(v));
  const budget = num(config && config.client_budget, num(env.CLIENT_BUDGET, DEFAULT_BUDGET));
  let windowS = num(config && config.client_budget_s, num(env.CLIENT_BUDGET_S, DEFAULT_WINDOW_S));
  if (!(windowS > 0)) windowS = DEFAULT_WINDOW_S;
  return { budget: Math.floor(budget), windowS };
}

export class LeaseBudget {
  constructor({ maxClients = 50000 } = {}) {
    this.maxClients = maxClients;
    this.buckets = new Map(); // client -> {tokens, t}
    // page views answered with the default number since the last report
    this.pending = { n: 0, clients: new Set(), first: 0, last: 0 };
    this.limited = 0; // since start
  }

  bucket(client, now, { budget, windowS }) {
    let b = this.buckets.get(client);
    if (b) {
      b.tokens = Math.min(budget, b.tokens + ((now - b.t) * budget) / windowS);
      b.t = now;
      this.buckets.delete(client); // most recently used last
    } else {
      b = { tokens: budget, t: now };
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value);
    }
    this.buckets.set(client, b);
    return b;
  }

  // True when the client may take a new lease now (nothing is spent).
  allows(client, now, s) {
    if (!(s.budget > 0)) return true;
    return this.bucket(client, now, s).tokens >= 1;
  }

  // A new lease was made for the client: spends one token.
  spend(client, now, s) {
    if (!(s.budget > 0)) return;
    const b = this.bucket(client, now, s);
    b.tokens = Math.max(0, b.tokens - 1);
  }

  // A page view shown the default number because the budget was spent.
  count(client, now) {
    const p = this.pending;
    if (!p.n) p.first = now;
    p.n++;
    p.last = now;
    if (p.clients.size < 10000) p.clients.add(client);
    this.limited++;
  }

  // The outbox event for what was counted since the last report, or null:
  // {type: 'limited', pool, t, n, clients, since}.
  report(pool) {
    const p = this.pending;
    if (!p.n) return null;
    const ev = { type: 'limited', pool, t: p.last, n: p.n, clients: p.clients.size, since: p.first };
    this.pending = { n: 0, clients: new Set(), first: 0, last: 0 };
    return ev;
  }

  stats() { return { clients: this.buckets.size, limited: this.limited, pending: this.pending.n }; }
}
