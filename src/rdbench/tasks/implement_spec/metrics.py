"""implement_spec family metrics: pass rate per detail level and the most-vs-least detailed gap."""

from __future__ import annotations

from typing import Any

LEVELS = ["pseudo", "equations", "prose", "intent"]


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """``pass_rate_<level>`` (all three checks passed), ``pass_rate`` and ``detail_gap``."""
    out: dict[str, float] = {}
    for level in LEVELS:
        rows = [r for r in results if (r.get("details") or {}).get("level") == level]
        out[f"pass_rate_{level}"] = sum(bool(r["details"].get("passed_all")) for r in rows) / len(rows) if rows else float("nan")
    out["pass_rate"] = sum(bool((r.get("details") or {}).get("passed_all")) for r in results) / (len(results) or 1)
    out["detail_gap"] = out["pass_rate_pseudo"] - out["pass_rate_intent"]
    return out
