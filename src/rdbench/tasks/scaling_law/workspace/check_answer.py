"""Check answer.json locally: the format, the width list and the compute budget (not the score).

Usage: ``python check_answer.py [answer.json]``. Uses the same FLOP count as the experiments and the
scorer (``experiment.flops``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from experiment import flops, load_config


def check(path: Path) -> list[str]:
    """Problems with the answer at ``path`` (empty when it is valid)."""
    config = load_config()
    try:
        answer = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return [f"cannot read {path}: {error}"]
    if not isinstance(answer, dict):
        return ["answer.json must hold a JSON object"]
    width, steps, loss = answer.get("n_embd"), answer.get("steps"), answer.get("loss")
    problems = []
    if type(width) is not int or type(steps) is not int:
        return ["'n_embd' and 'steps' must be integers"]
    if type(loss) not in (int, float) or not math.isfinite(loss) or not 0 < loss < 20:
        problems.append("'loss' must be a finite number of nats/token")
    if width not in config["answer_widths"]:
        problems.append(f"'n_embd' must be one of {config['answer_widths']}")
    target, tol = config["target_flops"], config["budget_tolerance"]
    cost = flops(width, steps, config)
    if not (1 - tol) * target <= cost <= target:
        problems.append(f"{cost:.4g} FLOPs: must be between {(1 - tol) * target:.4g} and {target:.4g}")
    return problems


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "answer.json"
    found = check(target)
    print("\n".join(found) if found else f"{target}: valid (format and budget)")
    sys.exit(1 if found else 0)
