# edgedni build. `make` builds everything; `make test`, `make run` and
# `make bench` first install what is missing (apt-get, npm ci).
#
# Each part adds its own rules in a fragment included below
# (core/build.mk, wasm/build.mk, origin/build.mk, edge/build.mk, ...),
# appending to ALL_TARGETS, TEST_SUITES, BENCH_TARGETS and APT_PACKAGES.

.DEFAULT_GOAL := all
BUILD := build
CC := gcc
WARN := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes \
        -Wmissing-prototypes -Werror
CFLAGS := -std=c11 -O2 -g $(WARN) -Icore/include
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all
# Seconds each libFuzzer target runs in `make test` (after replaying its seeds).
FUZZ_SECONDS ?= 30
# Pages for `make bench`; the benchmarks generate a corpus when it is empty.
CORPUS ?= $(wildcard ../shared/corpus/pages)

ALL_TARGETS :=
TEST_SUITES :=
BENCH_TARGETS :=
APT_PACKAGES := build-essential clang-14 lld-14 libclang-rt-14-dev \
                libcjson-dev nodejs npm

include core/build.mk
include tests/build.mk
-include wasm/build.mk
-include origin/build.mk
-include edge/build.mk
-include js/build.mk
-include demo/build.mk
include bench/build.mk

all: $(ALL_TARGETS)

# Installs missing Debian packages and the npm dependencies (as root on a
# fresh Debian 12 machine; does nothing when everything is present). npm ci
# refuses a lock file without the other platforms' optional workerd
# binaries, which a registry mirror may not carry; npm install then installs
# the same locked versions.
# Node.js and npm come from Debian only when the machine has none (a
# machine with its own Node would see Debian's npm conflict with it).
deps:
	@pkgs="$(sort $(APT_PACKAGES))"; \
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  pkgs=$$(echo $$pkgs | tr ' ' '\n' | grep -vx -e nodejs -e npm); fi; \
	missing=""; for p in $$pkgs; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@if [ -f package-lock.json ] && \
	  ! [ node_modules/.package-lock.json -nt package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=silent 2>/dev/null || \
	  npm install --no-save --no-audit --no-fund --loglevel=error; fi

# Every test suite; the last line of output is "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh $(TEST_SUITES)

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$b || exit 1; done

# The whole system on this machine, in the foreground: dni-origin with its
# dashboard, the edge on workerd and a sample site (demo/run.mjs prints
# what to open). Ctrl-C stops it; `make stop` ends what a killed one left.
# exec: the shell steps aside, so Ctrl-C reaches node (which stops every
# part and says so) rather than a shell that dies of it and makes make
# report an "Interrupt".
run: deps
	@echo "make run: building (a few minutes the first time)..."
	@$(MAKE) -s --no-print-directory all
	@exec env DNI_BUILD=$(abspath $(BUILD)) node demo/run.mjs

stop:
	@node demo/run.mjs stop

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

.PHONY: all deps test bench run stop format clean
