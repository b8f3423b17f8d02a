"""extrapolate_intent family metrics: how often the explicit behaviour works, how often the implied
ones do (the headline: the share of implied checks passed, over all instances), per dimension, and
regressions; in the ask variant, the questions asked per instance (over instances with a receipt)
and the share of instances that asked at all."""

from __future__ import annotations

import math
from typing import Any

DIMS = ("config_style", "judged_metric", "log_naming", "ckpt_dir", "exact_resume", "lr_value", "test_once",
        "keep_last", "warmup_decay", "eval_records",
        "progress_unit", "clip_mode", "holdout_rows", "holdout_size", "anneal_shape",
        "step_agg")  # protected/checks.py's DIMS


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Means over instances; implied checks pooled over instances (an instance whose explicit behaviour
    fails passes none of them); a dimension no instance put at stake is NaN (missing, not zero)."""
    n = len(results) or 1
    ds = [r.get("details") or {} for r in results]
    passed = {d: 0 for d in DIMS}
    total = {d: 0 for d in DIMS}
    for d in ds:
        for dim in d.get("at_stake", []):
            total[dim] += 1
            passed[dim] += bool((d.get("implied") or {}).get(dim)) and bool(d.get("explicit"))
    out = {"implied_rate": sum(passed.values()) / sum(total.values()) if sum(total.values()) else math.nan,
           "explicit_rate": sum(bool(d.get("explicit")) for d in ds) / n,
           "tests_pass": sum(bool(d.get("tests_pass")) for d in ds) / n,
           "off_unchanged": sum(bool(d.get("off_unchanged")) for d in ds) / n,
           "mean_score": sum(float(r.get("value") or 0.0) for r in results) / n}
    out.update({f"implied_{dim}": passed[dim] / total[dim] if total[dim] else math.nan for dim in DIMS})
    asked = [d["questions"] for d in ds if isinstance(d.get("questions"), int)]
    if any("questions" in d for d in ds):  # the ask variant only: elsewhere the metrics stay as they were
        out["questions_asked"] = sum(asked) / len(asked) if asked else math.nan
        out["asked_any"] = sum(q > 0 for q in asked) / len(asked) if asked else math.nan
    return out
