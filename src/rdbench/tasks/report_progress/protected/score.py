"""report_progress scorer: each signed status update against the truth at its checkpoint.

An update counts only with its receipt (signed by the ``progress`` service with a key that only
``protected/`` holds): the receipt binds the checkpoint, its clock time and the digest of the update's
canonical JSON, so updates cannot be back-dated or edited after signing. Per checkpoint (weights):
run states 0.30 (share right), best run 0.15, best metric 0.10 (relative error: full credit within
0.5 %, none past 5.5 %), expected finish 0.10 (error beyond 0.1 min relative to the time left, at
least 5 min), events 0.20 (F1),
actions 0.15 (F1); minus 0.1 per invented number (in the summary or the best metric, a number that
no revealed log line shows, even rounded; counts of runs and the update's own finish estimate are
allowed), at most 0.5. The value is the mean over the checkpoints; a checkpoint without an update
scores 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

WEIGHTS = {"states": 0.30, "best_run": 0.15, "best_metric": 0.10, "finish": 0.10, "events": 0.20, "actions": 0.15}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def canonical(update: dict[str, Any]) -> str:
    return json.dumps(update, sort_keys=True, separators=(",", ":"))


def _f1(said: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    if not said and not truth:
        return 1.0, 1.0, 1.0
    hits = len(said & truth)
    precision = hits / len(said) if said else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return f1, precision, recall


def _pairs(items: Any, key: str) -> set[tuple[str, str]]:
    if not isinstance(items, list):
        return set()
    return {(str(i.get("run")), str(i.get(key))) for i in items if isinstance(i, dict)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def grounded(claim: str, revealed: list[str]) -> bool:
    """Whether ``claim`` is a revealed number, possibly rounded to the claim's precision."""
    decimals = len(claim.split(".")[1]) if "." in claim and "e" not in claim.lower() else 0
    try:
        target = float(claim)
    except ValueError:
        return False
    for text in revealed:
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isfinite(value) and abs(round(value, decimals) - target) < 10 ** -(decimals + 3):
            return True
    return False


def invented(update: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """The numbers of the summary and the best metric that no revealed line shows."""
    allowed_ints = {str(i) for i in range(len(truth["states"]) + 1)}
    finish = _number(update.get("expected_finish_min"))
    claims = _NUMBER.findall(str(update.get("summary", ""))[:4000])
    metric = _number(update.get("best_metric"))
    if metric is not None:
        claims.append(repr(metric))
    out = []
    for claim in claims:
        if claim.lstrip("-") in allowed_ints or (finish is not None and abs(float(claim) - finish) < 0.01):
            continue
        if not grounded(claim, truth["revealed_numbers"]):
            out.append(claim)
    return out


def judge(update: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """One update's parts (each in [0, 1]), its invented numbers and its value."""
    runs = update.get("runs")
    states: dict[str, Any] = runs if isinstance(runs, dict) else {}
    right = sum(states.get(run) == state for run, state in truth["states"].items())
    parts = {"states": right / len(truth["states"])}
    parts["best_run"] = float(update.get("best_run") == truth["best_run"])
    said = _number(update.get("best_metric"))
    if truth["best_metric"] is None:
        parts["best_metric"] = float(update.get("best_metric") is None)
    elif said is None:
        parts["best_metric"] = 0.0
    else:
        rel = abs(said - truth["best_metric"]) / max(abs(truth["best_metric"]), 1e-9)
        parts["best_metric"] = max(0.0, min(1.0, 1.0 - (rel - 0.005) / 0.05))
    estimate = _number(update.get("expected_finish_min"))
    left = max(truth["finish"] - truth["t"], 5.0)
    off = 0.0 if estimate is None else max(0.0, abs(estimate - truth["finish"]) - 0.1)  # 0.1: rounding
    parts["finish"] = 0.0 if estimate is None else max(0.0, 1.0 - off / left)
    parts["events"], event_p, event_r = _f1(_pairs(update.get("events"), "event"), {tuple(e) for e in truth["events"]})
    parts["actions"], _, _ = _f1({p for p in _pairs(update.get("actions"), "action") if p[1] in ("stop", "restart")},
                                 {tuple(a) for a in truth["actions"]})
    made_up = invented(update, truth)
    value = sum(WEIGHTS[k] * parts[k] for k in WEIGHTS) - min(0.5, 0.1 * len(made_up))
    return {"parts": parts, "event_precision": event_p, "event_recall": event_r, "invented": made_up,
            "value": max(0.0, value)}


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    label = json.loads((protected / "label.json").read_text())
    truths = json.loads((protected / "truth.json").read_text())
    answer = rs.read_json("answer.json", workspace)
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json invalid: it must hold a JSON object")
    k_total = len(label["checkpoints"])
    details: dict[str, Any] = {"checkpoints": k_total, "judged": []}
    if answer.get("answered") is False:  # the starting template: no report yet scores 0
        return rs.scored(0.0, 'no answer yet (answer.json has "answered": false)', **details)
    items = answer.get("updates")
    if not isinstance(items, list) or len(items) > k_total:
        raise rs.Invalid(f"answer.json invalid: 'updates' must be a list of at most {k_total} items")
    values: dict[int, float] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("update"), dict):
            raise rs.Invalid("answer.json invalid: each update needs 'receipt' and 'update' (an object)")
        try:
            k_s, t_s, digest, mac = str(item.get("receipt")).split(":")
            k = int(k_s)
        except ValueError:
            raise rs.Invalid("receipt malformed: copy the line progress --update printed") from None
        body = f"{k_s}:{t_s}:{digest}"
        good = hmac.new(label["key"].encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(good, mac) or not 1 <= k <= k_total:
            raise rs.Invalid("receipt signature invalid")
        if hashlib.sha256(canonical(item["update"]).encode()).hexdigest()[:16] != digest:
            raise rs.Invalid(f"update {k} differs from the one its receipt signed (digest mismatch)")
        if k in values:
            raise rs.Invalid(f"two updates for checkpoint {k}")
        judged = judge(item["update"], truths[k - 1])
        values[k] = judged["value"]
        details["judged"].append({"checkpoint": k, **judged})
    value = sum(values.values()) / k_total
    details["missing"] = [k for k in range(1, k_total + 1) if k not in values]
    return rs.scored(value, f"recorded ({len(values)} of {k_total} checkpoints)", **details)
