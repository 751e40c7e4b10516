# Native benchmarks: bench/bench_*.c, each printing its figures and ratios.
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

$(BUILD)/bench/%: bench/%.c $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -march=native -Wno-missing-prototypes $< $(BUILD)/lib/libdni.a -lcjson -lm -o $@

bench-native: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b $(CORPUS) || exit 1; done

BENCH_TARGETS += bench-native
.PHONY: bench-native
