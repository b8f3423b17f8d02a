"""Scorer of toy_cores: the answer, and the cores this scorer may run on (its CPU affinity)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    try:
        value = float(rs.read_text("answer.txt", workspace).strip())
    except ValueError:
        raise rs.Invalid("answer.txt must hold a number") from None
    return rs.scored(value, f"answer {value:g}", cores=sorted(os.sched_getaffinity(0)))
