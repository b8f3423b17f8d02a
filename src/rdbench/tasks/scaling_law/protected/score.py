"""Score scaling_law's ``answer.json`` against the hidden sweep (no agent code runs here).

The sweep (``sweep_<scale>.json``, made by ``sweep.py``) holds, for every answer width, the
validation loss of a model trained with the whole target budget (compute-matched steps), averaged
over two seeds. With L(w) that loss, L_opt its minimum over the widths, the answer's width w and
predicted loss p::

    score = 1 - [(L(w) - L_opt) + |p - L(w)|]

so 1.0 is the best width with an exact prediction. An answer that is malformed, names a width
outside the list, or whose (width, steps) goes over the target budget or uses less than
``1 - budget_tolerance`` of it, is invalid (NaN). The agent's workspace is only read (one small JSON
file, refused when it is a link).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

# what the sweep must share with the prepared task for its losses to be the truth here
SWEEP_KEYS = ("n_layer", "n_head", "block_size", "batch_size", "lr", "vocab_size", "target_flops",
              "answer_widths")


def _read_answer(workspace: Path) -> dict[str, Any]:
    answer = rs.read_json("answer.json", workspace, max_bytes=65536)
    if not isinstance(answer, dict):
        raise rs.Invalid("answer.json must hold a JSON object")
    return answer


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flops(protected: Path) -> Callable[[int, int, dict[str, Any]], float]:
    spec = importlib.util.spec_from_file_location("sl_experiment", protected / "experiment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    flops: Callable[[int, int, dict[str, Any]], float] = module.flops
    return flops


def _data_hashes(folder: Path) -> dict[str, str]:
    import numpy as np

    return {split: hashlib.sha256(np.load(folder / f"{split}.npy").tobytes()).hexdigest()
            for split in ("train", "val")}


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Score the answer in ``workspace/answer.json`` (see the module docstring)."""
    workspace, protected = Path(workspace), Path(protected)
    config = json.loads((protected / "config.json").read_text())
    sweep_path = protected / f"sweep_{params.get('scale', 'mini')}.json"
    if not sweep_path.exists():  # the task's fault, not the agent's
        raise rs.ScorerError(f"no hidden sweep for scale {params.get('scale')!r}: the task maintainers must "
                             f"generate {sweep_path.name} with sweep.py")
    sweep = json.loads(sweep_path.read_text())
    stale = [k for k in SWEEP_KEYS if sweep["config"].get(k) != config.get(k)]
    if stale or sweep["data_sha256"] != _data_hashes(protected / "data"):
        raise rs.ScorerError(f"the hidden sweep does not match this task's data or settings (keys {stale}); "
                             "regenerate it with sweep.py")
    cells = sweep["budgets"][f"{float(config['target_flops']):.4g}"]
    losses = {int(w): float(c["mean"]) for w, c in cells.items()}
    answer = _read_answer(workspace)
    width, steps, loss = answer.get("n_embd"), answer.get("steps"), answer.get("loss")
    if not isinstance(width, int) or not isinstance(steps, int) or not _is_int(width) or not _is_int(steps):
        raise rs.Invalid("answer.json needs integer 'n_embd' and 'steps'")
    if not isinstance(loss, (int, float)) or isinstance(loss, bool) or not math.isfinite(loss) \
            or not 0 < loss < 20:
        raise rs.Invalid("answer.json needs 'loss', a finite number of nats/token (0 < loss < 20)")
    if width not in losses:
        raise rs.Invalid(f"n_embd must be one of {sorted(losses)}")
    target, tolerance = float(config["target_flops"]), float(config["budget_tolerance"])
    cost = _flops(protected)(width, steps, config) if steps > 0 else 0.0
    if cost > target:
        raise rs.Invalid(f"width {width} for {steps} steps costs {cost:.4g} FLOPs, over the budget of "
                        f"{target:.4g}", flops=cost)
    if cost < (1 - tolerance) * target:
        raise rs.Invalid(f"width {width} for {steps} steps costs {cost:.4g} FLOPs: use at least "
                        f"{1 - tolerance:.0%} of the budget of {target:.4g}", flops=cost)
    best_width = min(losses, key=lambda w: losses[w])
    regret = losses[width] - losses[best_width]
    error = abs(float(loss) - losses[width])
    return rs.scored(1.0 - (regret + error),
                     f"answer recorded: n_embd {width}, steps {steps}, predicted loss {float(loss):.4f}",
                     loss_at_choice=losses[width], loss_opt=losses[best_width], opt_width=best_width,
                     regret=regret, prediction_error=error, flops=cost, prediction=float(loss), width=width,
                     steps=steps)
