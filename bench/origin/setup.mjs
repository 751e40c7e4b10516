// Prepares a benchmark origin: one pool of N numbers, all granted to edge
// "bench", with one open lease B<i> per number for the sync benchmark.
// Prints the pool's config version.
const [port, n = '1000'] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const N = Number(n);
const numbers = Array.from({ length: N }, (_, i) => `+1888${5000000 + i}`);
async function post(path, token, body) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}
await post('/v1/pools', process.env.DNI_ADMIN_TOKEN, { id: 'bench', numbers, default_number: '+18005551234' });
const s = await post('/v1/edge/sync', process.env.DNI_EDGE_SECRET, { edge: 'bench', seq: 1 });
const grants = s.pools[0].grants;
const t = Date.now() / 1000;
const events = grants.map((g, i) => ({ type: 'assign', pool: 'bench', lease: `B${numbers.indexOf(g.number)}`, number: g.number, epoch: g.epoch, visitor: `v${i}`, t }));
const r = await post('/v1/edge/sync', process.env.DNI_EDGE_SECRET, { edge: 'bench', seq: 2, events });
if (r.applied !== N) throw new Error(`setup applied ${r.applied} of ${N} assigns`);
// The pool's config version, which the sync run sends back as an edge
// does (`versions`), so answers leave out a config the edge already has.
console.log(r.pools[0].version);
