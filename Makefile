# rdbench: `make demo` runs the main job, `make test` runs every check. Both set up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rdbench-installed

.PHONY: setup system-deps test lint typecheck pytest demo clean

setup: $(STAMP) system-deps
	@$(PY) -m rdbench.tokcache

system-deps:
	@bash scripts/system_deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

test: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/rdbench demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
