-- Edge sync batches of 500 heartbeat events on existing leases; every
-- request has a new seq, so every batch is applied. Like an edge, it
-- names the config version it holds, so answers carry grants, not config.
dofile(os.getenv("DNI_BENCH_DIR") .. "/common.lua")
local n = 0
local leases = tonumber(os.getenv("DNI_BENCH_NUMBERS") or "1000")
local events
wrk.method = "POST"
wrk.path = "/v1/edge/sync"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DNI_EDGE_SECRET")

function init(args)
   local parts = {}
   local t = os.time()
   for i = 0, 499 do
      parts[#parts + 1] = string.format('{"type":"seen","lease":"B%d","t":%d.%03d}',
         (i * 7 + tid) % leases, t, i)
   end
   events = table.concat(parts, ",")
end

function request()
   n = n + 1
   local body = '{"edge":"bench","seq":' .. (tid * 100000000 + n) .. ',"versions":{"bench":'
      .. os.getenv("DNI_BENCH_POOL_VERSION") .. '},"events":[' .. events .. ']}'
   return wrk.format(nil, nil, nil, body)
end
