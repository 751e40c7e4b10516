# dni-origin: the origin service (origin/src/*.c, schema in origin/sql/).
# Its C unit tests (tests/origin/test_*.c) and node integration suites
# (tests/origin/*.test.mjs) run from here; `make bench-origin` drives wrk.
ORIGIN_SRC := $(filter-out origin/src/main.c,$(wildcard origin/src/*.c))
ORIGIN_HDR := $(wildcard origin/src/*.h) $(CORE_HDR)
ORIGIN_SQL := $(sort $(wildcard origin/sql/[0-9]*.sql))
ORIGIN_LIBS := -lmicrohttpd -lsqlite3 -lpq -lcjson -lcrypto -lcurl -lpthread -lm
ORIGIN_CFLAGS := $(CFLAGS) -Iorigin/src -I/usr/include/postgresql -DDNI_WITH_PG -pthread
ORIGIN_PG_SQL := $(sort $(wildcard origin/sql/pg/[0-9]*.sql))

# The migrations are compiled in: version N is origin/sql/NNN_*.sql (the
# number in its name), applied when the database's user_version is below
# N. A number with no file yet (another part's migration not landed) is
# an empty step, so every file keeps its version whatever lands first.
$(BUILD)/origin/migrations.c: $(ORIGIN_SQL) origin/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from origin/sql/ by origin/build.mk. */'; \
	  echo 'extern const char *const dni__migrations[];'; \
	  echo 'extern const int dni__migration_count;'; \
	  echo 'const char *const dni__migrations[] = {'; \
	  max=$$(ls origin/sql | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$$/\1/p' | sort -n | tail -1); \
	  n=1; while [ $$n -le $$max ]; do \
	    f=$$(ls origin/sql/$$(printf %03d $$n)_*.sql 2>/dev/null | head -1); \
	    if [ -n "$$f" ]; then \
	      sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/' $$f; \
	    else echo '  "-- (no migration with this number yet)"'; fi; \
	    echo '  ,'; n=$$((n + 1)); done; \
	  echo '  0};'; \
	  echo "const int dni__migration_count = $$max;"; } > $@

# The PostgreSQL schema, compiled in the same way: dni__pg_migrations[N-1]
# is origin/sql/pg/NNN_*.sql, and dni__pg_functions is functions.sql
# (applied at every start, before the migrations).
$(BUILD)/origin/pg_migrations.c: $(ORIGIN_PG_SQL) origin/sql/pg/functions.sql origin/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from origin/sql/pg/ by origin/build.mk. */'; \
	  echo 'extern const char *const dni__pg_migrations[];'; \
	  echo 'extern const int dni__pg_migration_count;'; \
	  echo 'extern const char dni__pg_functions[];'; \
	  echo 'const char dni__pg_functions[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/' origin/sql/pg/functions.sql; \
	  echo '  ;'; \
	  echo 'const char *const dni__pg_migrations[] = {'; \
	  max=$$(ls origin/sql/pg | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$$/\1/p' | sort -n | tail -1); \
	  n=1; while [ $$n -le $$max ]; do \
	    f=$$(ls origin/sql/pg/$$(printf %03d $$n)_*.sql 2>/dev/null | head -1); \
	    if [ -n "$$f" ]; then \
	      sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/' $$f; \
	    else echo '  "SELECT 1"'; fi; \
	    echo '  ,'; n=$$((n + 1)); done; \
	  echo '  0};'; \
	  echo "const int dni__pg_migration_count = $$max;"; } > $@

$(BUILD)/origin/obj/pg_migrations.o: $(BUILD)/origin/pg_migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) -c $< -o $@

$(BUILD)/origin/obj/%.o: origin/src/%.c $(ORIGIN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) -c $< -o $@

$(BUILD)/origin/obj/migrations.o: $(BUILD)/origin/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) -c $< -o $@

ORIGIN_OBJ := $(ORIGIN_SRC:origin/src/%.c=$(BUILD)/origin/obj/%.o) \
              $(BUILD)/origin/obj/migrations.o $(BUILD)/origin/obj/pg_migrations.o

# The dashboard (origin/www/) and the Emscripten build of the core its
# test-snippet page runs are compiled into dni-origin (origin/src/www.c),
# so it serves them wherever it runs from: URL path, then file.
WWW_FILES := $(shell find origin/www -type f 2>/dev/null | LC_ALL=C sort)
WWW_EMBED := $(foreach f,$(WWW_FILES),$(f:origin/www%=%) $(f)) \
             /wasm/dni.mjs wasm/dni.mjs \
             /wasm/emscripten/dni.mjs $(BUILD)/wasm/emscripten/dni.mjs \
             /wasm/emscripten/dni.wasm $(BUILD)/wasm/emscripten/dni.wasm

$(BUILD)/origin/www_files.c: $(WWW_FILES) wasm/dni.mjs $(BUILD)/wasm/emscripten/dni.mjs \
                             origin/www_embed.sh
	@mkdir -p $(dir $@)
	@sh origin/www_embed.sh $(WWW_EMBED) > $@.tmp && mv $@.tmp $@

