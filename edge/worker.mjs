// The edge worker: proxies the site from UPSTREAM and, for HTML pages,
// swaps the site's default number for the visitor's leased tracking number
// while the page streams through (WebAssembly rewriter, chunk by chunk).
// Beacons from the browser snippet (/_dni/v1/*) go to the pool's
// PoolShard. Any failure serves the page as upstream sent it: a call is
// never lost, only its attribution. Contract: docs/design.md;
// operation: docs/edge.md.
import {
  isCrawler, choosePools, pageView, tagsFromView, hasConsent, parseCookies,
} from './site_rules.mjs';
import { rewriteStream, metaTag, isWideCharset } from './html_stream.mjs';
import { cachePlan, shareableTtl } from './edge_cache.mjs';
import { cleanUrl, cleanTags } from './event_clean.mjs';
import { getDni } from './dni_core.mjs';
import { BeatCache } from './beat_cache.mjs';
import { numberRoute, corsHeaders, VID_RE } from './number_route.mjs';
import { snippetRoute } from './snippet_route.mjs';
import { isVisitorNavigation, clientKey } from './visitor_check.mjs';
import { PageNumbers, rulesWithIdentities, shownDefaults, mayShow, sameNumbers } from './page_numbers.mjs';
import { healthz } from './healthz.mjs';
import { analyticsTags } from './conversion_ids.mjs';
import { logLease } from './activity.mjs';

export { PoolShard } from './pool_shard.mjs';
export { EdgeSync } from './edge_sync.mjs';

const VID_COOKIE = 'dni_vid';
const VID_MAX_AGE = 2592000;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function log(line) { console.error(line); }

// --- site configuration, cached per isolate ----------------------------

let siteCache = { site: null, at: 0, pending: null };
function syncStub(env) { return env.SYNC.get(env.SYNC.idFromName('edge')); }
function shardStub(env, pool) { return env.POOLS.get(env.POOLS.idFromName(pool)); }

async function getSite(env) {
  const ttl = Number(env.CONFIG_TTL_S || 10) * 1000;
  const fresh = siteCache.site && Date.now() - siteCache.at < ttl;
  if (fresh) return siteCache.site;
  if (!siteCache.pending) {
    siteCache.pending = syncStub(env).getSite()
      .then((site) => { if (site) siteCache = { site, at: Date.now(), pending: null }; return site; })
      .finally(() => { siteCache.pending = null; });
  }
  // A stale copy is served while the refresh runs.
  if (siteCache.site) { siteCache.pending.catch(() => {}); return siteCache.site; }
  return siteCache.pending;
}

// --- heartbeats answered from the per-isolate lease cache ---------------

let beatCache = null;
function beats(env) {
  if (!beatCache) {
    beatCache = new BeatCache({
      flushMs: Number(env.BEAT_FLUSH_MS ?? 500),
      maxLeases: Number(env.BEAT_CACHE_MAX ?? 10000),
    });
  }
  return beatCache;
}

// One call to a pool's shard that also carries the beats queued for it
// (so they reach the shard before what this call does) and feeds the
// answers back to the cache. Returns the shard's reply without the
// cache's fields.
async function shardCall(env, pool, method, req) {
  const cache = beats(env);
  const queued = cache.take(pool);
  if (queued.length) req.beats = queued;
  let r;
  try {
    r = await shardStub(env, pool)[method](req);
  } catch (e) {
    if (queued.length) cache.settle(pool, queued, null);
    throw e;
  }
  if (!r) return r;
  const { c, t, beats: done, ...reply } = r;
  if (queued.length) cache.settle(pool, queued, done);
  cache.learn(pool, req.visitor, { ...reply, c, t });
  return reply;
}

