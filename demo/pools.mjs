// The pools `make run` creates on first start (when the origin has none of
// these ids): Google Ads visitors get numbers of their own pool, every other
// visitor one of the website pool, all in place of the sample site's
// number. Each pool has room for a good deal of playing: a lease without a
// heartbeat (curl, a browser with JavaScript off) holds its number for
// min_hold_s, with the snippet running for as long as the page is open
// plus buffer_s.
const numbers = (block, n) => Array.from({ length: n }, (_, i) => `+1888555${block}${String(i + 1).padStart(2, '0')}`);

export const DEMO_POOLS = [
  {
    id: 'google-ads',
    name: 'Google Ads',
    campaign: 'spring',
    traffic_source: 'param:utm_source=google',
    numbers: numbers('01', 40),
    default_number: '+18005551234',
    overflow_number: '+18885550999',
    min_hold_s: 120,
  },
  {
    id: 'website',
    name: 'Website (all other traffic)',
    numbers: numbers('02', 40),
    default_number: '+18005551234',
    overflow_number: '+18885550998',
    min_hold_s: 120,
  },
];
