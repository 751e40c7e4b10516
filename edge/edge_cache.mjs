// The edge cache's rules: which page requests may be answered from the
// shared cache, what is forwarded upstream for them, and which upstream
// answers may be stored. One visitor's page must never reach another:
//
//   - A request is a cache candidate only when it is a plain GET (no
//     Authorization, no Range) and carries no cookie that may vary the
//     page. The edge's own cookie (dni_vid) never varies it; the site
//     lists the others that do not (CACHE_IGNORE_COOKIES, comma-separated
//     names, e.g. "_ga,_gid"). Any other cookie: no lookup, no store, and
//     the request goes upstream as it came.
//   - A candidate is forwarded upstream exactly as its cache key names it:
//     without the tracking parameters the key leaves out and without
//     cookies, so what upstream renders (and what is stored) cannot depend
//     on anything the key does not name: a `?utm_source=<script>` reflected
//     by the page never reaches the copy other visitors get.
//   - A response is stored only when upstream marks it shareable
//     (Cache-Control `public` or `s-maxage`), or the site says its pages
//     are (CACHE_PAGES_S = seconds to keep them), and never when it is
//     not a 200, sets a cookie, says private/no-store/no-cache, or varies
//     on anything but Accept-Encoding.
// docs/edge.md, "Edge cache", states the same rules.
import { cacheKeyUrl, parseCookies, BUILTIN_PARAM_MAP } from './site_rules.mjs';

const OWN_COOKIES = ['dni_vid'];

function cookieList(s) {
  return String(s || '').split(',').map((x) => x.trim()).filter(Boolean);
}

// For a request to `target` (the upstream URL): {candidate, key, forward},
// where forward is the URL to fetch and key the cache key URL (both the
// URL without tracking parameters for a candidate).
export function cachePlan(request, env, target) {
  const plain = request.method === 'GET' && !request.headers.has('authorization')
    && !request.headers.has('range');
  if (!plain || env.EDGE_CACHE === 'off') return { candidate: false, forward: target.href };
  const ignored = new Set([...OWN_COOKIES, ...cookieList(env.CACHE_IGNORE_COOKIES)]);
  const cookies = parseCookies(request.headers.get('cookie'));
  if (Object.keys(cookies).some((name) => !ignored.has(name))) {
    return { candidate: false, forward: target.href };
  }
  const key = cacheKeyUrl(target.href, Object.keys(BUILTIN_PARAM_MAP));
  return { candidate: true, key, forward: key };
}

// Whether upstream's answer may be stored in the shared cache; the TTL it
// is stored with (seconds), or 0.
export function shareableTtl(res, env) {
  if (res.status !== 200 || res.headers.has('set-cookie')) return 0;
  const cc = (res.headers.get('cache-control') || '').toLowerCase();
  if (/\b(private|no-store|no-cache)\b/.test(cc)) return 0;
  const vary = (res.headers.get('vary') || '').toLowerCase().split(',').map((x) => x.trim()).filter(Boolean);
  if (vary.some((v) => v !== 'accept-encoding')) return 0;
  const s = /\bs-maxage\s*=\s*(\d+)/.exec(cc);
  if (s) return Number(s[1]);
  if (/(^|[\s,])public([\s,]|$)/.test(cc)) {
    const m = /\bmax-age\s*=\s*(\d+)/.exec(cc);
    return m ? Number(m[1]) : 60;
  }
  const site = Number(env.CACHE_PAGES_S || 0);
  return site > 0 ? site : 0;
}
