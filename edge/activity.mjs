// The edge's activity log: one line per number shown to a visitor and per
// sync that carried events, so a newcomer running `make run` sees what
// happens. QUIET=1 (`serve.mjs --quiet`) turns it off. A line never holds
// a secret or a whole visitor id (8 characters of it), and tag values are
// cut short.

const SHOWN_TAGS = ['utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'fbclid', 'msclkid', 'source'];

function quiet(env) { return env && (env.QUIET === '1' || env.QUIET === 'true'); }

function short(v, n) {
  const s = String(v);
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// After an assign: r is the shard's answer {lease, number, overflow}.
export function logLease(env, pool, visitor, tags, r) {
  if (quiet(env) || !r) return;
  const who = `visitor ${short(visitor || '?', 8)}`;
  const t = SHOWN_TAGS.filter((k) => tags && tags[k] !== undefined).map((k) => `${k}=${short(tags[k], 40)}`).join(' ');
  if (r.limited) {
    console.log(`limited: pool ${pool}, ${who} is past its client's lease budget and sees the site's number`);
  } else if (r.overflow || !r.lease) {
    console.log(`overflow: pool ${pool} has no free number; ${who} sees ${r.number || 'the site\'s number'}`);
  } else {
    console.log(`lease ${r.lease}: ${r.number} shown to ${who}${t ? ` (${t})` : ''}`);
  }
}

// After a sync the origin accepted: events sent, and what it answered.
export function logSync(env, seq, events, answer) {
  if (quiet(env) || !events) return;
  const applied = answer && typeof answer.applied === 'number' ? `, ${answer.applied} applied` : '';
  const rejected = answer && answer.rejected ? `, ${answer.rejected} stale` : '';
  console.log(`sync #${seq}: ${events} event${events === 1 ? '' : 's'} sent to the origin${applied}${rejected}`);
}
