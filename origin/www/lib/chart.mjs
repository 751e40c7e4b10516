// Line charts in SVG, drawn from arrays of {t, ...values}.
//
//   lineChart({ points, series: [{key: 'live', label: 'Live leases'}, ...],
//               max: poolSize, title: 'Utilisation' })
//
// Series are drawn in the order given with the colours .s1 .s2 ... of
// app.css; a series whose key no point has is left out of the legend.
import { h, s } from './dom.mjs';

const COLORS = ['var(--c1)', 'var(--c2)', 'var(--c3)', 'var(--c4)'];

export function lineChart({ points, series, title, height = 150, yMax }) {
  const W = 400, H = height, L = 30, R = 6, T = 8, B = 20;
  const shown = series.filter((sr) => points.some((p) => typeof p[sr.key] === 'number'));
  if (points.length < 2 || !shown.length) {
    return h('p', { class: 'empty' }, 'Not enough data for a chart yet.');
  }
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  let max = yMax || 0;
  for (const p of points) for (const sr of shown) if (typeof p[sr.key] === 'number') max = Math.max(max, p[sr.key]);
  max = Math.max(1, niceCeil(max));
  const x = (t) => L + ((t - t0) / Math.max(1e-9, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const grid = [0, 0.5, 1].map((f) => {
    const v = Math.round(max * f);
    return [s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid-line' }),
      s('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, String(v))];
  });
  const labels = [t0, t1].map((t, i) => s('text', { x: i ? W - R : L, y: H - 6, 'text-anchor': i ? 'end' : 'start' },
    new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
  const lines = shown.map((sr) => {
    const idx = series.indexOf(sr);
    const d = points.filter((p) => typeof p[sr.key] === 'number')
      .map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p[sr.key]).toFixed(1)}`).join(' ');
    return s('path', { d, fill: 'none', stroke: COLORS[idx % COLORS.length], 'stroke-width': 2,
      'stroke-dasharray': sr.dashed ? '5 4' : undefined, 'vector-effect': 'non-scaling-stroke' });
  });
  const desc = shown.map((sr) => `${sr.label}: latest ${points[points.length - 1][sr.key] ?? '—'}`).join('; ');
  return h('figure', { class: 'chart-figure' },
    s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}. ${desc}` },
      grid, labels, lines),
    h('figcaption', { class: 'legend' }, shown.map((sr) => {
      const idx = series.indexOf(sr);
      return h('span', {}, h('i', { class: `s${(idx % COLORS.length) + 1}` }), sr.label);
    })));
}

function niceCeil(v) {
  if (v <= 5) return Math.ceil(v);
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
