// Which of the site's default numbers a page shows (docs/edge.md, "How
// leases are protected"). A page view makes leases only in the pools whose
// default number the page showed the last time it went through the
// rewriter; a page not known yet makes them in every pool, as before.
//
// How it is learned: when a page is rewritten, every default number of
// the site that got no lease on this view is given to the rewriter as an
// identity rule (the number for itself: no byte changes), and the
// rewriter counts swaps per rule (dni_rewriter_rule_swaps). The numbers
// with a count are the page's numbers.
//
// Where it is kept: with the page's cache entry. The key is the page's
// edge cache key (the URL without tracking parameters) and the entry lives
// as long as the page may be cached (edge/edge_cache.mjs decides both); a
// page the edge may not cache is never known and always leases in every
// pool. Each isolate keeps what it
// learned or read in memory (at most `max` pages, least recently used
// dropped); other isolates read it from the Cache API under the page's
// key with the parameter `__dni_numbers` added (a page found in neither is
// not looked up again for 10 s).

const MAX_PAGES = 5000;
const MISS_MS = 10000;
const MARK = '__dni_numbers';

// The Cache API key of a page's numbers.
export function numbersKeyUrl(pageKey) {
  const u = new URL(pageKey);
  u.searchParams.append(MARK, '1');
  return u.href;
}

// The rewriter rules for a page view: the leases' swaps first, then an
// identity rule for every other default number of the site (at most
// `limit` rules in all). Returns {rules: [{from, to}], defaults: [the
// default number of each rule, same order]}.
export function rulesWithIdentities(site, leases, limit = 16) {
  const rules = [];
  const defaults = [];
  for (const l of leases) {
    if (!l.number || l.number === l.default_number || defaults.includes(l.default_number)) continue;
    rules.push({ from: l.default_number, to: l.number });
    defaults.push(l.default_number);
  }
  for (const p of (site && site.pools) || []) {
    const d = p.config && p.config.default_number;
    if (!d || p.config.enabled === false || defaults.includes(d) || rules.length >= limit) continue;
    rules.push({ from: d, to: d });
    defaults.push(d);
  }
  return { rules, defaults };
}

// Whether a page known as `known` ({numbers, checked}, or null when not
// known) may show the default number d: not known, not checked for d, or
// shown.
export function mayShow(known, d) {
  return !known || !known.checked.has(d) || known.numbers.has(d);
}

// Whether a rewrite that looked for `checked` and found `shown` learned
// nothing new about a page known as `known`.
export function sameNumbers(known, shown, checked) {
  if (!known || known.numbers.size !== shown.length || known.checked.size !== checked.length) return false;
  return shown.every((d) => known.numbers.has(d)) && checked.every((d) => known.checked.has(d));
}

// The default numbers whose rule swapped at least once.
export function shownDefaults(defaults, ruleSwaps) {
  return defaults.filter((d, i) => (ruleSwaps[i] || 0) > 0);
}

export class PageNumbers {
  constructor({ max = MAX_PAGES } = {}) {
    this.max = max;
    this.pages = new Map(); // page key -> {numbers: Set, checked: Set, until: ms}
    this.hits = 0;
    this.learned = 0;
  }

  remember(key, numbers, checked, until) {
    this.pages.delete(key);
    if (this.pages.size >= this.max) this.pages.delete(this.pages.keys().next().value);
    const e = { numbers: new Set(numbers), checked: new Set(checked), until };
    this.pages.set(key, e);
    return e;
  }

  // What is known of the page, {numbers, checked} (Sets of default
  // numbers: shown, looked for), or null. cache: the Cache API
  // (caches.default) or null.
  async get(key, cache) {
    if (!key) return null;
    const e = this.pages.get(key);
    const now = Date.now();
    if (e && e.until > now) {
      if (e.miss) return null;
      this.hits++;
      return e;
    }
    if (e) this.pages.delete(key);
    if (!cache) return null;
    try {
      const hit = await cache.match(new Request(numbersKeyUrl(key)));
      if (!hit) {
        // Not known anywhere yet (or never: a page the cache may not keep):
        // not looked up again for MISS_MS; this isolate learns it itself.
        this.pages.set(key, { miss: true, until: now + MISS_MS });
        if (this.pages.size > this.max) this.pages.delete(this.pages.keys().next().value);
        return null;
      }
      const body = await hit.json();
      if (!body || !Array.isArray(body.numbers) || !Array.isArray(body.checked) || !(body.until > now)) return null;
      this.hits++;
      return this.remember(key, body.numbers.map(String), body.checked.map(String), body.until);
    } catch {
      return null;
    }
  }

  // What a rewrite of the page found (numbers shown, numbers looked
  // for); kept for ttlS seconds. Returns the Cache API write (a promise)
  // or null.
  put(key, numbers, checked, ttlS, cache) {
    if (!key || !(ttlS > 0)) return null;
    const until = Date.now() + ttlS * 1000;
    this.remember(key, numbers, checked, until);
    this.learned++;
    if (!cache) return null;
    const body = JSON.stringify({ numbers, checked, until });
    return cache.put(new Request(numbersKeyUrl(key)), new Response(body, { headers: {
      'content-type': 'application/json', 'cache-control': `max-age=${Math.ceil(ttlS)}` } }));
  }

  stats() { return { pages: this.pages.size, hits: this.hits, learned: this.learned }; }
}
