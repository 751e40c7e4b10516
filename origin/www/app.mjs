// The dashboard: a small hash router over the pages of pages/.
//
// Adding a page is one module and one line in PAGES below. A page module
// exports default {
//   title: 'Calls',                     // document title and nav label
//   nav: true,                          // listed in the top navigation
//   route: /^#\/calls$/,                // matched against location.hash
//   render(main, match, ctx) {...},     // fills main; may return a cleanup
// }                                     //   function (timers, listeners)
// ctx.refresh(fn, ms) runs fn every ms while the page is shown; ctx.go(hash)
// navigates. Pages build their DOM with lib/dom.mjs (text only, never HTML).
import { h, fill, message } from './lib/dom.mjs';
import { api, token, whenAuthLost, ApiError } from './lib/api.mjs';
import pools from './pages/pools.mjs';
import pool from './pages/pool.mjs';
import calls from './pages/calls.mjs';
import call from './pages/call.mjs';
import sessions from './pages/sessions.mjs';
import snippet from './pages/snippet.mjs';

const PAGES = [pools, pool, calls, call, sessions, snippet];

const main = document.getElementById('view');
const nav = document.getElementById('nav');
const forget = document.getElementById('forget');
let cleanups = [];

function stopPage() {
  for (const f of cleanups) { try { f(); } catch { /* ignore */ } }
  cleanups = [];
}

function drawNav(current) {
  fill(nav, PAGES.filter((p) => p.nav).map((p) => h('a', {
    href: p.href, 'aria-current': current === p || (current && current.section === p.href) ? 'page' : undefined,
  }, p.title)));
}

function login(reason) {
  stopPage();
  drawNav(null);
  forget.hidden = true;
  document.title = 'Sign in · edgedni';
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': 'token-help' });
  const msg = h('p', { class: 'msg', id: 'token-msg', role: 'alert' }, reason || '');
  const form = h('form', { class: 'card login', onsubmit: async (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) { msg.textContent = 'Enter the admin token.'; input.setAttribute('aria-invalid', 'true'); return; }
    try {
      await api('GET', '/v1/pools', undefined, { auth: t, probe: true });
    } catch (err) {
      input.setAttribute('aria-invalid', 'true');
      msg.textContent = err instanceof ApiError && (err.status === 401 || err.status === 403)
        ? 'The origin does not accept this token.' : err.message;
      return;
    }
    token.set(t);
    route();
  } },
  h('h1', {}, 'edgedni dashboard'),
  h('div', { class: 'field' },
    h('label', { for: 'token' }, 'Admin token'),
    input,
    h('span', { class: 'help', id: 'token-help' },
      'The origin\'s DNI_ADMIN_TOKEN (`make run` prints it). It is kept in this browser until you choose "Forget token".'),
    msg),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open the dashboard')));
  fill(main, form);
  input.focus();
}

function route() {
  if (!token.get()) return login();
  const hash = location.hash || '#/pools';
  let page = null, match = null;
  for (const p of PAGES) {
    match = p.route.exec(hash);
    if (match) { page = p; break; }
  }
  stopPage();
  forget.hidden = false;
  if (!page) {
    drawNav(null);
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/pools' }, 'Back to the pools')));
    return;
  }
  drawNav(page);
  document.title = `${page.title} · edgedni`;
  fill(main);
  const ctx = {
    go: (hash2) => { location.hash = hash2; },
    refresh(fn, ms) {
      const id = setInterval(() => { if (!document.hidden) fn(); }, ms);
      cleanups.push(() => clearInterval(id));
    },
  };
  Promise.resolve().then(() => page.render(main, match, ctx)).then((c) => {
    if (typeof c === 'function') cleanups.push(c);
  }).catch((e) => {
    fill(main, h('h1', {}, page.title), message('error', e.message || String(e)));
  });
}

whenAuthLost(() => {
  token.clear();
  login('The origin refused the token; enter it again.');
});
forget.addEventListener('click', () => { token.clear(); login(); });
window.addEventListener('hashchange', route);
route();
