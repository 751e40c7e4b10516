// One pool: every setting in a form (the origin's validation messages next
// to the field they name), its numbers with their state, when each was
// last shown and last called, and the pool's scaling events and alerts.
import { h, fill, badge, message, table } from '../lib/dom.mjs';
import { api, optional, allCalls } from '../lib/api.mjs';
import { settingsForm, SETTINGS } from '../lib/settings.mjs';
import * as fmt from '../lib/format.mjs';

const STATE_KIND = { 'in a call': 'bad', leased: 'good', held: 'warn', draining: 'warn', free: '' };

async function numberRows(pool) {
  const id = encodeURIComponent(pool.id);
  const [leases, calls, listed] = await Promise.all([
    api('GET', `/v1/leases?limit=1000&pool=${id}`),
    allCalls({ pool: pool.id, since: Date.now() / 1000 - 30 * 86400 }),
    optional(`/v1/pools/${id}/numbers`),
  ]);
  const byNumber = new Map((pool.numbers || []).map((n) => [n, { number: n, state: 'free', shown: 0, called: 0 }]));
  // The origin's own states (held, draining, …) where it reports them.
  for (const n of (listed && (listed.numbers || listed)) || []) {
    if (!n || typeof n !== 'object' || !n.number) continue;
    const row = byNumber.get(n.number) || { number: n.number, state: 'free', shown: 0, called: 0 };
    if (typeof n.state === 'string') row.state = n.state;
    byNumber.set(n.number, row);
  }
  for (const l of leases.leases) {
    const row = byNumber.get(l.number);
    if (!row) continue;
    row.shown = Math.max(row.shown, l.start);
    if (l.live && row.state === 'free') row.state = 'leased';
  }
  for (const c of calls) {
    const row = byNumber.get(c.to);
    if (!row) continue;
    row.called = Math.max(row.called, c.started_at || 0);
    if (c.in_progress) row.state = 'in a call';
  }
  return [...byNumber.values()];
}

function eventsOf(ev) {
  const list = ev && (ev.events || ev);
  return Array.isArray(list) ? list : [];
}

export default {
  title: 'Pool', section: '#/pools', route: /^#\/pools\/([^/]+)$/,
  async render(main, m, ctx) {
    const id = decodeURIComponent(m[1]);
    let pool;
    try { pool = await api('GET', `/v1/pools/${encodeURIComponent(id)}`); } catch (e) {
      fill(main, h('h1', {}, 'Pool'), message('error', e.status === 404 ? `There is no pool "${id}".` : e.message),
        h('p', {}, h('a', { href: '#/pools' }, 'All pools')));
      return;
    }
    document.title = `${pool.name || pool.id} · edgedni`;
    const numbersBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    const eventsBox = h('div');
    const status = h('div', { 'aria-live': 'polite' });
    let form = settingsForm(SETTINGS, pool, 'pool');
    const formEl = h('form', { class: 'card settings', novalidate: true, onsubmit: save },
      form.nodes,
      h('div', { class: 'actions' },
        h('button', { type: 'submit' }, 'Save changes'),
        h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete pool'),
        status));

    async function save(e) {
      e.preventDefault();
      fill(status); // the last attempt's message goes; this one's comes
      const { changes, errors } = form.read();
      if (errors.length) { fill(status, message('error', 'Nothing was saved: fix the fields marked.')); return; }
      if (!Object.keys(changes).length) { fill(status, message('ok', 'No change to save.')); return; }
      try {
        pool = await api('PATCH', `/v1/pools/${encodeURIComponent(pool.id)}`, changes);
        form = settingsForm(SETTINGS, pool, 'pool');
        formEl.replaceChildren(...form.nodes, formEl.lastChild);
        fill(status, message('ok', `Saved (version ${pool.version}).`));
        drawNumbers();
      } catch (err) {
        const placed = form.showError(err.message);
        fill(status, message('error', placed ? 'Nothing was saved: see the field marked.' : `Nothing was saved: ${err.message}`));
      }
    }

    async function remove() {
      if (!confirm(`Delete the pool "${pool.name || pool.id}"? Its numbers stop being shown.`)) return;
      try {
        await api('DELETE', `/v1/pools/${encodeURIComponent(pool.id)}`);
        ctx.go('#/pools');
      } catch (err) { fill(status, message('error', err.message)); }
    }

    async function drawNumbers() {
      const rows = await numberRows(pool);
      fill(numbersBox, table([
        { label: 'Number', class: 'mono', cell: (r) => fmt.phone(r.number) },
        { label: 'State', cell: (r) => badge(r.state, STATE_KIND[r.state] ?? '') },
        { label: 'Last shown', cell: (r) => fmt.ago(r.shown) },
        { label: 'Last called', cell: (r) => fmt.ago(r.called) },
      ], rows, { empty: 'This pool has no numbers.' }));
      const ev = await optional(`/v1/pools/${encodeURIComponent(pool.id)}/events`).catch(() => null);
      const events = eventsOf(ev);
      fill(eventsBox, ev === null
        ? h('p', { class: 'empty' }, 'This origin records no scaling events.')
        : table([
          { label: 'When', cell: (r) => fmt.time(r.t ?? r.at ?? r.created_at) },
          { label: 'Kind', cell: (r) => badge(r.kind ?? r.type ?? 'event', /alert/.test(r.kind ?? r.type ?? '') ? 'warn' : '') },
          { label: 'What', cell: (r) => r.message ?? r.detail ?? r.reason ?? JSON.stringify(r) },
        ], events, { empty: 'No scaling events or alerts.' }));
    }

    fill(main,
      h('p', {}, h('a', { href: '#/pools' }, '← All pools')),
      h('h1', {}, pool.name || pool.id),
      h('p', { class: 'sub' }, `Pool ${pool.id} · version ${pool.version ?? '—'} · `,
        h('a', { href: `#/calls?pool=${encodeURIComponent(pool.id)}` }, 'its calls'), ' · ',
        h('a', { href: `#/sessions?pool=${encodeURIComponent(pool.id)}` }, 'its sessions')),
      h('h2', {}, 'Settings'), formEl,
      h('h2', {}, 'Numbers'), numbersBox,
      h('h2', {}, 'Scaling events and alerts'), eventsBox);
    await drawNumbers();
    ctx.refresh(() => drawNumbers().catch(() => {}), 5000);
  },
};
