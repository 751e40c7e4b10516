// Numbers of many countries, in the forms their own people write them
// (numbers and formats from libphonenumber-js): national, international,
// "00" international, "+CC (0)" where the country has a trunk 0, E.164 and
// RFC 3966, each in several page contexts. The expected output is computed
// here: the replacement differs from the default in its last four digits,
// so a swap writes those four digits in the same places and keeps every
// other byte. Checked on the native `dni swap` (whole and byte by byte)
// and on both WebAssembly builds (whole and random chunkings).
import test from 'node:test';
import assert from 'node:assert/strict';
import { getExampleNumber, parsePhoneNumber } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { TARGETS, load, native, prng, concat } from './targets.mjs';

const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BE', 'AT', 'CH', 'SE',
  'NO', 'DK', 'FI', 'IE', 'PL', 'PT', 'AU', 'NZ', 'JP', 'IN', 'BR', 'ZA', 'MX', 'SG', 'IL',
  'TR', 'CZ', 'GR'];

// The replacement: the default with its last four digits changed.
function replacementOf(e164) {
  const head = e164.slice(0, -4);
  const tail = [...e164.slice(-4)].map((d) => String((Number(d) + 3) % 10)).join('');
  return head + tail;
}

// Writes the replacement's last four digits over the last four digits of s.
function swapLastFour(s, replacementE164) {
  const tail = replacementE164.slice(-4);
  const chars = [...s];
  let k = 3;
  for (let i = chars.length - 1; i >= 0 && k >= 0; i--) {
    if (chars[i] >= '0' && chars[i] <= '9') chars[i] = tail[k--];
  }
  return chars.join('');
}

// Every written form of one number.
function formsOf(n) {
  const national = n.formatNational();
  const intl = n.formatInternational();
  const cc = n.countryCallingCode;
  const forms = {
    national,
    international: intl,
    'international 00': `00${intl.slice(1)}`,
    e164: n.number,
  };
  // "+44 (0)20 …": only where the national form is the trunk 0 and the
  // national number.
  const nationalDigits = national.replace(/\D/g, '');
  if (nationalDigits === `0${n.nationalNumber}`) {
    const rest = national.replace(/^\D*0/, '');
    forms['+CC (0)'] = `+${cc} (0)${rest}`;
  }
  return forms;
}

// One page per country: every form in every context, with what a correct
// swap gives.
function pageOf(country) {
  const n = getExampleNumber(country, examples);
  const def = n.number;
  const rep = replacementOf(def);
  const rfc3966 = `tel:${n.formatInternational().replace(/ /g, '-')}`;
  const input = [];
  const expected = [];
  const add = (a, b = a) => { input.push(a); expected.push(b); };
  const sw = (s) => swapLastFour(s, rep);
  add(`<!doctype html><title>${country}</title>\n`);
  for (const [name, f] of Object.entries(formsOf(n))) {
    add(`<h2>${name}</h2>\n`);
    add(`<p>Call ${f} today</p>\n`, `<p>Call ${sw(f)} today</p>\n`);
    add(`<p>Open 24/7 ${f} (24h)</p>\n`, `<p>Open 24/7 ${sw(f)} (24h)</p>\n`);
    add(`<p>&#169;2024 ${f}.</p>\n`, `<p>&#169;2024 ${sw(f)}.</p>\n`);
    add(`<a href="tel:${def}">${f}</a>\n`, `<a href="tel:${rep}">${sw(f)}</a>\n`);
    add(`<a href="${rfc3966}" title="${f}">call</a>\n`, `<a href="${sw(rfc3966)}" title="${sw(f)}">call</a>\n`);
    add(`<img alt="Call ${f}" src="x.png">\n`, `<img alt="Call ${sw(f)}" src="x.png">\n`);
    const sp = f.indexOf(' ');
    if (sp > 0) {
      // Split by an inline tag, and written with &nbsp; as WordPress does.
      const a = f.slice(0, sp); const b = f.slice(sp);
      add(`<p><b>${a}</b>${b}</p>\n`, `<p><b>${a}</b>${sw(b)}</p>\n`);
      const nb = f.replace(/ /g, '&nbsp;');
      add(`<p>${nb}</p>\n`, `<p>${sw(nb)}</p>\n`);
    }
    // Left alone: a longer digit run, a comment, a script, another attribute.
    add(`<p>Order ${f}9</p>\n`);
    add(`<!-- ${f} -->\n<script>var n = "${f}";</script>\n<div data-phone="${f}"></div>\n`);
  }
  return { def, rep, input: input.join(''), expected: expected.join('') };
}

const PAGES = COUNTRIES.map((c) => ({ country: c, ...pageOf(c) }));

test('the numbers are real ones of at least 20 countries', () => {
  const codes = new Set(PAGES.map((p) => parsePhoneNumber(p.def).countryCallingCode));
  assert.ok(PAGES.length >= 20 && codes.size >= 20, `${PAGES.length} pages, ${codes.size} codes`);
  for (const p of PAGES) assert.ok(parsePhoneNumber(p.def).isValid(), p.def);
});

test('native dni swap: every country, every form, whole and byte by byte', () => {
  for (const p of PAGES) {
    for (const chunk of [[], ['--chunk-size', '1']]) {
      const r = native(['swap', '--rule', `${p.def}=${p.rep}`, ...chunk, '-'], p.input);
      assert.equal(r.status, 0, `${p.country}: ${r.stderr}`);
      assert.equal(r.stdout.toString(), p.expected, `${p.country} ${chunk.join(' ') || 'whole'}`);
    }
  }
});

for (const target of TARGETS) {
  test(`${target}: every country, whole and in random chunks`, async () => {
    const dni = await load(target);
    for (const p of PAGES) {
      const rw = dni.rewriter([`${p.def}=${p.rep}`], {});
      const input = Buffer.from(p.input);
      const rnd = prng(p.def.length * 31 + input.length);
      for (let k = 0; k < 4; k++) {
        rw.reset();
        const out = [];
        for (let at = 0; at < input.length;) {
          const n = k === 0 ? input.length : 1 + Math.floor(rnd() * 40);
          out.push(rw.write(input.subarray(at, at + n)));
          at += n;
        }
        out.push(rw.end());
        assert.equal(concat(out).toString(), p.expected, `${p.country} chunking ${k}`);
      }
      rw.free();
    }
  });
}
