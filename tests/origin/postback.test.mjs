// Postbacks: a completed, attributed call fills its pool's postback_url
// template and is delivered through a durable outbox, retried with back-off
// until a 2xx comes back or the retry window is over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startOrigin, admin, sync, pool, webhook, metric } from './helpers.mjs';

const now = () => Date.now() / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A receiver answering with answer(n) for its n-th request (from 1); an
// answer of null never responds (the request hangs until the client gives up).
async function receiver(answer) {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const u = new URL(req.url, 'http://x');
      const n = got.push({ method: req.method, url: u, body, type: req.headers['content-type'] });
      const status = answer(n);
      if (status === null) return; // never answers
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'try again');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, base: `http://127.0.0.1:${server.address().port}`, close: () => { server.closeAllConnections(); server.close(); } };
}

// Polls until pred() holds (the outbox works in the background); fails
// after a generous bound so a broken build does not hang the suite.
async function until(pred, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) assert.fail(`gave up waiting: ${what}`);
    await sleep(50);
  }
}

let seq = 0;
async function setup(o, extra, number = '+18885558001') {
  let r = await admin(o, 'POST', '/v1/pools', pool('pb', [number], {
    default_number: '+18005558000', overflow_number: '+18005558009', ...extra,
  }));
  assert.equal(r.status, 201, r.text);
  r = await sync(o, { edge: 'pe', seq: ++seq, events: [] });
  assert.equal(r.status, 200, r.text);
}

async function visitAndCall(o, sid, { number = '+18885558001', url = 'https://shop.example/?gclid=G-abc.123&utm_source=google', tags } = {}) {
  const t0 = now() - 300;
  const r = await sync(o, { edge: 'pe', seq: ++seq, events: [
    { type: 'assign', pool: 'pb', lease: `L-${sid}`, number, epoch: 1, visitor: 'v-' + sid,
      tags: tags ?? { utm_source: 'google', gclid: 'G-abc.123', ga_client_id: '123.456', ga_session_id: '1700000000' },
      referrer: 'https://www.google.com/', url, t: t0 },
    { type: 'seen', lease: `L-${sid}`, t: t0 + 30 },
  ] });
  assert.equal(r.status, 200, r.text);
  for (const [status, extra] of [['ringing', {}], ['completed', { CallDuration: '42' }]]) {
    const w = await webhook(o, { CallSid: sid, To: number, From: '+1 (555) 000-2222', CallStatus: status,
      Timestamp: String(t0 + 40 + (status === 'completed' ? 42 : 0)), ...extra });
    assert.equal(w.status, 200, w.text);
  }
  return t0;
}

const callOf = async (o, sid) => (await admin(o, 'GET', `/v1/calls/${sid}`)).json;

test('templates are checked when the pool is saved', async (t) => {
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); });
  const bad = [
    { postback_url: 'https://x.example/?a={click_id}' },
    { postback_url: 'https://x.example/?a={tag:}' },
    { postback_url: 'https://x.example/?a={clickid' },
    { postback_url: 'https://x.example/', postback_method: 'PUT' },
    { postback_url: 'https://x.example/', postback_body: { a: 1 } },
    { postback_url: 'https://x.example/', postback_method: 'POST', postback_body: { a: '{nope}' } },
    { postback_url: 'https://x.example/', postback_method: 'POST', postback_body: 'text' },
    { postback_method: 'POST' },
  ];
  for (const extra of bad) {
    const r = await admin(o, 'POST', '/v1/pools', pool('bad', ['+18885558101'], extra));
    assert.equal(r.status, 422, `${JSON.stringify(extra)}: ${r.text}`);
  }
  const r = await admin(o, 'POST', '/v1/pools', pool('good', ['+18885558102'], {
    postback_url: 'https://x.example/c?id={clickid}&s={tag:utm_source}&t={call.time}',
    postback_method: 'POST', postback_body: { events: [{ name: 'call', value: '{call.duration}' }] },
  }));
  assert.equal(r.status, 201, r.text);
});

test('fails twice, then one success carrying the click id; nothing after it', async (t) => {
  const rx = await receiver((n) => (n <= 2 ? 503 : 200));
  const o = await startOrigin({ args: ['--postback-retry', '1'] });
  t.after(async () => { await o.stop(); o.cleanup(); rx.close(); });
  await setup(o, {
    postback_url: `${rx.base}/pb?cid={clickid}&sid={call.sid}&d={call.duration}&src={tag:utm_source}&from={caller}&st={call.status}&miss={tag:nothing}`,
  });
  const t0 = await visitAndCall(o, 'CApb1');
  await until(async () => (await callOf(o, 'CApb1')).postback?.state === 'delivered', 'delivery');
  await sleep(1500); // a retry after the success would arrive within this
  assert.equal(rx.got.length, 3);
  const ok = rx.got[2];
  assert.equal(ok.method, 'GET');
  assert.equal(ok.url.searchParams.get('cid'), 'G-abc.123');
  assert.equal(ok.url.searchParams.get('sid'), 'CApb1');
  assert.equal(ok.url.searchParams.get('d'), '42');
  assert.equal(ok.url.searchParams.get('src'), 'google');
  assert.equal(ok.url.searchParams.get('from'), '+1 (555) 000-2222');
  assert.equal(ok.url.searchParams.get('st'), 'completed');
  assert.equal(ok.url.searchParams.get('miss'), '');
  assert.ok(rx.got.every((g) => g.url.href === ok.url.href), 'every attempt sends the same request');
  const c = await callOf(o, 'CApb1');
  assert.equal(c.postback.attempts, 3);
  assert.equal(c.postback.last_status, 200);
  assert.equal(c.postback.last_error, null);
  assert.equal(c.postback.next_at, null);
  assert.ok(c.postback.delivered_at > t0);
  assert.equal(c.session.click_ids.gclid, 'G-abc.123');
  assert.equal(c.session.click_ids.ga_client_id, '123.456');
  assert.equal(await metric(o, 'dni_origin_postback_failures_total'), 2);
  const m = await (await fetch(`${o.base}/metrics`)).text();
  assert.match(m, /dni_origin_postback_outbox\{state="delivered"\} 1/);
  assert.match(m, /dni_origin_postback_outbox\{state="pending"\} 0/);
  // A repeat of the final webhook queues nothing more.
  await webhook(o, { CallSid: 'CApb1', To: '+18885558001', CallStatus: 'completed', Timestamp: String(t0 + 82) });
  await sleep(300);
  assert.equal(rx.got.length, 3);
});

