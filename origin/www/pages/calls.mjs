// Calls: the log, newest first, each with what it was attributed to.
import { h, fill, badge, table, tagList } from '../lib/dom.mjs';
import { allCalls } from '../lib/api.mjs';
import * as fmt from '../lib/format.mjs';

export function attributionBadge(c) {
  switch (c.attribution) {
    case 'session': return badge('attributed', 'good');
    case 'unattributed': return badge('unattributed', 'warn');
    case 'default': return badge('default number', '');
    case 'overflow': return badge('overflow number', 'warn');
    case 'unknown': return badge('no pool', '');
    default: return badge(c.attribution || '—');
  }
}

// The tags a reader looks for first: source, campaign, click ids.
const MAIN_TAGS = ['utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'fbclid', 'msclkid', 'source'];
export function mainTags(tags) {
  const out = {};
  for (const k of MAIN_TAGS) if (tags && tags[k] !== undefined) out[k] = tags[k];
  return out;
}

export default {
  title: 'Calls', nav: true, href: '#/calls', route: /^#\/calls(?:\?(.*))?$/,
  async render(main, m, ctx) {
    const q = new URLSearchParams(m[1] || '');
    const pool = q.get('pool') || '';
    const box = h('div', { id: 'call-log' }, h('p', { class: 'muted' }, 'Loading…'));
    fill(main, h('h1', {}, 'Calls'),
      h('p', { class: 'sub' }, pool ? `Calls of pool ${pool}, ` : '', 'last 7 days, newest first. ',
        pool ? h('a', { href: '#/calls' }, 'All pools') : null),
      box);
    async function draw() {
      const calls = await allCalls({ pool: pool || undefined, since: Date.now() / 1000 - 7 * 86400 });
      fill(box, table([
        { label: 'When', cell: (c) => h('a', { href: `#/calls/${encodeURIComponent(c.sid)}` }, fmt.time(c.started_at)) },
        { label: 'To', class: 'mono', cell: (c) => fmt.phone(c.to) },
        { label: 'From', class: 'mono', cell: (c) => fmt.phone(c.from) },
        { label: 'Status', cell: (c) => (c.in_progress ? badge('in progress', 'good') : c.status || '—') },
        { label: 'Pool', cell: (c) => c.pool || '—' },
        { label: 'Attribution', cell: (c) => h('span', { class: 'tags' }, attributionBadge(c),
          c.session ? tagList(mainTags(c.session.tags)) : null) },
        { label: 'Likelihood', class: 'num', cell: (c) => (typeof c.likelihood === 'number' ? fmt.percent(c.likelihood) : '—') },
      ], calls, { empty: 'No call yet. Simulate one with `dni call` (make run prints the command).' }));
    }
    await draw();
    ctx.refresh(() => draw().catch(() => {}), 5000);
  },
};
