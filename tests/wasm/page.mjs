// page.mjs - a generated HTML page full of the things the rewriter must
// get right (numbers in every written form, in text, attributes, tel:
// links, raw text, comments, skipped elements, entities), so the parity
// tests and the benchmark do not depend on any outside file.
import { prng } from './targets.mjs';

export const RULES = [
  '800-555-1234=+18885550000',
  '+1 (415) 555-0134=+1 415 555 0199',
  '+18005550100=+442079460000@+## ## #### ####',
  '+44 20 7946 0000=+44 20 7946 1111',
];

const NUMBERS = [
  '800-555-1234', '(800) 555-1234', '1.800.555.1234', '+1 800 555 1234',
  '001 800 555 1234', '8005551234', '1-800-555-1234', '800&nbsp;555&#160;1234',
  '800\u00a0555\u20111234', '(415) 555-0134', '+1-415-555-0134', '415.555.0134',
  '800-555-0100', '+1 (800) 555-0100', '+44 20 7946 0000', '0044 20 7946 0000',
  '98005551234', '800-555-12345', '800-555-123', '12/800/555/1234',
  '800 - 555 - 1234', '800---555-1234', 'x800-555-1234x', '800-555-1234 ext. 12',
];

const WORDS = ['call', 'us', 'today', 'support', 'sales', 'a < b', 'R&amp;D', 'open',
  'hours', '24/7', 'order #12345678', 'card 4111 1111 1111 1111', '&copy;', 'caf\u00e9'];

/** Returns a page of at least `size` bytes, the same for the same seed. */
export function generatePage(size, seed = 1) {
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const num = () => pick(NUMBERS);
  const text = () => {
    let s = '';
    const n = 1 + Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) s += (rnd() < 0.3 ? num() : pick(WORDS)) + ' ';
    return s;
  };
  const blocks = [
    () => `<p>${text()}</p>\n`,
    () => `<a href="tel:${num().replace(/ /g, '')}" title="${num()}">${text()}</a>\n`,
    () => `<a href="callto:${num()}" aria-label="Call ${num()}">x</a>\n`,
    () => `<img alt="${num()}" src="/img/${num()}.png" data-phone="${num()}">\n`,
    () => `<script>var phone = "${num()}"; if (a < b) x = '</scr' + 'ipt>';</script>\n`,
    () => `<script type="application/ld+json">{"telephone":"${num()}"}</script>\n`,
    () => `<style>.x:after{content:"${num()}"}</style>\n`,
    () => `<!-- ${num()} --><!DOCTYPE html>\n`,
    () => `<textarea>${num()}</textarea>\n`,
    () => `<div data-dni-skip><div>${num()}</div><span>${num()}</span></div><b>${num()}</b>\n`,
    () => `<input value="${num()}" placeholder='${num()}'>\n`,
    () => `<title>${text()}</title><noscript>${num()}</noscript>\n`,
    () => `<a href="https://example.com/?p=${num()}">${num()}</a> / ${num()}\n`,
    () => `<![CDATA[ ${num()} ]]></ x>${num()}<br/>\n`,
    () => `<table><tr><td>${text()}</td><td>${num()}</td></tr></table>\n`,
  ];
  let out = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Contact</title></head><body>\n';
  while (out.length < size) out += pick(blocks)();
  return Buffer.from(out + '</body></html>\n');
}
