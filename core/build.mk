# The core library (core/src/*.c) and the `dni` command (core/src/cli/*.c).
CORE_SRC := $(wildcard core/src/*.c)
CLI_SRC := $(wildcard core/src/cli/*.c)
CORE_HDR := $(wildcard core/include/*.h core/src/*.h)

$(BUILD)/obj/%.o: %.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

$(BUILD)/lib/libdni.a: $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/lib/libdni.a: $(CORE_SRC:%.c=$(BUILD)/asan/obj/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# `dni call` posts webhooks with libcurl and signs them with libcrypto.
CLI_LIBS := -lcurl -lcrypto -lcjson -lm

$(BUILD)/bin/dni: $(CLI_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $^ $(CLI_LIBS) -o $@

$(BUILD)/asan/bin/dni: $(CLI_SRC:%.c=$(BUILD)/asan/obj/%.o) $(BUILD)/asan/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(CLI_LIBS) -o $@

ALL_TARGETS += $(BUILD)/bin/dni
APT_PACKAGES += libcurl4-openssl-dev libssl-dev
