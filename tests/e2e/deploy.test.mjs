// Deploys: the edge bundle is accepted by `wrangler deploy --dry-run`
// (offline) and its entry point runs on workerd, serving the snippet it
// carries as a module; the origin's systemd unit passes
// `systemd-analyze verify` when the machine has systemd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, BUILD, freePort, until } from './system.mjs';
import { buildConfig } from '../../edge/workerd_config.mjs';

const dir = mkdtempSync(join(tmpdir(), 'dni-deploy-'));
const bundle = join(dir, 'edge-bundle');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('make edge-bundle makes a folder with the worker, the binding, dni.wasm and the snippet', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'edge/bundle.mjs'), '--out', bundle],
    { encoding: 'utf8', env: { ...process.env, DNI_BUILD: BUILD } });
  assert.equal(r.status, 0, r.stderr);
  const files = readdirSync(bundle).sort();
  for (const f of ['main.mjs', 'worker.mjs', 'pool_shard.mjs', 'edge_sync.mjs', 'dni.mjs', 'dni.wasm', 'dni.js.txt', 'wrangler.toml']) {
    assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
  }
  for (const f of ['serve.mjs', 'workerd_config.mjs', 'bundle.mjs', 'cache_service.mjs']) {
    assert.ok(!files.includes(f), `the Node-only ${f} is not deployed`);
  }
  assert.deepEqual(readFileSync(join(bundle, 'dni.wasm')), readFileSync(join(BUILD, 'wasm/dni.wasm')));
  // Every module a deployed file imports is in the folder (a module added
  // to the worker but not to WORKER_MODULES would fail on Cloudflare).
  for (const f of files.filter((x) => x.endsWith('.mjs'))) {
    const src = readFileSync(join(bundle, f), 'utf8');
    for (const m of src.matchAll(/(?:from|import\()\s*'\.\/([^']+)'/g)) {
      assert.ok(files.includes(m[1]), `${f} imports ./${m[1]}, which is not in the bundle`);
    }
  }
});

test('wrangler deploy --dry-run accepts the bundle as it is', { timeout: 120000 }, () => {
  const home = join(dir, 'home');
  const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', join(dir, 'out')], {
    cwd: bundle, encoding: 'utf8', timeout: 110000,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(out, /--dry-run: exiting now/);
  for (const m of ['worker.mjs', 'pool_shard.mjs', 'dni.wasm', 'dni.js.txt']) assert.match(out, new RegExp(m.replace('.', '\\.')), m);
  assert.match(out, /env\.POOLS \(PoolShard\)/);
  assert.match(out, /env\.SYNC \(EdgeSync\)/);
});

test('the bundle\'s entry point runs on workerd and serves the snippet it carries', { timeout: 60000 }, async () => {
  const port = await freePort();
  const config = buildConfig({
    port, upstream: 'http://127.0.0.1:9', origin: 'http://127.0.0.1:9', state: join(dir, 'workerd'),
    mainModule: join(bundle, 'main.mjs'), snippet: join(dir, 'no-snippet-binding.js'),
    extraModules: [{ name: 'dni.js.txt', type: 'text', path: join(bundle, 'dni.js.txt') }],
  });
  const proc = spawn(join(ROOT, 'node_modules/.bin/workerd'), ['serve', config, '--experimental'], { stdio: 'ignore' });
  try {
    const res = await until('workerd', async () => {
      try { return await fetch(`http://127.0.0.1:${port}/_dni/dni.js`); } catch { return null; }
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), readFileSync(join(bundle, 'dni.js.txt'), 'utf8'));
  } finally {
    proc.kill('SIGTERM');
  }
});

