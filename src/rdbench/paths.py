"""Where rdbench keeps its caches and state on the host (never mounted into a sandbox)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The root of rdbench's host-side cache (task environments, prepared assets, calibrations).

    ``RDBENCH_CACHE_DIR`` overrides it; otherwise ``$XDG_CACHE_HOME/rdbench`` or ``~/.cache/rdbench``.
    """
    override = os.environ.get("RDBENCH_CACHE_DIR")
    if override:
        path = Path(override)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "rdbench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_root() -> Path:
    """The installed ``rdbench`` package directory (holds the task suite as package data)."""
    return Path(__file__).resolve().parent
