// HTTP clients as a script would use them, for the edge suites: the real
// programs where this machine has them (curl, wget, Python's urllib and
// requests, Java, Node's fetch, axios) and, for the others, the exact
// headers their defaults send (httpx, Go, okhttp). Each returns
// {status, body, setCookie: [..]}.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function have(cmd, args = ['--version']) {
  try { await run(cmd, args, { timeout: 20000 }); return true; } catch { return false; }
}

// "HTTP/1.1 200 OK\r\nA: b\r\n..." -> {status, setCookie}
function parseHead(text) {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^\s*HTTP\/\d/.test(b));
  const head = blocks[blocks.length - 1] || '';
  const lines = head.trim().split(/\r?\n/);
  const status = Number((/HTTP\/[\d.]+ (\d{3})/.exec(lines[0]) || [])[1]);
  const setCookie = lines.filter((l) => /^\s*set-cookie:/i.test(l)).map((l) => l.replace(/^\s*set-cookie:\s*/i, ''));
  return { status, setCookie };
}

async function byHeaders(url, headers) {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), setCookie: res.headers.getSetCookie() };
}

const PY_URLLIB = `import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1])
sys.stdout.write("%d\\n" % r.status)
for k, v in r.getheaders():
    if k.lower() == "set-cookie": sys.stdout.write("set-cookie: %s\\n" % v)
sys.stdout.write("\\n")
sys.stdout.buffer.write(r.read())`;

const PY_REQUESTS = `import sys, requests
r = requests.get(sys.argv[1])
sys.stdout.write("%d\\n" % r.status_code)
for c in r.raw.headers.getlist("Set-Cookie"): sys.stdout.write("set-cookie: %s\\n" % c)
sys.stdout.write("\\n")
sys.stdout.buffer.write(r.content)`;

const JAVA = `import java.net.*; import java.io.*; import java.util.*;
public class Get { public static void main(String[] a) throws Exception {
  HttpURLConnection c = (HttpURLConnection) new URL(a[0]).openConnection();
  int s = c.getResponseCode(); StringBuilder out = new StringBuilder(); out.append(s).append("\\n");
  List<String> sc = c.getHeaderFields().get("Set-Cookie"); if (sc != null) for (String x : sc) out.append("set-cookie: ").append(x).append("\\n");
  out.append("\\n"); System.out.print(out);
  InputStream in = c.getInputStream(); byte[] b = in.readAllBytes(); System.out.write(b); System.out.flush(); } }`;

function parseScript(stdout) {
  const i = stdout.indexOf('\n\n');
  const head = stdout.slice(0, i).split('\n');
  return { status: Number(head[0]), setCookie: head.slice(1).map((l) => l.replace(/^set-cookie: /, '')),
    body: stdout.slice(i + 2) };
}

// [{name, get(url)}] for this machine; list.cleanup() removes the
// helper files.
export async function scriptedClients() {
  const dir = mkdtempSync(join(tmpdir(), 'dni-clients-'));
  const list = [];
  if (await have('curl')) {
    list.push({ name: 'curl', get: async (url) => {
      const file = join(dir, `curl-head-${Math.random().toString(36).slice(2)}`);
      const { stdout } = await run('curl', ['-s', '-D', file, url], { maxBuffer: 1 << 24 });
      return { ...parseHead(readFileSync(file, 'latin1')), body: stdout };
    } });
  }
  if (await have('wget')) {
    list.push({ name: 'wget', get: async (url) => {
      const { stdout, stderr } = await run('wget', ['-q', '-S', '-O', '-', url], { maxBuffer: 1 << 24 });
      const head = parseHead(stderr.replace(/^ {2}/gm, '') + '\n\n');
      return { ...head, body: stdout };
    } });
  }
  if (await have('python3')) {
    writeFileSync(join(dir, 'urllib_get.py'), PY_URLLIB);
    list.push({ name: 'Python-urllib', get: async (url) => parseScript((await run('python3', [join(dir, 'urllib_get.py'), url])).stdout) });
    if (await have('python3', ['-c', 'import requests'])) {
      writeFileSync(join(dir, 'requests_get.py'), PY_REQUESTS);
      list.push({ name: 'python-requests', get: async (url) => parseScript((await run('python3', [join(dir, 'requests_get.py'), url])).stdout) });
    }
  }
  if (await have('java', ['-version'])) {
    writeFileSync(join(dir, 'Get.java'), JAVA);
    list.push({ name: 'Java', get: async (url) => parseScript((await run('java', [join(dir, 'Get.java'), url], { timeout: 60000 })).stdout) });
  }
  list.push({ name: 'node fetch', get: async (url) => {
    const res = await fetch(url);
    return { status: res.status, body: await res.text(), setCookie: res.headers.getSetCookie() };
  } });
  list.push({ name: 'axios', get: async (url) => {
    const axios = (await import('axios')).default;
    const r = await axios.get(url, { responseType: 'text', transformResponse: (x) => x });
    const sc = r.headers['set-cookie'];
    return { status: r.status, body: r.data, setCookie: Array.isArray(sc) ? sc : sc ? [sc] : [] };
  } });
  // Default headers of clients this machine may not have.
  list.push({ name: 'python-httpx', get: (url) => byHeaders(url, { 'user-agent': 'python-httpx/0.27.0', accept: '*/*' }) });
  list.push({ name: 'Go', get: (url) => byHeaders(url, { 'user-agent': 'Go-http-client/1.1' }) });
  list.push({ name: 'okhttp', get: (url) => byHeaders(url, { 'user-agent': 'okhttp/4.12.0' }) });
  list.push({ name: 'Java (headers)', get: (url) => byHeaders(url, { 'user-agent': 'Java/17.0.9', accept: 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2' }) });
  list.push({ name: 'no User-Agent', get: (url) => byHeaders(url, { 'user-agent': '', accept: 'text/html' }) });
  list.cleanup = () => rmSync(dir, { recursive: true, force: true });
  return list;
}

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const NAV = { 'user-agent': CHROME, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

// Requests a browser makes that are not a visit: [{name, headers}].
export const NOT_VISITS = [
  { name: 'prefetch (Sec-Purpose)', headers: { ...NAV, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-purpose': 'prefetch' } },
  { name: 'prerender (Sec-Purpose)', headers: { ...NAV, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-purpose': 'prefetch;prerender' } },
  { name: 'prefetch (Purpose)', headers: { ...NAV, purpose: 'prefetch' } },
  { name: 'fetch() from a page', headers: { ...NAV, 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' } },
  { name: '<img> on another site', headers: { 'user-agent': CHROME, accept: 'image/avif,image/webp,*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } },
  { name: 'iframe', headers: { ...NAV, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' } },
  { name: 'browser UA without Accept: text/html', headers: { 'user-agent': CHROME, accept: '*/*' } },
  { name: 'headless Chrome', headers: { ...NAV, 'user-agent': CHROME.replace('Chrome/', 'HeadlessChrome/') } },
  { name: 'Googlebot', headers: { ...NAV, 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' } },
];
