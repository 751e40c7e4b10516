// The origin's admin API, with the token the user entered once (kept in
// this browser's localStorage). A 401/403 forgets the token and asks again.
const KEY = 'edgedni.admin_token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const token = {
  get: () => { try { return localStorage.getItem(KEY) || ''; } catch { return ''; } },
  set: (t) => { try { localStorage.setItem(KEY, t); } catch { /* private mode */ } },
  clear: () => { try { localStorage.removeItem(KEY); } catch { /* private mode */ } },
};

let onAuthLost = () => {};
export function whenAuthLost(fn) { onAuthLost = fn; }

export async function api(method, path, body, { auth = token.get(), probe = false } = {}) {
  const init = { method, headers: { authorization: `Bearer ${auth}` }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try { r = await fetch(path, init); } catch {
    throw new ApiError(0, 'The origin cannot be reached. Is dni-origin running?');
  }
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    if ((r.status === 401 || r.status === 403) && !probe) onAuthLost();
    throw new ApiError(r.status, (json && json.error) || `${r.status} ${r.statusText}`);
  }
  return json;
}

// GET that answers null for a route this origin does not have (404 "no
// such route"), so a page can show what exists.
export async function optional(path) {
  try { return await api('GET', path); } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

// Every call since `since` (Unix seconds), newest first, at most max.
export async function allCalls({ pool, since = 0, max = 2000 } = {}) {
  const out = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ limit: '1000', since: String(since) });
    if (pool) q.set('pool', pool);
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/v1/calls?${q}`);
    out.push(...(page.calls || []));
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  out.sort((a, b) => (b.started_at || 0) - (a.started_at || 0));
  return out;
}
