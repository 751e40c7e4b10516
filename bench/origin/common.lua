-- Shared by the origin wrk scripts: numbers each thread and prints one
-- parseable RESULT line per run.
local threads = {}
local counter = 0

-- DNI_BENCH_INSTANCE: several wrk at once (one per origin process, in
-- bench/origin/pg_scale.sh) number their threads apart, so call ids and
-- sync sequence numbers never collide.
local base = 1000 * tonumber(os.getenv("DNI_BENCH_INSTANCE") or "0")

function setup(thread)
   counter = counter + 1
   thread:set("tid", base + counter)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local non2xx = (summary.errors.status or 0)
   print(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      non2xx))
end
