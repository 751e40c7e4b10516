// Deploys: the edge bundle is accepted by `wrangler deploy --dry-run`
// (offline) and its entry point runs on workerd, serving the snippet it
// carries as a module; the origin's systemd unit passes
// `systemd-analyze verify` when the machine has systemd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
test('systemd-analyze verify accepts origin/dni-origin.service', { skip: !analyze && 'no systemd-analyze here' }, () => {
  // The unit names the installed binary; verify checks that it exists,
  // so the copy checked points at the one just built.
  const unit = join(dir, 'dni-origin.service');
  writeFileSync(unit, readFileSync(join(ROOT, 'origin/dni-origin.service'), 'utf8')
    .replaceAll('/usr/local/bin/dni-origin', join(BUILD, 'bin/dni-origin')));
  const r = spawnSync(analyze, ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stdout + r.stderr).trim(), '', 'no warning');
  const text = readFileSync(join(ROOT, 'origin/dni-origin.service'), 'utf8');
  for (const k of ['DynamicUser=yes', 'StateDirectory=dni-origin', 'EnvironmentFile=', 'ProtectSystem=strict', 'NoNewPrivileges=yes']) {
    assert.ok(text.includes(k), k);
  }
  assert.doesNotMatch(text, /DNI_ADMIN_TOKEN=[^…\n]/, 'no secret in the unit');
});
