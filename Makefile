# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint kafka-up kafka-down bench schemas-check setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@ops/preflight.sh python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@$(BIN)/python -m pip check
	@touch $(STAMP)

run: setup
	@ops/run.sh

test: setup
	@ops/preflight.sh kafka
	@ops/preflight.sh chromium
	@ops/preflight.sh promtool
	@$(BIN)/ruff check hub connectors tests bench
	@$(BIN)/hub schemas check
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	@$(BIN)/ruff check hub connectors tests bench

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
