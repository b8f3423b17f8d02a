"""find_bug family metrics: detection F1, top-1 localisation, type accuracy, repair success."""

from __future__ import annotations

from typing import Any


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Aggregates per-instance ``details`` (unscored instances count as answering "clean")."""
    tp = fp = fn = 0
    buggy = loc = typ = rep = 0
    for r in results:
        d = r.get("details") or {}
        truth, said = bool(d.get("truth_buggy")), bool(d.get("said_buggy"))
        tp += truth and said
        fp += said and not truth
        fn += truth and not said
        if truth:
            buggy += 1
            loc += bool(d.get("line_correct"))
            typ += bool(d.get("type_correct"))
            rep += d.get("repaired") is True
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per = (lambda x: x / buggy) if buggy else (lambda x: 0.0)
    return {"detection_f1": f1, "detection_precision": precision, "detection_recall": recall,
            "localisation_top1": per(loc), "type_accuracy": per(typ), "repair_success": per(rep)}
