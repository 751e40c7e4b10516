// edge/visitor_check.mjs as plain functions: which requests are a
// visitor's page load, Cloudflare's bot signals, and the client key the
// lease budget counts by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notVisitorReason, clientKey, ipv6Prefix64, isBrowserUserAgent } from '../../edge/visitor_check.mjs';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const NAV = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

function req(headers, { method = 'GET', cf } = {}) {
  return { method, headers: new Headers(headers), cf };
}

test('browsers navigating are visitors', () => {
  for (const ua of [CHROME, FIREFOX, SAFARI]) {
    assert.equal(notVisitorReason(req({ ...NAV, 'user-agent': ua })), '', ua);
    // a browser that sends no fetch metadata (older Safari) still counts
    assert.equal(notVisitorReason(req({ accept: 'text/html', 'user-agent': ua })), '', ua);
  }
});

test('scripts, crawlers, prefetches and sub-resources are not', () => {
  const cases = [
    [{ 'user-agent': 'curl/8.5.0', accept: '*/*' }, 'crawler'],
    [{ 'user-agent': 'Python-urllib/3.12', accept: 'text/html' }, 'script'],
    [{ 'user-agent': 'python-httpx/0.27.0', accept: 'text/html' }, 'script'],
    [{ 'user-agent': 'node', accept: 'text/html' }, 'script'],
    [{ 'user-agent': 'axios/1.7.9', accept: 'text/html' }, 'script'],
    [{ 'user-agent': 'okhttp/4.12.0' }, 'script'],
    [{ 'user-agent': 'Java/17.0.9', accept: 'text/html, image/gif, *; q=.2' }, 'script'],
    [{ 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', ...NAV }, 'crawler'],
    [{ accept: 'text/html' }, 'no-user-agent'],
    [{ 'user-agent': CHROME, accept: '*/*' }, 'not-html'],
    [{ 'user-agent': CHROME, ...NAV, 'sec-purpose': 'prefetch' }, 'prefetch'],
    [{ 'user-agent': CHROME, ...NAV, purpose: 'prefetch' }, 'prefetch'],
    [{ 'user-agent': FIREFOX, ...NAV, 'x-moz': 'prefetch' }, 'prefetch'],
    [{ 'user-agent': CHROME, ...NAV, 'sec-fetch-mode': 'cors' }, 'not-navigation'],
    [{ 'user-agent': CHROME, ...NAV, 'sec-fetch-mode': 'no-cors' }, 'not-navigation'],
    [{ 'user-agent': CHROME, ...NAV, 'sec-fetch-dest': 'iframe' }, 'not-document'],
  ];
  for (const [h, why] of cases) assert.equal(notVisitorReason(req(h)), why, JSON.stringify(h));
  assert.equal(notVisitorReason(req({ 'user-agent': CHROME, ...NAV }, { method: 'POST' })), 'method');
});

test('Cloudflare bot management: verified bots and low scores get no lease', () => {
  const h = { 'user-agent': CHROME, ...NAV };
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 90, verifiedBot: false } } })), '');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 90, verifiedBot: true } } })), 'verified-bot');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 12 } } })), 'bot-score');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 29 } } })), 'bot-score');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 30 } } })), '');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 12 } } }), { botScoreMin: 10 }), '');
  assert.equal(notVisitorReason(req(h, { cf: { botManagement: { score: 5 } } }), { botScoreMin: 0 }), '');
  // no score (the plan has no bot management): the other checks decide
  assert.equal(notVisitorReason(req(h, { cf: { country: 'US' } })), '');
});

test('client keys: IPv4 per address, IPv6 per /64, none shared', () => {
  assert.equal(clientKey(req({ 'cf-connecting-ip': '203.0.113.7' })), '203.0.113.7');
  assert.equal(clientKey(req({})), '-');
  assert.equal(clientKey(req({ 'cf-connecting-ip': 'garbage' })), '-');
  assert.equal(ipv6Prefix64('2001:db8:1:2:3:4:5:6'), '2001:0db8:0001:0002::/64');
  assert.equal(ipv6Prefix64('2001:db8:1:2::9'), '2001:0db8:0001:0002::/64');
  assert.equal(ipv6Prefix64('2001:DB8:1:2:ffff::1'), '2001:0db8:0001:0002::/64');
  assert.equal(ipv6Prefix64('::1'), '0000:0000:0000:0000::/64');
  assert.equal(ipv6Prefix64('::ffff:192.0.2.1'), '0000:0000:0000:0000::/64');
  assert.equal(ipv6Prefix64('fe80::1%eth0'), 'fe80:0000:0000:0000::/64');
  assert.equal(ipv6Prefix64('1:2:3:4:5:6:7:8:9'), '-');
  assert.equal(ipv6Prefix64('1::2::3'), '-');
  // two addresses of one /64 are one client
  assert.equal(clientKey(req({ 'cf-connecting-ip': '2001:db8:a:b::1' })),
    clientKey(req({ 'cf-connecting-ip': '2001:db8:a:b:ffff:ffff:ffff:ffff' })));
});

test('browser User-Agent shape', () => {
  assert.ok(isBrowserUserAgent(CHROME));
  assert.ok(!isBrowserUserAgent('Mozilla/5.0'));
  assert.ok(!isBrowserUserAgent('Mozilla/5.0 (compatible; MSIE 9.0)'));
  assert.ok(!isBrowserUserAgent(CHROME.replace('Chrome/', 'HeadlessChrome/')));
  assert.ok(!isBrowserUserAgent('x'.repeat(2000)));
});
