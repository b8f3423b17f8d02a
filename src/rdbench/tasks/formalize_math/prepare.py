"""Build formalize_math's assets: the dev split and the Agda files for the agent and the scorer.

Writes
- ``workspace/``: dev.json (dev problems with their formal statements: only some statement kinds and
  the first English templates of each) and ``agda/`` (Prelude.agda, the primitive modules the `agda`
  wheel lacks, and agda_check.py);
- ``protected/agda/``: the scorer's own copy of the same files.

Nothing is downloaded: the checker is the `agda` wheel installed with rdbench and in the task
environment; ``agda/lib/prim`` ships Agda's two primitive modules.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEV_SEED = 7


def _problems() -> Any:
    spec = importlib.util.spec_from_file_location("fm_problems", HERE / "protected" / "problems.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fm_problems"] = module
    spec.loader.exec_module(module)
    return module


def prepare(out: Path, params: dict[str, Any]) -> None:
    """Write the workspace and protected assets (see the module docstring)."""
    problems = _problems()
    ws, prot = out / "workspace", out / "protected"
    for folder in (ws / "agda", prot / "agda"):
        shutil.copytree(HERE / "agda", folder, ignore=shutil.ignore_patterns("*.agdai", "__pycache__"))
    dev = problems.generate(DEV_SEED, int(params.get("n_dev", 300)), dev=True, prefix="d")
    rows = [{"id": p.id, "statement": p.statement, "proof": p.proof, "formal": p.formal} for p in dev]
    (ws / "dev.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))
