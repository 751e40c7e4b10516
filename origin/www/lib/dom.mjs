// Building the page: every value is set with textContent or as an
// attribute, never parsed as HTML, so a pool named <script> shows as text.
//
//   h('p', { class: 'muted' }, 'Calls: ', h('b', {}, String(n)))
//   h('button', { type: 'button', onclick: () => save() }, 'Save')
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// Replaces el's content with children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A table; columns: [{label, cell(row) -> Node|string, class}]. Rows
// stack into label/value pairs on narrow screens.
export function table(columns, rows, { empty = 'Nothing yet.', rowAttrs } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'stack' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
        columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, c.cell(r))))))));
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

export function tagList(tags) {
  const entries = Object.entries(tags || {});
  if (!entries.length) return h('span', { class: 'muted' }, 'no tags');
  return h('span', { class: 'tags' }, entries.map(([k, v]) => h('span', { class: 'tag' }, h('b', {}, k), '=', String(v))));
}

export function stat(label, value) {
  return h('div', { class: 'stat' }, h('b', {}, value), h('span', {}, label));
}

export function message(kind, text) {
  return h('p', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, text);
}
