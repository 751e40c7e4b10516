// The pool's number lifecycle against real providers: the local fake
// Twilio (tests/origin/fake_twilio.mjs) and the embedded inventory.
// Stockpile at creation, one number per auto-scaling step up to max (local
// in the area code first, then toll-free), granted to the edge; scale-down
// on demand by its rules; purchases whose answer is lost (timeout, kill -9)
// settled with no orphan and no double purchase; alerts delivered, retried
// and sent once per window; limited page views never counted as overflow;
// a step and a month end never run twice, whatever restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startOrigin, admin, sync, webhook, req, sql } from './helpers.mjs';
import { startFakeTwilio } from './fake_twilio.mjs';

const now = () => Date.now() / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PUBLIC = 'https://calls.example.com';

// Polls fn until it returns a truthy value (no timing is asserted: the
// limit only keeps a broken build from hanging the suite).
async function until(fn, what, limitMs = 60000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > limitMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

const numbersOf = async (o, id) => (await admin(o, 'GET', `/v1/pools/${id}`)).json?.numbers ?? [];
const eventsOf = async (o, id) => (await admin(o, 'GET', `/v1/pools/${id}/events`)).json;

async function withTwilio(tw, extraArgs = [], opts = {}) {
  return startOrigin({
    env: tw.originEnv(),
    args: [...tw.originArgs(), '--public-url', PUBLIC, '--grant-ttl', '1', ...extraArgs],
    ...opts,
  });
}

test('stockpile, then one number per overflow step up to max, local first then toll-free, granted to the edge', async (t) => {
  const tw = await startFakeTwilio({
    local: ['+14155550111', '+14155550112', '+14155550113', '+12125550114'],
    tollFree: ['+18885550115', '+18885550116'],
  });
  const o = await withTwilio(tw);
  t.after(async () => { await o.stop(); o.cleanup(); await tw.close(); });

  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'auto', numbers: [], default_number: '+18005551234', overflow_number: '+18005559999',
    stockpile: 1, number_limit: 6,
    provider: { kind: 'twilio', country: 'US', area_code: '415' },
    auto_scale: { enabled: true, step_s: 1, step_numbers: 1, max: 4 },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.auto_scale.max, 4);
  await until(async () => (await numbersOf(o, 'auto')).length === 1, 'the stockpile');
  assert.deepEqual(await numbersOf(o, 'auto'), ['+14155550111']);
  const first = tw.log.purchases[0];
  assert.equal(first.form.VoiceUrl, `${PUBLIC}/v1/voice`);
  assert.equal(first.form.VoiceMethod, 'POST');
  assert.equal(first.form.StatusCallback, `${PUBLIC}/v1/webhooks/call`);
  assert.equal(first.form.FriendlyName, 'edgedni auto');

  let seq = 0;
  r = await sync(o, { edge: 'e1', seq: seq++ });
  assert.deepEqual(r.json.pools.find((p) => p.id === 'auto').grants.map((g) => g.number), ['+14155550111']);

  // Overflows keep coming: one number per step until max.
  let stop = false;
  const feeder = (async () => {
    while (!stop) {
      await sync(o, { edge: 'e1', seq: seq++, events: [{ type: 'overflow', pool: 'auto', t: now() }] });
      await sleep(200);
    }
  })();
  await until(async () => (await numbersOf(o, 'auto')).length === 4, 'auto-scaling to max');
  // A few more steps with overflow: max holds.
  const steps0 = tw.log.purchases.length;
  await sleep(3000);
  stop = true;
  await feeder;
  assert.equal(tw.log.purchases.length, steps0);
  assert.equal(tw.log.purchases.length, 4, 'exactly max numbers bought');

  const nums = await numbersOf(o, 'auto');
  assert.deepEqual(nums.slice(0, 3).sort(), ['+14155550111', '+14155550112', '+14155550113'], 'local in 415 first');
  assert.match(nums[3], /^\+1888/, 'then toll-free (212 is not the pool\'s area code)');

  const ev = await eventsOf(o, 'auto');
  const added = ev.events.filter((e) => e.kind === 'added').reverse();
  assert.equal(added.length, 4);
  assert.match(added[0].reason, /^stockpile \(local, area code 415\)/);
  assert.match(added[1].reason, /^auto-scale.*\(local, area code 415\)/);
  assert.match(added[3].reason, /^auto-scale.*\(toll-free\)/);
  const steps = added.slice(1).map((e) => e.figures.step_start);
  assert.equal(new Set(steps).size, 3, 'one number per step');
  for (const e of added.slice(1)) assert.ok(e.figures.overflows >= 1, JSON.stringify(e.figures));

  // The edge is granted all of them at its next sync.
  r = await sync(o, { edge: 'e1', seq: seq++ });
  assert.deepEqual(r.json.pools.find((p) => p.id === 'auto').grants.map((g) => g.number).sort(), nums.slice().sort());

  // Deleting the pool gives its numbers back to the provider (once every
  // grant has expired).
  r = await admin(o, 'DELETE', '/v1/pools/auto');
  assert.equal(r.status, 200);
  await until(() => tw.owned().length === 0, 'the numbers given back');
  assert.deepEqual(tw.log.releases.map((x) => x.number).sort(), nums.slice().sort());
});