// Delivers a pool's queued beats in one call. Failures are logged: the
// beats are lost (as the shard's unflushed journal would be) and their
// leases forgotten, so their next heartbeat asks the shard.
async function deliverBeats(env, pool, timer) {
  const cache = beats(env);
  const queued = cache.take(pool, timer);
  if (!queued.length) return;
  try {
    cache.settle(pool, queued, await shardStub(env, pool).beats(queued));
  } catch (e) {
    log(`dni: delivering ${queued.length} heartbeats to pool ${pool} failed: ${e.message}`);
    cache.settle(pool, queued, null);
  }
}

// After a beat was queued: delivers now when the queue is full (or its
// timer was lost), else makes sure one delivery is scheduled within
// flushMs. The request's waitUntil keeps the isolate until it ran.
function scheduleBeats(env, ctx, pool, now) {
  const cache = beats(env);
  const due = cache.due(pool, now);
  if (due === 'now') ctx.waitUntil(deliverBeats(env, pool));
  else if (due === 'later') {
    ctx.waitUntil(new Promise((r) => setTimeout(r, cache.flushMs)).then(() => deliverBeats(env, pool, true)));
  }
}

// --- helpers -----------------------------------------------------------

function json(status, body, extra) {
  return new Response(JSON.stringify(body), { status, headers: extra ? { ...JSON_HEADERS, ...extra } : JSON_HEADERS });
}

function isHttps(request, url) {
  return url.protocol === 'https:' || (request.headers.get('x-forwarded-proto') || '').toLowerCase() === 'https';
}

// The visitor id: the edge's cookie, else `given` (a valid id the snippet
// kept in the site's own storage), else a new one.
function visitorOf(request, url, given) {
  const cookies = parseCookies(request.headers.get('cookie'));
  const v = cookies[VID_COOKIE];
  if (v && VID_RE.test(v)) return { vid: v, cookies, setCookie: null };
  const vid = given || crypto.randomUUID().replace(/-/g, '');
  const secure = isHttps(request, url) ? '; Secure' : '';
  return {
    vid, cookies,
    setCookie: `${VID_COOKIE}=${vid}; Path=/; Max-Age=${VID_MAX_AGE}; HttpOnly; SameSite=Lax${secure}`,
  };
}

function upstreamUrl(env, url) {
  const up = new URL(env.UPSTREAM);
  const u = new URL(url.pathname + url.search, up);
  return u;
}

function poolOfLease(lease) {
  const i = typeof lease === 'string' ? lease.lastIndexOf('~') : -1;
  return i > 0 ? lease.slice(0, i) : null;
}

// --- upstream fetch with the edge cache --------------------------------

// The Cache API, or null where there is none (EDGE_CACHE=off).
function cacheOf(env) {
  if (env.EDGE_CACHE === 'off') return null;
  try { return caches.default; } catch { return null; }
}

// What may be cached, and what a cache candidate forwards: edge_cache.mjs.
async function fetchUpstream(request, env, ctx, url) {
  const target = upstreamUrl(env, url);
  const plan = cachePlan(request, env, target);
  const headers = new Headers(request.headers);
  headers.delete('host');
  if (plan.candidate) headers.delete('cookie');
  const init = { method: request.method, headers, redirect: 'manual' };
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
  let cache = null;
  let key = null;
  if (plan.candidate) {
    try {
      cache = caches.default;
      key = new Request(plan.key, { method: 'GET' });
      const hit = await cache.match(key);
      if (hit) return hit;
    } catch (e) { log(`dni: cache lookup failed: ${e.message}`); cache = null; }
  }
  const res = await fetch(plan.forward, init);
  const ttl = cache ? shareableTtl(res, env) : 0;
  if (ttl > 0 && (res.headers.get('content-type') || '').includes('text/html')) {
    // fetch() hands us the body decoded: store it decoded, without the
    // encoding headers, so a hit reads the same bytes a miss does.
    const headers = new Headers(res.headers);
    headers.delete('content-encoding');
    headers.delete('content-length');
    headers.set('cache-control', `public, s-maxage=${ttl}`);
    const copy = new Response(res.clone().body, { status: res.status, headers });
    ctx.waitUntil(cache.put(key, copy).catch((e) => log(`dni: cache store failed: ${e.message}`)));
  }
  return res;
}

