// A local fake of the part of Twilio's REST API (2010-04-01) that the
// origin's Twilio provider uses, answering as Twilio documents it:
//
//   GET    /2010-04-01/Accounts/{AC}/AvailablePhoneNumbers/{CC}/Local.json
//   GET    /2010-04-01/Accounts/{AC}/AvailablePhoneNumbers/{CC}/TollFree.json
//   POST   /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json
//   GET    /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json
//   DELETE /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json
//
// Success bodies have the shapes of Twilio's published OpenAPI description
// (tests/origin/fake_twilio.test.mjs checks them against it); errors are
// {code, message, more_info, status}. Basic authentication is required.
//
// Tests steer it: which numbers are for sale, and what the next purchase
// does (fail with a status, hang after or before buying, answer 500 after
// buying). Everything it did is recorded (purchases, releases, requests).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const hex = (n) => randomBytes(n).toString('hex');
export const ACCOUNT = 'AC' + 'a1'.repeat(16);
export const KEY = 'SK' + 'b2'.repeat(16);
export const SECRET = 'fake-twilio-secret';

function rfc2822(d = new Date()) {
  return d.toUTCString().replace('GMT', '+0000');
}

function friendly(e164) {
  const d = e164.replace(/^\+1/, '');
  return d.length === 10 ? `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}` : e164;
}

// An AvailablePhoneNumbers entry.
function available(number, { region = 'CA', locality = 'San Francisco', tollFree = false } = {}) {
  return {
    friendly_name: friendly(number),
    phone_number: number,
    lata: tollFree ? null : '722',
    locality: tollFree ? null : locality,
    rate_center: tollFree ? null : locality.toUpperCase().slice(0, 10),
    latitude: tollFree ? null : 37.77,
    longitude: tollFree ? null : -122.42,
    region: tollFree ? null : region,
    postal_code: tollFree ? null : '94103',
    iso_country: 'US',
    address_requirements: 'none',
    beta: false,
    capabilities: { mms: true, sms: true, voice: true, fax: false },
  };
}

// An IncomingPhoneNumber resource.
function incoming(account, sid, number, form, now) {
  return {
    account_sid: account,
    address_sid: null,
    address_requirements: 'none',
    api_version: '2010-04-01',
    beta: false,
    capabilities: { mms: true, sms: true, voice: true, fax: false },
    date_created: rfc2822(now),
    date_updated: rfc2822(now),
    friendly_name: form.FriendlyName ?? friendly(number),
    identity_sid: null,
    phone_number: number,
    origin: 'twilio',
    sid,
    sms_application_sid: null,
    sms_fallback_method: 'POST',
    sms_fallback_url: '',
    sms_method: 'POST',
    sms_url: '',
    status_callback: form.StatusCallback ?? '',
    status_callback_method: form.StatusCallbackMethod ?? 'POST',
    trunk_sid: null,
    uri: `/2010-04-01/Accounts/${account}/IncomingPhoneNumbers/${sid}.json`,
    voice_receive_mode: 'voice',
    voice_application_sid: null,
    voice_caller_id_lookup: false,
    voice_fallback_method: 'POST',
    voice_fallback_url: null,
    voice_method: form.VoiceMethod ?? 'POST',
    voice_url: form.VoiceUrl ?? null,
    emergency_status: 'Inactive',
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    bundle_sid: null,
    status: 'in-use',
    type: number.match(/^\+18(00|33|44|55|66|77|88)/) ? 'tollfree' : 'local',
  };
}

function page(key, items, uri, pageNo, pageSize) {
  const start = pageNo * pageSize;
  const slice = items.slice(start, start + pageSize);
  const more = start + pageSize < items.length;
  const base = uri.split('?')[0];
  return {
    end: start + Math.max(slice.length - 1, 0),
    first_page_uri: `${base}?PageSize=${pageSize}&Page=0`,
    next_page_uri: more ? `${base}?PageSize=${pageSize}&Page=${pageNo + 1}&PageToken=PT${pageNo + 1}` : null,
    page: pageNo,
    page_size: pageSize,
    previous_page_uri: pageNo > 0 ? `${base}?PageSize=${pageSize}&Page=${pageNo - 1}` : null,
    start,
    uri,
    [key]: slice,
  };
}

