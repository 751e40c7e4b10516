// Every pool setting the dashboard edits: its form field, how the field's
// text becomes the JSON value, and a line of help (docs/configuration.md
// has the full meaning of each).
//
// The form sends only what changed (a PATCH is validated by the origin as
// a whole: either every change is stored or none). A setting this origin
// does not know is never sent unless filled in, and then the origin's own
// message ("unknown field ...") shows next to it.
import { h } from './dom.mjs';

// A string setting written without quotes ("search", "param:gclid").
const BARE = /^(?!(?:true|false|null)$)[A-Za-z][\w:=/.-]*$/;

export const SETTINGS = [
  { key: 'name', label: 'Name', type: 'text', help: 'Shown on the dashboard.' },
  { key: 'campaign', label: 'Campaign', type: 'text', help: 'Free text for reports.' },
  { key: 'default_number', label: 'Default number', type: 'phone', required: true,
    help: 'The number on the site; visitors without a lease keep seeing it.' },
  { key: 'overflow_number', label: 'Overflow number', type: 'phone', nullable: true,
    help: 'Shown when every number is leased (counted as overflow). Empty: the default number.' },
  { key: 'numbers', label: 'Tracking numbers', type: 'numbers', wide: true, required: true,
    help: 'One per line, any usual form; stored as E.164.' },
  { key: 'mode', label: 'Mode', type: 'select', options: ['visitor', 'tags'],
    help: 'visitor: a number per visitor; tags: visitors with equal tracked tags share one.' },
  { key: 'tracked_tags', label: 'Tracked tags', type: 'list', help: 'Comma-separated tag names (tags mode).' },
  { key: 'traffic_source', label: 'Traffic source', type: 'json', nullable: true,
    help: 'Which visits this pool serves: "search", "param:utm_source=google", "path:/offers"… Empty: all.' },
  { key: 'buffer_s', label: 'Buffer (s)', type: 'int', help: 'Number stays with a visitor this long after the last heartbeat or leave.' },
  { key: 'min_hold_s', label: 'Minimum hold (s)', type: 'int', help: 'Shortest life of a lease, even without heartbeats.' },
  { key: 'max_lease_s', label: 'Longest lease (s)', type: 'int', help: 'Longest a lease lives without a call.' },
  { key: 'sticky_s', label: 'Sticky (s)', type: 'int', help: 'A returning visitor gets the same number back within this time.' },
  { key: 'attribution_window_s', label: 'Attribution window (s)', type: 'int',
    help: 'A late call on a number not yet reassigned still counts this long.' },
  { key: 'unconfirmed_hold_s', label: 'Unconfirmed hold (s)', type: 'int',
    help: 'How long a lease holds until a heartbeat or second page view confirms it.' },
  { key: 'number_limit', label: 'Number limit', type: 'int', help: 'Most numbers the pool may grow to.' },
  { key: 'stockpile', label: 'Stockpile', type: 'int', help: 'Numbers the pool always holds; missing ones are acquired from the provider.' },
  { key: 'auto_scale', label: 'Auto scale', type: 'json', nullable: true, help: 'true/false or {"enabled":true,"step_s":300,"step_numbers":1,"max":40}.' },
  { key: 'provider', label: 'Provider', type: 'json', nullable: true, help: '{"kind":"twilio","country":"US","area_code":"212"}' },
  { key: 'param_map', label: 'URL parameter → tag', type: 'json', help: '{"f_n":"first_name"}' },
  { key: 'forward_to', label: 'Forward calls to', type: 'phone', nullable: true, help: 'Default: the default number.' },
  { key: 'record_calls', label: 'Record calls', type: 'bool', help: '' },
  { key: 'consent_required', label: 'Consent required', type: 'bool', help: 'Lease only with the consent cookie.' },
  { key: 'consent_cookie', label: 'Consent cookie', type: 'text', help: 'Default dni_consent.' },
  { key: 'priority', label: 'Priority', type: 'int', help: 'Order among pools sharing a default number: the lowest is tried first.' },
  { key: 'client_budget', label: 'Leases per client address', type: 'int',
    help: 'New leases one address may take per window; 0: no limit. Empty: the edge\'s default (10).' },
  { key: 'client_budget_s', label: 'Budget window (s)', type: 'int', help: 'That window. Empty: the edge\'s default (600).' },
  { key: 'site_origins', label: 'Snippet-only sites', type: 'list',
    help: 'Other sites whose pages may ask the edge for numbers: https://www.example.com, comma-separated.' },
  { key: 'alert_url', label: 'Alert URL', type: 'text', nullable: true, help: 'Where alerts are posted.' },
  { key: 'postback_url', label: 'Postback URL', type: 'text', nullable: true,
    help: 'Where attributed calls are sent: a URL template, e.g. https://ads.example.com/conv?gclid={clickid}.' },
  { key: 'postback_method', label: 'Postback method', type: 'select', options: ['GET', 'POST'], help: 'POST sends the body below.' },
  { key: 'postback_body', label: 'Postback body', type: 'json', nullable: true,
    help: 'POST only: a JSON template, e.g. {"gclid":"{clickid}","duration":"{call.duration}"}.' },
];

