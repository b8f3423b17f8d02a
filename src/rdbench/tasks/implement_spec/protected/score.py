"""implement_spec scorer: hidden numerical tests, gradient checks (where they apply) and a short
training run, each against the reference computed in this process; the agent's component runs in a
nested sandbox that receives only the inputs (it cannot see protected/ or this process)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import rdbench_scorer as rs
import torch

CHILD_MAIN = '''
import sys
sys.path.insert(0, ".")
data = torch.load(sys.argv[1], weights_only=True)
from component import component
results = run_cases(component, data["kind"], data["cases"])
curve = train(component, data["kind"], data["train"])
torch.save({"results": results, "curve": [float(c) for c in curve]}, sys.argv[2])
'''

# Tolerances: values and trajectories rtol 1e-6, gradients 1e-5, training curves 1e-4 (relative).
RTOL = {"numeric": 1e-6, "gradients": 1e-5}


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _close(a: Any, b: torch.Tensor, rtol: float) -> bool:
    """Same shape and dtype, values within tolerance, as real tensors (no subclasses)."""
    return (type(a) is torch.Tensor and a.shape == b.shape and a.dtype == b.dtype
            and bool(torch.allclose(a, b, rtol=rtol, atol=rtol * 1e-3, equal_nan=False)))


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    inst = json.loads((protected / "instance.json").read_text())
    comps = _load(protected / "components.py", "implement_spec_components")
    harness_path = protected / "harness.py"
    harness = _load(harness_path, "implement_spec_harness")
    ref_fn, consts, kind = comps.FUNCS[inst["name"]], inst["p"], inst["kind"]
    checks = comps.CHECKS[kind]
    seed = int(params.get("seed", 0)) % 100000
    rs.read_bytes("component.py", workspace)  # a regular file, not a link
    cases = comps.make_cases(kind, seed)  # fresh hidden inputs per call
    data = harness.train_data(kind, seed)
    shared = rs.shared_dir("spec-")
    torch.save({"cases": cases, "kind": kind, "train": data}, shared / "in.pt")
    (shared / "child.py").write_text(harness_path.read_text() + CHILD_MAIN)
    run = rs.run_untrusted([sys.executable, str(shared / "child.py"), str(shared / "in.pt"), str(shared / "out.pt")],
                           cwd=workspace, timeout=120)
    failed = {"level": inst["level"], "name": inst["name"], "passed_all": False}
    if not run.ok:
        err = run.stderr.decode(errors="replace")
        tail = "timed out after 120 s" if run.timed_out else (err.strip().splitlines()[-1:] or ["no output"])[0]
        return rs.scored(0.0, f"component failed: {tail[:300]}", **failed, error=err[-2000:])
    try:
        got = rs.load_tensors("out.pt", shared)  # written by the agent's process: data only
        results, curve = got["results"], got["curve"]
        if not isinstance(results, (list, tuple)):
            raise TypeError("results")
        if not isinstance(curve, list) or not all(isinstance(c, float) for c in curve):
            raise TypeError("curve")
    except (rs.Invalid, KeyError, TypeError) as error:
        return rs.scored(0.0, f"component output unreadable: {type(error).__name__}", **failed)
    ref = harness.run_cases(lambda *a: ref_fn(*a, consts), kind, cases)
    ok: dict[str, bool] = {"numeric": True, "gradients": True}
    if len(results) != len(ref):
        ok = {"numeric": False, "gradients": False}
    for mine, theirs in zip(results, ref, strict=False):
        if not isinstance(mine, (list, tuple)) or len(mine) != len(theirs):
            ok = {"numeric": False, "gradients": False}
            break
        # The first tensor is the output (or trajectory, or schedule); the rest input gradients.
        ok["numeric"] &= _close(mine[0], theirs[0], RTOL["numeric"])
        ok["gradients"] &= all(_close(a, b, RTOL["gradients"]) for a, b in zip(mine[1:], theirs[1:], strict=False))
    ref_curve = harness.train(lambda *a: ref_fn(*a, consts), kind, data)
    tracks = len(curve) == len(ref_curve) and all(
        math.isfinite(a) and abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(curve, ref_curve, strict=False))
    outcome = {"numeric": ok["numeric"], "gradients": ok["gradients"] if "gradients" in checks else None,
               "training": tracks}
    passed = [bool(outcome[c]) for c in checks]
    details = {"level": inst["level"], "name": inst["name"], "kind": kind, **outcome, "training_tracks": tracks,
               "passed_all": all(passed)}
    msg = ", ".join(f"{c} {'ok' if outcome[c] else 'FAIL'}" for c in checks)
    return rs.scored(sum(passed) / len(passed), msg, **details)
