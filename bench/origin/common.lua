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

-- DNI_BENCH_SHOW_ERRORS=1: print the status and body of every answer
-- that is not a 2xx (wrk then reads every body: a little slower).
if os.getenv("DNI_BENCH_SHOW_ERRORS") then
   function response(status, headers, body)
      if status < 200 or status > 299 then
         print(string.format("NON2XX %d %s %s", status, wrk.path, body))
      end
   end
end
