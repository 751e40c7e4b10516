-- The trivial endpoint of the same server: the ceiling for comparison.
dofile(os.getenv("DNI_BENCH_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = "/healthz"
