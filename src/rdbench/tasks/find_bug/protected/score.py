"""find_bug scorer: reads answer.json; re-runs train.py in a nested sandbox when it was edited (repair).

Scores are hidden from the agent, so a scoring call must not reveal the label by how long it takes:
an edited train.py is re-run on the three seeds whatever the label (the repair check only counts for
a buggy script), and nothing else the scorer does depends on the label's value.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def _rerun(workspace: Path, seed: int) -> float | None:
    run = rs.run_untrusted([sys.executable, "train.py"], cwd=workspace, timeout=60, env={"SEED": str(seed)})
    try:
        last = run.stdout_text().strip().splitlines()[-1].split()
        return float(last[1]) if run.ok and last[0] == "test_logloss" else None
    except (IndexError, ValueError):
        return None


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    import json

    label = json.loads((protected / "label.json").read_text())
    answer = rs.read_json("answer.json", workspace)
    train = rs.read_bytes("train.py", workspace) if (workspace / "train.py").exists() else None
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json invalid: it must hold a JSON object")
    said = answer.get("buggy")
    lines = answer.get("lines") or []
    kind = answer.get("type")
    if answer.get("answered") is False:
        said = False
    elif not isinstance(said, bool) or not isinstance(lines, list) or \
            not all(isinstance(x, int) and not isinstance(x, bool) for x in lines):
        raise rs.Invalid("answer.json invalid: buggy must be a boolean and lines a list of integers")
    truth = label["buggy"]
    details: dict[str, Any] = {"truth_buggy": truth, "truth_type": label["type"], "said_buggy": said,
                               "said_type": kind, "line_correct": False, "type_correct": False, "repaired": None}
    edited = train is not None and hashlib.sha256(train).hexdigest() != label["original_sha256"]
    # the same work for every label (see the module docstring)
    got = [_rerun(workspace, s) for s in (0, 1, 2)] if edited else None
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        details["said_buggy"] = False
        return rs.scored(0.0, 'no answer yet (answer.json has "answered": false)', **details)
    if truth:
        details["line_correct"] = bool(said and lines and lines[0] in label["lines"])
        details["type_correct"] = bool(said and kind == label["type"])
        value = (float(said) + details["line_correct"] + details["type_correct"]) / 3
        if got is not None:
            clean = label["clean_metrics"]
            lo, hi = min(clean) - 0.02, max(clean) + 0.02
            details["repair_metrics"] = got
            details["repaired"] = all(g is not None and math.isfinite(g) and lo <= g <= hi for g in got)
    else:
        value = float(not said)
    return rs.scored(value, "answer recorded", **details)