test('a purchase whose answer is lost (timeout, 5xx) is settled against the list: no orphan, no double purchase', async (t) => {
  const tw = await startFakeTwilio({ local: ['+14155550121', '+14155550122', '+14155550123'] });
  const o = await withTwilio(tw, ['--provider-timeout', '1']);
  t.after(async () => { await o.stop(); o.cleanup(); await tw.close(); });

  tw.nextPurchase({ hang: 'after' }); // bought, but the answer never comes
  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'lost', numbers: [], default_number: '+18005551234', stockpile: 1,
    provider: { kind: 'twilio', area_code: '415' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'lost')).length === 1, 'the settled purchase');
  assert.deepEqual(await numbersOf(o, 'lost'), ['+14155550121']);
  assert.equal(tw.log.purchases.length, 1);
  let ev = await eventsOf(o, 'lost');
  assert.match(ev.events.find((e) => e.kind === 'added').reason, /settled against the provider's list/);

  // A 500 after buying: the same.
  tw.nextPurchase({ error500After: true });
  r = await admin(o, 'PATCH', '/v1/pools/lost', { stockpile: 2, number_limit: 2 });
  assert.equal(r.status, 200, r.text);
  await until(async () => (await numbersOf(o, 'lost')).length === 2, 'the second purchase');
  assert.equal(tw.log.purchases.length, 2);

  // A purchase refused outright (400): failed, reported, nothing owned.
  tw.nextPurchase({ status: 400, code: 21422, message: 'not available any more' });
  r = await admin(o, 'PATCH', '/v1/pools/lost', { stockpile: 3, number_limit: 3 });
  assert.equal(r.status, 200, r.text);
  ev = await until(async () => {
    const e = await eventsOf(o, 'lost');
    return e.events.some((x) => x.kind === 'provider_error') && e;
  }, 'the provider error');
  assert.match(ev.events.find((x) => x.kind === 'provider_error').reason, /not available any more/);
  assert.ok(ev.events.some((x) => x.kind === 'alert' && x.alert === 'provider_failing'));
  assert.ok(ev.operations.some((x) => x.op === 'acquire' && x.state === 'failed'));
  assert.equal(tw.log.purchases.length, 2);
  const owned = tw.owned().map((x) => x.phone_number).sort();
  assert.deepEqual(owned, (await numbersOf(o, 'lost')).sort(), 'everything bought is in the pool');
});

