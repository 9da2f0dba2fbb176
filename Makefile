# Realmbill — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export REALMBILL_ENV ?= development

.PHONY: run test install system-deps services translations lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations >/dev/null

## make run: install, migrate a SQLite database, seed the demo, serve on :5000.
run: install
	$(BIN)/realmbill db upgrade
	$(BIN)/realmbill demo seed
	@if [ -n "$$REDIS_URL" ]; then $(BIN)/realmbill worker & fi; \
	$(BIN)/realmbill serve --host 127.0.0.1 --port 5000

## make test: system packages and servers the tests need, then the whole suite.
test: system-deps install services
	bash .ci/pytest.sh

system-deps:
	@bash .ci/system-deps.sh

services:
	@bash .ci/services.sh

lint: install
	$(BIN)/ruff check .

bench: install
	@echo "Benchmarks: see bench/README.md"

clean:
	rm -rf $(VENV) instance .pytest_cache
