"""audit_data scorer: average precision of the ranked rows, precision@k, leak-column accuracy.

Scores are hidden from the agent; the work done does not depend on the label (one pass over the
answer's rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    label = json.loads((protected / "label.json").read_text())
    answer = rs.read_json("answer.json", workspace)
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json invalid: it must hold a JSON object")
    rows = answer.get("rows") or []
    leak = answer.get("leak_column")
    if not isinstance(rows, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in rows):
        raise rs.Invalid("answer.json invalid: rows must be a list of integers")
    bad = {int(k) for k in label["bad"]}
    seen: set[int] = set()
    ranked: list[int] = []
    for r in rows:  # repeats would inflate the ranking; keep first occurrences only
        if r not in seen:
            seen.add(r)
            ranked.append(r)
    hits, precisions = 0, []  # type: int, list[float]
    for i, r in enumerate(ranked, start=1):
        if r in bad:
            hits += 1
            precisions.append(hits / i)
    ap = sum(precisions) / len(bad) if bad else 1.0
    k = len(bad)
    p_at_k = sum(r in bad for r in ranked[:k]) / k if k else 1.0
    leak_ok = leak == label["leak_column"]
    details = {"average_precision": ap, "precision_at_k": p_at_k, "k": k, "leak_correct": leak_ok,
               "truth_leak": label["leak_column"], "said_leak": leak, "n_flagged": len(ranked)}
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        details.update(average_precision=0.0, precision_at_k=0.0, leak_correct=False)
        return rs.scored(0.0, 'no answer yet (answer.json has "answered": false)', **details)
    return rs.scored(0.5 * ap + 0.5 * float(leak_ok), "recorded", **details)
