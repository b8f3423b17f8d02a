"""Plain-code baseline solvers that anchor the family scales from below."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

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


def audit_table(train: np.ndarray, labels: np.ndarray, test: np.ndarray, names: list[str]) -> tuple[list[int], str | None]:
    """A plain-code audit_data solver over feature matrices (no ids): returns row indices ranked
    most suspicious first and the leak column (highest |correlation| with the label, if > 0.8).

    Rows rank by: absurd values (robust z > 20), then near-copies of a test row, then the share of
    their 10 nearest training neighbours that disagree with their label.
    """
    med = np.median(train, axis=0)
    mad = np.median(np.abs(train - med), axis=0) + 1e-9
    z = np.abs(train - med) / mad
    clipped = np.clip(train, np.percentile(train, 1, axis=0), np.percentile(train, 99, axis=0))
    corr = [abs(float(np.corrcoef(clipped[:, c], labels)[0, 1])) for c in range(train.shape[1])]
    best = int(np.argmax(corr))
    leak = names[best] if corr[best] > 0.8 else None
    keep = [c for c in range(train.shape[1]) if names[c] != leak]
    feats = np.clip((train[:, keep] - med[keep]) / (1.4826 * mad[keep]), -6, 6)
    test_f = np.clip((test[:, keep] - med[keep]) / (1.4826 * mad[keep]), -6, 6)
    d_test = np.sqrt(((feats[:, None, :] - test_f[None, :, :]) ** 2).sum(-1)).min(1)
    d_train = np.sqrt(((feats[:, None, :] - feats[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d_train, np.inf)
    nn = np.argsort(d_train, axis=1)[:, :10]
    disagree = (labels[nn] != labels[:, None]).mean(1)
    suspicion = disagree + 10.0 * (d_test < 0.01) + 100.0 * (z.max(1) > 20)
    order = [int(i) for i in np.argsort(-suspicion, kind="stable")]
    return order, leak