$(BUILD)/origin/obj/www_files.o: $(BUILD)/origin/www_files.c
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) -c $< -o $@

ORIGIN_OBJ += $(BUILD)/origin/obj/www_files.o

$(BUILD)/lib/libdniorigin.a: $(ORIGIN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/dni-origin: $(BUILD)/origin/obj/main.o $(BUILD)/lib/libdniorigin.a $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) $^ $(ORIGIN_LIBS) -o $@

# C unit tests of the origin code, linked with the origin objects.
ORIGIN_UNIT_SRC := $(wildcard tests/origin/test_*.c)
ORIGIN_UNIT_BIN := $(ORIGIN_UNIT_SRC:tests/origin/%.c=$(BUILD)/tests/origin/%)

$(BUILD)/tests/origin/%: tests/origin/%.c tests/unit/harness.h $(BUILD)/lib/libdniorigin.a $(BUILD)/lib/libdni.a
	@mkdir -p $(dir $@)
	$(CC) $(ORIGIN_CFLAGS) -Itests/unit -Wno-missing-prototypes $< \
	  $(BUILD)/lib/libdniorigin.a $(BUILD)/lib/libdni.a $(ORIGIN_LIBS) -o $@

test-origin-unit: $(ORIGIN_UNIT_BIN)
	@$(call RUN_UNIT,$(ORIGIN_UNIT_BIN))

# Integration suites start the real binary on a free port with a temp db.
# (some suites check requests with the twilio package, an npm devDependency)
test-origin: $(BUILD)/bin/dni-origin
	@test -f node_modules/twilio/package.json || npm ci --no-audit --no-fund --loglevel=error
	@DNI_ORIGIN_BIN=$(abspath $(BUILD)/bin/dni-origin) node --test \
	  --test-reporter=spec tests/origin/

bench-origin: $(BUILD)/bin/dni-origin
	@sh bench/origin/run.sh $(abspath $(BUILD)/bin/dni-origin)

# 1,000 connections trickling headers for 20 s while /healthz, signed
# webhooks and syncs are measured (held connections, p50/p99/max).
bench-slow-clients: $(BUILD)/bin/dni-origin
	@node bench/origin/slow_clients.mjs $(abspath $(BUILD)/bin/dni-origin)

ALL_TARGETS += $(BUILD)/bin/dni-origin
TEST_SUITES += test-origin-unit test-origin
BENCH_TARGETS += bench-origin bench-slow-clients
APT_PACKAGES += libmicrohttpd-dev libsqlite3-dev libcjson-dev libssl-dev \
                libcurl4-openssl-dev \
                wrk sqlite3
.PHONY: test-origin-unit test-origin bench-origin bench-slow-clients

# PostgreSQL (the same service on a PostgreSQL database, many dni-origin
# processes on one database): the schema is origin/sql/pg/ (one file per
# SQLite migration, same number, plus functions.sql); the tests run on a
# throwaway cluster under build/ that tests/pg_cluster.sh starts and
# removes.
PG_CLUSTER := sh tests/pg_cluster.sh

test-pg-schema:
	@dir=$(BUILD)/pg-schema; url=$$($(PG_CLUSTER) start $$dir) || exit 1; \
	  DNI_PG_URL=$$url node --test --test-reporter=spec tests/pg/schema.test.mjs; \
	  rc=$$?; $(PG_CLUSTER) destroy $$dir; exit $$rc

TEST_SUITES += test-pg-schema test-pg test-origin-pg
APT_PACKAGES += postgresql libpq-dev
.PHONY: test-pg-schema

# The origin's integration suites with the origin on PostgreSQL: each
# origin a test starts gets its own database of one throwaway cluster.
test-origin-pg: $(BUILD)/bin/dni-origin
	@dir=$(BUILD)/pg-origin; url=$$($(PG_CLUSTER) start $$dir) || exit 1; \
	  DNI_TEST_PG_URL=$$url DNI_ORIGIN_BIN=$(abspath $(BUILD)/bin/dni-origin) \
	  node --test --test-reporter=spec $(or $(PG_SUITES),tests/origin/); \
	  rc=$$?; $(PG_CLUSTER) destroy $$dir; exit $$rc
.PHONY: test-origin-pg

# Many processes on one PostgreSQL database, a database restart under load,
# and `dni-origin migrate` from SQLite (tests/pg/; each file starts the
# throwaway cluster it needs).
test-pg: $(BUILD)/bin/dni-origin
	@DNI_ORIGIN_BIN=$(abspath $(BUILD)/bin/dni-origin) node --test \
	  --test-reporter=spec tests/pg/outage.test.mjs tests/pg/processes.test.mjs \
	  tests/pg/migrate.test.mjs
.PHONY: test-pg

# Durable webhooks/s and sync events/s with 1, 2 and 3 processes on one
# PostgreSQL database next to one process on SQLite, with the p99s.
bench-pg: $(BUILD)/bin/dni-origin
	@sh bench/origin/pg_scale.sh $(abspath $(BUILD)/bin/dni-origin)

BENCH_TARGETS += bench-pg
.PHONY: bench-pg
