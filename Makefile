# llmcost: PGXS build, tests, demo and benchmarks.
#
#   make demo    install what is missing, build, start a demo server with data
#   make test    install what is missing, build, run the whole test suite
#
# The version lives in llmcost.control (default_version); released install
# and update scripts are never edited: a change is a new update script.

EXTENSION = llmcost

MODULE_big = llmcost
OBJS = src/llmcost.o src/money.o src/rates.o src/pricing.o src/stats.o src/sketch.o src/otlp.o src/otlp_json.o src/quota.o
# The install script of the first version and the update scripts from it:
# CREATE EXTENSION runs llmcost--0.1.sql, then each update in turn.
DATA = src/llmcost--0.1.sql $(wildcard src/llmcost--*--*.sql)

# pg_regress tests, in order: install first, the hijack test last.
REGRESS = install events pricing peers rates loaders reprice partitions roles stats sketch fuzz rollups dashboards maintenance fuzz_functions alerts otlp quotas review privileges security hijack
REGRESS_OPTS = --inputdir=. --temp-instance=./tmp_check --temp-config=test/regress.conf

# isolation specs in test/specs
ISOLATION = rate_cache rollup_refresh alerts otlp_nested quota_race maintenance_lock reprice_retention
ISOLATION_OPTS = --inputdir=test --temp-instance=./tmp_check_iso
# TAP tests (t/*.pl, PostgreSQL::Test::Cluster): crash safety
TAP_TESTS = 1

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# PGXS tracks no header dependencies: every object depends on every header
$(OBJS): $(wildcard src/*.h)

.PHONY: demo demo-stop test deps bench

deps:
	bash test/setup.sh

demo:
	bash test/demo/demo.sh start

demo-stop:
	bash test/demo/demo.sh stop

test:
	bash test/run-tests.sh

bench:
	bash test/bench/run.sh
