// Reading a pool's report (GET /v1/reports/pools/{id}) into what the pages
// draw: a utilisation series, per-source verdicts, the recommended size.
// The series is taken from the report when it has one; otherwise the page
// keeps its own samples of live leases while it is open (sessionStorage).

// [{t, live, size, overflow, limited}] from the report's series, whatever
// the names of its fields.
export function seriesOf(report) {
  let raw = report && (report.series || report.utilisation_series || report.timeline);
  if (raw && Array.isArray(raw.buckets)) raw = raw.buckets; // {bucket_s, buckets}
  if (!Array.isArray(raw)) return null;
  const num = (...vs) => vs.find((v) => typeof v === 'number');
  return raw.map((p) => ({
    t: num(p.t, p.at, p.time, p.start, p.hour),
    live: num(p.leases_live, p.live_leases, p.live, p.peak_live_leases, p.leases),
    size: num(p.numbers, p.size, p.pool_size),
    overflow: num(p.overflow, p.overflows),
    limited: num(p.limited, p.limited_events),
  })).filter((p) => typeof p.t === 'number').sort((a, b) => a.t - b.t);
}

// [{source, verdict, accuracy, calls}] when the report has verdicts per
// traffic source.
export function sourcesOf(report) {
  const raw = report && (report.sources || report.by_source || report.verdicts);
  if (Array.isArray(raw)) return raw;
  if (raw && typeof raw === 'object') return Object.entries(raw).map(([source, v]) => ({ source, ...v }));
  return [];
}

export function verdictKind(v) {
  if (v === 'more' || v === 'needs more numbers') return 'bad';
  if (v === 'fewer' || v === 'too many numbers') return 'warn';
  if (v === 'just right') return 'good';
  return '';
}

export function verdictText(v) {
  if (v === 'more') return 'needs more numbers';
  if (v === 'fewer') return 'could do with fewer';
  if (v === 'just right') return 'just right';
  return v || 'no verdict yet';
}

// Samples kept by the page itself, per pool, for an hour.
export function localSeries(pool, sample) {
  const key = `edgedni.samples.${pool}`;
  let list = [];
  try { list = JSON.parse(sessionStorage.getItem(key) || '[]'); } catch { list = []; }
  if (sample) {
    list.push(sample);
    const cut = sample.t - 3600;
    list = list.filter((p) => p.t >= cut).slice(-720);
    try { sessionStorage.setItem(key, JSON.stringify(list)); } catch { /* full */ }
  }
  return list;
}
