-- The voice route: every request is a new incoming call (unique CallSid)
-- to a pool number, so each one records the call as ringing, attributes
-- it (the setup gave every number a live lease) and answers the TwiML
-- that forwards it. Its latency sits in the caller's ring time.
dofile(os.getenv("DNI_BENCH_DIR") .. "/common.lua")
local n = 0
local numbers = tonumber(os.getenv("DNI_BENCH_NUMBERS") or "1000")
wrk.method = "POST"
wrk.path = "/v1/voice"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function request()
   n = n + 1
   local body = string.format(
      "CallSid=CAvoice%d_%d&AccountSid=AC00000000000000000000000000000000&To=%%2B1888%07d"
      .. "&From=%%2B15550002222&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01",
      tid, n, 5000000 + (n % numbers))
   return wrk.format(nil, nil, nil, body)
end
