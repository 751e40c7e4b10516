// GET /_dni/healthz: is this edge able to do its job? For load balancers
// and monitoring; no secret needed, nothing private in it.
//   {"ok": true, "worker": "up", "core": {"loaded": true},
//    "sync": {"last_ok": 1732222222.5, "age_s": 3.1, "failures": 0,
//             "last_error": "", "syncs": 12},
//    "last_sync_ok": 1732222222.5, "sync_failures": 0,
//    "refused_configs": 0, "refused_pools": []}
// refused_*: pool configs the lease engine refused (skipped: the pool keeps
// its previous config or is left out). Pool ids are not secret: they are
// part of every lease name.
// 200 when the WebAssembly core loads and the last successful sync with
// the origin is recent (at most max(60 s, 6 sync intervals) ago); 503
// otherwise, with `problems` naming what is wrong. Pages are served
// either way (unchanged when the core or the grants are missing).

export async function healthz(env, { getDni, syncStub }) {
  const problems = [];
  const core = { loaded: false };
  try {
    await getDni();
    core.loaded = true;
  } catch (e) {
    core.error = e.message;
    problems.push('the WebAssembly core does not load');
  }
  const sync = { last_ok: 0, age_s: null, failures: 0, last_error: '', syncs: 0 };
  let refused = { refused_configs: 0, refused_pools: [] };
  try {
    const s = await syncStub(env).status();
    Object.assign(sync, { last_ok: s.last_ok, failures: s.failures, last_error: s.last_error, syncs: s.syncs });
    refused = { refused_configs: s.refused_total || 0, refused_pools: Object.keys(s.refused || {}) };
    if (s.last_ok) sync.age_s = Math.round((Date.now() / 1000 - s.last_ok) * 10) / 10;
  } catch (e) {
    sync.last_error = e.message;
  }
  const limit = Math.max(60, 6 * Number(env.SYNC_INTERVAL_S || 5));
  if (!sync.last_ok) problems.push('no successful sync with the origin yet');
  else if (sync.age_s > limit) problems.push(`last successful sync ${sync.age_s} s ago`);
  const body = { ok: problems.length === 0, worker: 'up', core, sync,
    last_sync_ok: sync.last_ok, sync_failures: sync.failures, ...refused };
  if (problems.length) body.problems = problems;
  return new Response(JSON.stringify(body), { status: problems.length ? 503 : 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}