const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
test('systemd-analyze verify accepts origin/dni-origin.service and the backup service and timer', { skip: !analyze && 'no systemd-analyze here' }, () => {
  // The unit names the installed binary; verify checks that it exists,
  // so the copy checked points at the one just built. The backup service
  // requires the origin's unit, so the three are checked together.
  const units = join(dir, 'units');
  mkdirSync(units);
  writeFileSync(join(units, 'dni-origin.service'), readFileSync(join(ROOT, 'origin/dni-origin.service'), 'utf8')
    .replaceAll('/usr/local/bin/dni-origin', join(BUILD, 'bin/dni-origin')));
  for (const f of ['dni-origin-backup.service', 'dni-origin-backup.timer']) copyFileSync(join(ROOT, 'origin', f), join(units, f));
  const r = spawnSync(analyze, ['verify', 'dni-origin.service', 'dni-origin-backup.service', 'dni-origin-backup.timer'],
    { cwd: units, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stdout + r.stderr).trim(), '', 'no warning');
  const text = readFileSync(join(ROOT, 'origin/dni-origin.service'), 'utf8');
  for (const k of ['DynamicUser=yes', 'StateDirectory=dni-origin', 'EnvironmentFile=', 'ProtectSystem=strict', 'NoNewPrivileges=yes']) {
    assert.ok(text.includes(k), k);
  }
  assert.doesNotMatch(text, /DNI_ADMIN_TOKEN=[^…\n]/, 'no secret in the unit');
});

// The backup service's own command line (systemd's quoting undone: $$ and
// %% are one character, \" a quote), pointed at a temporary folder, run
// against a live origin that is writing; the backup is a database another
// origin starts on with every pool in it.
function backupCommand(db, backups) {
  const unit = readFileSync(join(ROOT, 'origin/dni-origin-backup.service'), 'utf8');
  const m = /^ExecStart=\/bin\/sh -c "(.*)"$/m.exec(unit);
  assert.ok(m, 'ExecStart=/bin/sh -c "…"');
  assert.match(m[1], /VACUUM INTO/);
  return m[1].replaceAll('\\"', '"').replaceAll('$$', '$').replaceAll('%%', '%')
    .replaceAll('/var/lib/dni-origin/origin.db', db).replaceAll('/var/backups/edgedni', backups);
}

const sqlite3 = spawnSync('sh', ['-c', 'command -v sqlite3'], { encoding: 'utf8' }).stdout.trim();
test('the backup service\'s VACUUM INTO copies a live database that a new origin starts from', { skip: !sqlite3 && 'no sqlite3 here', timeout: 60000 }, async () => {
  const token = 'backup-test-token';
  const start = async (db) => {
    const port = await freePort();
    const proc = spawn(join(BUILD, 'bin/dni-origin'), ['--listen', `127.0.0.1:${port}`, '--db', db, '--quiet'],
      { env: { ...process.env, DNI_ADMIN_TOKEN: token }, stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}`;
    await until('dni-origin', async () => { try { return (await fetch(`${url}/healthz`)).ok; } catch { return false; } });
    const req = (method, path, body) => fetch(url + path, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    return { proc, req };
  };
  const db = join(dir, 'live.db');
  const backups = join(dir, 'backups');
  mkdirSync(backups);
  const live = await start(db);
  let writing = true;
  try {
    for (let i = 0; i < 5; i++) {
      const r = await live.req('POST', '/v1/pools', { id: `p${i}`, numbers: [`+1888555070${i}`], default_number: '+18005551234' });
      assert.equal(r.status, 201, await r.text());
    }
    // Writes go on while the backup runs.
    const writer = (async () => {
      for (let i = 0; writing; i++) await live.req('PATCH', '/v1/pools/p0', { name: `n${i}` });
    })();
    const r = spawnSync('sh', ['-c', backupCommand(db, backups)], { encoding: 'utf8' });
    writing = false;
    await writer;
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(backups);
    assert.equal(files.length, 1, files.join(' '));
    assert.match(files[0], /^origin-\d{8}T\d{6}Z\.db$/);
    const check = spawnSync(sqlite3, [join(backups, files[0]), 'PRAGMA integrity_check'], { encoding: 'utf8' });
    assert.equal(check.stdout.trim(), 'ok');
    const restored = await start(join(backups, files[0]));
    try {
      const list = await (await restored.req('GET', '/v1/pools')).json();
      const pools = Array.isArray(list) ? list : list.pools;
      assert.deepEqual(pools.map((p) => p.id).sort(), ['p0', 'p1', 'p2', 'p3', 'p4']);
    } finally {
      restored.proc.kill('SIGTERM');
    }
  } finally {
    writing = false;
    live.proc.kill('SIGTERM');
  }
});
