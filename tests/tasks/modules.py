"""Loading task files (scorers, generators, services) as modules, the way the harness does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: Path, name: str | None = None, *, register: bool = False) -> ModuleType:
    """Execute ``path`` as a fresh module.

    Args:
        path: The Python file.
        name: Module name; ``<task>_<file stem>`` when None (unique per task file).
        register: Put it in ``sys.modules`` (dataclasses and pickling look modules up by name).
    """
    name = name or f"{path.parent.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
