"""Plain-code baseline solvers that anchor the family scales from below."""

from __future__ import annotations

import re
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
