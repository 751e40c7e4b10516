// edge/serve.mjs --help lists every option the launcher takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

test('serve.mjs --help lists every option', () => {
  const serve = join(ROOT, 'edge/serve.mjs');
  const help = execFileSync(process.execPath, [serve, '--help'], { encoding: 'utf8' });
  const options = [...readFileSync(serve, 'utf8').matchAll(/case '(--[a-z-]+)'/g)].map((m) => m[1]);
  assert.ok(options.length >= 20, options.join(' '));
  for (const o of options) assert.match(help, new RegExp(`^\\s+(-h, )?${o}\\b`, 'm'), `${o} in --help`);
  assert.match(help, /DNI_EDGE_SECRET/);
});
