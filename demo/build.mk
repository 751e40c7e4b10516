# `make run` / `make stop` (demo/run.mjs, the sample site in demo/site/)
# and the end-to-end suites (tests/e2e/): the whole system started as
# `make run` starts it, driven through real headless Chromium where a
# browser is needed (playwright-core and the machine's /usr/bin/chromium).

test-e2e: $(BUILD)/bin/dni $(BUILD)/bin/dni-origin $(BUILD)/wasm/dni.wasm
	@test -x node_modules/.bin/workerd || npm ci --no-audit --no-fund --loglevel=error
	@DNI_BUILD=$(abspath $(BUILD)) DNI_ORIGIN_BIN=$(abspath $(BUILD)/bin/dni-origin) \
	  node --test --test-concurrency=1 tests/e2e/

TEST_SUITES += test-e2e
APT_PACKAGES += chromium
.PHONY: test-e2e

# Deploys: build/edge-bundle/ for `npx wrangler deploy` (edge/bundle.mjs;
# the origin's unit is origin/dni-origin.service). docs/deploy.md.
edge-bundle: $(BUILD)/wasm/dni.wasm $(wildcard edge/*.mjs) edge/wrangler.toml $(wildcard js/dni.js)
	@DNI_BUILD=$(BUILD) node edge/bundle.mjs

.PHONY: edge-bundle