// --- pages -------------------------------------------------------------

// The site config fresh from EdgeSync (a shard said ours is older).
async function freshSite(env) {
  const site = await syncStub(env).getSite();
  if (site) siteCache = { site, at: Date.now(), pending: null };
  return site;
}

// EdgeSync's site config generation, asked at most once a second.
let genSeen = { gen: undefined, at: 0, pending: null };
async function latestGen(env) {
  const now = Date.now();
  if (now - genSeen.at < 1000) return genSeen.gen;
  if (!genSeen.pending) {
    genSeen.pending = syncStub(env).siteGen()
      .then((gen) => { genSeen = { gen, at: Date.now(), pending: null }; return gen; })
      .catch(() => { genSeen = { gen: genSeen.gen, at: Date.now(), pending: null }; return genSeen.gen; });
  }
  return genSeen.pending;
}

// Which pages show which default numbers (edge/page_numbers.mjs).
const pageNumbers = new PageNumbers();

// The leases of one page view. known: what is known of the page's
// default numbers (edge/page_numbers.mjs), or null; a pool whose number
// the page is known not to show makes no lease. A shard that has a newer
// site config than ours answers `stale` without making a lease: the view
// is then chosen again with the fresh config (pools already answered keep
// their answer), so a change at the origin applies to every view after
// this edge synced it.
async function leasesFor(env, site, view, visitor, request, cookies, known = null) {
  const done = new Map();
  const r = await leasesOnce(env, site, view, visitor, request, cookies, known, done, site.gen);
  if (!r.stale) return r.out;
  const fresh = (await freshSite(env)) || site;
  // The freshest config there is: no shard refuses it.
  return (await leasesOnce(env, fresh, view, visitor, request, cookies, known, done, undefined)).out;
}

async function leasesOnce(env, site, view, visitor, request, cookies, known, done, gen) {
  const chosen = choosePools(site, view).filter(({ config }) => mayShow(known, config.default_number)
    && hasConsent(config, cookies));
  const out = [];
  let stale = false;
  if (!chosen.length && gen !== undefined) {
    // No shard to tell us: ask EdgeSync whether the config moved on
    // meanwhile, at most once a second per isolate (one object for the
    // whole edge: pages that show no pool's number must not all call it).
    return { out, stale: (await latestGen(env)) > gen };
  }
  await Promise.all(chosen.map(async ({ pool, config }) => {
    if (done.has(pool)) { out.push(done.get(pool)); return; }
    const tags = { ...tagsFromView(view, site.param_map, config.param_map), ...analyticsTags(cookies) };
    // Bounded and well-formed before the shard stores them (event_clean.mjs).
    const r = await shardCall(env, pool, 'assign', {
      pool, visitor, tags: cleanTags(tags), referrer: cleanUrl(view.referrer), url: cleanUrl(view.url.href),
      client: clientKey(request), site: gen,
    });
    if (r && r.stale) { stale = true; return; }
    logLease(env, pool, visitor, tags, r);
    if (r && r.number) {
      const l = { ...r, default_number: r.default_number || config.default_number };
      done.set(pool, l);
      out.push(l);
    }
  }));
  return { out, stale };
}

