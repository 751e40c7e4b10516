# The core built to WebAssembly twice, from the same sources:
#
#   $(BUILD)/wasm/dni.wasm             clang --target=wasm32-wasi + wasi-libc,
#                                      a reactor with no imports at all
#   $(BUILD)/wasm/emscripten/dni.mjs   Emscripten ES module + its dni.wasm
#
# wasm/exports.c is the thin C ABI both export; wasm/dni.mjs binds either.
# Compile and link are separate steps on purpose: an optimising clang link
# would run binaryen's wasm-opt without the SIMD feature and fail.

WASM_CC := clang-14
WASM_STRIP := llvm-strip-14
EMCC := NODE_PATH=/usr/share/nodejs emcc
WASM_SRC := $(CORE_SRC) wasm/exports.c
WASM_CFLAGS := --target=wasm32-wasi -std=c11 -O3 -msimd128 $(WARN) -Icore/include -Iwasm
# Every dni_w_* function exports.c defines is exported by both builds.
WASM_EXPORTS = $(shell sed -n 's/^DNI_W_EXPORT(\([a-z0-9_]*\)).*/\1/p' wasm/exports.c)
wasm_empty :=
wasm_space := $(wasm_empty) $(wasm_empty)
wasm_comma := ,
EM_EXPORTS = $(subst $(wasm_space),$(wasm_comma),$(strip _malloc _free \
               $(addprefix _,$(WASM_EXPORTS))))
EM_CFLAGS := -std=c11 -O3 -msimd128 $(WARN) -Icore/include -Iwasm
# Link at -O2: from -O3 on, emcc renames the module's exports to single
# letters that only its own glue knows, and the binding calls them by name.
EM_LDFLAGS := -O2 -msimd128 -sMODULARIZE -sEXPORT_ES6 -sENVIRONMENT=web,worker \
              -sALLOW_MEMORY_GROWTH -sEXPORT_NAME=createDniModule \
              -sFILESYSTEM=0 -sSUPPORT_LONGJMP=0

$(BUILD)/wasm/obj/%.o: %.c $(CORE_HDR) wasm/exports.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -c $< -o $@

# No -O at link: see above. malloc/free are exported for the binding.
# wasi_stubs.c stands in for the three host calls of wasi-libc's stdio.
$(BUILD)/wasm/dni.wasm: $(WASM_SRC:%.c=$(BUILD)/wasm/obj/%.o) \
                        $(BUILD)/wasm/obj/wasm/wasi_stubs.o wasm/build.mk
	@mkdir -p $(dir $@)
	$(WASM_CC) --target=wasm32-wasi -mexec-model=reactor $(filter %.o,$^) \
	  -Wl,--export=malloc,--export=free,--strip-all -o $@
	$(WASM_STRIP) $@

$(BUILD)/wasm/emscripten/obj/%.o: %.c $(CORE_HDR) wasm/exports.h
	@mkdir -p $(dir $@)
	$(EMCC) $(EM_CFLAGS) -c $< -o $@

$(BUILD)/wasm/emscripten/dni.mjs: $(WASM_SRC:%.c=$(BUILD)/wasm/emscripten/obj/%.o) wasm/build.mk
	@mkdir -p $(dir $@)
	$(EMCC) $(EM_LDFLAGS) \
	  -sEXPORTED_FUNCTIONS=$(EM_EXPORTS) \
	  $(filter %.o,$^) -o $@

wasm: $(BUILD)/wasm/dni.wasm $(BUILD)/wasm/emscripten/dni.mjs

# node --test suites: parity of both builds with the native command.
test-wasm: wasm $(BUILD)/bin/dni
	@DNI_BUILD=$(BUILD) node --test tests/wasm/

# The native side of the benchmark: the same work, timed in-process.
$(BUILD)/bench/wasm/native_ref: bench/wasm/native_ref.c $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -march=native $< $(BUILD)/lib/libdni.a -lm -o $@

bench-wasm: wasm $(BUILD)/bench/wasm/native_ref
	@DNI_BUILD=$(BUILD) nice node bench/wasm/bench.mjs $(CORPUS)

ALL_TARGETS += wasm
TEST_SUITES += test-wasm
BENCH_TARGETS += bench-wasm
APT_PACKAGES += clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 \
                emscripten binaryen nodejs
.PHONY: wasm test-wasm bench-wasm
