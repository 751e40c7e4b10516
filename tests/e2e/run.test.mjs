// `make run` itself: from a fresh state folder it answers on its URLs (the
// edge, the dashboard, the sample site), Ctrl-C stops every part within
// 10 s with a friendly line, nothing is left running, and `make stop`
// ends the parts of a run whose main process was killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startSystem, ROOT, navigate } from './system.mjs';

function alive(pid) {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/\) Z /.test(readStat(pid)); } catch { return false; }
}
function readStat(pid) { return spawnSync('cat', [`/proc/${pid}/stat`]).stdout.toString(); }

test('make run answers on its URLs and Ctrl-C stops everything cleanly', { timeout: 120000 }, async () => {
  const sys = await startSystem({ cmd: 'make', args: ['--no-print-directory', 'run'] });
  try {
    const run = sys.runFile();
    const pids = run.children.map((c) => c.pid);
    const page = await navigate(`${sys.edge}/`);
    assert.match(page, /Harbor Plumbing/);
    assert.match(page, /tel:\+1-888-555-/, 'the edge put a tracking number on the page');
    const site = await (await fetch(`${sys.site}/`)).text();
    assert.match(site, /tel:\+1-800-555-1234/, 'the site itself shows its own number');
    const health = await fetch(`${sys.origin}/healthz`);
    assert.equal(health.status, 200);
    assert.match(sys.output(), /admin token: [0-9a-f]{24}/);
    assert.match(sys.output(), /dni call --origin /);

    const stopped = await sys.stop('SIGINT');
    assert.ok(stopped.ms < 10000, `stopped in ${stopped.ms} ms`);
    assert.match(sys.output(), /edgedni stopped/);
    assert.doesNotMatch(sys.output(), /\berror\b|Interrupt|exited \(|stopped on its own/i);
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still runs`);
    assert.equal(existsSync(join(sys.dir, 'var/run.json')), false);
    console.log(`# make run: ready after ${sys.readyMs} ms, stopped ${stopped.ms} ms after SIGINT`);
  } finally {
    await sys.stop('SIGKILL');
    sys.cleanup();
  }
});

test('make stop ends what a killed make run left behind', { timeout: 60000 }, async () => {
  const sys = await startSystem();
  try {
    const pids = sys.runFile().children.map((c) => c.pid);
    // The main process dies without cleaning up: its parts keep running.
    await sys.stop('SIGKILL', false);
    assert.ok(pids.every(alive));
    const r = spawnSync('make', ['--no-print-directory', 'stop'], {
      cwd: ROOT, env: { ...process.env, DNI_VAR: join(sys.dir, 'var') }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /stopped .*origin/);
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still runs`);
    const again = spawnSync('make', ['--no-print-directory', 'stop'], {
      cwd: ROOT, env: { ...process.env, DNI_VAR: join(sys.dir, 'var') }, encoding: 'utf8',
    });
    assert.match(again.stdout, /nothing to stop/);
  } finally {
    for (const c of (() => { try { return sys.runFile().children; } catch { return []; } })()) {
      try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    sys.cleanup();
  }
});
