// /_dni/dni.js: the browser snippet (js/dni.js, or its minified copy when
// the build made one), embedded in the worker at start as env.SNIPPET.
//
// Caching: the answer carries an ETag (a hash of the script) and a day of
// freshness with a week of stale-while-revalidate, so a visitor's browser
// and any CDN in front keep it without asking, and a new version reaches
// everyone within a day. `/_dni/dni.js?v=<etag>` (the hash in the URL) is
// immutable for a year: a site that pins the version pays nothing at all.

let cached = null; // {text, etag} for the SNIPPET text it was made from

async function snippetEtag(text) {
  if (cached && cached.text === text) return cached.etag;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const hex = [...new Uint8Array(digest).slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('');
  cached = { text, etag: hex };
  return hex;
}

export async function snippetRoute(request, env, url) {
  if (!env.SNIPPET) return new Response('not found\n', { status: 404 });
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('use GET\n', { status: 405, headers: { allow: 'GET, HEAD' } });
  }
  const tag = await snippetEtag(env.SNIPPET);
  const pinned = url.searchParams.get('v') === tag;
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': pinned ? 'public, max-age=31536000, immutable'
      : 'public, max-age=86400, stale-while-revalidate=604800',
    etag: `"${tag}"`,
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
  };
  const inm = request.headers.get('if-none-match') || '';
  if (inm.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${tag}"` || t.trim() === '*')) {
    return new Response(null, { status: 304, headers });
  }
  // Naming gzip makes the runtime compress the answer for the client.
  if (/\bgzip\b/i.test(request.headers.get('accept-encoding') || '')) headers['content-encoding'] = 'gzip';
  return new Response(request.method === 'HEAD' ? null : env.SNIPPET, { headers });
}
