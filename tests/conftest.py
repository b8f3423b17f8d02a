"""Shared fixtures: an isolated rdbench cache per test session and the offline tiktoken cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rdbench.scoring.runner import LIB_PATH

# task scorers import the scorer toolkit by its own name (as inside the scoring sandbox)
sys.path.insert(0, str(LIB_PATH))

TOY_TASKS = Path(__file__).parent / "harness" / "toy_tasks"


def pytest_configure(config: pytest.Config) -> None:
    from rdbench.tokcache import ensure_tiktoken_cache

    ensure_tiktoken_cache()
    # Task environments are expensive to build: share them across sessions via the user's cache,
    # but keep calibrations and runs of tests apart from the user's.
    os.environ.setdefault("RDBENCH_CACHE_DIR", str(Path.home() / ".cache" / "rdbench-tests"))


@pytest.fixture
def toy_tasks_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Puts the toy test tasks on the task search path."""
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY_TASKS))
    return TOY_TASKS