async function servePage(request, env, ctx, url) {
  const res = await fetchUpstream(request, env, ctx, url);
  if (request.method !== 'GET') return res;
  const type = res.headers.get('content-type') || '';
  if (res.status !== 200 || !/text\/html|application\/xhtml\+xml/i.test(type) || !res.body) return res;
  if (isWideCharset(type)) return res;
  // Leases only for a browser's page load (edge/visitor_check.mjs).
  if (!isVisitorNavigation(request, { botScoreMin: env.BOT_SCORE_MIN !== undefined ? Number(env.BOT_SCORE_MIN) : undefined })) return res;

  let leases;
  let dni;
  let vis;
  let plan;
  let known;
  let rw;
  try {
    vis = visitorOf(request, url);
    const site = await getSite(env);
    if (!site) return res;
    const view = pageView(url, request.headers.get('referer'));
    plan = cachePlan(request, env, upstreamUrl(env, url));
    known = plan.candidate ? await pageNumbers.get(plan.key, cacheOf(env)) : null;
    [leases, dni] = await Promise.all([
      leasesFor(env, site, view, vis.vid, request, vis.cookies, known), getDni(),
    ]);
    // Rules for the leased numbers, and identity rules that learn which
    // default numbers the page shows (edge/page_numbers.mjs).
    rw = rulesWithIdentities(site, leases);
  } catch (e) {
    log(`dni: page served unchanged: ${e.message}`);
    return res;
  }
  if (!leases.length) return res;
  const { rules } = rw;
  // What the page showed is stored when it is new or changed.
  const learn = plan.candidate ? (r) => {
    const shown = shownDefaults(rw.defaults, r.ruleSwaps);
    if (sameNumbers(known, shown, rw.defaults)) return;
    const p = pageNumbers.put(plan.key, shown, rw.defaults, shareableTtl(res, env), cacheOf(env));
    if (p) ctx.waitUntil(p.catch((e) => log(`dni: page numbers not stored: ${e.message}`)));
  } : null;
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  headers.delete('etag');
  headers.set('cache-control', 'private, max-age=0');
  headers.append('vary', 'Cookie');
  // The body is read decoded (from upstream or the cache); naming gzip
  // here makes the runtime compress the rewritten stream for the client.
  if (/\bgzip\b/i.test(request.headers.get('accept-encoding') || '')) headers.set('content-encoding', 'gzip');
  else headers.delete('content-encoding');
  if (vis.setCookie) headers.append('set-cookie', vis.setCookie);
  const stream = rewriteStream({
    makeRewriter: () => dni.rewriter(rules, {}),
    metaHtml: metaTag(leases),
    log,
    onEnd: learn,
  });
  // The body arrives decoded; keeping Content-Encoding lets the runtime
  // compress the rewritten stream again for the client.
  return new Response(res.body.pipeThrough(stream), { status: res.status, statusText: res.statusText, headers });
}

// --- snippet endpoints -------------------------------------------------

async function readBeacon(request, url) {
  const q = url.search ? Object.fromEntries(url.searchParams) : {};
  if (request.method === 'GET') return q;
  const text = await request.text();
  if (!text) return q;
  if (text.length > 16384) throw new Error('body too large');
  let body;
  try { body = JSON.parse(text); } catch { throw new Error('body is not JSON'); }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('body must be a JSON object');
  return { ...q, ...body };
}

function leaseList(b) {
  const l = b.leases !== undefined ? b.leases : b.lease;
  const list = Array.isArray(l) ? l : typeof l === 'string' ? l.split(',') : [];
  return list.filter((x) => typeof x === 'string' && x).slice(0, 16);
}

