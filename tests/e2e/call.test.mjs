// `dni call`: a signed webhook sequence the origin accepts, the call read
// back with its attribution, and bad input refused with one line and exit
// status 2 before anything is sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startOrigin, ADMIN } from '../origin/helpers.mjs';
import { DNI } from './system.mjs';

const TOKEN = 'twilio-token-for-tests';
let o;

before(async () => {
  o = await startOrigin({ unsigned: false, env: { DNI_TWILIO_AUTH_TOKEN: TOKEN } });
  const r = await fetch(`${o.base}/v1/pools`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'p1', numbers: ['+18885550001', '+18885550002'], default_number: '+18005551234' }),
  });
  assert.equal(r.status, 201);
});
after(async () => { await o.stop(); o.cleanup(); });

function call(args, env = {}) {
  return spawnSync(DNI, ['call', ...args], {
    encoding: 'utf8', env: { ...process.env, DNI_TWILIO_AUTH_TOKEN: TOKEN, DNI_ADMIN_TOKEN: ADMIN, ...env },
  });
}

async function callCount() {
  const r = await fetch(`${o.base}/v1/calls?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await r.json()).calls.length;
}

test('a signed ringing, in-progress, completed sequence is recorded and read back', () => {
  const r = call(['--origin', o.base, '--to', '(888) 555-0001', '--from', '+1 555 010 9999',
    '--duration', '42', '--wait', '0', '--sid', 'CAtest1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.sid, 'CAtest1');
  assert.equal(c.to, '+18885550001');
  assert.equal(c.from, '+15550109999');
  assert.equal(c.status, 'completed');
  assert.equal(c.pool, 'p1');
  assert.equal(c.attribution, 'unattributed');
  assert.ok(Math.abs(c.ended_at - c.started_at - 45) < 0.01, 'answered after 3 s, then 42 s of talk');
});

test('the readable summary says why a call is not attributed', () => {
  const r = call(['--origin', `${o.base}/`, '--to', '+18005551234', '--duration', '5']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /to \+18005551234: completed, pool p1/);
  assert.match(r.stdout, /dialled the site's own number/);
  assert.match(r.stderr, /ringing → \+18005551234/);
});

test('other status sequences are sent as given', () => {
  const r = call(['--origin', o.base, '--to', '+18885550002', '--status-sequence', 'ringing,no-answer',
    '--wait', '0', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).status, 'no-answer');
});

test('without the provider token the webhooks are unsigned and refused: exit 1, one clear line', () => {
  const r = call(['--origin', o.base, '--to', '+18885550001'], { DNI_TWILIO_AUTH_TOKEN: '' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refused 'ringing' \(403\).*DNI_TWILIO_AUTH_TOKEN/);
});

test('a wrong provider token is refused (the signature is checked)', () => {
  const r = call(['--origin', o.base, '--to', '+18885550001'], { DNI_TWILIO_AUTH_TOKEN: 'not-the-token' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\(403\)/);
});

test('without the admin token the call is sent but not read back', () => {
  const r = call(['--origin', o.base, '--to', '+18885550002'], { DNI_ADMIN_TOKEN: '' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /recorded; set DNI_ADMIN_TOKEN/);
});

test('an unreachable origin is exit 1 with the reason', () => {
  const r = call(['--origin', 'http://127.0.0.1:9', '--to', '+18885550001']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^dni call: POST http:\/\/127\.0\.0\.1:9\/v1\/webhooks\/call: /);
});

test('bad input: one line on stderr, exit 2, nothing sent', async () => {
  const before = await callCount();
  const cases = [
    [[], /--origin URL is required/],
    [['--origin', o.base], /--to NUMBER is required/],
    [['--origin', 'ftp://x', '--to', '+18885550001'], /--origin must be an http\(s\) URL/],
    [['--origin', o.base, '--to', '12'], /--to is not a phone number/],
    [['--origin', o.base, '--to', '+18885550001', '--from', 'abc'], /--from is not a phone number/],
    [['--origin', o.base, '--to', '+18885550001', '--duration', '-5'], /--duration needs a whole number/],
    [['--origin', o.base, '--to', '+18885550001', '--duration', '1e3'], /--duration must be a whole number/],
    [['--origin', o.base, '--to', '+18885550001', '--status-sequence', 'ringing,picked-up'], /unknown call status 'picked-up'/],
    [['--origin', o.base, '--to', '+18885550001', '--status-sequence', ','], /--status-sequence is empty/],
    [['--origin', o.base, '--to', '+18885550001', '--sid', 'CA<script>'], /--sid: 2\.\.34 letters and digits/],
    [['--origin', o.base, '--to', '+18885550001', '--bogus'], /unknown argument '--bogus'/],
    [['--origin', o.base, '--to'], /--to needs a value/],
  ];
  for (const [args, re] of cases) {
    const r = call(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
    assert.equal(r.stdout, '');
  }
  assert.equal(await callCount(), before);
});

test('--help prints every option on stdout and exits 0, sending nothing', async () => {
  const before = await callCount();
  const r = call(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const opt of ['--origin URL', '--to NUMBER', '--from', '--duration', '--status-sequence', '--sid', '--wait', '--json', 'DNI_TWILIO_AUTH_TOKEN', 'DNI_ADMIN_TOKEN']) {
    assert.ok(r.stdout.includes(opt), opt);
  }
  assert.equal(await callCount(), before);
});
