// The PostgreSQL schema (origin/sql/pg/) against a throwaway cluster
// (tests/pg_cluster.sh; DNI_PG_URL names its database): it loads, it has
// the same tables, columns (in the same order), indexes and views as the
// SQLite schema (origin/sql/), and its SQL functions answer as SQLite and
// the SQLite store's C functions do.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const URL = process.env.DNI_PG_URL;
const dbName = `schema_${process.pid}`;
const admin = URL ? URL.replace(/\/[^/]*$/, '/postgres') : '';
const url = URL ? URL.replace(/\/[^/]*$/, `/${dbName}`) : '';

function psql(u, sql, { file } = {}) {
  const args = [u, '-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-1'];
  args.push(...(file ? ['-f', file] : ['-c', sql]));
  return execFileSync('psql', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function sqlite(db, sql) {
  return execFileSync('sqlite3', ['-batch', '-separator', '|', db, sql], { encoding: 'utf8' }).trim();
}

const migrations = (dir) => readdirSync(dir).filter((f) => /^\d{3}_.*\.sql$/.test(f)).sort();

let tmp;
before(() => {
  assert.ok(URL, 'DNI_PG_URL names a database of a started cluster (make test-pg-schema)');
  execFileSync('psql', [admin, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${dbName}`], { stdio: 'ignore' });
  execFileSync('psql', [admin, '-X', '-q', '-c', `CREATE DATABASE ${dbName}`]);
  tmp = mkdtempSync(join(tmpdir(), 'dni-pg-schema-'));
});

after(() => {
  if (URL) execFileSync('psql', [admin, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${dbName}`], { stdio: 'ignore' });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('every SQLite migration has its PostgreSQL twin of the same number', () => {
  const lite = migrations('origin/sql').map((f) => f.slice(0, 3));
  const pg = migrations('origin/sql/pg').map((f) => f.slice(0, 3));
  assert.deepEqual(pg, lite);
});

test('functions and migrations load, each in its own transaction', () => {
  psql(url, '', { file: 'origin/sql/pg/functions.sql' });
  for (const f of migrations('origin/sql/pg')) psql(url, '', { file: join('origin/sql/pg', f) });
  // The functions file runs again at every start: it must be repeatable.
  psql(url, '', { file: 'origin/sql/pg/functions.sql' });
});

test('tables, columns, indexes and views match the SQLite schema', () => {
  const lite = join(tmp, 'lite.db');
  for (const f of migrations('origin/sql')) {
    execFileSync('sqlite3', [lite], { input: readFileSync(join('origin/sql', f), 'utf8') });
  }
  const liteTables = sqlite(lite, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").split('\n');
  const pgTables = psql(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1").split('\n');
  assert.deepEqual(pgTables, liteTables);
  for (const t of liteTables) {
    const lc = sqlite(lite, `SELECT name FROM pragma_table_info('${t}') ORDER BY cid`).split('\n');
    const pc = psql(url, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '${t}' ORDER BY ordinal_position`).split('\n');
    assert.deepEqual(pc, lc, `columns of ${t}`);
  }
  const liteIdx = sqlite(lite, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").split('\n');
  const pgIdx = psql(url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY 1").split('\n');
  assert.deepEqual(pgIdx, liteIdx);
  const liteViews = sqlite(lite, "SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name");
  const pgViews = psql(url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1");
  assert.equal(pgViews, liteViews);
});

test('the pool telephony row follows the pool object, as on SQLite', () => {
  const config = JSON.stringify({
    record_calls: true, provider: { kind: 'twilio', country: 'GB', toll_free: false, area_code: '20' },
    auto_scale: { enabled: true, step_s: 60, step_numbers: 2, max: 9 }, number_limit: 5, stockpile: 1,
  });
  psql(url, `INSERT INTO pools (id, version, config, default_number, created_at, updated_at) VALUES ('p1', 1, '${config}', '+15550000000', 1, 1)`);
  assert.equal(psql(url, 'SELECT forward_to, record_calls, provider_kind, provider_country, provider_toll_free, provider_area_code, scale_enabled, scale_step_s, scale_step_numbers, scale_max, stockpile, number_limit, attribution_window_s FROM pool_telephony'),
    '+15550000000|1|twilio|GB|0|20|1|60|2|9|1|5|86400');
  psql(url, `UPDATE pools SET config = '{"forward_to":"+15559999999","number_limit":4}' WHERE id = 'p1'`);
  assert.equal(psql(url, 'SELECT forward_to, record_calls, provider_kind, scale_enabled, scale_max FROM pool_telephony'),
    '+15559999999|0|inventory|0|4');
  psql(url, "DELETE FROM pools WHERE id = 'p1'");
  assert.equal(psql(url, 'SELECT count(*) FROM pool_telephony'), '0');
});

test('overflow counters feed overflow_recent only when they grow', () => {
  psql(url, "INSERT INTO overflow_counts (pool_id, hour, n) VALUES ('p', 1, 3)");
  psql(url, "UPDATE overflow_counts SET n = 5");
  psql(url, "UPDATE overflow_counts SET n = 4");
  assert.equal(psql(url, "SELECT sum(n) FROM overflow_recent WHERE pool_id = 'p'"), '5');
});

test('SQL functions answer as on SQLite', () => {
  const doc = `'{"a":{"b":true},"c":"x","d":3.5,"e":{"f":1},"g":null,"h":false}'`;
  assert.equal(psql(url, `SELECT json_extract(${doc}, '$.a.b'), json_extract(${doc}, '$.c'), json_extract(${doc}, '$.d'), json_extract(${doc}, '$.e.f'), coalesce(json_extract(${doc}, '$.g'), 'null'), json_extract(${doc}, '$.h'), coalesce(json_extract(${doc}, '$.zz'), 'absent')`),
    '1|x|3.5|1|null|0|absent');
  assert.deepEqual(JSON.parse(psql(url, `SELECT json_patch('{"a":1,"b":{"c":2},"k":"v"}', '{"b":{"d":3},"a":null}')`)),
    { b: { c: 2, d: 3 }, k: 'v' });
  assert.equal(psql(url, "SELECT instr('+15551234', '123'), instr('abc', 'z')"), '6|0');
  assert.equal(psql(url, 'SELECT sum(x > 1), coalesce(sum(x > 9), 0), sum(x IS NULL) FROM (VALUES (1), (2), (3)) v(x)'), '2|0|0');
  assert.equal(psql(url, 'SELECT coalesce(sum(x > 1), -1) FROM (VALUES (1)) v(x) WHERE false'), '-1');
});

test('dni_lease_end follows the core formula on the pool settings', () => {
  psql(url, `INSERT INTO pools (id, version, config, default_number, created_at, updated_at, settings) VALUES ('p2', 1, '{}', '+1', 1, 1, '{"buffer_s":10,"min_hold_s":20,"max_lease_s":100,"attribution_window_s":1000}')`);
  psql(url, `INSERT INTO pools (id, version, config, default_number, created_at, updated_at) VALUES ('p3', 1, '{}', '+1', 1, 1)`);
  // min hold, seen + buffer, the cap from the latest join, released, window.
  assert.equal(psql(url, "SELECT dni_lease_end('p2', 0, 5, 0, NULL, 0), dni_lease_end('p2', 0, 50, 0, NULL, 0), dni_lease_end('p2', 0, 500, 0, NULL, 0), dni_lease_end('p2', 0, 500, 450, NULL, 0), dni_lease_end('p2', 0, 0, 0, 7, 1), coalesce(dni_lease_end('zz', 0, 0, 0, 7, 1), -1)"),
    '20|60|100|510|1007|-1');
  // No stored settings: the core's defaults (60, 300, 1800, 86400).
  assert.equal(psql(url, "SELECT dni_lease_end('p3', 0, 1000, 0, NULL, 0), dni_lease_end('p3', 0, 5000, 0, NULL, 1)"), '1060|88200');
});

