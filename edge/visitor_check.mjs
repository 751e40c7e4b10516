// Who may take a tracking number: a lease is made only for a browser's
// top-level page load (docs/edge.md, "How leases are protected"). Scripts,
// crawlers, prefetches and sub-resource requests get the page exactly as
// upstream serves it, with no cookie and no lease, so neither a loop of
// HTTP requests nor a search engine can hold the pool's numbers.
//
// Pure functions of the request headers (and request.cf on Cloudflare),
// shared by the worker and the tests.
import { isCrawler } from './site_rules.mjs';

// A browser's User-Agent: every current browser (Chrome, Edge, Safari,
// Firefox, Opera, Samsung Internet, their mobile and in-app versions)
// starts with "Mozilla/5.0 (" and names its engine. HTTP libraries
// (curl, wget, Python-urllib, python-requests, httpx, node, axios, Go,
// Java, okhttp) do neither unless told to pretend; the ones that pretend
// are held by the per-client budget (edge/lease_budget.mjs).
const BROWSER_UA_RE = /^Mozilla\/5\.0 \([^)]*\).*(?:AppleWebKit\/|Gecko\/|Trident\/)/;

// Cloudflare's bot score: 1 (certainly automated) .. 99 (certainly human).
// Below this, no lease (BOT_SCORE_MIN; Cloudflare calls scores under 30
// "likely automated").
export const DEFAULT_BOT_SCORE_MIN = 30;

export function isBrowserUserAgent(ua) {
  return typeof ua === 'string' && ua.length <= 1024 && BROWSER_UA_RE.test(ua) && !isCrawler(ua);
}

function has(headers, name) { return headers.get(name) !== null; }

// Why a request is not a visitor's page load, or '' when it is one.
// opts.botScoreMin: the Cloudflare bot score below which a request is
// refused (0 turns the score off).
export function notVisitorReason(request, opts = {}) {
  const h = request.headers;
  if (request.method !== 'GET') return 'method';
  const ua = h.get('user-agent');
  if (!ua) return 'no-user-agent';
  if (isCrawler(ua)) return 'crawler';
  if (!isBrowserUserAgent(ua)) return 'script';
  const accept = (h.get('accept') || '').toLowerCase();
  if (!accept.includes('text/html') && !accept.includes('application/xhtml+xml')) return 'not-html';
  // Prefetch and prerender: the browser may never show the page. Chrome
  // sends Sec-Purpose, older ones Purpose, Firefox X-Moz, Safari X-Purpose.
  for (const name of ['sec-purpose', 'purpose', 'x-moz', 'x-purpose']) {
    const v = (h.get(name) || '').toLowerCase();
    if (v.includes('prefetch') || v.includes('prerender') || v.includes('preview')) return 'prefetch';
  }
  // Fetch metadata, when sent (every current browser does): only a
  // navigation of a top-level document.
  if (has(h, 'sec-fetch-mode') && h.get('sec-fetch-mode').toLowerCase() !== 'navigate') return 'not-navigation';
  if (has(h, 'sec-fetch-dest') && h.get('sec-fetch-dest').toLowerCase() !== 'document') return 'not-document';
  return botReason(request, opts);
}

export function isVisitorNavigation(request, opts) { return notVisitorReason(request, opts) === ''; }

// The same test for the snippet's number request (edge/number_route.mjs):
// a browser's script asking with fetch(), so a browser User-Agent and,
// when the browser sends fetch metadata, an empty destination in cors or
// same-origin mode (not a navigation, an image, a frame or a no-cors
// request). '' when it is one.
export function notSnippetReason(request, opts = {}) {
  const h = request.headers;
  const ua = h.get('user-agent');
  if (!ua) return 'no-user-agent';
  if (isCrawler(ua)) return 'crawler';
  if (!isBrowserUserAgent(ua)) return 'script';
  const mode = (h.get('sec-fetch-mode') || '').toLowerCase();
  if (mode && mode !== 'cors' && mode !== 'same-origin') return 'not-fetch';
  const dest = (h.get('sec-fetch-dest') || '').toLowerCase();
  if (dest && dest !== 'empty') return 'not-fetch';
  return botReason(request, opts);
}

// Cloudflare's bot management, when present: verified bots and scores
// below opts.botScoreMin (0 turns the score off) are not visitors.
function botReason(request, opts) {
  const bm = request.cf && request.cf.botManagement;
  if (bm && typeof bm === 'object') {
    if (bm.verifiedBot) return 'verified-bot';
    const min = opts.botScoreMin ?? DEFAULT_BOT_SCORE_MIN;
    if (min > 0 && typeof bm.score === 'number' && bm.score > 0 && bm.score < min) return 'bot-score';
  }
  return '';
}

// The client a lease budget is counted for: CF-Connecting-IP (set by
// Cloudflare, which clients cannot set through it). IPv4 counts per
// address, IPv6 per /64 (what one subscriber line usually gets). Without
// the header (a local run that does not set it) every request is one
// shared client, '-'.
export function clientKey(request) {
  const ip = (request.headers.get('cf-connecting-ip') || '').trim();
  if (!ip) return '-';
  if (ip.includes(':')) return ipv6Prefix64(ip);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip;
  return '-';
}

// The first four 16-bit groups of an IPv6 address, zero-padded, with
// "/64"; '-' when it is not one.
export function ipv6Prefix64(ip) {
  let a = ip.toLowerCase();
  const z = a.indexOf('%');
  if (z >= 0) a = a.slice(0, z);
  if (!/^[0-9a-f:.]+$/.test(a)) return '-';
  // An embedded IPv4 tail stands for the last two groups.
  const m = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (m) {
    const b = m[2].split('.').map(Number);
    if (b.some((x) => x > 255)) return '-';
    a = m[1] + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const halves = a.split('::');
  if (halves.length > 2) return '-';
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  let groups;
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return '-';
    groups = [...head, ...Array(fill).fill('0'), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return '-';
  return groups.slice(0, 4).map((g) => g.padStart(4, '0')).join(':') + '::/64';
}