test('kill -9 mid-purchase, restart: the purchase is reconciled, never made twice', async (t) => {
  const tw = await startFakeTwilio({ local: ['+14155550131', '+14155550132'] });
  t.after(async () => { await tw.close(); });
  let o = await withTwilio(tw, ['--provider-timeout', '60']);
  const { dir, port } = o;
  t.after(() => o.cleanup());

  tw.nextPurchase({ hang: 'after' });
  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'k9', numbers: [], default_number: '+18005551234', stockpile: 1,
    provider: { kind: 'twilio', area_code: '415' },
  });
  assert.equal(r.status, 201, r.text);
  await until(() => tw.log.purchases.length === 1, 'the purchase to reach the provider');
  o.proc.kill('SIGKILL');
  await o.exited;
  assert.equal(sql(o.db, "SELECT count(*) FROM number_ops WHERE op = 'acquire' AND state = 'pending'"), '1',
    'the intent was on disk before the provider was asked');
  assert.equal(sql(o.db, "SELECT count(*) FROM numbers WHERE pool_id = 'k9'"), '0');

  o = await withTwilio(tw, ['--provider-timeout', '60'], { dir, port });
  t.after(async () => { await o.stop(); });
  await until(async () => (await numbersOf(o, 'k9')).length === 1, 'the reconciled number');
  assert.deepEqual(await numbersOf(o, 'k9'), ['+14155550131']);
  await sleep(2500);
  assert.equal(tw.log.purchases.length, 1, 'no second purchase');
  assert.equal(sql(o.db, "SELECT state FROM number_ops WHERE pool_id = 'k9'"), 'done');

  // Killed before the provider bought anything: the intent fails and the
  // stockpile is bought again, once.
  tw.nextPurchase({ hang: 'before' });
  r = await admin(o, 'PATCH', '/v1/pools/k9', { stockpile: 2, number_limit: 2 });
  assert.equal(r.status, 200, r.text);
  await until(() => tw.log.requests.filter((x) => x.method === 'POST').length === 2, 'the second purchase to reach the provider');
  o.proc.kill('SIGKILL');
  await o.exited;
  o = await withTwilio(tw, ['--provider-timeout', '60'], { dir, port });
  await until(async () => (await numbersOf(o, 'k9')).length === 2, 'the stockpile after the restart');
  assert.equal(tw.log.purchases.length, 2);
  assert.deepEqual(tw.owned().map((x) => x.phone_number).sort(), ['+14155550131', '+14155550132']);
  assert.deepEqual(sql(o.db, "SELECT state FROM number_ops WHERE pool_id = 'k9' ORDER BY id").split('\n'), ['done', 'failed', 'done']);
});

