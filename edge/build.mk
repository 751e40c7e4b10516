# The edge worker (edge/*.mjs) on workerd: node --test suites against real
# workerd processes (tests/edge/), and the edge benchmark (bench/edge/).
# workerd and playwright-core come from npm (package.json; `make deps`
# runs npm ci). The suites use the wasm32-wasi build of the core and, once
# origin/ builds it, the real dni-origin.

EDGE_DEPS := $(BUILD)/wasm/dni.wasm $(wildcard edge/*.mjs) package-lock.json
EDGE_ORIGIN := $(if $(wildcard origin/build.mk),$(BUILD)/bin/dni-origin)

test-edge: $(EDGE_DEPS) $(EDGE_ORIGIN)
	@test -x node_modules/.bin/workerd || npm ci --no-audit --no-fund --loglevel=error
	@DNI_BUILD=$(BUILD) node --test --test-concurrency=1 tests/edge/

bench-edge: $(EDGE_DEPS)
	@test -x node_modules/.bin/workerd || npm ci --no-audit --no-fund --loglevel=error
	@DNI_BUILD=$(BUILD) nice node bench/edge/bench.mjs $(CORPUS)

TEST_SUITES += test-edge
BENCH_TARGETS += bench-edge
APT_PACKAGES += nodejs npm wrk sqlite3
.PHONY: test-edge bench-edge
