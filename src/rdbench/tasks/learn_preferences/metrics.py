"""learn_preferences family metrics: repeated violations after a correction (the headline), compliance
(the share of the preferences at stake in a turn that it follows) early and late in the session, task
completion."""

from __future__ import annotations

from typing import Any


def metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """Per-session means (an instance without a scored session counts its turns as missing)."""
    n = len(results) or 1
    repeated = early = late = tasks = 0.0
    early_n = late_n = turns = submitted = 0
    for r in results:
        d = r.get("details") or {}
        turns += int(d.get("turns", 0))
        repeated += float(d.get("repeated_violations", 0))
        for j in d.get("judged", []):
            submitted += 1
            tasks += float(j["task"])
            if not j.get("at_stake"):  # no preference applied to this turn
                continue
            share = 1.0 - len(j["violations"]) / j["at_stake"]
            if j["turn"] <= 3:
                early, early_n = early + share, early_n + 1
            if j["turn"] >= 8:
                late, late_n = late + share, late_n + 1
    return {"repeated_violations_per_session": repeated / n,
            "compliance_turns_1_3": early / early_n if early_n else 0.0,
            "compliance_turns_8_10": late / late_n if late_n else 0.0,
            "task_completion": tasks / submitted if submitted else 0.0,
            "turns_submitted": submitted / turns if turns else 0.0,
            "mean_score": sum(float(r.get("value") or 0.0) for r in results) / n}