test('scale-down on demand: idle numbers only, at most 20 % a month, frozen after an overflow; inventory gets them back', async (t) => {
  const o = await startOrigin({ args: ['--grant-ttl', '1'] });
  t.after(async () => { await o.stop(); o.cleanup(); });
  const inv = Array.from({ length: 12 }, (_, i) => `+1415555${String(4000 + i)}`);
  let r = await admin(o, 'POST', '/v1/inventory', { numbers: [...inv.slice(0, 10), { number: inv[10] }, { number: inv[11], area_code: '415' }] });
  assert.equal(r.status, 200, r.text);
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'sd', numbers: [], default_number: '+18005551234', stockpile: 10,
    provider: { kind: 'inventory', area_code: '415' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'sd')).length === 10, 'the stockpile from the inventory');
  r = await admin(o, 'PATCH', '/v1/pools/sd', { stockpile: 2 });
  assert.equal(r.status, 200, r.text);
  const nums = await numbersOf(o, 'sd');

  // History: every number acquired 60 days ago; one shown a day ago, one
  // called three days ago, one with a live lease.
  const t0 = now();
  sql(o.db, `UPDATE owned_numbers SET acquired_at = ${t0 - 60 * 86400} WHERE pool_id = 'sd'`);
  r = await sync(o, { edge: 'es', seq: 0 });
  const ep = Object.fromEntries(r.json.pools.find((p) => p.id === 'sd').grants.map((g) => [g.number, g.epoch]));
  r = await sync(o, { edge: 'es', seq: 1, events: [
    { type: 'assign', pool: 'sd', lease: 'S1', number: nums[0], epoch: ep[nums[0]], visitor: 'v1', t: t0 - 86400 },
    { type: 'release', lease: 'S1', t: t0 - 86000 },
    { type: 'assign', pool: 'sd', lease: 'S2', number: nums[2], epoch: ep[nums[2]], visitor: 'v2', t: t0 - 5 },
  ] });
  assert.equal(r.status, 200, r.text);
  r = await webhook(o, { CallSid: 'CAsd1', To: nums[1], CallStatus: 'completed', Timestamp: String(t0 - 3 * 86400), CallDuration: '60' });
  assert.equal(r.status, 200, r.text);

  r = await admin(o, 'POST', '/v1/pools/sd/scale-down', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.released.length, 2, JSON.stringify(r.json));
  for (const n of r.json.released) assert.ok(![nums[0], nums[1], nums[2]].includes(n), `${n} was idle`);
  const released = r.json.released;
  const left = await numbersOf(o, 'sd');
  assert.equal(left.length, 8);
  for (const n of released) assert.ok(!left.includes(n));
  let ev = await eventsOf(o, 'sd');
  const rel = ev.events.filter((e) => e.kind === 'released');
  assert.equal(rel.length, 2);
  assert.match(rel[0].reason, /scale-down: on demand/);
  assert.ok(rel[0].figures.last_shown <= t0 - 5 * 86400 || rel[0].figures.last_shown === 0);

  // Again this month: the 20 % is used up.
  r = await admin(o, 'POST', '/v1/pools/sd/scale-down', {});
  assert.equal(r.json.released.length, 0);
  assert.match(r.json.why, /cap/);

  // The released numbers go back to the inventory once no grant can
  // still show them.
  await until(async () => {
    const i = (await admin(o, 'GET', '/v1/inventory')).json.numbers;
    return released.every((n) => i.find((x) => x.number === n && !x.in_use && x.pool === null));
  }, 'the inventory to take them back');
  ev = await eventsOf(o, 'sd');
  assert.equal(ev.events.filter((e) => e.kind === 'returned').length, 2);

  // An overflow in the last 30 days freezes a pool.
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'fz', numbers: [], default_number: '+18005551235', overflow_number: '+18005559998',
    stockpile: 0, number_limit: 2, provider: { kind: 'inventory' },
  });
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'es', seq: 2, events: [{ type: 'overflow', pool: 'fz', t: now() }] });
  assert.equal(r.status, 200);
  r = await admin(o, 'POST', '/v1/pools/fz/scale-down', {});
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.why, /frozen/);
  r = await admin(o, 'POST', '/v1/pools/nope/scale-down', {});
  assert.equal(r.status, 404);
});

test('alerts: POSTed to alert_url as Slack-compatible JSON, retried, once per window', async (t) => {
  const got = [];
  let answers = [500]; // the first delivery fails, the rest succeed
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ type: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(answers.shift() ?? 200);
      res.end('ok');
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); await new Promise((r) => sink.close(r)); });

  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'al', numbers: ['+14155550141'], default_number: '+18005551234', overflow_number: '+18005559999',
    alert_url: `http://127.0.0.1:${sink.address().port}/hook`,
  });
  assert.equal(r.status, 201, r.text);
  let seq = 0;
  // Ten overflows now, ten more later: the pool is too small (auto-scaling
  // is off), but one alert per hour.
  for (const batch of [0, 1]) {
    const events = Array.from({ length: 10 }, () => ({ type: 'overflow', pool: 'al', t: now() }));
    r = await sync(o, { edge: 'ea', seq: seq++, events });
    assert.equal(r.status, 200, r.text);
    if (batch === 0) await until(() => got.length >= 2, 'the alert, delivered on its second try');
    else await sleep(3000);
  }
  assert.equal(got.length, 2, 'one alert: its failed try and its retry');
  assert.deepEqual(got[0].body, got[1].body);
  assert.match(got[0].type, /^application\/json/);
  assert.equal(typeof got[0].body.text, 'string');
  assert.match(got[0].body.text, /pool al: pool too small/);
  assert.equal(got[0].body.alert, 'pool_too_small');
  assert.ok(got[0].body.figures.overflows >= 10);
  const ev = await eventsOf(o, 'al');
  const alerts = ev.events.filter((e) => e.kind === 'alert');
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].delivery, 'sent');
  assert.equal(alerts[0].attempts, 2);
});

