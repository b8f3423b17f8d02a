"""Plain-code baseline solvers that anchor the family scales from below."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

# Linter-style rules for find_bug: (bug type, regex over a stripped line). Absence rules follow.
_LINE_RULES: list[tuple[str, str]] = [
    ("softmax_wrong_dim", r"softmax\(.*dim=0\)"),
    ("loss_reduction_changed", r'reduction="sum"'),
    ("cross_entropy_on_probabilities", r"cross_entropy\(\w+\.softmax"),
    ("scaler_before_split", r"mu, sd = X\.mean"),
]


def lint_find_bug(source: str) -> dict[str, Any]:
    """A linter-style find_bug answer: pattern rules, then missing-statement and ordering checks."""
    lines = [line.strip() for line in source.splitlines()]
    for kind, pattern in _LINE_RULES:
        for i, line in enumerate(lines):
            if re.search(pattern, line):
                return {"buggy": True, "lines": [i + 1], "type": kind}
    step = next((i for i, line in enumerate(lines) if line == "opt.step()"), None)
    backward = next((i for i, line in enumerate(lines) if line == "loss.backward()"), None)
    if step is not None and backward is not None and step < backward:
        return {"buggy": True, "lines": [step + 1], "type": "step_before_backward"}
    if backward is not None and not any(line.startswith("opt.zero_grad(") for line in lines):
        return {"buggy": True, "lines": [backward + 1], "type": "missing_zero_grad"}
    if not any(line == "model.eval()" for line in lines):
        at = next((i for i, line in enumerate(lines) if line.startswith("with torch.no_grad")), 0)
        return {"buggy": True, "lines": [at + 1], "type": "no_eval_switch"}
    return {"buggy": False, "lines": [], "type": None}


def threshold_watch(advance: Callable[[int], list[dict[str, float]]], steps: int, chunk: int = 20) -> tuple[int, str] | None:
    """A threshold-rule watch_run solver: reveals ``chunk`` steps per check-in and alarms on the first
    rule that fires (non-finite loss, lr jump, gradient-norm blow-up, throughput loss, loss rise or
    collapse against the running history). Returns ``(step, type)`` or None.
    """
    seen: list[dict[str, float]] = []
    while len(seen) < steps:
        new = advance(chunk)
        if not new:
            break
        for row in new:
            hist = seen[-60:]
            seen.append(row)
            if len(hist) < 30:
                continue
            med = sorted(h["samples_per_s"] for h in hist)[len(hist) // 2]
            gmed = sorted(h["grad_norm"] for h in hist)[len(hist) // 2]
            lmean = sum(h["loss"] for h in hist[-30:]) / 30
            step = int(row["step"])
            if not math.isfinite(row["loss"]) or not math.isfinite(row["grad_norm"]):
                return step, "nan_batch"
            if row["lr"] > 2.0 * hist[-1]["lr"]:
                return step, "lr_spike"
            if row["samples_per_s"] < 0.1 * med:
                return step, "stall"
            if row["samples_per_s"] < 0.7 * med:
                return step, "throughput_drop"
            if row["grad_norm"] > 8.0 * gmed + 1.0:
                return step, "exploding_gradients"
            recent = [r["loss"] for r in seen[-10:]]
            if len(recent) == 10 and sum(recent) / 10 > lmean + 0.6:
                return step, "label_noise"
            if len(recent) == 10 and max(recent) < 0.02:
                return step, "repeated_batch"
    return None
