# The browser snippet js/dni.js: a minified copy for the edge to serve
# (Debian's esbuild; the source itself when esbuild is missing), the
# real-browser suite (tests/browser/, Debian's chromium driven by npm
# playwright-core) and the snippet's benchmark (bench/snippet/).

SNIPPET_SRC := $(wildcard js/dni.js)
SNIPPET_MIN := $(if $(SNIPPET_SRC),$(BUILD)/js/dni.min.js)

$(BUILD)/js/dni.min.js: js/dni.js
	@mkdir -p $(dir $@)
	@if command -v esbuild >/dev/null 2>&1; then \
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

bench-snippet: $(SNIPPET_MIN)
	@DNI_BUILD=$(BUILD) nice node bench/snippet/bench.mjs

BENCH_TARGETS += bench-snippet
.PHONY: bench-snippet