test('not swapping: a pool that usually makes leases and stopped is reported', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'qs', numbers: ['+14155550151', '+14155550152'], default_number: '+18005551234',
  });
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'eq', seq: 0 });
  const g = r.json.pools.find((p) => p.id === 'qs').grants;
  // Twenty leases over two days, the last five hours ago: usually ten a
  // day, so four quiet hours are enough to say something is wrong.
  const t0 = now();
  const events = Array.from({ length: 20 }, (_, i) => ({
    type: 'assign', pool: 'qs', lease: `Q${i}`, number: g[i % 2].number, epoch: g[i % 2].epoch,
    visitor: `v${i}`, t: t0 - 2 * 86400 + i * ((2 * 86400 - 5 * 3600) / 19),
  }));
  r = await sync(o, { edge: 'eq', seq: 1, events });
  assert.equal(r.status, 200, r.text);
  const ev = await until(async () => {
    const e = await eventsOf(o, 'qs');
    return e.events.some((x) => x.alert === 'not_swapping') && e;
  }, 'the not-swapping alert');
  const a = ev.events.find((x) => x.alert === 'not_swapping');
  assert.match(a.reason, /not swapping/);
  assert.equal(a.delivery, 'none', 'no alert_url: listed, not sent');
  assert.equal(a.figures.window_s, 4 * 3600);
});

