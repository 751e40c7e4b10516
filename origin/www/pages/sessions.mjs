// Live sessions: the leases the edges hold now, with their tags.
import { h, fill, badge, table, tagList } from '../lib/dom.mjs';
import { api } from '../lib/api.mjs';
import * as fmt from '../lib/format.mjs';

export default {
  title: 'Sessions', nav: true, href: '#/sessions', route: /^#\/sessions(?:\?(.*))?$/,
  async render(main, m, ctx) {
    const q = new URLSearchParams(m[1] || '');
    const pool = q.get('pool') || '';
    const all = q.get('all') === '1';
    const box = h('div', { id: 'sessions' }, h('p', { class: 'muted' }, 'Loading…'));
    const other = new URLSearchParams(q);
    if (all) other.delete('all'); else other.set('all', '1');
    fill(main, h('h1', {}, 'Sessions'),
      h('p', { class: 'sub' }, all ? 'The latest sessions, live or ended' : 'Visitors holding a number now',
        pool ? ` (pool ${pool})` : '', '. ',
        h('a', { href: `#/sessions${other.toString() ? `?${other}` : ''}` }, all ? 'Only live ones' : 'Show ended ones too')),
      box);
    async function draw() {
      const p = new URLSearchParams({ limit: '200' });
      if (!all) p.set('live', '1');
      if (pool) p.set('pool', pool);
      const { leases } = await api('GET', `/v1/leases?${p}`);
      fill(box, table([
        { label: 'Started', cell: (l) => fmt.time(l.start) },
        { label: 'Number', class: 'mono', cell: (l) => fmt.phone(l.number) },
        { label: 'Pool', cell: (l) => h('a', { href: `#/pools/${encodeURIComponent(l.pool)}` }, l.pool) },
        { label: 'Visitor', class: 'mono', cell: (l) => fmt.visitor(l.visitor) },
        { label: 'Tags', cell: (l) => tagList(l.tags) },
        { label: 'Landing page', cell: (l) => l.landing_url || '—' },
        { label: 'Last seen', cell: (l) => (l.live ? fmt.ago(l.last_seen) : badge(`ended ${fmt.ago(l.released_at)}`)) },
      ], leases, { empty: all ? 'No session yet.' : 'Nobody holds a number right now. Open the site through the edge.' }));
    }
    await draw();
    ctx.refresh(() => draw().catch(() => {}), 3000);
  },
};