async function beacon(request, env, ctx, url, op) {
  if (request.method !== 'POST' && request.method !== 'GET') return json(405, { error: 'use POST' });
  let b;
  try { b = await readBeacon(request, url); } catch (e) { return json(400, { error: e.message }); }
  // A site on another origin (snippet-only mode) sends the visitor id the
  // snippet keeps, since its browser may not send the edge's cookie.
  let cors = null;
  const origin = request.headers.get('origin');
  if (origin && origin !== url.origin) cors = corsHeaders(await getSite(env).catch(() => null), request, url);
  const cookies = parseCookies(request.headers.get('cookie'));
  let vid = cookies[VID_COOKIE];
  if (!vid && cors && typeof b.vid === 'string' && VID_RE.test(b.vid)) vid = b.vid;
  if (!vid) return json(401, { error: 'no visitor cookie' }, cors);
  const leases = leaseList(b);
  if (!leases.length) return json(400, { error: 'missing lease' }, cors);
  if (op === 'tag' && (!b.tags || typeof b.tags !== 'object' || Array.isArray(b.tags))) {
    return json(400, { error: 'tags must be an object' }, cors);
  }
  const now = Date.now() / 1000;
  const cache = beats(env);
  // The common case, one lease the cache can answer: no shard call.
  if (leases.length === 1 && op !== 'tag') {
    const pool = poolOfLease(leases[0]);
    const hit = pool && cache.answer(leases[0], vid, now, op === 'leave');
    if (hit) {
      scheduleBeats(env, ctx, pool, now);
      return json(200, { leases: [hit] }, cors);
    }
  }
  const results = await Promise.all(leases.map(async (lease) => {
    const pool = poolOfLease(lease);
    if (!pool) return { lease, ok: false, status: 400, error: 'malformed lease id' };
    if (op !== 'tag') {
      const hit = cache.answer(lease, vid, now, op === 'leave');
      if (hit) { scheduleBeats(env, ctx, pool, now); return hit; }
    }
    try {
      const tags = op === 'tag' ? cleanTags(b.tags) : undefined;
      const r = await shardCall(env, pool, op, { lease, visitor: vid, tags });
      return { lease, ...r };
    } catch (e) {
      log(`dni: ${op} failed: ${e.message}`);
      return { lease, ok: false, status: 503, error: 'shard unavailable' };
    }
  }));
  const ok = results.some((r) => r.ok);
  const status = ok ? 200 : results[0].status || 404;
  const body = { leases: results };
  if (!ok) body.error = results[0].error;
  return json(status, body, cors);
}

// What the number route (number_route.mjs) shares with the page path.
const EDGE = {
  getSite, leasesFor, visitorOf, readBeacon, json, isCrawler, pageView, log,
};

// Compares a presented secret with the expected one in time that depends
// only on the expected one's length, so timing tells nothing about it.
function sameSecret(given, want) {
  const enc = new TextEncoder();
  const a = enc.encode(given || '');
  const b = enc.encode(want);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (i < a.length ? a[i] : 0) ^ b[i];
  return diff === 0;
}

async function status(env) {
  // An edge syncs from its first page view on; asking for its status
  // starts that too (`make run` waits here until the edge holds numbers).
  await getSite(env).catch(() => {});
  const sync = await syncStub(env).status();
  const pools = await Promise.all(sync.pools.map((p) => shardStub(env, p).status()));
  return json(200, { sync, pools, beat_cache: beats(env).stats(), page_numbers: pageNumbers.stats() });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/_dni/')) {
      try {
        switch (url.pathname) {
          case '/_dni/v1/number': return await numberRoute(request, env, url, EDGE);
          case '/_dni/v1/hb': return await beacon(request, env, ctx, url, 'heartbeat');
          case '/_dni/v1/leave': return await beacon(request, env, ctx, url, 'leave');
          case '/_dni/v1/tag': return await beacon(request, env, ctx, url, 'tag');
          case '/_dni/dni.js': return await snippetRoute(request, env, url);
          case '/_dni/healthz':
            getSite(env).catch(() => {}); // an edge starts syncing when first asked
            return await healthz(env, { getDni, syncStub });
          case '/_dni/v1/status':
            if (!env.STATUS_TOKEN || !sameSecret(request.headers.get('authorization'), `Bearer ${env.STATUS_TOKEN}`)) {
              return json(403, { error: 'forbidden' });
            }
            return await status(env);
          default: return json(404, { error: 'no such endpoint' });
        }
      } catch (e) {
        log(`dni: ${url.pathname} failed: ${e.stack || e.message}`);
        return json(500, { error: 'internal error' });
      }
    }
    try {
      return await servePage(request, env, ctx, url);
    } catch (e) {
      // The page itself could not be fetched: that is upstream's answer
      // to give, not ours.
      log(`dni: upstream fetch failed: ${e.message}`);
      return new Response('upstream unavailable\n', { status: 502 });
    }
  },
};
