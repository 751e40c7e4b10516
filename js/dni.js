// dni.js - the edgedni browser snippet. One tag on the site:
//   <script src="https://EDGE/_dni/dni.js" async fetchpriority="high"></script>
// Edge mode (the page came through the edge and carries <meta name="dni">):
// keeps the leases alive and swaps what scripts add later. Snippet-only
// mode (no meta tag): asks the edge for the numbers, then swaps the page.
// Swapping follows the core's rules (docs/swap.md); only validated E.164
// digits reach the page, through Text.data and setAttribute. docs/snippet.md
// describes installation, the API and the limits.
//
// Written for size: the edge serves a minified copy (terser, ES2020;
// js/build.mk) that must stay under 3 KB gzipped, so repeated code is
// shared and the internal names are short; the comments say what each
// piece is. And for the first page view: the number request goes out
// before anything else is set up, and the usual path throws nothing.
(() => {
  const W = window;
  const D = document;
  const stub = W.dni;
  if (stub?.ready) return; // loaded twice: the first copy runs

  const E164 = /^\+[1-9]\d{6,14}$/;
  // An E.164 number's calling code and national number. Calling codes are
  // prefix-free: these are the one- and two-digit ones, every other code
  // has three digits.
  const CC = /^.([17]|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|...)(.*)/;
  // Phrasing elements a number may run through, as the core lists them.
  const INLINE = /^([abiqsu]|em|tt|bd[io]|big|del|dfn|ins|kbd|su[bp]|var|wbr|abbr|cite|code|data|font|mark|nobr|samp|span|time|label|small|strike|strong)$/;
  // (A <template>'s content is not among its children: nothing to skip.)
  const SKIP = /^(script|style|textarea|noscript|input|xmp|iframe|noembed|noframes)$/;
  const ATTRS = ['title', 'aria-label', 'alt', 'href'];
  const BEAT = 15e3;

  // (loading, interactive or complete: the first letter tells.)
  const loading = () => D.readyState[0] == 'l';
  const me = D.currentScript;
  const copt = me?.getAttribute('data-consent');
  const edge = new URL(me?.src || location).origin + '/_dni/v1/';
  const cname = /^[\w-]+$/.test(copt) ? copt : 'dni_consent';

  // The numbers shown: {d: default, n: number, l: lease, p: pool,
  // t: template, f: formatted as last written}.
  let entries = [];
  let started;
  let timer;
  let fails = 0;
  let vid;
  let resolveReady;
  const ready = new Promise((r) => { resolveReady = r; });
  const listeners = [];

  // --- matching (the core's rules on decoded text) -----------------------

  // The rules {d: from, n: to, t: template} (entries are rules too; a rule
  // from a number to itself writes it back as it stands, and tells how the
  // page writes it) as
  // {o: the number written, t: its template, k: the new national number
  // when only the digits change (the same calling code: codes are
  // prefix-free), f: the forms `from` is written in, as [digits ("+"
  // first when written so), index of the digit written "(0)"]}.
  function compile(list) {
    return list.map(({ d: from, n: to, t }) => {
      const [, cc, nsn] = CC.exec(from);
      const c = cc.length;
      return { o: to, t, k: to.length == from.length && to.startsWith('+' + cc) && to.slice(c + 1),
        f: [[nsn], [+(cc == 1) + nsn], ['00' + cc + nsn], ['00' + cc + '0' + nsn, c + 2], [from], ['+' + cc + '0' + nsn, c + 1]] };
    });
  }

  // Where a candidate starts: a digit group (no digit before it, nor
  // before its "(" or "+") that is not inside a foreign number ("+" or
  // "00" and a country code) with fewer than eight digits before it
  // ("+44 800 555 1234" holds no US number); with the digits after it
  // joined by at most three separators, 4 to 20 (no form is shorter or
  // longer).
  // (A separator: [ -./()], a no-break space, a hyphen or a dash.)
  const RUN = /(?:(?<!\d)\+|(?:(?<!\d)\(|(?<![\d+(]))(?<!(?:\+|(?<!\d)00(?=[1-9]))\d(?:[ \-./()\xa0\u2010-\u2013]{0,3}\d){0,6}[ \-./()\xa0\u2010-\u2013]{1,3}))\d(?:[ \-./()\xa0\u2010-\u2013]{0,3}\d){3,19}/g;

  // The matches of the rules in s, in order: {s: start, e: end, d: its
  // digits, r: the rule}. At each candidate the longest form (of the last
  // rule on a tie) its digits (and "+") begin with that ends where no digit
  // follows, nor "-" or "." and a digit.
  function scan(s, rules) {
    const out = [];
    RUN.lastIndex = 0;
    for (let m; (m = RUN.exec(s));) {
      const pos = [];
      let ds = '';
      let best;
      for (let i = m.index; i < RUN.lastIndex; i++) if (/[\d+]/.test(s[i])) ds += s[i], pos.push(i);
      for (const r of rules) {
        for (const [f, z] of r.f) {
          const e = pos[f.length - 1] + 1;
          if (ds.startsWith(f) && !/^(\d|[-.]\d)/.test(s.substr(e, 2)) && (!z || s[pos[z] - 1] + s[pos[z] + 1] == '()')
              && !(best?.e > e)) best = { s: m.index, e, d: f.length - (f[0] == '+'), r };
        }
      }
      if (best) out.push(best);
      RUN.lastIndex = best ? best.e : m.index + 1;
    }
    return out;
  }

  // The text match m of s becomes; link: in a tel:/callto: href. The same
  // shape: the matched text with its last digits replaced by the new
  // national number; else the template's "#" filled with the digits of
  // the number; else the number in E.164.
  function written(s, m, link) {
    const r = m.r;
    let q = r.k ? r.k.length - m.d : 1;
    return r.k || (r.t && !link)
      ? (r.k ? s.slice(m.s, m.e) : r.t).replace(r.k ? /\d/g : /#/g, (d) => (q++ < 0 ? d : (r.k || r.o)[q - 1]))
      : r.o;
  }

  // --- the DOM -----------------------------------------------------------

  const skipped = (el, name = el.localName) => SKIP.test(name) || el.hasAttribute('data-dni-skip')
    || /^[tp]/.test(el.contentEditable); // "true" or "plaintext-only"

  // The text nodes of c (a node, a document or a fragment) and under it in order,
  // null where a block boundary, a skipped element or a comment stands
  // between two of them. Text directly inside <svg> or <math> (cdata) is
  // CDATA nobody sees. An attribute the rules apply to (a title, alt or
  // aria-label, a tel: or callto: href) stands between nulls as a text of
  // its own, l its name, whose edits are set on its element.
  function collect(c, nodes, cdata) {
    const t = c.nodeType;
    const name = t == 1 && c.localName;
    if (t == 3) cdata || nodes.push(c);
    else if (t > 8 || (name && !skipped(c, name))) {
      for (const l of name ? ATTRS : []) {
        const data = c.getAttribute(l);
        if (data != null && (l != 'href' || /^\s*(tel|callto):/i.test(data))) {
          nodes.push(null, { data, l,
            replaceData(a, n, w) { c.setAttribute(l, this.data = this.data.slice(0, a) + w + this.data.slice(a + n)); } }, null);
        }
      }
      const block = !INLINE.test(name);
      if (block) nodes.push(null);
      cdata = /^(svg|math)$/.test(name);
      for (let k = c.firstChild; k; k = k.nextSibling) collect(k, nodes, cdata);
      if (block) nodes.push(null);
    } else nodes.push(null);
    return nodes;
  }

  // One pass of the rules {d: from, n: to, t: template} over root (an
  // element, a text node or a document).
  function pass(root, list) {
    const R = compile(list);
    if (!R[0]) return;
    const nodes = collect(root, []);
    const starts = [];
    let s = '';
    for (const n of nodes) { starts.push(s.length); s += n ? n.data : '\n'; }
    starts.push(s.length);
    const found = scan(s, R).reverse();
    // While the page is parsed, text may still be added after a match and
    // make it part of a longer number: a root whose last match has fewer
    // than two characters after it (the most the rules look at) waits
    // whole for a later pass (at the parser's next piece, or
    // DOMContentLoaded), so none of its numbers is swapped twice.
    if (loading() && found[0]?.e > s.trimEnd().length - 2) return queued.push({ target: root });
    // Matches are edited last first, so the positions of the others hold;
    // j only goes down. Each node a match runs through gets its part of the
    // new text (the same shape: the same length), else the whole new text
    // goes where the match starts and the parts in later nodes are removed
    // (the tags stay).
    let j = nodes.length;
    for (const m of found) {
      while (starts[j] >= m.e) j--;
      const { l } = nodes[j];
      const w = written(s, m, l == 'href');
      if (!l) for (const x of entries) if (x.n == m.r.o) x.f = w;
      for (let i = j, a, b; starts[i + 1] > m.s; i--) {
        a = Math.max(m.s, starts[i]);
        b = Math.min(m.e, starts[i + 1]);
        nodes[i]?.replaceData(a - starts[i], b - a, m.r.k ? w.slice(a - m.s, b - m.s) : a > m.s ? '' : w);
      }
    }
  }


  // Swaps in what the parser and scripts add or change: the nearest block
  // around each such node, never the whole document. While the page is
  // parsed, right after each piece the parser adds (so the page is swapped
  // before it is painted, and DOMContentLoaded finds it done); later, once
  // per animation frame. The records wait in queued.
  let queued = [];
  const observer = new MutationObserver((records) => {
    queued = queued.concat(records);
    // (A flush that finds the records taken by an earlier one in the same
    // frame does nothing.)
    (loading() ? flush : requestAnimationFrame)(flush);
  });
  // For each added node, or node whose text or attribute changed: a text
  // without a digit is left out (added last, it cannot complete a number),
  // and so is a node inside a block already taken, skipped, or no longer
  // in a document or fragment (the walk up stops at an element).
  function flush() {
    const roots = new Set();
    for (const r of queued.concat(observer.takeRecords())) {
      for (let n of r.type == 'childList' ? r.addedNodes : [r.target]) {
        let root;
        if (n.nodeType == 3) n = /\d/.test(n.data) && n.parentNode;
        for (; n?.nodeType == 1 && !skipped(n) && !roots.has(n); n = n.parentNode) root ||= !INLINE.test(n.localName) && n;
        if (n?.nodeType > 8 && root) roots.add(root);
      }
    }
    queued = [];
    for (const r of roots) pass(r, entries);
    observer.takeRecords(); // our own changes
  }

  // --- talking to the edge -------------------------------------------------

  const body = (o) => JSON.stringify({ ...o, vid });
  const held = () => entries.filter((x) => x.l).map((x) => x.l);

  // Every request is a CORS-simple POST (a text body, no header of ours),
  // so from another origin the browser sends it at once, without asking
  // the edge first (a preflight: one more round trip); the edge takes it
  // only from the origins the pools allow, by its Origin (docs/edge.md).
  async function post(path, o) {
    // (With credentials, as the script itself was loaded: the request then
    // goes on the script's connection, not a new one.)
    const r = await fetch(edge + path, { method: 'POST', body: body(o), credentials: 'include' });
    const t = await r.text();
    // The edge did not answer (5xx, 429), or a body no edge sends (over
    // 100,000 characters).
    if (r.status > 499 || r.status == 429 || t[1e5]) throw 0;
    return JSON.parse(t);
  }

  // Leases from the meta tag or an answer, keeping only well-formed ones.
  // Every caller is in a try: a list that is not one throws, and is ignored.
  const accept = (list) => list.filter((x) => E164.test(x.default) && E164.test(x.number))
    .map((x) => ({ d: x.default, n: x.number, l: x.lease, p: x.pool,
      t: /^[-+#() .]{1,40}$/.exec(x.template)?.[0] }));

  // What the snippet keeps in the site's own storage (localStorage.dni,
  // JSON [visitor id, kept until, the last answer's leases]): get (v
  // undefined), set, or remove (v 0).
  function store(v) {
    try {
      return v == null ? localStorage.dni : v ? localStorage.dni = v : delete localStorage.dni;
    } catch { /* storage off */ }
  }

  // Asks the edge for numbers (for one default number, or all). The whole
  // answer is kept a minute, so the visitor's next page swaps at
  // DOMContentLoaded without waiting for the network. [] when it fails.
  async function ask(def) {
    try {
      // (An answer without leases, a refusal, throws in accept.)
      const a = await post('number', { url: location.href, referrer: D.referrer, default: def,
        consent: +(copt != null) });
      if (/^[\w-]{8,64}$/.test(a.vid)) vid = a.vid;
      store(JSON.stringify([vid, Date.now() + 6e4, a.leases]));
      return accept(a.leases);
    } catch { return []; }
  }

  // The numbers are asked for, or the page swapped with the ones kept, as
  // early as the script can: before the rest of it is set up.
  start();

  // Shows the entries of list: where the page shows their default number
  // or the number shown so far, their number. Entries are matched by
  // default number; new ones are added, with their number as the one
  // shown so far: the edge may have written it already, and the pass then
  // learns how the page writes it (numbers().formatted); its lease 0
  // differs from any answer's, so it always gets its rules. The rules from
  // the numbers shown so far go first, those from the default numbers
  // last and in the list's order: a pass's later rule wins a tie, so the
  // default numbers are swapped as the core's rules in that order would.
  function merge(list) {
    let rules = [];
    for (const y of list) {
      let x = entries.find((e) => e.d == y.d);
      if (!x) entries.push(x = { d: y.d, n: y.n, l: 0 });
      if (x.n != y.n || x.l != y.l) rules = [{ ...y, d: x.n }, ...rules, { ...y, d: x.d }];
      Object.assign(x, y);
    }
    if (rules[0]) {
      pass(D.documentElement, rules);
      observer.takeRecords(); // our own changes
      for (const cb of listeners) try { cb(api.numbers()); } catch { /* theirs */ }
    }
    schedule(BEAT);
  }

  // The default number of entry x again.
  const drop = (x) => merge([{ ...x, n: x.d, l: 0, t: 0 }]);

  function schedule(ms) {
    clearTimeout(timer);
    if (held()[0] && !D.hidden) timer = setTimeout(beat, ms);
  }

  async function beat() {
    try {
      const a = await post('hb', { leases: held() });
      fails = 0;
      for (const r of a.leases) {
        const x = entries.find((y) => y.l == r.lease);
        if (x && /^4(04|10)$/.test(r.status)) {
          // The lease is over: one new number, else the default.
          x.l = 0;
          ask(x.d).then((l) => (l[0] ? merge(l) : drop(x)));
        }
      }
    } catch { fails++; }
    // Exponential back-off with jitter, at most 5 minutes.
    schedule(Math.min(BEAT * 2 ** fails, 3e5) * (1 - (fails && Math.random() / 2)));
  }

  // A beacon for every held lease: leave, or tag with o.tags.
  const send = (path, o) => held()[0] && navigator.sendBeacon(edge + path, body({ leases: held(), ...o }));
  const tag = (tags) => send('tag', { tags });

  async function start() {
    if (started || (copt != null
      && !RegExp('(^|;) ?' + cname + '=(?!(0|false|no|den|rej)\\w*(;|$))', 'i').test(D.cookie))) return;
    started = 1;
    let list = [];
    let fresh;
    let until;
    let kept;
    // (Nothing kept and no meta tag are the usual case: no exception is
    // thrown for them, a first one costs the page milliseconds.)
    try { [vid, until, kept] = JSON.parse(store() || '[]'); } catch { /* storage off */ }
    try { list = accept(JSON.parse(D.querySelector('meta[name=dni]')?.content || '[]')); } catch { /* not a list */ }
    if (!list[0]) {
      // Snippet-only. The answer kept from the visitor's last page swaps
      // this one; the new answer is asked for in a task of its own after
      // that (a page's first request costs it milliseconds). With none
      // kept, the request goes out at once.
      try { list = accept(until > Date.now() ? kept : list); } catch { /* none kept */ }
      if (list[0]) fresh = new Promise((r) => setTimeout(r)).then(ask);
      else list = await (fresh = ask());
    }
    // The swap, as soon as the numbers are there: what is parsed now, the
    // rest as the parser adds it; ready once the whole page is. (With the
    // meta tag or a kept answer this runs before the script's end, where
    // the API is not defined yet: merge only reaches it through a listener,
    // and there is none before the API.)
    merge(list);
    observer.observe(D, { childList: true, subtree: true, characterData: true, attributeFilter: ATTRS });
    await (loading() && new Promise((r) => D.addEventListener('DOMContentLoaded', r)));
    flush();
    resolveReady(api.numbers());
    // The answer to this page view replaces the one kept.
    if (fresh) merge(await fresh);
  }

  // --- the public API ----------------------------------------------------

  const later = (f) => (a) => (entries[0] ? f(a) : ready.then(() => f(a)));
  const api = (m, ...a) => api[m](...a);
  Object.assign(api, {
    ready,
    numbers: () => entries.map((x) => ({ default: x.d, number: x.n, lease: x.l, pool: x.p, formatted: x.f || x.n })),
    onNumber(cb) { listeners.push(cb); if (entries[0]) cb(api.numbers()); },
    // Before the numbers are known, swap and tag wait for them.
    swap: later((node) => {
      for (const n of typeof node == 'string' ? D.querySelectorAll(node) : [node || D]) pass(n, entries);
    }),
    tag: later(tag),
    consent(yes) {
      D.cookie = cname + '=' + +!!yes + ';path=/;max-age=99999999';
      if (yes) start();
      else {
        send('leave');
        entries.map(drop);
        entries = [];
        store(0);
        started = 0;
      }
    },
  });
  W.dni = api;

  // Hidden: the beat is stopped (schedule starts none); visible: one now.
  D.addEventListener('visibilitychange', () => schedule(0));
  addEventListener('pagehide', () => send('leave'));
  // Declarative page events: data-dni-tag="form=quote" on a form (sent on
  // submit) or on any other element (sent on click).
  for (const type of ['click', 'submit']) {
    D.addEventListener(type, (e) => {
      const el = e.target.closest?.('[data-dni-tag]');
      if (el && (el.localName == 'form') == (type == 'submit')) {
        tag(Object.fromEntries(new URLSearchParams(el.getAttribute('data-dni-tag'))));
      }
    }, true);
  }
  // Calls made before the script arrived: dni('tag', {...}) through the
  // documented stub, or pushed as [method, ...args].
  for (const c of stub?.q || []) {
    try { api(...c); } catch { /* theirs */ }
  }
})();
