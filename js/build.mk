# The browser snippet js/dni.js: a minified copy for the edge to serve
# (npm terser, installed by npm ci like the other npm tools; Debian's
# esbuild when npm cannot install it, about 100 bytes more gzipped; the
# source itself when neither is there), the real-browser suite
# (tests/browser/, Debian's chromium driven by npm playwright-core) and
# the snippet's benchmark (bench/snippet/).

SNIPPET_SRC := $(wildcard js/dni.js)
SNIPPET_MIN := $(if $(SNIPPET_SRC),$(BUILD)/js/dni.min.js)
TERSER := node_modules/.bin/terser

# Three passes; unsafe_arrows turns the API's methods into arrows (the
# snippet uses no `this`).
$(BUILD)/js/dni.min.js: js/dni.js package-lock.json
	@mkdir -p $(dir $@)
	@test -x $(TERSER) || npm ci --no-audit --no-fund --loglevel=error || true
	@if test -x $(TERSER); then \
	  $(TERSER) $< --ecma 2020 --compress passes=3,unsafe_arrows=true --mangle --output $@; \
	elif command -v esbuild >/dev/null 2>&1; then \
	  esbuild $< --minify --target=es2020 --log-level=warning --outfile=$@; \
	else cp $< $@; fi

ALL_TARGETS += $(SNIPPET_MIN)
APT_PACKAGES += chromium esbuild

# The browser suites run the minified copy (what the edge serves); the
# stack suite also needs the edge (wasm) and dni-origin.
BROWSER_DEPS := $(SNIPPET_MIN) $(wildcard tests/browser/*.mjs) $(EDGE_DEPS) $(EDGE_ORIGIN)

test-browser: $(BROWSER_DEPS)
	@test -f node_modules/playwright-core/package.json || npm ci --no-audit --no-fund --loglevel=error
	@DNI_BUILD=$(BUILD) node --test --test-concurrency=1 tests/browser/

TEST_SUITES += test-browser
.PHONY: test-browser

# What the benchmark runs: the fake edge needs only the minified copy,
# the real edge part the edge (wasm) and dni-origin as well.
bench-snippet: $(BROWSER_DEPS)
	@test -f node_modules/playwright-core/package.json || npm ci --no-audit --no-fund --loglevel=error
	@DNI_BUILD=$(BUILD) nice node bench/snippet/bench.mjs

BENCH_TARGETS += bench-snippet
.PHONY: bench-snippet
