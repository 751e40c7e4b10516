// The Google Analytics ids a call needs to be sent to GA4's Measurement
// Protocol, read from the first-party cookies of the page request (no
// script needed): the client id from `_ga` ("GA1.1.<client id>") and the
// session id from the property's `_ga_<container>` cookie ("GS1.1.<session
// id>.…" or the newer "GS2.1.s<session id>$o…"). They go with the
// session's tags as ga_client_id and ga_session_id; the origin's postback
// templates use them as {tag:ga_client_id} and {tag:ga_session_id}.
// Click ids (gclid, gbraid, wbraid, msclkid, fbclid, ttclid, clickid) come
// from the landing URL through the parameter map (site_rules.mjs).

const CLIENT_RE = /^GA\d+\.\d+\.(\d+\.\d+)$/;
const SESSION_V1_RE = /^GS\d+\.\d+\.(\d+)\./;
const SESSION_V2_RE = /^GS\d+\.\d+\.s(\d+)(?:\$|$)/;

// {ga_client_id?, ga_session_id?} from a cookie object ({name: value}).
// With several _ga_<container> cookies (several GA4 properties on one
// site) the first in name order is used.
export function analyticsTags(cookies) {
  const tags = {};
  if (!cookies) return tags;
  const ga = typeof cookies._ga === 'string' ? CLIENT_RE.exec(cookies._ga.trim()) : null;
  if (ga) tags.ga_client_id = ga[1];
  const names = Object.keys(cookies).filter((k) => /^_ga_[A-Za-z0-9]+$/.test(k)).sort();
  for (const name of names) {
    const v = String(cookies[name]).trim();
    const m = SESSION_V2_RE.exec(v) || SESSION_V1_RE.exec(v);
    if (m) {
      tags.ga_session_id = m[1];
      break;
    }
  }
  return tags;
}
