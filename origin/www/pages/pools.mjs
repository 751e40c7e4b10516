// Pools: each pool's live leases, utilisation over time, overflow, the
// accuracy verdict per traffic source and the recommended size; and a form
// to create a pool.
import { h, fill, stat, badge, message } from '../lib/dom.mjs';
import { api, optional } from '../lib/api.mjs';
import { lineChart } from '../lib/chart.mjs';
import { seriesOf, sourcesOf, verdictKind, verdictText, localSeries } from '../lib/report.mjs';
import { settingsForm, SETTINGS } from '../lib/settings.mjs';
import * as fmt from '../lib/format.mjs';

const CREATE = ['name', 'default_number', 'overflow_number', 'numbers', 'traffic_source']
  .map((k) => SETTINGS.find((d) => d.key === k));
const ID_FIELD = { key: 'id', label: 'Id', type: 'text', help: 'Letters, digits, _ and -; empty: one is made.' };

async function poolCard(p) {
  const [report, live] = await Promise.all([
    optional(`/v1/reports/pools/${encodeURIComponent(p.id)}?window=3600&bucket=60`),
    api('GET', `/v1/leases?live=1&limit=1000&pool=${encodeURIComponent(p.id)}`).catch(() => null),
  ]);
  const size = (p.numbers || []).length;
  const liveN = live ? live.leases.length : null;
  let points = seriesOf(report);
  const fromReport = !!(points && points.length > 1);
  if (!fromReport) {
    points = localSeries(p.id, { t: Date.now() / 1000, live: liveN ?? 0, size, overflow: report ? report.overflow : undefined });
  }
  const sources = sourcesOf(report);
  return h('section', { class: 'card', 'aria-labelledby': `pool-${p.id}` },
    h('div', { class: 'row spread' },
      h('h2', { id: `pool-${p.id}` }, h('a', { href: `#/pools/${encodeURIComponent(p.id)}` }, p.name || p.id)),
      badge(verdictText(report && report.verdict), verdictKind(report && report.verdict))),
    h('p', { class: 'muted' }, `${p.id} · shows ${fmt.phone(p.default_number)}`,
      p.traffic_source ? ` · traffic: ${typeof p.traffic_source === 'string' ? p.traffic_source : JSON.stringify(p.traffic_source)}` : ''),
    h('div', { class: 'stats' },
      stat('live leases', liveN === null ? '—' : `${liveN} / ${size}`),
      stat('utilisation (peak, 1 h)', fmt.percent(report && report.utilisation)),
      stat('overflow (1 h)', fmt.int(report && report.overflow)),
      stat('limited (1 h)', fmt.int(report && (report.limited ?? report.limited_events))),
      stat('calls (1 h)', fmt.int(report && report.calls)),
      stat('recommended size', fmt.int(report && report.recommended_size))),
    lineChart({
      title: `Utilisation of ${p.name || p.id}`,
      points, yMax: size,
      series: [{ key: 'live', label: 'live leases' }, { key: 'size', label: 'pool size', dashed: true },
        { key: 'overflow', label: 'overflow' }, { key: 'limited', label: 'limited' }],
    }),
    fromReport ? null : h('p', { class: 'muted' }, 'Sampled by this page while it is open.'),
    sources.length ? h('ul', { class: 'sources', 'aria-label': 'Accuracy per traffic source' }, sources.map((r) => h('li', {},
      h('b', {}, r.source ?? r.name ?? '—'), ' ',
      badge(verdictText(r.verdict), verdictKind(r.verdict)), ' ',
      h('span', { class: 'muted' }, `accuracy ${fmt.percent(r.accuracy ?? r.attribution_rate)} · `
        + `${fmt.int(r.calls)} call${r.calls === 1 ? '' : 's'}`
        + (typeof r.recommended_size === 'number' ? ` · size ${fmt.int(r.recommended_size)}` : ''))))) : null);
}

export default {
  title: 'Pools', nav: true, href: '#/pools', route: /^#\/(pools)?$/,
  async render(main, _m, ctx) {
    const list = h('div', { class: 'grid', id: 'pool-list' });
    const createBox = h('div');
    fill(main, h('h1', {}, 'Pools'),
      h('p', { class: 'sub' }, 'Live leases against each pool\'s size, overflow and how well calls are attributed.'),
      list, h('h2', {}, 'New pool'), createBox);

    async function draw() {
      const { pools } = await api('GET', '/v1/pools');
      if (!pools.length) {
        fill(list, h('p', { class: 'empty' }, 'No pool yet: create one below.'));
        return;
      }
      const cards = await Promise.all(pools.map(poolCard));
      fill(list, cards);
    }

    const form = settingsForm([ID_FIELD, ...CREATE], {}, 'new');
    const status = h('div', { 'aria-live': 'polite' });
    const el = h('form', { class: 'card settings', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const { changes, errors } = form.read({ all: true });
      if (errors.length) { fill(status, message('error', 'Some fields need a fix (see below each).')); return; }
      try {
        const created = await api('POST', '/v1/pools', changes);
        fill(status, message('ok', `Pool ${created.id} created.`));
        ctx.go(`#/pools/${encodeURIComponent(created.id)}`);
      } catch (err) {
        if (!form.showError(err.message)) fill(status, message('error', err.message));
        else fill(status, message('error', 'The origin refused the pool: see the field marked.'));
      }
    } }, form.nodes, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create pool'), status));
    fill(createBox, el);

    await draw();
    ctx.refresh(() => draw().catch(() => {}), 5000);
  },
};
