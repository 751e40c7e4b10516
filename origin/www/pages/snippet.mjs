// Test snippet: paste a page's HTML, or fetch a page (through the edge:
// the origin fetches it, GET /v1/tools/page), and see which numbers the
// edge would swap, highlighted. It runs the core's rewriter built with Emscripten
// (the same C code the edge runs as WebAssembly) in this browser.
import { h, fill, message, stat } from '../lib/dom.mjs';
import { api } from '../lib/api.mjs';
import { changes } from '../lib/highlight.mjs';

const SAMPLE = `<!DOCTYPE html>
<html><head><title>Acme Plumbing | Call (800) 555-1234</title>
<script type="application/ld+json">{"telephone":"+1-800-555-1234"}</script></head>
<body>
<a href="tel:+1-800-555-1234" aria-label="Call 800-555-1234">Call (800) 555-1234</a>
<p>Open 24/7: 1.800.555.1234 or <b>800</b>-555-1234.</p>
<p data-dni-skip>Head office: (800) 555-1234</p>
<p>Order 48005551234999 is not a phone number.</p>
</body></html>
`;

let dniPromise = null;
function loadCore() {
  if (!dniPromise) {
    dniPromise = (async () => {
      const [{ loadDniEmscripten }, factory, bytes] = await Promise.all([
        import('/wasm/dni.mjs'),
        import('/wasm/emscripten/dni.mjs').then((m) => m.default),
        fetch('/wasm/emscripten/dni.wasm').then((r) => {
          if (!r.ok) throw new Error(`the rewriter could not be loaded (${r.status})`);
          return r.arrayBuffer();
        }),
      ]);
      return loadDniEmscripten(factory, new Uint8Array(bytes));
    })();
    dniPromise.catch(() => { dniPromise = null; });
  }
  return dniPromise;
}

function field(id, label, input, help) {
  input.id = id;
  input.setAttribute('aria-describedby', `${id}-help ${id}-msg`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    h('span', { class: 'help', id: `${id}-help` }, help), h('span', { class: 'msg', id: `${id}-msg` }));
}

export default {
  title: 'Test snippet', nav: true, href: '#/snippet', route: /^#\/snippet$/,
  async render(main) {
    const html = h('textarea', { name: 'html', rows: 12, spellcheck: 'false' });
    html.value = SAMPLE;
    const from = h('input', { name: 'default', type: 'text', value: '(800) 555-1234', autocomplete: 'off' });
    const to = h('input', { name: 'tracking', type: 'text', value: '+1 888 555 0100', autocomplete: 'off' });
    const country = h('input', { name: 'country', type: 'text', value: '', placeholder: 'US', autocomplete: 'off', maxlength: 4 });
    const result = h('div', { id: 'snippet-result', 'aria-live': 'polite' });
    const url = h('input', { name: 'url', type: 'text', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
      placeholder: `${location.protocol}//${location.hostname}:8787/` });
    const fetchForm = h('form', { class: 'card settings', id: 'snippet-fetch', novalidate: true, onsubmit: fetchPage },
      field('snippet-url', 'Page address', url,
        'Fetched by the origin, e.g. through the edge (which hands a script the page unchanged); its HTML replaces the one below.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Fetch the page')));
    const form = h('form', { class: 'card settings', id: 'snippet-form', novalidate: true, onsubmit: run },
      h('div', { class: 'field wide' }, h('label', { for: 'snippet-html' }, 'HTML of the page'),
        Object.assign(html, { id: 'snippet-html' })),
      field('snippet-from', 'Number on the site', from, 'The default number the page shows.'),
      field('snippet-to', 'Tracking number', to, 'What a visitor would see instead.'),
      field('snippet-country', 'Country', country, 'How numbers without a country code are read (empty: North America).'),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show the swaps')));
    fill(main, h('h1', {}, 'Test snippet'),
      h('p', { class: 'sub' }, 'Paste a page and see what the edge would swap. The rewriter runs here, in your browser: the same C code as the edge, built to WebAssembly.'),
      fetchForm, form, result);

    async function fetchPage(e) {
      e.preventDefault();
      const msg = document.getElementById('snippet-url-msg');
      url.removeAttribute('aria-invalid');
      msg.textContent = '';
      const u = url.value.trim();
      if (!/^https?:\/\/\S+$/i.test(u)) {
        url.setAttribute('aria-invalid', 'true');
        msg.textContent = 'An address starting with http:// or https://.';
        url.focus();
        return;
      }
      msg.textContent = 'Fetching…';
      try {
        const page = await api('GET', `/v1/tools/page?url=${encodeURIComponent(u)}`);
        msg.textContent = '';
        html.value = page.html;
        await run();
      } catch (err) {
        url.setAttribute('aria-invalid', 'true');
        msg.textContent = err.message;
      }
    }

    async function run(e) {
      if (e) e.preventDefault();
      for (const el of [from, to, country]) {
        el.removeAttribute('aria-invalid');
        document.getElementById(`${el.id}-msg`).textContent = '';
      }
      let dni;
      try { dni = await loadCore(); } catch (err) { fill(result, message('error', err.message)); return; }
      const c = country.value.trim();
      const bad = (el, text) => {
        el.setAttribute('aria-invalid', 'true');
        document.getElementById(`${el.id}-msg`).textContent = text;
        el.focus();
        fill(result, message('error', 'Nothing was rewritten: fix the field marked.'));
      };
      let fromE, toE;
      try {
        fromE = dni.phoneParse(from.value, c);
        if (!fromE) return bad(from, 'Not a phone number.');
        toE = dni.phoneParse(to.value, c);
        if (!toE) return bad(to, 'Not a phone number.');
      } catch (err) { return bad(country, err.message); }
      let rw;
      let output;
      let swaps;
      try {
        rw = dni.rewriter([{ from: fromE, to: toE }], { country: c });
        const bytes = new TextEncoder().encode(html.value);
        const a = rw.write(bytes);
        const b = rw.end();
        swaps = rw.swaps;
        output = new TextDecoder().decode(concat(a, b));
      } catch (err) {
        fill(result, message('error', err.message));
        return;
      } finally {
        if (rw) rw.free();
      }
      const input = html.value;
      const spans = changes(input, output);
      const pre = h('pre', { class: 'code', id: 'snippet-output', tabindex: '0', 'aria-label': 'The page as the edge would send it' });
      let at = 0;
      for (const sp of spans) {
        pre.append(output.slice(at, sp.outStart), h('mark', {}, output.slice(sp.outStart, sp.outEnd)));
        at = sp.outEnd;
      }
      pre.append(output.slice(at));
      const lineOf = (off) => input.slice(0, off).split('\n').length;
      fill(result,
        h('div', { class: 'stats' }, stat('numbers swapped', String(swaps)), stat('marked below', String(spans.length))),
        spans.length ? h('ul', { id: 'snippet-swaps' }, spans.map((sp) => h('li', {},
          `line ${lineOf(sp.inStart)}: `, h('span', { class: 'mono' }, input.slice(sp.inStart, sp.inEnd)), ' → ',
          h('span', { class: 'mono' }, output.slice(sp.outStart, sp.outEnd)))))
          : h('p', { class: 'empty' }, 'No number would be swapped: the page does not show the site\'s number where the edge swaps.'),
        h('h2', {}, 'The page as the edge would send it'), pre);
    }
    run();
  },
};

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
