# rdbench: `make demo` runs the main job, `make test` runs every check. Both set up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rdbench-installed

.PHONY: setup system-deps cli-agents test lint typecheck pytest demo clean lock

setup: $(STAMP) system-deps cli-agents
	@$(PY) -m rdbench.tokcache

system-deps:
	@bash scripts/system_deps.sh

# The command-line agents of rdbench/cli's presets (Codex, Claude Code, Gemini CLI), at the versions
# tested with them (src/rdbench/agents/cli_presets.py): installed with npm as root, else the command
# is printed and their tests skip.
cli-agents: $(STAMP)
	@$(PY) -m rdbench.agents.cli_install

# llama.cpp (the offline model) is built without the host's native CPU kernels: the native build
# crashes (general protection fault in libggml-cpu) on chat completions on CPUs with AMX. The wheel is
# built once into the user's cache and reused.
WHEELS := $(HOME)/.cache/rdbench/wheels
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_OPENMP=OFF

# the llama-cpp-python release the project tests with (requirements.lock), built as above
LLAMA_VERSION := $(shell sed -n 's/^llama_cpp_python==//p' requirements.lock)

# The extras the project works with, at the exact versions it tests with (requirements.lock: lower
# bounds live in pyproject.toml, the tested set here; `make lock` rewrites it from .venv).
EXTRAS := suite,offline,cli-agents,slurm,dev

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "rdbench setup: building llama-cpp-python once (portable CPU kernels; a few minutes)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(PY) -m pip wheel -q --no-deps --no-cache-dir llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELS) 2>&1 | grep -v "^WARNING: Location" || true; }
	@$(PY) -m pip install -q --find-links $(WHEELS) -c requirements.lock -e '.[$(EXTRAS)]' 2>&1 | grep -v "^WARNING: Location\|BuildBackendWarning\|^ *!!\|^ *\*\*\*\|corresp(dist" || true
	@$(PY) -c "import rdbench, torch, llama_cpp, gguf, anthropic, google.genai, submitit, pexpect" || { echo "rdbench setup: installing the package failed"; exit 1; }
	@touch $(STAMP)

# Rewrite requirements.lock from what .venv holds (after changing a bound in pyproject.toml and
# `make setup`, or after upgrading a package in .venv on purpose). The local build label of torch's
# CPU wheel (+cpu) is dropped: `==2.13.0` matches it and PyPI's build alike.
lock:
	@{ echo "# The exact set rdbench is tested with (make setup installs with it as constraints)."; \
	  echo "# Written by 'make lock' from .venv ($$($(PY) --version), $$(date -u +%Y-%m-%d)); edit pyproject.toml, not this."; \
	  $(PY) -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.lock
	@echo "requirements.lock: $$(grep -vc '^#' requirements.lock) packages"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts examples
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy -p rdbench_scorer -p rdbench_host -p rdbench_metr -p metr.task_protected_scoring
	@bash scripts/check_scorers.sh

# Two workers for everything but the tests that measure wall time (marked `timing`), which then run
# alone so that nothing else shares the cores while they time. Exit 5 = "no test selected" (e.g. a
# PYTEST_ARGS filter that matches no timing test) is not a failure.
PYTEST_WORKERS ?= 2
define run_pytest
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) -m "not timing" $(PYTEST_ARGS) || test $$? -eq 5
	$(VENV)/bin/pytest -q -m timing $(PYTEST_ARGS) || test $$? -eq 5
endef

pytest: setup
	$(run_pytest)

test: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts examples
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy -p rdbench_scorer -p rdbench_host -p rdbench_metr -p metr.task_protected_scoring
	@bash scripts/check_scorers.sh
	$(run_pytest)

demo: setup
	$(VENV)/bin/rdbench demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
