// Parity with the core: every golden case of the rewriter (tests/golden/,
// the one list the C unit tests also read) loaded as a page in Chromium
// with the snippet given the case's rules. The text and the swapped
// attributes (title, alt, aria-label, tel:/callto: href) of every node must
// equal those of the page `dni swap` produced (<case>.expected.html).
//
// Differences by design, left out of the comparison:
// - with scripting on, a browser keeps <noscript> content as raw text that
//   nobody sees, and the snippet leaves it alone; the core swaps it as
//   markup, for visitors without scripts;
// - a character reference written for a digit (&#56;00-555-1234) is a
//   digit once the browser decoded it: the snippet reads the text a
//   visitor sees, the core never takes a reference for a digit;
// - a tag the HTML parser drops (<td> outside a table) ends a number for
//   the core, which reads the bytes, not for the snippet, which reads the
//   document the browser built;
// - the core holds at most 8 tags and 512 bytes of one candidate while it
//   streams; the snippet works on the whole document and has no such bound.
// The lines of a case that show these (the golden files keep one example
// per line) are left out of both pages.
const EXCEPT = {
  'charref-opaque': /&#56;|&#49;|&#x31;|&sup1;/,
  'inline-tags': /^<p>Too many tags|^<p>Long tag|<td>/,
  // Digits touching across tags ("1234</a><a>800") are one digit run for
  // the snippet, as they are for the core since inline tags join numbers.
  'tag-shapes': /<\/a><a href="te l:/,
};
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startServer, snippetSource, ROOT, JS } from './harness.mjs';

const GOLDEN = process.env.DNI_GOLDEN || join(ROOT, 'tests/golden');
const cases = readdirSync(GOLDEN).filter((f) => f.endsWith('.args')).map((f) => f.slice(0, -5)).sort();

// Calling codes by ISO country, as `dni swap --country` reads them.
const COUNTRY = { US: '1', CA: '1', PR: '1', GB: '44', UK: '44', IE: '353', DE: '49', FR: '33', ES: '34', IT: '39',
  NL: '31', BE: '32', CH: '41', AT: '43', SE: '46', NO: '47', DK: '45', FI: '358', PL: '48', PT: '351', AU: '61',
  NZ: '64', MX: '52', BR: '55', AR: '54', IN: '91', JP: '81', ZA: '27', SG: '65', IL: '972' };
const ccLen = (d) => (/^([17]|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])/.exec(d) || [0, 'xxx'])[1].length;

// A number as a person writes it -> E.164 (the rule parsing of the core).
function e164(text, country) {
  let t = text.trim().replace(/^tel:/i, '');
  const plus = t.startsWith('+');
  let d = t.replace(/\D/g, '');
  if (plus || d.startsWith('00')) { if (!plus) d = d.slice(2); return '+' + d; }
  const cc = /^\+?\d+$/.test(country || '') ? country.replace('+', '') : COUNTRY[(country || 'US').toUpperCase()];
  if (cc === '1' ? d.length === 11 && d[0] === '1' : d[0] === '0') d = d.slice(1);
  return '+' + cc + d;
}

function rulesOf(name) {
  let country = '';
  const rules = [];
  for (const line of readFileSync(join(GOLDEN, `${name}.args`), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(' ');
    const [opt, val] = [line.slice(0, i), line.slice(i + 1)];
    if (opt === '--country') country = val;
    else if (opt === '--rule') rules.push(val);
  }
  return rules.map((r) => {
    const [def, rest] = r.split('=');
    const [to, template] = rest.split('@');
    return { def: e164(def, country), to: e164(to, country), template };
  });
}

let browser;
let server;
const pages = {};
before(async () => {
  browser = await launch();
  const js = snippetSource();
  // The cases' own scripts (document.write, ...) are kept from running:
  // only the snippet may change the page.
  server = await startServer((req, body, url) => (url.pathname === '/_dni/dni.js' ? { headers: JS, body: js }
    : pages[url.pathname] && { body: pages[url.pathname], headers: { 'content-security-policy': "script-src 'self'" } }));
});
after(async () => { await browser.close(); await server.close(); });

// What a reader sees and a phone dials: each node in order with its text
// or its swapped attributes.
function visible() {
  const out = [];
  const walk = (n) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) out.push(c.data);
      else if (c.nodeType === 1) {
        if (c.localName === 'noscript' || (c.localName === 'script' && c.src)) continue;
        const a = ['title', 'alt', 'aria-label', 'href'].map((k) => c.getAttribute(k)).filter((v) => v !== null);
        out.push(`<${c.localName} ${a.join(' | ')}>`);
        walk(c);
      }
    }
  };
  walk(document);
  return out.filter((x) => !/^<meta /.test(x));
}

async function render(html, expectReady) {
  const p = await browser.newPage();
  const path = `/${Math.random().toString(36).slice(2)}`;
  pages[path] = html;
  await p.goto(server.url + path);
  if (expectReady) await p.evaluate(() => window.dni.ready);
  const v = await p.evaluate(visible);
  await p.close();
  return v;
}

for (const name of cases) {
  test(`golden case ${name}`, async () => {
    const rules = rulesOf(name);
    const meta = JSON.stringify(rules.map((r, i) => ({ pool: `p${i}`, lease: null, number: r.to, default: r.def,
      ...(r.template ? { template: r.template } : {}) })));
    const attr = meta.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    // The same prefix on both pages, so both parse alike.
    const prefix = `<meta name="dni" content="${attr}"><script src="/_dni/dni.js"></script>`;
    let input = readFileSync(join(GOLDEN, `${name}.html`));
    let expected = readFileSync(join(GOLDEN, `${name}.expected.html`));
    const ex = EXCEPT[name];
    if (ex) {
      const a = input.toString('latin1').split('\n');
      const b = expected.toString('latin1').split('\n');
      assert.equal(a.length, b.length, 'exceptions are made by lines');
      const keep = a.map((l, i) => !ex.test(l) && !ex.test(b[i]));
      input = Buffer.from(a.filter((l, i) => keep[i]).join('\n'), 'latin1');
      expected = Buffer.from(b.filter((l, i) => keep[i]).join('\n'), 'latin1');
    }
    const got = await render(Buffer.concat([Buffer.from(prefix), input]), true);
    const want = await render(Buffer.concat([Buffer.from(prefix.replace(/<script.*/, '')), expected]), false);
    assert.deepEqual(got, want);
  });
}
