// How numbers, times and durations are written on the dashboard.

// +18885550101 -> +1 888-555-0101; other countries as E.164 in groups.
export function phone(e164) {
  if (typeof e164 !== 'string') return '—';
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  if (m) return `+1 ${m[1]}-${m[2]}-${m[3]}`;
  return e164;
}

export function time(t) {
  if (typeof t !== 'number' || !isFinite(t) || t <= 0) return '—';
  const d = new Date(t * 1000);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return sameDay ? hm : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}`;
}

export function ago(t, now = Date.now() / 1000) {
  if (typeof t !== 'number' || !isFinite(t) || t <= 0) return '—';
  const s = Math.round(now - t);
  if (s < -1) return `in ${duration(-s)}`;
  if (s < 5) return 'just now';
  return `${duration(s)} ago`;
}

export function duration(s) {
  if (typeof s !== 'number' || !isFinite(s)) return '—';
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${s % 86400 >= 3600 ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

export function percent(x) {
  return typeof x === 'number' && isFinite(x) ? `${Math.round(x * 100)} %` : '—';
}

export function int(x) {
  return typeof x === 'number' && isFinite(x) ? x.toLocaleString() : '—';
}

// A visitor id is a pseudonymous cookie value: shown shortened.
export function visitor(v) {
  return typeof v === 'string' && v ? (v.length > 8 ? `${v.slice(0, 8)}…` : v) : '—';
}