// local: [{number, region, locality}] or numbers; tollFree: numbers.
export async function startFakeTwilio({ local = [], tollFree = [], account = ACCOUNT, user = KEY, secret = SECRET } = {}) {
  const forSale = {
    local: local.map((n) => (typeof n === 'string' ? { number: n } : n)),
    tollFree: tollFree.map((n) => ({ number: n, tollFree: true })),
  };
  const owned = new Map(); // sid -> resource
  const log = { purchases: [], releases: [], requests: [] };
  let nextCreate = null; // {status, code, message} | {hang: 'after'|'before'} | {error500After: true}
  let failSearch = null;
  const hanging = new Set();

  const auth = 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64');

  function send(res, status, body) {
    if (status === 204) {
      res.writeHead(204);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
  function error(res, status, code, message) {
    send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://fake');
      const q = Object.fromEntries(url.searchParams);
      const form = Object.fromEntries(new URLSearchParams(body));
      log.requests.push({ method: req.method, path: url.pathname, query: q, form });
      if (req.headers.authorization !== auth) return error(res, 401, 20003, 'Authenticate');
      const prefix = `/2010-04-01/Accounts/${account}/`;
      if (!url.pathname.startsWith(prefix)) return error(res, 404, 20404, 'The requested resource was not found');
      const rest = url.pathname.slice(prefix.length);
      const pageSize = Math.min(Number(q.PageSize ?? 50), 1000);
      const pageNo = Number(q.Page ?? 0);

      let m = rest.match(/^AvailablePhoneNumbers\/([A-Z]{2})\/(Local|TollFree)\.json$/);
      if (m && req.method === 'GET') {
        if (failSearch) return error(res, failSearch.status, failSearch.code, failSearch.message);
        if (m[1] !== 'US') return send(res, 200, page('available_phone_numbers', [], url.pathname + url.search, 0, pageSize));
        const kind = m[2] === 'Local' ? 'local' : 'tollFree';
        let list = forSale[kind];
        if (q.AreaCode) list = list.filter((n) => n.number.slice(2, 5) === String(q.AreaCode));
        if (q.Contains) list = list.filter((n) => n.number.includes(q.Contains));
        const items = list.slice(0, pageSize).map((n) => available(n.number, n));
        return send(res, 200, { ...page('available_phone_numbers', items, url.pathname + url.search, 0, pageSize), next_page_uri: null });
      }
      if (rest === 'IncomingPhoneNumbers.json' && req.method === 'POST') {
        const number = form.PhoneNumber;
        if (!number) return error(res, 400, 21421, 'PhoneNumber or AreaCode is required');
        const plan = nextCreate;
        nextCreate = null;
        if (plan?.status) return error(res, plan.status, plan.code ?? 21422, plan.message ?? 'Phone number is not available');
        if (plan?.hang === 'before') {
          hanging.add(res);
          return undefined; // never answers, buys nothing
        }
        let where = null;
        for (const kind of ['local', 'tollFree']) {
          const i = forSale[kind].findIndex((n) => n.number === number);
          if (i >= 0) where = { kind, i };
        }
        if (!where) return error(res, 400, 21422, `PhoneNumber ${number} is not available`);
        forSale[where.kind].splice(where.i, 1);
        const sid = 'PN' + hex(16);
        const r = incoming(account, sid, number, form, new Date());
        owned.set(sid, r);
        log.purchases.push({ sid, number, form });
        if (plan?.hang === 'after') {
          hanging.add(res);
          return undefined; // bought, but the answer never comes
        }
        if (plan?.error500After) return error(res, 500, 20500, 'Internal Server Error');
        return send(res, 201, r);
      }
      if (rest === 'IncomingPhoneNumbers.json' && req.method === 'GET') {
        let items = [...owned.values()];
        if (q.PhoneNumber) items = items.filter((r) => r.phone_number === q.PhoneNumber);
        if (q.FriendlyName) items = items.filter((r) => r.friendly_name === q.FriendlyName);
        return send(res, 200, page('incoming_phone_numbers', items, url.pathname + url.search, pageNo, pageSize));
      }
      m = rest.match(/^IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/);
      if (m && req.method === 'DELETE') {
        const r = owned.get(m[1]);
        if (!r) return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
        owned.delete(m[1]);
        log.releases.push({ sid: m[1], number: r.phone_number });
        return send(res, 204);
      }
      if (m && req.method === 'GET') {
        const r = owned.get(m[1]);
        return r ? send(res, 200, r) : error(res, 404, 20404, 'The requested resource was not found');
      }
      return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    account,
    user,
    secret,
    log,
    owned: () => [...owned.values()],
    forSale,
    // The next purchase: {status, code, message} fails it; {hang: 'after'}
    // buys and never answers; {hang: 'before'} never answers and buys
    // nothing; {error500After: true} buys and answers 500.
    nextPurchase(plan) { nextCreate = plan; },
    failSearches(plan) { failSearch = plan; },
    // Environment and arguments for dni-origin to use this fake.
    originEnv() {
      return { DNI_TWILIO_ACCOUNT_SID: account, DNI_TWILIO_API_KEY: user, DNI_TWILIO_API_SECRET: secret };
    },
    originArgs() { return ['--twilio-api', base]; },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
