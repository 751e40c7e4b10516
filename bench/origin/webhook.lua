-- Durable webhooks: every request is a new call (unique CallSid), so each
-- one inserts a call event and a call row and attributes it.
dofile(os.getenv("DNI_BENCH_DIR") .. "/common.lua")
local n = 0
local numbers = tonumber(os.getenv("DNI_BENCH_NUMBERS") or "1000")
wrk.method = "POST"
wrk.path = "/v1/webhooks/call"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function request()
   n = n + 1
   local body = string.format(
      "CallSid=CAbench%d_%d&To=%%2B1888%07d&From=%%2B15550001111&CallStatus=ringing&SequenceNumber=0",
      tid, n, 5000000 + (n % numbers))
   return wrk.format(nil, nil, nil, body)
end
