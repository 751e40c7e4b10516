// /_dni/v1/number: a page that did not come through the edge (snippet-only
// mode) asks for its tracking numbers. The answer lists one lease per
// default number the site's pools serve for that page view, in the form of
// the page's <meta name="dni"> plus the shard's fields:
//   {"leases":[{"pool","lease","number","default","expires",...}], "vid"?}
//
// A site on another origin than the edge gets CORS headers when one of its
// pools lists that origin in `site_origins`; the edge's cookie is then a
// third-party cookie the browser may drop, so the visitor id also travels
// in the body (`vid`, kept by the snippet in first-party storage) and is
// answered back when the edge made it.
//
// Who may ask (docs/edge.md, "How leases are protected"): a POST with a
// text or JSON body whose `Origin` is the edge's own site or an allowed
// one, and whose `Sec-Fetch-Site`, when sent, agrees. Browsers send Origin
// with every POST, and a page cannot set it, so a third-party page cannot
// make its visitors' browsers take numbers (`new Image()`, a form, a
// no-cors fetch: 405, 415 or 403, no lease). The snippet sends a text body
// (a CORS-simple request: the browser sends it at once, where a JSON type
// would cost a preflight round trip first); JSON is still taken. A
// request that passes but does not come from a browser's script
// (edge/visitor_check.mjs, notSnippetReason: a no-cors or navigation
// request of the site's own page) is answered with no leases, as a
// crawler is.
//
// The worker hands in what it shares with the page path (site config,
// lease making, visitor cookie), so this file holds the route's own rules.
import { notSnippetReason } from './visitor_check.mjs';

export const VID_RE = /^[A-Za-z0-9_-]{8,64}$/;

// The origins (scheme://host[:port]) the site's pools allow to call the
// edge from a browser. Malformed entries are ignored.
export function allowedOrigins(site) {
  const out = new Set();
  for (const p of (site && site.pools) || []) {
    const list = p.config && p.config.site_origins;
    if (!Array.isArray(list)) continue;
    for (const o of list) {
      try { if (typeof o === 'string') out.add(new URL(o).origin); } catch { /* ignored */ }
    }
  }
  return out;
}

// CORS headers for a request from `origin` (its Origin header), or null
// when the origin is the edge's own or not allowed.
export function corsHeaders(site, request, url) {
  const origin = request.headers.get('origin');
  if (!origin || origin === url.origin || !allowedOrigins(site).has(origin)) return null;
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': 'content-type',
    // A visitor's browser asks first (preflight) once in two hours, the
    // most Chromium keeps it, instead of once per page view: the preflight
    // is a round trip before the number request. (An origin dropped from
    // site_origins is refused at once all the same: the answer itself
    // carries no CORS headers for it.)
    'access-control-max-age': '7200',
    vary: 'Origin',
  };
}

// Why a request from `origin` may not ask for numbers, or '' when it may:
// the edge's own site (same host: TLS may end in front of the edge), or an
// origin a pool allows (cors: its CORS headers).
export function originRefusal(request, url, cors) {
  const origin = request.headers.get('origin');
  const site = (request.headers.get('sec-fetch-site') || '').toLowerCase();
  let own = false;
  if (origin) {
    try { own = origin !== 'null' && new URL(origin).host === url.host; } catch { own = false; }
    if (!own && !cors) return 'origin not allowed';
  } else {
    // Every browser sends Origin with a POST; without one, only a
    // same-origin request (by its fetch metadata) is the site's.
    if (site && site !== 'same-origin') return 'origin not allowed';
    if (!site) return 'origin required';
  }
  if (site && site !== 'same-origin' && !cors) return 'origin not allowed';
  return '';
}

// The shape both modes read: the meta tag's fields next to the shard's.
function answerLease(l) {
  return { ...l, default: l.default_number, expires: l.expires_at };
}

// edge: {getSite, leasesFor, visitorOf, readBeacon, json, log}
export async function numberRoute(request, env, url, edge) {
  const { json } = edge;
  let site = null;
  try { site = await edge.getSite(env); } catch (e) { edge.log(`dni: number: site config: ${e.message}`); }
  const cors = corsHeaders(site, request, url);
  if (request.method === 'OPTIONS') {
    return cors ? new Response(null, { status: 204, headers: cors }) : json(403, { error: 'origin not allowed' });
  }
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { ...(cors || {}), allow: 'POST, OPTIONS' });
  const type = (request.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  if (type !== 'text/plain' && type !== 'application/json') {
    return json(415, { error: 'content-type must be text/plain or application/json' }, cors);
  }
  const refused = originRefusal(request, url, cors);
  if (refused) return json(403, { error: refused });
  let b;
  try { b = await edge.readBeacon(request, url); } catch (e) { return json(400, { error: e.message }, cors); }
  const vis = edge.visitorOf(request, url, cors && typeof b.vid === 'string' && VID_RE.test(b.vid) ? b.vid : null);
  const extra = { ...(cors || {}), ...(vis.setCookie ? { 'set-cookie': vis.setCookie } : {}) };
  const botScoreMin = env.BOT_SCORE_MIN !== undefined ? Number(env.BOT_SCORE_MIN) : undefined;
  if (notSnippetReason(request, { botScoreMin })) return json(200, { leases: [] }, extra);
  let pageUrl;
  try { pageUrl = new URL(b.url || request.headers.get('referer') || url.href); } catch {
    return json(400, { error: 'url is not a URL' }, extra);
  }
  if (!site) return json(503, { error: 'no site configuration yet' }, extra);
  try {
    const view = edge.pageView(pageUrl, typeof b.referrer === 'string' ? b.referrer : '');
    // Across origins the edge cannot see the site's consent cookie: the
    // snippet says it saw it (it only asks at all once it did).
    let cookies = vis.cookies;
    if (cors && b.consent) {
      cookies = { ...cookies };
      for (const p of site.pools || []) cookies[(p.config && p.config.consent_cookie) || 'dni_consent'] = '1';
    }
    let leases = await edge.leasesFor(env, site, view, vis.vid, request, cookies);
    if (b.default) leases = leases.filter((l) => l.default_number === b.default);
    const body = { leases: leases.map(answerLease) };
    if (cors) body.vid = vis.vid;
    return json(200, body, extra);
  } catch (e) {
    edge.log(`dni: number failed: ${e.message}`);
    return json(503, { error: 'pool unavailable' }, extra);
  }
}
