// Site rules: which pool serves a page view, which tags it carries, and
// whether a lease may be made at all. Pure functions over the site
// configuration the origin hands out in its sync response (docs/edge.md,
// "Site configuration"), so the same code runs in the worker and in tests.

import { cutText, TAG_VALUE_MAX } from './event_clean.mjs';

// Tag names read from the URL when neither the company nor the pool maps
// them. The company map (sync response `param_map`) and then the pool's
// `param_map` are merged over this one.
export const BUILTIN_PARAM_MAP = Object.freeze({
  utm_source: 'utm_source', utm_medium: 'utm_medium', utm_campaign: 'utm_campaign',
  utm_term: 'utm_term', utm_content: 'utm_content',
  gclid: 'gclid', gbraid: 'gbraid', wbraid: 'wbraid', fbclid: 'fbclid',
  msclkid: 'msclkid', ttclid: 'ttclid', li_fat_id: 'li_fat_id', clickid: 'clickid',
});

// Parameters that only track a visit and never change the page: dropped
// from the edge cache key so every campaign click shares one cached copy.
const TRACKING_PARAMS = new Set([
  ...Object.keys(BUILTIN_PARAM_MAP), 'dclid', 'yclid', 'mc_cid', 'mc_eid',
  '_ga', '_gl', 'igshid', 'ref_src', 'utm_id',
]);

const SEARCH_HOSTS = [
  'google.', 'bing.com', 'duckduckgo.com', 'yahoo.', 'yandex.', 'baidu.com',
  'ecosia.org', 'ask.com', 'aol.com', 'naver.com', 'startpage.com', 'qwant.com',
  'search.brave.com',
];
const SOCIAL_HOSTS = [
  'facebook.com', 'fb.com', 'instagram.com', 't.co', 'twitter.com', 'x.com',
  'linkedin.com', 'lnkd.in', 'pinterest.', 'reddit.com', 'tiktok.com',
  'youtube.com', 'youtu.be', 'snapchat.com', 'threads.net', 'whatsapp.com',
];

// Crawlers get the page exactly as upstream serves it and no lease, so a
// search engine always indexes the one real number.
const CRAWLER_RE = /bot\b|bot\/|crawl|spider|slurp|mediapartners|adsbot|facebookexternalhit|embedly|quora link preview|outbrain|pinterest\/|vkshare|w3c_validator|whatsapp|lighthouse|headlesschrome|preview|feedfetcher|ia_archiver|bingpreview|yandex|baiduspider|duckduckgo|semrush|ahrefs|petalbot|applebot|curl\/|wget\/|python-requests|go-http-client/i;

export function isCrawler(userAgent) {
  if (!userAgent) return true; // no browser sends no User-Agent at all
  return CRAWLER_RE.test(userAgent);
}

function hostMatches(host, list) {
  return list.some((h) => (h.endsWith('.')
    ? host.startsWith(h) || host.includes('.' + h)
    : host === h || host.endsWith('.' + h)));
}

// Classifies where a visit came from: 'search', 'social', 'other' (another
// site) or 'direct' (no referrer, or a referrer on the same site).
export function classifyReferrer(referrer, pageUrl) {
  if (!referrer) return { kind: 'direct', host: '' };
  let host;
  try { host = new URL(referrer).hostname.toLowerCase(); } catch { return { kind: 'direct', host: '' }; }
  let own = '';
  try { own = new URL(pageUrl).hostname.toLowerCase(); } catch { /* keep '' */ }
  if (host === own) return { kind: 'direct', host };
  if (hostMatches(host, SEARCH_HOSTS)) return { kind: 'search', host };
  if (hostMatches(host, SOCIAL_HOSTS)) return { kind: 'social', host };
  return { kind: 'other', host };
}

// Normalises a pool's `traffic_source` into a list of rules. Accepted forms
// (docs/edge.md): absent/null (takes all traffic for its default number),
// a string ("search", "social", "other", "direct", "always",
// "param:NAME[=VALUE]", "path:/PREFIX"), an object {type, ...} or a list of
// either (any rule of the list matching selects the pool).
export function normaliseRules(ts) {
  if (ts === undefined || ts === null || ts === '') return [];
  const list = Array.isArray(ts) ? ts : [ts];
  return list.map((r) => {
    if (typeof r === 'string') {
      if (r.startsWith('param:')) {
        const [name, value] = r.slice(6).split('=');
        return { type: 'param', name, value };
      }
      if (r.startsWith('path:')) return { type: 'path', prefix: r.slice(5) };
      if (['search', 'social', 'other'].includes(r)) return { type: 'referrer', kind: r };
      return { type: r };
    }
    if (r && typeof r === 'object') return r;
    return { type: 'never' };
  });
}

