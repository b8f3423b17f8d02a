"""rdbench: a benchmark of machine-learning research engineering for AI agents and people.

Built on Inspect AI. Layers, each a subpackage, import downwards only::

    api, cli -> cluster -> analysis -> agents -> harness -> scoring -> sandbox -> task -> tasklib

The public Python API (``docs/api.md``) is importable from here: ``rdbench.load_task``,
``rdbench.make_task``, ``rdbench.score_folder``, ``rdbench.calibrate``, ``rdbench.read_runs``,
``rdbench.build_report``, ``rdbench.redteam``, ``rdbench.list_tasks``. They load lazily, so
``import rdbench`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("rdbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_API = ("build_report", "calibrate", "list_tasks", "load_task", "make_task", "read_runs", "redteam",
        "score_folder", "UserError", "MissingExtraError", "TaskFormatError", "TaskNotFoundError")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module("rdbench.api"), name)
    raise AttributeError(f"module 'rdbench' has no attribute {name!r}")
