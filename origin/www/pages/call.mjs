// One call: its attribution in full (session tags, UTM, click id,
// referrer, landing page, likelihood), the other candidates with a way to
// pick one of them instead (the override), and the postback state.
import { h, fill, badge, message, table, tagList } from '../lib/dom.mjs';
import { api } from '../lib/api.mjs';
import { attributionBadge } from './calls.mjs';
import * as fmt from '../lib/format.mjs';

const UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'ttclid', 'li_fat_id'];

function pick(tags, keys) {
  const out = {};
  for (const k of keys) if (tags && tags[k] !== undefined) out[k] = tags[k];
  return out;
}

function rest(tags, keys) {
  const out = {};
  for (const [k, v] of Object.entries(tags || {})) if (!keys.includes(k)) out[k] = v;
  return out;
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function postbackText(p) {
  if (p === undefined || p === null) return 'none';
  if (typeof p !== 'object') return String(p);
  return [p.state ?? p.status, p.attempts !== undefined ? `${p.attempts} attempts` : null,
    p.last_error ?? p.error, p.at ? fmt.time(p.at) : null].filter(Boolean).join(' · ') || JSON.stringify(p);
}

export default {
  title: 'Call', section: '#/calls', route: /^#\/calls\/([^/?]+)$/,
  async render(main, m) {
    const sid = decodeURIComponent(m[1]);
    const status = h('div', { 'aria-live': 'polite' });
    const body = h('div');
    fill(main, h('p', {}, h('a', { href: '#/calls' }, '← All calls')), h('h1', {}, `Call ${sid}`), status, body);

    async function draw() {
      let c;
      try { c = await api('GET', `/v1/calls/${encodeURIComponent(sid)}`); } catch (e) {
        fill(body, message('error', e.status === 404 ? 'There is no such call.' : e.message));
        return;
      }
      const s = c.session;
      const tags = s ? s.tags : {};
      const cands = Array.isArray(c.candidates) ? c.candidates : [];
      fill(body,
        h('div', { class: 'grid' },
          h('section', { class: 'card' }, h('h2', {}, 'The call'), kv([
            ['Status', c.in_progress ? badge('in progress', 'good') : c.status],
            ['To', fmt.phone(c.to)], ['From', fmt.phone(c.from)],
            ['Pool', c.pool ? h('a', { href: `#/pools/${encodeURIComponent(c.pool)}` }, c.pool) : '—'],
            ['Started', fmt.time(c.started_at)], ['Ended', fmt.time(c.ended_at)],
            ['Duration', c.ended_at && c.started_at ? fmt.duration(c.ended_at - c.started_at) : '—'],
            ['Postback', postbackText(c.postback ?? c.postback_state)],
          ])),
          h('section', { class: 'card', id: 'attribution' }, h('h2', {}, 'Attribution'), kv([
            ['Result', attributionBadge(c)],
            ['Likelihood', typeof c.likelihood === 'number' ? fmt.percent(c.likelihood) : '—'],
            s && ['Visitor', h('span', { class: 'mono' }, fmt.visitor(s.visitor))],
            s && ['UTM', tagList(pick(tags, UTM))],
            s && ['Click id', tagList(pick(tags, CLICK_IDS))],
            s && ['Other tags', tagList(rest(tags, [...UTM, ...CLICK_IDS]))],
            s && ['Referrer', s.referrer || 'none (direct)'],
            s && ['Landing page', s.landing_url || '—'],
            s && ['Lease', h('span', { class: 'mono' }, `${s.lease} on ${s.edge}`)],
          ]))),
        h('h2', {}, 'Candidates'),
        table([
          { label: 'Visitor', class: 'mono', cell: (x) => fmt.visitor(x.visitor) },
          { label: 'Lease', class: 'mono', cell: (x) => `${x.lease} (${x.edge})` },
          { label: 'Likelihood', class: 'num', cell: (x) => fmt.percent(x.likelihood) },
          { label: '', cell: (x) => (s && x.lease === s.lease && x.edge === s.edge
            ? badge('chosen', 'good')
            : h('button', { type: 'button', class: 'secondary', onclick: () => override(x) }, 'Pick this one')) },
        ], cands, { empty: 'No candidate: no visitor held this number when the call began.' }),
        Array.isArray(c.history) && c.history.length ? [h('h2', {}, 'History'), table([
          { label: 'When', cell: (x) => fmt.time(x.t ?? x.at) },
          { label: 'Change', cell: (x) => x.reason ?? x.kind ?? JSON.stringify(x) },
        ], c.history)] : null);
    }

    async function override(x) {
      try {
        await api('PATCH', `/v1/calls/${encodeURIComponent(sid)}`, { edge: x.edge, lease: x.lease });
        fill(status, message('ok', 'The call is now attributed to the candidate you picked.'));
        await draw();
      } catch (e) {
        fill(status, message('error', `The attribution was not changed: ${e.message}`));
      }
    }
    await draw();
  },
};
