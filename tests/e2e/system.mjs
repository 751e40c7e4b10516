// The whole system as `make run` starts it (demo/run.mjs), on free ports
// with its state in a temporary folder, for the end-to-end suites.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = resolve(ROOT, process.env.DNI_BUILD || 'build');
export const DNI = join(BUILD, 'bin/dni');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

export function readEnvFile(file) {
  const out = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

// Starts cmd (default: node demo/run.mjs) and waits for its "is running"
// banner. Returns {edge, origin, site, secrets, output(), stop(signal)}.
export async function startSystem({ cmd, args, extraEnv = {}, timeoutMs = 60000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dni-e2e-'));
  const ports = { edge: await freePort(), origin: await freePort(), site: await freePort() };
  const env = {
    ...process.env, DNI_VAR: join(dir, 'var'), DNI_BUILD: BUILD,
    DNI_EDGE_PORT: String(ports.edge), DNI_ORIGIN_PORT: String(ports.origin), DNI_SITE_PORT: String(ports.site),
    ...extraEnv,
  };
  const proc = spawn(cmd || process.execPath, args || [join(ROOT, 'demo/run.mjs')], {
    cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const t0 = Date.now();
  await new Promise((res, rej) => {
    const timer = setInterval(() => {
      if (out.includes('edgedni is running')) { clearInterval(timer); res(); }
      else if (proc.exitCode !== null || Date.now() - t0 > timeoutMs) {
        clearInterval(timer);
        rej(new Error(`the system did not start:\n${out}`));
      }
    }, 20);
  });
  const sys = {
    dir, ports, proc, exited, readyMs: Date.now() - t0,
    edge: `http://127.0.0.1:${ports.edge}`,
    origin: `http://127.0.0.1:${ports.origin}`,
    site: `http://127.0.0.1:${ports.site}`,
    secrets: readEnvFile(join(dir, 'var/demo.env')),
    output: () => out,
    runFile: () => JSON.parse(readFileSync(join(dir, 'var/run.json'), 'utf8')),
    // Signals the whole group (as Ctrl-C in a terminal does) or the
    // main process only; resolves with {code, signal, ms}.
    async stop(signal = 'SIGINT', group = true) {
      const s = Date.now();
      if (proc.exitCode === null && proc.signalCode === null) {
        try { process.kill(group ? -proc.pid : proc.pid, signal); } catch { /* gone */ }
      }
      const r = await exited;
      return { ...r, ms: Date.now() - s };
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  return sys;
}

export async function admin(sys, method, path, body) {
  const r = await fetch(sys.origin + path, {
    method,
    headers: { authorization: `Bearer ${sys.secrets.DNI_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

// A browser's User-Agent: the edge leaves robots (and HeadlessChrome)
// alone, so the suites present themselves as an ordinary Chrome.
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

// Headless Chromium from the machine (never a downloaded browser).
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.DNI_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// A page that records what it requested and every console error.
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ userAgent: BROWSER_UA, viewport: { width, height } });
  const page = await context.newPage();
  page.requests = [];
  page.errors = [];
  page.on('request', (r) => page.requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(e.message));
  return { context, page };
}

export async function until(what, fn, ms = 20000) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Headers of a browser's page load (node's fetch says "cors" unless told).
export const NAVIGATION = {
  'user-agent': BROWSER_UA, accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document',
};

// GET url as a browser's page load and resolve to its body. Plain
// node:http, since node's fetch always says "Sec-Fetch-Mode: cors".
export async function navigate(url) {
  const { request } = await import('node:http');
  return new Promise((res, rej) => {
    const req = request(url, { headers: NAVIGATION }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => { body += d; });
      r.on('end', () => res(body));
    });
    req.on('error', rej);
    req.end();
  });
}