function ruleMatches(rule, view) {
  switch (rule.type) {
    case 'always': return true;
    case 'direct': return view.source.kind === 'direct';
    case 'search': case 'social': case 'other':
      return view.source.kind === rule.type;
    case 'referrer':
      if (rule.kind && rule.kind !== view.source.kind) return false;
      if (rule.host) return view.source.host === rule.host || view.source.host.endsWith('.' + rule.host);
      return true;
    case 'param': {
      if (!rule.name || !view.url.searchParams.has(rule.name)) return false;
      return rule.value === undefined || rule.value === null
        || view.url.searchParams.get(rule.name) === String(rule.value);
    }
    case 'path': return typeof rule.prefix === 'string' && view.url.pathname.startsWith(rule.prefix);
    default: return false;
  }
}

// Chooses, for each default number present in the site config, the pool
// that serves this page view: pools with a traffic-source rule are tried in
// `priority` order (lowest first; equal priorities by id), first match
// wins; a pool without a rule takes what is left for its default number
// (the first such pool in the same order). Returns [{pool, config}].
// Pool order among pools sharing a default number: `priority` (a whole
// number, lowest first, 0 when unset), then id.
export function byPriority(a, b) {
  const pa = Number((a.config || {}).priority) || 0;
  const pb = Number((b.config || {}).priority) || 0;
  if (pa !== pb) return pa - pb;
  const ia = String(a.id);
  const ib = String(b.id);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

export function choosePools(site, view) {
  const byDefault = new Map();
  for (const p of site.pools || []) {
    const cfg = p.config || {};
    if (!cfg.default_number || !Array.isArray(cfg.numbers)) continue;
    if (cfg.enabled === false) continue;
    if (!byDefault.has(cfg.default_number)) byDefault.set(cfg.default_number, []);
    byDefault.get(cfg.default_number).push(p);
  }
  const chosen = [];
  for (const pools of byDefault.values()) {
    pools.sort(byPriority);
    let pick = null;
    for (const p of pools) {
      const rules = normaliseRules(p.config.traffic_source);
      if (rules.length && rules.some((r) => ruleMatches(r, view))) { pick = p; break; }
    }
    if (!pick) pick = pools.find((p) => normaliseRules(p.config.traffic_source).length === 0) || null;
    if (pick) chosen.push({ pool: pick.id, config: pick.config });
  }
  return chosen;
}

// Builds the view the rules look at from a request.
export function pageView(url, referrer) {
  const u = url instanceof URL ? url : new URL(url);
  return { url: u, referrer: referrer || '', source: classifyReferrer(referrer, u.href) };
}

// URL parameters -> tags: built-in map, then the company's, then the
// pool's. Also records the traffic source kind, so tags mode can separate
// search from social visitors when `source` is a tracked tag.
export function tagsFromView(view, companyMap, poolMap) {
  const map = { ...BUILTIN_PARAM_MAP, ...(companyMap || {}), ...(poolMap || {}) };
  const tags = {};
  for (const [param, value] of view.url.searchParams) {
    const tag = map[param];
    if (tag && value !== '' && !(tag in tags)) tags[tag] = cutText(value, TAG_VALUE_MAX);
  }
  tags.source = view.source.kind;
  if (view.source.host) tags.referrer_host = view.source.host;
  tags.landing_path = view.url.pathname;
  return tags;
}

// The edge cache key: the page URL without tracking parameters (built-in
// ones and every parameter of the merged tag maps), sorted so equal pages
// share one entry.
export function cacheKeyUrl(url, extraParams = []) {
  const u = new URL(url);
  const drop = new Set([...TRACKING_PARAMS, ...extraParams]);
  const kept = [...u.searchParams].filter(([k]) => !drop.has(k) && !k.startsWith('utm_'));
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  u.search = new URLSearchParams(kept).toString();
  u.hash = '';
  return u.href;
}

// Consent: when a pool sets `consent_required`, a lease is made only if the
// cookie named by `consent_cookie` (default "dni_consent") is present and
// not a refusal.
export function hasConsent(config, cookies) {
  if (!config.consent_required) return true;
  const name = config.consent_cookie || 'dni_consent';
  const v = cookies[name];
  if (v === undefined) return false;
  return !/^(0|false|no|deny|denied|reject|rejected)$/i.test(v);
}

export function parseCookies(header) {
  const out = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}
