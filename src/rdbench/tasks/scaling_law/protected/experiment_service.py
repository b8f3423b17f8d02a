"""Host-side ``experiment`` service: trains one model on the hidden data, on a FLOP budget.

Runs in the harness (trusted task code), outside the agent's sandbox. The compute ledger lives here,
in the run's service ``state``, so nothing the agent does in its sandbox can change it. Each
experiment's FLOPs are counted with ``experiment.flops`` (the same function the agent can read in its
workspace copy) *before* it runs: one over the per-experiment cap, or one that would take the run's
total past its experiment budget, is refused and reports a NaN loss; refused experiments cost
nothing. Training runs in a child process (``protected/experiment.py``, one CPU thread or the GPU),
one experiment at a time per task.

Requests (flags of the ``experiment`` command in the sandbox):
    ``--width W --steps S [--seed K]``  run one experiment.
    ``--ledger``                         show the experiments so far and the compute left.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_RUN_LOCK = threading.Lock()  # experiments share the host's CPU: run them one at a time
_MODULES: dict[str, ModuleType] = {}


def _experiment_module(protected: Path) -> ModuleType:
    key = str(protected)
    if key not in _MODULES:
        spec = importlib.util.spec_from_file_location(f"sl_experiment_{len(_MODULES)}", protected / "experiment.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[key] = module
    return _MODULES[key]


def _int(request: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = request.get(name, default)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _ledger_text(state: dict[str, Any], config: dict[str, Any]) -> str:
    used = state.get("flops_used", 0.0)
    total = float(config["total_experiment_flops"])
    lines = [f"compute used {used:.4g} of {total:.4g} FLOPs ({total - used:.4g} left); "
             f"per-experiment cap {float(config['max_experiment_flops']):.3g}"]
    for entry in state.get("ledger", []):
        loss = entry.get("val_loss")
        shown = "refused" if entry.get("refused") else f"val_loss {loss:.5f}" if isinstance(loss, float) else "failed"
        lines.append(f"  width {entry['width']} steps {entry['steps']} seed {entry['seed']}: "
                     f"{entry['flops']:.4g} FLOPs, {shown}")
    return "\n".join(lines)


def handle(request: dict[str, Any], protected: Path, params: dict[str, Any],
           state: dict[str, Any]) -> dict[str, Any]:
    """Answer one ``experiment`` query (see the module docstring)."""
    protected = Path(protected)
    module = _experiment_module(protected)
    config = module.load_config(protected / "config.json")
    ledger = state.setdefault("ledger", [])
    state.setdefault("flops_used", 0.0)
    if request.get("ledger"):
        return {"output": _ledger_text(state, config), "exit_code": 0}
    width, steps, seed = _int(request, "width"), _int(request, "steps"), _int(request, "seed", 0)
    if width is None or steps is None or seed is None or not 0 <= seed < 1000:
        return {"output": "usage: experiment --width W --steps S [--seed K]  (integers; seed 0..999) "
                          "or experiment --ledger", "exit_code": 2}
    problem = module.check_shape(width, steps, config)
    if problem:
        return {"output": f"invalid experiment: {problem}", "exit_code": 2}
    cost = module.flops(width, steps, config)
    cap, total = float(config["max_experiment_flops"]), float(config["total_experiment_flops"])
    entry = {"width": width, "steps": steps, "seed": seed, "flops": cost}
    with _RUN_LOCK:
        reason = None
        if cost > cap:
            reason = f"{cost:.4g} FLOPs is over the per-experiment cap of {cap:.3g}"
        elif state["flops_used"] + cost > total:
            reason = (f"{cost:.4g} FLOPs would take the run's experiments to "
                      f"{state['flops_used'] + cost:.4g}, over the total budget of {total:.3g}")
        if reason:
            ledger.append({**entry, "refused": True, "val_loss": math.nan})
            return {"output": f"val_loss: nan\nrefused: {reason}; nothing was run or charged", "exit_code": 1}
        state["flops_used"] += cost  # charged before running, so concurrent calls cannot overdraw
        result = _run(protected, width, steps, seed, params)
        if "val_loss" not in result:
            state["flops_used"] -= cost  # the service failed, not the experiment: no charge
            ledger.append({**entry, "failed": result.get("error", "?")})
            return {"output": f"experiment failed: {result.get('error', '?')} (not charged)", "exit_code": 1}
    ledger.append({**entry, "val_loss": result["val_loss"], "train_loss": result.get("train_loss")})
    return {"output": (f"val_loss: {result['val_loss']:.5f}\n"
                       f"width {width}, steps {steps}, seed {seed}: {cost:.4g} FLOPs, "
                       f"{result['params']} params, {result['tokens']} tokens, final train loss "
                       f"{result['train_loss']:.4f}, {result['seconds']:.1f} s on {result.get('device', '?')}\n"
                       f"compute used {state['flops_used']:.4g} of {total:.4g}"),
            "exit_code": 0}


def _run(protected: Path, width: int, steps: int, seed: int, params: dict[str, Any]) -> dict[str, Any]:
    """One experiment in a child process (thread settings and memory stay out of the harness)."""
    env = dict(os.environ)  # trusted task code; keeps CUDA_VISIBLE_DEVICES and library paths
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    cmd = [sys.executable, str(protected / "experiment.py"), "--width", str(width), "--steps", str(steps),
           "--seed", str(seed), "--config", str(protected / "config.json"), "--data", str(protected / "data")]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(protected),
                              timeout=float(params.get("experiment_timeout", 300)))
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    except (IndexError, ValueError):
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
