"""watch_run scorer: verifies the signed alarm receipt; NAB-style timeliness plus type."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path
from typing import Any

import rdbench_scorer as rs


def timeliness(latency: float, window: float) -> float:
    """NAB's scaled sigmoid: 1.0 at latency 0, ~0.013 at the window's end."""
    return 2.0 / (1.0 + math.exp(5.0 * latency / window))


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    label = json.loads((protected / "label.json").read_text())
    answer = rs.read_json("answer.json", workspace)
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json invalid: it must hold a JSON object")
    receipt = answer.get("receipt")
    details: dict[str, Any] = {"truth_fault": label["fault"], "at": label["at"], "window_start": label["window_start"],
               "steps": label["steps"], "alarm": False, "false_alarm": False, "detected": False,
               "latency": None, "type_correct": False}
    if answer.get("answered") is False:  # the starting template: no decision yet scores 0
        return rs.scored(0.0, 'no answer yet (answer.json has "answered": false)', **details)
    if receipt is None:
        return rs.scored(0.0 if label["fault"] else 1.0, "recorded (no alarm)", **details)
    try:
        step_s, kind, revealed_s, mac = str(receipt).split(":")
        step, revealed = int(step_s), int(revealed_s)
    except ValueError:
        raise rs.Invalid("receipt malformed: copy the line watch --alarm printed") from None
    body = f"{step}:{kind}:{revealed}"
    good = hmac.new(label["key"].encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(good, mac):
        raise rs.Invalid("receipt signature invalid")
    details.update(alarm=True, alarm_step=step, revealed=revealed, said_type=kind)
    if not label["fault"] or step < label["at"]:
        details["false_alarm"] = True
        return rs.scored(0.0, "recorded", **details)
    latency = max(0, revealed - 1 - label["window_start"])
    window = int(params.get("window", 100))
    details["latency"] = latency
    if latency > window:
        return rs.scored(0.0, "recorded", **details)
    details.update(detected=True, type_correct=kind == label["fault"])
    value = 0.8 * timeliness(latency, window) + 0.2 * details["type_correct"]
    return rs.scored(value, "recorded", **details)
