"""get_it_running family metrics: recall of silent faults (the headline), the fault report's F1, how
often the re-run matched the clean repository, collateral edits."""

from __future__ import annotations

import math
from typing import Any


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Means over instances; silent recall over all silent faults (a missing report finds none; NaN
    when no instance has a silent fault)."""
    n = len(results) or 1
    ds = [r.get("details") or {} for r in results]
    silent = sum(int(d.get("silent_total", 0)) for d in ds)
    found = sum(int(d.get("silent_found", 0)) for d in ds)
    return {"silent_fault_recall": found / silent if silent else math.nan,  # no silent fault: no recall
            "report_f1": sum(float(d.get("report_f1", 0.0)) for d in ds) / n,
            "results_match": sum(float(d.get("matched", 0.0)) == 1.0 for d in ds) / n,
            "best_correct": sum(bool(d.get("best_correct")) for d in ds) / n,
            "collateral_edits": sum(bool(d.get("collateral")) for d in ds) / n,
            "mean_score": sum(float(r.get("value") or 0.0) for r in results) / n}
