# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers: most of the suite waits on brokers and processes, so more workers than cores pay.
# Tests of one module (and tests/security, one secure broker) stay on one worker (tests/conftest.py).
TEST_WORKERS ?= 4
XDIST := -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

.PHONY: run test test-fast test-broker test-slow lint kafka-up kafka-down bench schemas-check setup clean chaos

# The hot path's modules compiled by mypyc (hub/_native.py): rebuilt when their sources change; the
# pure Python modules run where that cannot be done (no C compiler), with the reason printed.
setup: $(STAMP)
	@$(BIN)/python -c 'import sys, hub._native as n; sys.exit(n.main(["build"]))'

$(STAMP): pyproject.toml
	@ops/preflight.sh python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@# --no-compile: modules are byte-compiled when first imported, only those a process uses
	@$(BIN)/python -m pip install -q --no-compile -e '.[dev,native]'
	@$(BIN)/python -m pip check
	@touch $(STAMP)

run: setup
	@ops/run.sh

test: setup
	@ops/preflight.sh kafka
	@ops/preflight.sh chromium
	@ops/preflight.sh axe
	@ops/preflight.sh promtool
	@$(BIN)/ruff check hub connectors tests bench
	@$(BIN)/hub schemas check
	@# mypy runs beside the suite (the suite's first minute waits on brokers); either failing fails the target.
	@mkdir -p var; $(BIN)/python -m mypy --config-file mypy.ini > var/mypy.out 2>&1 & mypy=$$!; \
	  $(BIN)/python -m pytest $(XDIST) --durations=30 $(PYTEST_ARGS); rc=$$?; \
	  wait $$mypy || rc=1; echo "mypy: $$(tail -1 var/mypy.out)"; [ $$rc = 0 ] || cat var/mypy.out; exit $$rc

# Tiers (derived in tests/conftest.py from what each test uses; `make test` runs all three). The fast
# tier points Kafka at a closed port: a test that reaches a broker without saying so fails there.
test-fast: setup
	@$(BIN)/ruff check hub connectors tests bench
	@$(BIN)/python -m mypy --config-file mypy.ini
	@HUB_KAFKA_BOOTSTRAP=127.0.0.1:1 $(BIN)/python -m pytest -n 2 --dist loadscope -m fast -q $(PYTEST_ARGS)

test-broker: setup
	@ops/preflight.sh kafka
	@$(BIN)/python -m pytest $(XDIST) -m broker $(PYTEST_ARGS)

test-slow: setup
	@ops/preflight.sh kafka
	@ops/preflight.sh chromium
	@ops/preflight.sh axe
	@ops/preflight.sh promtool
	@$(BIN)/python -m pytest $(XDIST) -m slow $(PYTEST_ARGS)

# The chaos scenarios at full size (HUB_CHAOS_SCALE, default 5: about 10,000 hostile inputs, 25+ worker
# kills, 5x the events); `make test` runs them at scale 1. The checker's lines are printed at the end.
chaos: setup
	@ops/preflight.sh kafka
	@mkdir -p var/chaos
	@HUB_CHAOS_SCALE=$${HUB_CHAOS_SCALE:-5} $(BIN)/python -m pytest tests/chaos -q -p no:logging \
		-o junit_family=xunit1 --junitxml=var/chaos/report.xml $(PYTEST_ARGS); rc=$$?; \
		$(BIN)/python tests/chaos/report.py var/chaos/report.xml; exit $$rc

lint: setup
	@$(BIN)/ruff check hub connectors tests bench
	@$(BIN)/python -m mypy --config-file mypy.ini

kafka-up:
	@ops/kafka/kafka.sh up

kafka-down:
	@ops/kafka/kafka.sh down

bench: setup
	@$(BIN)/python -m bench $(BENCH_ARGS)

schemas-check: setup
	@$(BIN)/hub schemas check

clean: kafka-down
	rm -rf var $(VENV)
