"""watch_run family metrics: precision, recall, false alarms per 1,000 clean steps, latency, type."""

from __future__ import annotations

import statistics
from typing import Any


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Aggregates per-instance ``details``; clean steps = healthy runs plus pre-fault steps."""
    tp = fa = faulty = 0
    clean_steps = 0
    latencies: list[float] = []
    typed = 0
    for r in results:
        d = r.get("details") or {}
        if not d:
            continue
        clean_steps += d["at"] if d["truth_fault"] else d["steps"]
        faulty += bool(d["truth_fault"])
        fa += bool(d["false_alarm"])
        if d["detected"]:
            tp += 1
            latencies.append(float(d["latency"]))
            typed += bool(d["type_correct"])
    alarms = tp + fa
    return {
        "precision": tp / alarms if alarms else 0.0,
        "recall": tp / faulty if faulty else 0.0,
        "false_alarms_per_1000_clean_steps": 1000.0 * fa / clean_steps if clean_steps else 0.0,
        "median_latency_steps": statistics.median(latencies) if latencies else float("nan"),
        "type_accuracy": typed / tp if tp else 0.0,
        "mean_score": sum(float(r["value"] or 0.0) for r in results) / len(results) if results else 0.0,
    }