test('page views limited by a client\'s lease budget never scale a pool; an overflow does', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  let r = await admin(o, 'POST', '/v1/inventory', { numbers: ['+14155550161', '+14155550162', '+14155550163'] });
  assert.equal(r.status, 200, r.text);
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'lim', numbers: [], default_number: '+18005551234', stockpile: 1, number_limit: 3,
    provider: { kind: 'inventory' }, auto_scale: { enabled: true, step_s: 1, max: 3 },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'lim')).length === 1, 'the stockpile');

  // Limited page views across several steps: counted apart, not as
  // overflow, so nothing is bought.
  let seq = 0;
  for (let i = 0; i < 12; i++) {
    r = await sync(o, { edge: 'el', seq: seq++, events: [{ type: 'limited', pool: 'lim', t: now(), n: 50, clients: 1 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.refused ?? [], [], r.text);
    await sleep(250);
  }
  await sleep(1500); // the step after the last one ends, and its tick runs
  assert.equal(sql(o.db, "SELECT sum(n) FROM limited_counts WHERE pool_id = 'lim'"), '600', 'the limited views were taken');
  assert.equal((await numbersOf(o, 'lim')).length, 1);
  let ev = await eventsOf(o, 'lim');
  assert.equal(ev.events.filter((e) => e.kind === 'added').length, 1, 'only the stockpile');

  // The same pool does scale on a real overflow.
  r = await sync(o, { edge: 'el', seq: seq++, events: [{ type: 'overflow', pool: 'lim', t: now() }] });
  assert.equal(r.status, 200, r.text);
  await until(async () => (await numbersOf(o, 'lim')).length === 2, 'the overflow step');
  ev = await eventsOf(o, 'lim');
  assert.match(ev.events.find((e) => e.kind === 'added').reason, /^auto-scale/);
});

test('a step and a month end run once, across a kill -9 and a restart', async (t) => {
  let o = await startOrigin({ args: ['--grant-ttl', '1'] });
  const { dir, port } = o;
  t.after(() => o.cleanup());
  const inv = Array.from({ length: 9 }, (_, i) => `+1415555${String(4100 + i)}`);
  let r = await admin(o, 'POST', '/v1/inventory', { numbers: inv });
  assert.equal(r.status, 200, r.text);
  // 'dn': six idle numbers, a month old by the time the scheduler looks.
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'dn', numbers: [], default_number: '+18005551234', stockpile: 6, provider: { kind: 'inventory' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'dn')).length === 6, 'the stockpile');
  r = await admin(o, 'PATCH', '/v1/pools/dn', { stockpile: 0 });
  assert.equal(r.status, 200, r.text);
  // 'up': auto-scaling by the day, with an overflow in the last step.
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'up', numbers: [], default_number: '+18005551235', number_limit: 2,
    provider: { kind: 'inventory' }, auto_scale: { enabled: true, step_s: 86400 },
  });
  assert.equal(r.status, 201, r.text);
  await o.stop();

  const t0 = now();
  const old = t0 - 60 * 86400;
  const day = Math.floor(t0 / 86400);
  sql(o.db, `UPDATE pools SET created_at = ${old} WHERE id = 'dn';
    UPDATE pool_telephony SET created_at = ${old} WHERE pool_id = 'dn';
    UPDATE owned_numbers SET acquired_at = ${old} WHERE pool_id = 'dn';
    INSERT INTO overflow_recent (pool_id, sec, n) VALUES ('up', ${(day - 1) * 86400 + 60}, 1), ('up', ${day * 86400}, 1);`);

  const d = new Date(t0 * 1000);
  const ended = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 0)); // last day of the month that ended
  const key = `${ended.getUTCFullYear()}-${String(ended.getUTCMonth() + 1).padStart(2, '0')}`;

  o = await startOrigin({ args: ['--grant-ttl', '1'], dir, port });
  await until(async () => (await eventsOf(o, 'dn')).events.some((e) => e.kind === 'released'), 'the month end');
  await until(async () => (await numbersOf(o, 'up')).length === 1, 'the step');
  let dn = await eventsOf(o, 'dn');
  const rel = dn.events.filter((e) => e.kind === 'released');
  assert.equal(rel.length, 1, 'a fifth of six is one number');
  assert.match(rel[0].reason, new RegExp(`month end ${key}`));
  assert.equal(sql(o.db, `SELECT count(*) FROM lifecycle_runs WHERE pool_id = 'dn' AND rule = 'scale_down' AND period = '${key}'`), '1');

  o.proc.kill('SIGKILL');
  await o.exited;
  o = await startOrigin({ args: ['--grant-ttl', '1'], dir, port });
  t.after(async () => { await o.stop(); });
  // The scheduler is running: a new pool gets its stockpile; then a few
  // more ticks pass.
  r = await admin(o, 'POST', '/v1/pools', {
    id: 'probe', numbers: [], default_number: '+18005551236', stockpile: 1, provider: { kind: 'inventory' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'probe')).length === 1, 'the probe pool');
  await sleep(2500);
  dn = await eventsOf(o, 'dn');
  assert.equal(dn.events.filter((e) => e.kind === 'released').length, 1, 'the month ran once');
  assert.equal((await numbersOf(o, 'dn')).length, 5);
  const up = await eventsOf(o, 'up');
  assert.equal(up.events.filter((e) => e.kind === 'added').length, 1, 'the step ran once');
  assert.equal((await numbersOf(o, 'up')).length, 1);
  assert.equal(sql(o.db, "SELECT count(*) FROM number_ops WHERE pool_id = 'up' AND op = 'acquire'"), '1');
});

