"""report_progress family metrics: the parts of the updates, averaged over every checkpoint."""

from __future__ import annotations

from typing import Any

PARTS = ("states", "best_run", "best_metric", "finish", "events", "actions")


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Means over all checkpoints of all instances (a checkpoint without an update counts as zero),
    event precision and recall over the updates made, and invented numbers per update made."""
    totals = dict.fromkeys(PARTS, 0.0)
    checkpoints = updates = invented = 0
    precision = recall = 0.0
    for r in results:
        d = r.get("details") or {}
        checkpoints += int(d.get("checkpoints", 0))
        for judged in d.get("judged", []):
            updates += 1
            for part in PARTS:
                totals[part] += float(judged["parts"][part])
            precision += float(judged["event_precision"])
            recall += float(judged["event_recall"])
            invented += len(judged["invented"])
    out = {f"{part}_accuracy" if part in ("states", "best_run") else part: totals[part] / checkpoints if checkpoints else 0.0
           for part in PARTS}
    out.update({"event_precision": precision / updates if updates else 0.0,
                "event_recall": recall / updates if updates else 0.0,
                "invented_numbers_per_update": invented / updates if updates else 0.0,
                "updates_made": updates / checkpoints if checkpoints else 0.0,
                "mean_score": sum(float(r.get("value") or 0.0) for r in results) / len(results) if results else 0.0})
    return out
