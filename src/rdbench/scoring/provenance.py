"""What a score was made with: rdbench and Inspect versions, the task's prepared assets and its
environment's installed packages. Stored with every run record and calibration (design principle:
every score is reproducible), so two scores that disagree can be traced to what differed."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rdbench.task.assets import Materialized
from rdbench.task.environment import environment_fingerprint


@cache
def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def provenance(materialized: Materialized, environment: Path) -> dict[str, Any]:
    """Versions, assets and environment behind a score of ``materialized``'s task."""
    return {
        "rdbench": _version("rdbench"),
        "inspect_ai": _version("inspect_ai"),
        "task_version": materialized.task.spec.version,
        "assets": materialized.root.name,
        "environment": environment_fingerprint(environment),
    }