test('what a provider could give: searched by country, area code, toll-free and digits, nothing bought', async (t) => {
  const tw = await startFakeTwilio({
    local: ['+14155550171', '+14155557172', '+12125557173'],
    tollFree: ['+18885550174', '+18885557175'],
  });
  const o = await withTwilio(tw);
  t.after(async () => { await o.stop(); o.cleanup(); await tw.close(); });
  const avail = async (kind, q = '') => admin(o, 'GET', `/v1/providers/${kind}/available${q}`);
  const nums = (r) => r.json.numbers.map((n) => n.number).sort();

  let r = await avail('twilio', '?area_code=415');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(nums(r), ['+14155550171', '+14155557172']);
  assert.deepEqual(r.json.numbers[0], { number: r.json.numbers[0].number, area_code: '415', toll_free: false });
  assert.deepEqual(r.json.query, { country: 'US', toll_free: false, area_code: '415', contains: null, limit: 20 });
  r = await avail('twilio', '?contains=7172');
  assert.deepEqual(nums(r), ['+14155557172']);
  r = await avail('twilio', '?toll_free=true&contains=7175');
  assert.deepEqual(nums(r), ['+18885557175']);
  assert.equal(r.json.numbers[0].toll_free, true);
  const searches = tw.log.requests.filter((x) => x.method === 'GET' && /AvailablePhoneNumbers/.test(x.path));
  assert.ok(searches.some((x) => /TollFree\.json$/.test(x.path) && x.query.Contains === '7175'), JSON.stringify(searches));
  assert.equal(tw.log.purchases.length, 0, 'a search buys nothing');

  // The inventory answers the same questions from the operator's numbers.
  r = await admin(o, 'POST', '/v1/inventory', { numbers: ['+14155550181', '+14155558182', '+16505558183', '+18005558184'] });
  assert.equal(r.status, 200, r.text);
  r = await avail('inventory', '?area_code=415');
  assert.deepEqual(nums(r), ['+14155550181', '+14155558182']);
  r = await avail('inventory', '?contains=8182');
  assert.deepEqual(nums(r), ['+14155558182']);
  r = await avail('inventory', '?toll_free=true');
  assert.deepEqual(nums(r), ['+18005558184']);
  r = await avail('inventory', '?limit=1');
  assert.equal(r.json.numbers.length, 1);
  r = await avail('inventory', '?country=GB');
  assert.deepEqual(r.json.numbers, []);

  // Refused with the reason.
  for (const q of ['?country=us', '?area_code=41x', '?toll_free=yes', '?contains=55-5', '?limit=0', '?limit=51',
    '?toll_free=true&area_code=415']) {
    r = await avail('inventory', q);
    assert.equal(r.status, 422, q);
    assert.ok(r.json?.error, q);
  }
  r = await avail('acme');
  assert.equal(r.status, 404);
  assert.match(r.json.error, /no provider acme/);
  r = await req(o, 'GET', '/v1/providers/inventory/available');
  assert.equal(r.status, 401);

  // A provider that fails: 502 with its message.
  tw.failSearches({ status: 500, code: 20500, message: 'search is down' });
  r = await avail('twilio', '?area_code=415');
  assert.equal(r.status, 502, r.text);
  assert.match(r.json.error, /search is down/);
});

test('scale-down on demand with Twilio: an idle number leaves the pool, then is deleted at the provider', async (t) => {
  const local = Array.from({ length: 5 }, (_, i) => `+1415555${String(4200 + i)}`);
  const tw = await startFakeTwilio({ local });
  const o = await withTwilio(tw);
  t.after(async () => { await o.stop(); o.cleanup(); await tw.close(); });
  let r = await admin(o, 'POST', '/v1/pools', {
    id: 'tsd', numbers: [], default_number: '+18005551234', stockpile: 5,
    provider: { kind: 'twilio', area_code: '415' },
  });
  assert.equal(r.status, 201, r.text);
  await until(async () => (await numbersOf(o, 'tsd')).length === 5, 'the stockpile');
  r = await admin(o, 'PATCH', '/v1/pools/tsd', { stockpile: 0 });
  assert.equal(r.status, 200, r.text);
  sql(o.db, `UPDATE owned_numbers SET acquired_at = ${now() - 40 * 86400} WHERE pool_id = 'tsd'`);

  r = await admin(o, 'POST', '/v1/pools/tsd/scale-down', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.released.length, 1, 'a fifth of five');
  const [gone] = r.json.released;
  assert.ok(!(await numbersOf(o, 'tsd')).includes(gone));
  await until(() => tw.log.releases.length === 1, 'the release at the provider');
  assert.equal(tw.log.releases[0].number, gone);
  assert.deepEqual(tw.owned().map((x) => x.phone_number).sort(), (await numbersOf(o, 'tsd')).sort(),
    'the provider holds exactly what the pool holds');
  const ev = await until(async () => {
    const e = await eventsOf(o, 'tsd');
    return e.events.some((x) => x.kind === 'returned') && e;
  }, 'the returned event');
  assert.equal(ev.events.find((x) => x.kind === 'returned').number, gone);
  assert.ok(ev.operations.some((x) => x.op === 'release' && x.state === 'done' && x.number === gone));
  assert.equal(sql(o.db, `SELECT count(*) FROM owned_numbers WHERE number = '${gone}'`), '0');
});