// The text a field shows for a stored value.
function toText(def, v) {
  if (v === undefined || v === null) return '';
  switch (def.type) {
    case 'numbers': return Array.isArray(v) ? v.join('\n') : '';
    case 'list': return Array.isArray(v) ? v.join(', ') : '';
    case 'json': return typeof v === 'string' && BARE.test(v) ? v : JSON.stringify(v);
    default: return String(v);
  }
}

// The JSON value of a field's text, or throws Error(message for the field).
function fromText(def, text) {
  const t = text.trim();
  switch (def.type) {
    case 'int': {
      if (t === '') return undefined;
      if (!/^\d+$/.test(t)) throw new Error('Enter a whole number of 0 or more.');
      return Number(t);
    }
    case 'numbers': {
      const list = t.split(/[\n,;]+/).map((x) => x.trim()).filter(Boolean);
      for (const n of list) {
        if ((n.match(/\d/g) || []).length < 8 || /[^\d\s()+.\-\u00a0]/.test(n)) {
          throw new Error(`"${n}" is not a phone number.`);
        }
      }
      return list;
    }
    case 'phone':
      if (t === '') return def.nullable ? null : '';
      if ((t.match(/\d/g) || []).length < 8 || /[^\d\s()+.\-\u00a0]/.test(t)) throw new Error('Not a phone number.');
      return t;
    case 'list': return t === '' ? [] : t.split(',').map((x) => x.trim()).filter(Boolean);
    case 'json':
      if (t === '') return def.nullable ? null : undefined;
      // A bare word is taken as a string ("search" without quotes).
      if (BARE.test(t)) return t;
      try { return JSON.parse(t); } catch { throw new Error('Not valid JSON.'); }
    case 'bool': return text === 'true';
    case 'text': return t === '' && def.nullable ? null : t;
    default: return t;
  }
}

// Builds the fields for defs with the values of obj. Returns {nodes,
// read(original) -> {changes} | {errors}, showError(message) -> bool}.
export function settingsForm(defs, obj = {}, prefix = 'f') {
  const fields = defs.map((def) => {
    const id = `${prefix}-${def.key}`;
    const msg = h('span', { class: 'msg', id: `${id}-msg`, 'aria-live': 'polite' });
    let input;
    if (def.type === 'select') {
      input = h('select', { id, name: def.key }, def.options.map((o) => h('option', { value: o }, o)));
      input.value = obj[def.key] ?? def.options[0];
    } else if (def.type === 'bool') {
      input = h('select', { id, name: def.key }, h('option', { value: 'false' }, 'no'), h('option', { value: 'true' }, 'yes'));
      input.value = obj[def.key] ? 'true' : 'false';
    } else if (def.type === 'numbers' || (def.type === 'json' && def.key === 'provider')) {
      input = h('textarea', { id, name: def.key, rows: def.type === 'numbers' ? 6 : 2, spellcheck: 'false' });
      input.value = toText(def, obj[def.key]);
    } else {
      input = h('input', { id, name: def.key, type: 'text', inputmode: def.type === 'int' ? 'numeric' : undefined,
        autocomplete: 'off', spellcheck: 'false' });
      input.value = toText(def, obj[def.key]);
    }
    input.setAttribute('aria-describedby', `${id}-help ${id}-msg`);
    const node = h('div', { class: `field${def.wide ? ' wide' : ''}` },
      h('label', { for: id }, def.label, def.required ? ' *' : ''),
      input, h('span', { class: 'help', id: `${id}-help` }, def.help), msg);
    return { def, input, msg, node, initial: input.value };
  });

  function clear() {
    for (const f of fields) { f.msg.textContent = ''; f.input.removeAttribute('aria-invalid'); }
  }

  return {
    nodes: fields.map((f) => f.node),
    // Values that differ from what was loaded (all filled ones when
    // creating). Field errors are shown and returned.
    read({ all = false } = {}) {
      clear();
      const changes = {};
      const errors = [];
      for (const f of fields) {
        if (!all && f.input.value === f.initial) continue;
        let v;
        try { v = fromText(f.def, f.input.value); } catch (e) {
          f.msg.textContent = e.message;
          f.input.setAttribute('aria-invalid', 'true');
          errors.push(f);
          continue;
        }
        if (f.def.required && (v === '' || (Array.isArray(v) && !v.length))) {
          f.msg.textContent = 'Required.';
          f.input.setAttribute('aria-invalid', 'true');
          errors.push(f);
          continue;
        }
        if (v === undefined) continue;
        if (all && (v === '' || v === null || (Array.isArray(v) && !v.length && !f.def.required))) continue;
        changes[f.def.key] = v;
      }
      if (errors.length) errors[0].input.focus();
      return { changes, errors };
    },
    // Puts the origin's message next to the field it names; false when it
    // names none of them.
    showError(message) {
      clear();
      const m = /^(?:unknown field '([^']+)'|([a-z_]+)\b)/.exec(message) || [];
      const key = m[1] || m[2];
      const f = fields.find((x) => x.def.key === key)
        || fields.find((x) => message.includes(x.def.key));
      if (!f) return false;
      f.msg.textContent = message;
      f.input.setAttribute('aria-invalid', 'true');
      f.input.focus();
      return true;
    },
    clear,
  };
}