test('the outbox survives kill -9 of the origin mid-retry', async (t) => {
  let healthy = false;
  const rx = await receiver(() => (healthy ? 200 : 500));
  let o = await startOrigin({ args: ['--postback-retry', '2'] });
  const dir = o.dir;
  t.after(async () => { await o.stop(); o.cleanup(); rx.close(); });
  await setup(o, { postback_url: `${rx.base}/pb?cid={clickid}&sid={call.sid}` });
  await visitAndCall(o, 'CApb2');
  await until(() => rx.got.length >= 1, 'first attempt');
  await until(async () => (await callOf(o, 'CApb2')).postback?.attempts >= 1, 'first attempt recorded');
  await o.stop('SIGKILL');
  const before = rx.got.length;
  healthy = true;
  o = await startOrigin({ dir, port: o.port, args: ['--postback-retry', '2'] });
  await until(async () => (await callOf(o, 'CApb2')).postback?.state === 'delivered', 'delivery after restart');
  await sleep(1000);
  const successes = rx.got.slice(before);
  assert.equal(successes.length, 1, 'exactly one request after the restart, and it succeeded');
  assert.equal(successes[0].url.searchParams.get('cid'), 'G-abc.123');
  assert.equal(successes[0].url.searchParams.get('sid'), 'CApb2');
});

test('a receiver that never answers 2xx is given up after the retry window, and the call says so', async (t) => {
  const rx = await receiver((n) => (n % 2 ? 500 : null));
  const o = await startOrigin({ args: ['--postback-retry', '1', '--postback-window', '3', '--postback-timeout', '1'] });
  t.after(async () => { await o.stop(); o.cleanup(); rx.close(); });
  await setup(o, { postback_url: `${rx.base}/pb?cid={clickid}` });
  await visitAndCall(o, 'CApb3');
  const c = await until(async () => {
    const x = await callOf(o, 'CApb3');
    return x.postback?.state === 'failed' ? x : null;
  }, 'giving up');
  const n = rx.got.length;
  assert.ok(n >= 2, `retried (${n} attempts)`);
  assert.equal(c.postback.attempts, n);
  assert.ok(c.postback.last_error, 'the last error is kept');
  assert.equal(c.postback.next_at, null);
  assert.equal(c.postback.delivered_at, null);
  await sleep(2500);
  assert.equal(rx.got.length, n, 'no attempt after giving up');
  assert.equal(await metric(o, 'dni_origin_postback_given_up_total'), 1);
});

test('POST with a JSON body (GA4 Measurement Protocol shape); only completed, attributed calls', async (t) => {
  const rx = await receiver(() => 204);
  const o = await startOrigin();
  t.after(async () => { await o.stop(); o.cleanup(); rx.close(); });
  await setup(o, {
    postback_url: `${rx.base}/mp/collect?measurement_id=G-TEST&api_secret=s3cret`,
    postback_method: 'POST',
    postback_body: {
      client_id: '{tag:ga_client_id}', timestamp_micros: '{call.timestamp_micros}',
      events: [{ name: 'phone_call', params: { session_id: '{tag:ga_session_id}', duration: '{call.duration}', sid: 'call {call.sid}' } }],
    },
  });
  const t0 = await visitAndCall(o, 'CApb4');
  await until(() => rx.got.length === 1, 'delivery');
  const g = rx.got[0];
  assert.equal(g.method, 'POST');
  assert.equal(g.type, 'application/json');
  const body = JSON.parse(g.body);
  assert.equal(body.client_id, '123.456');
  assert.equal(body.timestamp_micros, Math.floor((t0 + 40) * 1e6));
  assert.deepEqual(body.events, [{ name: 'phone_call', params: { session_id: '1700000000', duration: 42, sid: 'call CApb4' } }]);
  // No postback: a call to the default number, an unattributed call, a
  // call that did not complete.
  await webhook(o, { CallSid: 'CApb5', To: '+18005558000', CallStatus: 'completed', CallDuration: '5' });
  await webhook(o, { CallSid: 'CApb6', To: '+18885558001', CallStatus: 'completed', Timestamp: String(now() - 200000), CallDuration: '5' });
  await webhook(o, { CallSid: 'CApb7', To: '+18885558001', CallStatus: 'busy', Timestamp: String(t0 + 50) });
  await sleep(1500);
  assert.equal(rx.got.length, 1);
  for (const sid of ['CApb5', 'CApb6', 'CApb7']) assert.equal((await callOf(o, sid)).postback, null, sid);
});
