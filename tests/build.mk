# C unit tests (tests/unit/test_*.c), native and under ASan/UBSan, and the
# libFuzzer targets (tests/fuzz/fuzz_*.c, seeds in tests/fuzz/corpus/<name>/).
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CC := clang-14

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $< $(BUILD)/lib/libdni.a -lcjson -lm -o $@

$(BUILD)/asan/tests/%: tests/unit/%.c tests/unit/harness.h $(BUILD)/asan/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -Wno-missing-prototypes $(SAN_FLAGS) $< $(BUILD)/asan/lib/libdni.a -lcjson -lm -o $@

# The fuzz targets compile the core from source with clang's sanitizers.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -g -O1 -Icore/include -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all $< $(CORE_SRC) -lm -o $@

# Each unit test runs from the repository root (golden files are read from
# tests/golden/); the test programs print their own "N passed, N failed".
# A program that dies before printing its summary counts as one failure.
RUN_UNIT = for t in $(1); do echo "\# $$t"; out=$$($$t 2>&1); echo "$$out"; \
	  echo "$$out" | grep -q '^[0-9]* passed, [0-9]* failed' || echo "0 passed, 1 failed"; done

test-unit: $(UNIT_BIN)
	@$(call RUN_UNIT,$(UNIT_BIN))

test-unit-asan: $(UNIT_ASAN_BIN)
	@$(call RUN_UNIT,$(UNIT_ASAN_BIN))

# Replays every seed under ASan/UBSan, then fuzzes each target briefly. The
# target asserts chunking invariance itself; a crash fails the suite.
test-fuzz: $(FUZZ_BIN)
	@n=0; for f in $(FUZZ_BIN); do name=$$(basename $$f); \
	  mkdir -p $(BUILD)/fuzz/work-$$name; \
	  $$f -runs=0 tests/fuzz/corpus/$$name >/dev/null 2>$(BUILD)/fuzz/$$name.replay.log \
	    || { cat $(BUILD)/fuzz/$$name.replay.log; echo "0 passed, 1 failed"; continue; }; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(BUILD)/fuzz/work-$$name tests/fuzz/corpus/$$name \
	    >/dev/null 2>$(BUILD)/fuzz/$$name.log \
	    && { echo "$$name: seeds replayed, fuzzed $(FUZZ_SECONDS)s"; echo "2 passed, 0 failed"; } \
	    || { tail -40 $(BUILD)/fuzz/$$name.log; echo "1 passed, 1 failed"; }; done

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do name=$$(basename $$f); mkdir -p $(BUILD)/fuzz/work-$$name; \
	  $$f -max_total_time=$${FUZZ_TIME:-300} $(BUILD)/fuzz/work-$$name tests/fuzz/corpus/$$name || exit 1; done

TEST_SUITES += test-unit test-unit-asan test-fuzz
.PHONY: test-unit test-unit-asan test-fuzz fuzz

# The same unit tests against a core built without its vector fast paths
# (-DDNI_NO_SIMD), so the scalar reference loops are proven equal too.
$(BUILD)/scalar/obj/%.o: %.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DDNI_NO_SIMD -c $< -o $@

$(BUILD)/scalar/lib/libdni.a: $(CORE_SRC:%.c=$(BUILD)/scalar/obj/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/scalar/tests/%: tests/unit/%.c tests/unit/harness.h $(BUILD)/scalar/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $< $(BUILD)/scalar/lib/libdni.a -lcjson -lm -o $@

UNIT_SCALAR_BIN := $(filter %/test_rewriter %/test_html5lib,$(UNIT_SRC:tests/unit/%.c=$(BUILD)/scalar/tests/%))

test-unit-scalar: $(UNIT_SCALAR_BIN)
	@$(call RUN_UNIT,$(UNIT_SCALAR_BIN))

TEST_SUITES += test-unit-scalar
.PHONY: test-unit-scalar
