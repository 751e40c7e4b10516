// One pool: every setting in a form (the origin's validation messages next
// to the field they name), its numbers with their state, when each was
// last shown and last called, and the pool's scaling events and alerts.
import { h, fill, badge, message, table } from '../lib/dom.mjs';
import { api, optional } from '../lib/api.mjs';
import { settingsForm, SETTINGS } from '../lib/settings.mjs';
import * as fmt from '../lib/format.mjs';

const STATE_KIND = { 'in a call': 'bad', leased: 'good', draining: 'warn', granted: '', free: '' };

// Each number's state, most telling first: in a call (a call on it is in
// progress: it is held, never reassigned), leased (a visitor holds it
// now), draining (taken back from an edge, its leases not ended yet),
// granted (an edge may lease it), free. The origin's numbers route gives
// the grant, the call and the last times; live leases come from
// /v1/leases.
async function numberRows(pool) {
  const id = encodeURIComponent(pool.id);
  const [live, listed] = await Promise.all([
    api('GET', `/v1/leases?live=1&limit=1000&pool=${id}`),
    api('GET', `/v1/pools/${id}/numbers`),
  ]);
  const leased = new Set(live.leases.map((l) => l.number));
  const byNumber = new Map((pool.numbers || []).map((n) => [n, { number: n, state: 'free', shown: 0, called: 0 }]));
  for (const n of listed.numbers) {
    byNumber.set(n.number, {
      number: n.number,
      state: n.in_call ? 'in a call' : leased.has(n.number) ? 'leased' : n.state,
      edge: n.edge,
      shown: n.last_shown || 0,
      called: n.last_called || 0,
    });
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
        { label: 'Edge', cell: (r) => r.edge || '—' },
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
