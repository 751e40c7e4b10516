// dni.js - the edgedni browser snippet. One tag on the site:
//   <script src="https://EDGE/_dni/dni.js" async></script>
// Edge mode (the page came through the edge and carries <meta name="dni">):
// keeps the leases alive and swaps what scripts add later. Snippet-only
// mode (no meta tag): asks the edge for the numbers, then swaps the page.
// Swapping follows the core's rules (docs/swap.md); only validated E.164
// digits reach the page, through Text.data and setAttribute. docs/snippet.md
// describes installation, the API and the limits.
(() => {
  const W = window;
  const D = document;
  const stub = W.dni;
  if (stub && stub.ready) return; // loaded twice: the first copy runs

  const E164 = /^\+[1-9]\d{6,14}$/;
  const SEP = /[ \-./()\u00a0\u2010-\u2013]/;
  // Country calling codes are prefix-free: these are the one- and two-digit
  // ones, every other code has three digits.
  const CC = /^([17]|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])/;
  const INLINE = /^(a|abbr|bdi|bdo|big|cite|code|data|del|dfn|em|font|ins|kbd|label|mark|nobr|q|s|samp|small|span|strike|strong|sub|sup|time|tt|u|var|wbr|[bi])$/;
  const SKIP = /^(script|style|textarea|noscript|template|input|xmp|iframe|noembed|noframes)$/;
  const ATTRS = ['title', 'aria-label', 'alt', 'href'];
  const BEAT = 15e3;

  const me = D.currentScript;
  const opt = (k) => me && me.getAttribute('data-' + k);
  const edge = me && me.src ? new URL(me.src).origin : location.origin;
  const cname = /^[\w-]+$/.test(opt('consent')) ? opt('consent') : 'dni_consent';
  const needConsent = opt('consent') != null;
  const isDigit = (c) => c >= '0' && c <= '9';

  let entries = []; // {d: default, n: number, l: lease, p: pool, f: formatted}
  let started = 0;
  let observer;
  let timer;
  let fails = 0;
  let vid;
  let resolveReady;
  const ready = new Promise((r) => { resolveReady = r; });
  const listeners = [];

  // --- matching (the core's rules on decoded text) -----------------------

  const ccLen = (d) => (CC.exec(d) || [0, 'xxx'])[1].length;

  // A rule: the digit forms of `from` and how `to` is written (k: the new
  // NSN when only the digits change).
  function rule(from, to, tpl) {
    const fd = from.slice(1);
    const c = ccLen(fd);
    const cc = fd.slice(0, c);
    const nsn = fd.slice(c);
    return {
      // [digits, 1 after "+", index of the digit written "(0)"]
      f: [[nsn, 0], [(cc == '1' ? '1' : '0') + nsn, 0], ['00' + cc + nsn, 0], ['00' + cc + '0' + nsn, 0, c + 2],
        [cc + nsn, 1], [cc + '0' + nsn, 1, c]],
      to,
      tpl,
      k: to.length == from.length && to.startsWith('+' + cc) && ccLen(to.slice(1)) == c && to.slice(c + 1),
    };
  }

  // The candidate starting at st whose first digit is at i, or null: the
  // longest form of a rule its digits complete.
  function match(s, st, i, plus, rules) {
    let ds = '';
    let seps = 0;
    let best = null;
    const pos = [];
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (isDigit(c)) {
        ds += c;
        pos.push(j);
        seps = 0;
        let more = 0;
        for (const r of rules) {
          for (const [f, p, z] of r.f) {
            if (p != plus || !f.startsWith(ds)) continue;
            more = 1;
            const n = s[j + 1];
            if (f == ds && !isDigit(n) && !((n == '-' || n == '.') && isDigit(s[j + 2]))
                && (z == null || (s[pos[z] - 1] == '(' && s[pos[z] + 1] == ')'))) {
              best = { s: st, e: j + 1, p: pos.slice(), r };
            }
          }
        }
        if (!more) break;
      } else if (!SEP.test(c) || ++seps > 3) break;
    }
    return best;
  }

  // The matches in s, in order. A run is digit groups joined by at most
  // three separators; each group that touches no digit may start a
  // candidate, except while a foreign number ("+" or "00" and a country
  // code) has fewer than eight digits: "+44 800 555 1234" holds no US number.
  function scan(s, rules) {
    const out = [];
    let end = 0;
    let fc = 0; // digits of the foreign number the run is in, 0 for none
    let seps = 4;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      const b = s[i - 1];
      if (!isDigit(c)) {
        seps = SEP.test(c) ? seps + 1 : 4;
        continue;
      }
      if (seps > 3) fc = 0;
      seps = 0;
      if (fc) fc++;
      if (isDigit(b)) {
        if (!fc && c != '0' && s[i - 1] == '0' && s[i - 2] == '0' && !isDigit(s[i - 3])) fc = 1;
        continue;
      }
      const free = !fc || fc > 8;
      const pre = b == '+' || b == '(' ? 1 : 0;
      if (b == '+') fc = 1;
      if (free && i >= end && !isDigit(s[i - 1 - pre])) {
        const m = match(s, i - pre, i, b == '+' ? 1 : 0, rules);
        if (m) { out.push(m); end = m.e; }
      }
    }
    return out;
  }

  // The text a match becomes; link is set in a tel:/callto: href.
  function written(s, m, link) {
    const r = m.r;
    let k = 1;
    if (r.k) {
      const a = s.slice(m.s, m.e).split('');
      const first = m.p.length - r.k.length;
      for (k = 0; k < r.k.length; k++) a[m.p[first + k] - m.s] = r.k[k];
      return a.join('');
    }
    return r.tpl && !link ? r.tpl.replace(/#/g, () => r.to[k++]) : r.to;
  }

  // --- the DOM -----------------------------------------------------------

  const skipped = (el) => SKIP.test(el.localName) || el.hasAttribute('data-dni-skip')
    || (el.hasAttribute('contenteditable') && el.getAttribute('contenteditable') != 'false');

  // Returns whether el has an attribute the rules apply to.
  function swapAttrs(el, rules) {
    let has = 0;
    for (const a of ATTRS) {
      const v = el.getAttribute(a);
      const link = a == 'href';
      if (v == null || (link && !/^\s*(tel|callto):/i.test(v))) continue;
      has = 1;
      const ms = scan(v, rules);
      if (!ms.length) continue;
      let o = '';
      let at = 0;
      for (const m of ms) { o += v.slice(at, m.s) + written(v, m, link); at = m.e; }
      el.setAttribute(a, o + v.slice(at));
    }
    return has;
  }

  // Text nodes of root in order, null where a block boundary, a skipped
  // element or a comment stands between two of them. Text directly inside
  // <svg> or <math> is CDATA nobody sees.
  function collect(root, rules, nodes, cdata) {
    for (let c = root.firstChild; c; c = c.nextSibling) {
      const t = c.nodeType;
      if (t == 3 && !cdata) nodes.push(c);
      else if (t == 1 && !skipped(c)) {
        // An inline tag whose own attributes are swapped may open a number
        // but not stand inside one.
        if (c.hasAttributes() && swapAttrs(c, rules)) nodes.push(null);
        const block = !INLINE.test(c.localName);
        if (block) nodes.push(null);
        collect(c, rules, nodes, /^(svg|math)$/.test(c.localName));
        if (block) nodes.push(null);
      } else nodes.push(null);
    }
    return nodes;
  }

  // One pass over root (an element, a text node or a document).
  function pass(root, list) {
    const rules = list.filter((x) => x[0] != x[1]).map((x) => rule(...x));
    if (!rules.length || !root) return;
    if (root.nodeType == 1) {
      if (skipped(root)) return;
      swapAttrs(root, rules);
    }
    const nodes = root.nodeType == 3 ? [root] : collect(root, rules, []);
    const starts = [];
    let s = '';
    for (const n of nodes) { starts.push(s.length); s += n ? n.data : '\n'; }
    if (!/\d/.test(s)) return;
    const find = (p) => {
      let lo = 0;
      let hi = nodes.length - 1;
      while (lo < hi) { const m = (lo + hi + 1) >> 1; if (starts[m] <= p) lo = m; else hi = m - 1; }
      return lo;
    };
    // Last match first, so the offsets of the edits still to make hold.
    for (const m of scan(s, rules).reverse()) {
      const w = written(s, m, 0);
      for (const x of entries) if (x.n == m.r.to) x.f = w;
      if (m.r.k) {
        for (const p of m.p.reverse()) {
          const i = find(p);
          if (w[p - m.s] != s[p]) nodes[i].replaceData(p - starts[i], 1, w[p - m.s]);
        }
      } else {
        // Another shape: the whole text goes where the match starts; the
        // parts of it in later nodes are removed, the tags stay.
        const i0 = find(m.s);
        for (let i = find(m.e - 1); i >= i0; i--) {
          const a = Math.max(m.s, starts[i]);
          if (nodes[i]) nodes[i].replaceData(a - starts[i], Math.min(m.e, starts[i] + nodes[i].length) - a, i == i0 ? w : '');
        }
      }
    }
  }

  const rulesOf = () => entries.map((x) => [x.d, x.n, x.t]);

  // Swaps in what scripts add or change, once per animation frame: the
  // nearest block around each changed node, never the whole document.
  let queued = new Set();
  function observe() {
    if (observer) return;
    observer = new MutationObserver((records) => {
      if (!queued.size) requestAnimationFrame(flush);
      for (const r of records) {
        if (r.type == 'attributes') queued.add(r.target);
        else if (r.type == 'characterData') queued.add(r.target.parentNode);
        else for (const n of r.addedNodes) queued.add(n.nodeType == 3 ? n.parentNode : n);
      }
    });
    observer.observe(D.documentElement, { childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ATTRS });
  }

  function flush() {
    const roots = new Set();
    for (let n of queued) {
      let root = null;
      for (; n && n.nodeType == 1; n = n.parentNode) {
        if (skipped(n)) { root = null; break; }
        if (!root && !INLINE.test(n.localName)) root = n;
      }
      if (root && n) roots.add(root);
    }
    queued = new Set();
    const rules = rulesOf();
    for (const r of roots) {
      let inner = 0;
      for (let p = r.parentNode; p && !inner; p = p.parentNode) inner = roots.has(p);
      if (!inner) pass(r, rules);
    }
    observer.takeRecords(); // our own changes
  }

  // --- talking to the edge -------------------------------------------------

  const body = (o) => JSON.stringify(vid ? { ...o, vid } : o);
  const held = () => entries.filter((x) => x.l).map((x) => x.l);

  // The number request is typed JSON: from another origin the browser
  // asks the edge first (CORS preflight), so only the site's own origins
  // can take numbers (docs/edge.md).
  async function post(path, o) {
    const r = await fetch(edge + '/_dni/v1/' + path, { method: 'POST', body: body(o), credentials: 'include',
      headers: path == 'number' ? { 'content-type': 'application/json' } : {} });
    const text = await r.text();
    if (text.length > 1e5) throw 0;
    return [r.status, JSON.parse(text)];
  }

  // Leases from the meta tag or an answer, keeping only well-formed ones.
  function accept(list) {
    return (Array.isArray(list) ? list : []).filter((x) => x && E164.test(x.default) && E164.test(x.number)
      && (x.lease == null || (typeof x.lease == 'string' && x.lease.length < 200)))
      .map((x) => ({ d: x.default, n: x.number, l: x.lease, p: x.pool,
        t: typeof x.template == 'string' && /^[-+#() .]{1,40}$/.test(x.template) ? x.template : 0 }));
  }

  // The site's own storage: get (v undefined), set, or remove (v null).
  function store(k, v) {
    try {
      return v === undefined ? localStorage.getItem(k) : v === null ? localStorage.removeItem(k) : localStorage.setItem(k, v);
    } catch (e) { /* storage off */ }
  }

  // Asks the edge for numbers (for one default number, or all). The whole
  // answer is kept for a minute, so the visitor's next page swaps at
  // DOMContentLoaded without waiting for the network.
  async function ask(def) {
    const [st, a] = await post('number', { url: location.href, referrer: D.referrer, default: def,
      consent: needConsent ? 1 : 0 });
    if (st != 200) return [];
    if (/^[\w-]{8,64}$/.test(a.vid)) store('dni_vid', vid = a.vid);
    if (!def) store('dni_n', JSON.stringify([Date.now() + 6e4, a.leases]));
    return accept(a.leases);
  }

  // Shows number n (lease l) for entry x; the default without n.
  function show(x, n, l) {
    const old = x.n;
    x.l = l;
    x.n = n || x.d;
    x.f = 0;
    pass(D.documentElement, [[old, x.n, x.t], [x.d, x.n, x.t]]);
    if (observer) observer.takeRecords();
    changed();
  }

  function changed() { for (const cb of listeners) try { cb(api.numbers()); } catch (e) { /* theirs */ } }


  function schedule(ms) {
    clearTimeout(timer);
    if (entries.some((x) => x.l) && !D.hidden) timer = setTimeout(beat, ms);
  }

  async function beat() {
    try {
      const [st, a] = await post('hb', { leases: held() });
      if (st > 499 || st == 429) throw 0;
      fails = 0;
      for (const r of a.leases || []) {
        const x = entries.find((y) => y.l == r.lease);
        if (x && (r.status == 410 || r.status == 404)) {
          // The lease is over: one new number, else the default.
          x.l = 0;
          ask(x.d).then((l) => (l[0] ? merge(l) : show(x)), () => show(x));
        }
      }
    } catch (e) { fails++; }
    // Exponential back-off with jitter, at most 5 minutes.
    schedule(Math.min(BEAT * 2 ** fails, 3e5) * (fails ? 1 - Math.random() / 2 : 1));
  }

  // A beacon for every held lease: leave, or tag with o.tags.
  const send = (path, o) => held()[0] && navigator.sendBeacon(edge + '/_dni/v1/' + path, body({ leases: held(), ...o }));
  const leave = () => { clearTimeout(timer); send('leave'); };
  const tag = (tags) => send('tag', { tags });

  const consented = () => !needConsent
    || new RegExp('(^|;) ?' + cname + '=(?!(0|false|no|deny|denied|reject|rejected)(;|$))', 'i').test(D.cookie);

  async function start() {
    if (started || !consented()) return;
    started = 1;
    vid = store('dni_vid');
    let list = [];
    let fresh;
    try { list = accept(JSON.parse(D.querySelector('meta[name=dni]').content)); } catch (e) { /* snippet-only */ }
    if (!list.length) {
      // Snippet-only: ask at once; meanwhile a recent answer is used.
      fresh = ask();
      try {
        const [t, l] = JSON.parse(store('dni_n'));
        if (t > Date.now()) list = accept(l);
      } catch (e) { /* none kept */ }
      if (!list.length) list = await fresh.catch(() => []);
    }
    if (D.readyState == 'loading') await new Promise((r) => D.addEventListener('DOMContentLoaded', r));
    entries = list;
    pass(D.documentElement, rulesOf());
    observe();
    changed();
    schedule(BEAT);
    resolveReady(api.numbers());
    // The answer to this page view replaces the one kept.
    if (fresh) merge(await fresh.catch(() => []));
  }

  // Takes newer leases: their numbers replace what the page shows.
  function merge(list) {
    for (const y of list) {
      const x = entries.find((e) => e.d == y.d);
      if (!x) entries.push(y);
      if (!x || x.n != y.n || x.l != y.l) show(x || y, y.n, y.l);
    }
    schedule(BEAT);
  }

  // --- the public API ----------------------------------------------------

  const later = (f) => (...a) => (entries.length ? f(...a) : ready.then(() => f(...a)));
  const api = (m, ...a) => api[m](...a);
  Object.assign(api, {
    ready,
    numbers: () => entries.map((x) => ({ default: x.d, number: x.n, lease: x.l, pool: x.p, formatted: x.f || x.n })),
    onNumber(cb) { listeners.push(cb); if (entries.length) cb(api.numbers()); },
    swap: later((node) => {
      for (const n of typeof node == 'string' ? D.querySelectorAll(node) : [node || D.documentElement]) {
        pass(n, rulesOf());
      }
    }),
    tag: later(tag),
    consent(yes) {
      D.cookie = cname + '=' + (yes ? 1 : 0) + ';path=/;max-age=31536000';
      if (yes) start();
      else {
        leave();
        for (const x of entries) show(x);
        entries = [];
        store('dni_vid', null);
        store('dni_n', null);
        started = 0;
      }
    },
  });
  W.dni = api;

  D.addEventListener('visibilitychange', () => (D.hidden ? clearTimeout(timer) : schedule(0)));
  W.addEventListener('pagehide', leave);
  W.addEventListener('pageshow', (e) => e.persisted && schedule(0));
  // Declarative page events: data-dni-tag="form=quote" on a form (sent on
  // submit) or on any other element (sent on click).
  for (const type of ['click', 'submit']) {
    D.addEventListener(type, (e) => {
      const el = e.target.closest && e.target.closest('[data-dni-tag]');
      if (el && (el.localName == 'form') == (type == 'submit')) {
        tag(Object.fromEntries(new URLSearchParams(el.getAttribute('data-dni-tag'))));
      }
    }, true);
  }
  // Calls made before the script arrived: dni('tag', {...}) through the
  // documented stub, or pushed as [method, ...args].
  for (const c of (stub && stub.q) || []) {
    try { api(...c); } catch (e) { /* theirs */ }
  }
  start();
})();
