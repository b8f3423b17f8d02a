"""audit_data family metrics: mean precision@k, mean AUPRC (average precision), leak accuracy."""

from __future__ import annotations

from typing import Any


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Means over instances (an unscored instance counts as zero)."""
    n = len(results) or 1
    ds = [r.get("details") or {} for r in results]
    return {
        "precision_at_k": sum(float(d.get("precision_at_k", 0.0)) for d in ds) / n,
        "auprc": sum(float(d.get("average_precision", 0.0)) for d in ds) / n,
        "leak_column_accuracy": sum(bool(d.get("leak_correct")) for d in ds) / n,
    }
