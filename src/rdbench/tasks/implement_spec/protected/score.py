"""implement_spec scorer: hidden numerical tests, gradient checks (where they apply) and a short
training run, each against the reference computed in this process; the agent's component runs in a
child process that receives only the inputs (no path to protected/)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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


def _nan(message):
    return {"value": float("nan"), "message": message, "details": {}}


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _close(a, b, rtol):
    """Same shape and dtype, values within tolerance, as real tensors (no subclasses)."""
    return (type(a) is torch.Tensor and a.shape == b.shape and a.dtype == b.dtype
            and bool(torch.allclose(a, b, rtol=rtol, atol=rtol * 1e-3, equal_nan=False)))


def score(workspace, protected, params):
    inst = json.loads((protected / "instance.json").read_text())
    comps = _load(protected / "components.py", "implement_spec_components")
    harness_path = protected / "harness.py"
    harness = _load(harness_path, "implement_spec_harness")
    ref_fn, consts, kind = comps.FUNCS[inst["name"]], inst["p"], inst["kind"]
    checks = comps.CHECKS[kind]
    seed = int(params.get("seed", 0)) % 100000
    comp = workspace / "component.py"
    if comp.is_symlink() or (comp.exists() and comp.stat().st_nlink > 1):
        return _nan("component.py must be a plain file (no links)")
    cases = comps.make_cases(kind, seed)  # fresh hidden inputs per call
    data = harness.train_data(kind, seed)
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = Path(tmp) / "in.pt", Path(tmp) / "out.pt"
        torch.save({"cases": cases, "kind": kind, "train": data}, inp)
        child = harness_path.read_text() + CHILD_MAIN
        try:
            proc = subprocess.run([sys.executable, "-c", child, str(inp), str(outp)], cwd=workspace,
                                  capture_output=True, text=True, timeout=120, env=dict(os.environ))
        except subprocess.TimeoutExpired:
            proc = None
        if proc is None or proc.returncode != 0 or not outp.exists():
            err = "timed out after 120 s" if proc is None else proc.stderr
            tail = err.strip().splitlines()[-1:] or ["no output"]
            return {"value": 0.0, "message": f"component failed: {tail[0][:300]}",
                    "details": {"level": inst["level"], "name": inst["name"], "passed_all": False, "error": err[-2000:]}}
        try:
            got = torch.load(outp, weights_only=True)  # written by the agent's process: no pickles
            results, curve = got["results"], got["curve"]
            if not isinstance(curve, list) or not all(isinstance(c, float) for c in curve):
                raise TypeError("curve")
        except Exception as error:  # noqa: BLE001 - anything malformed is a failed submission
            return {"value": 0.0, "message": f"component output unreadable: {type(error).__name__}",
                    "details": {"level": inst["level"], "name": inst["name"], "passed_all": False}}
    ref = harness.run_cases(lambda *a: ref_fn(*a, consts), kind, cases)
    ok = {"numeric": True, "gradients": True}
    if len(results) != len(ref):
        ok = {"numeric": False, "gradients": False}
    for mine, theirs in zip(results, ref):
        if not isinstance(mine, (list, tuple)) or len(mine) != len(theirs):
            ok = {"numeric": False, "gradients": False}
            break
        # The first tensor is the output (or trajectory, or schedule); the rest input gradients.
        ok["numeric"] &= _close(mine[0], theirs[0], RTOL["numeric"])
        ok["gradients"] &= all(_close(a, b, RTOL["gradients"]) for a, b in zip(mine[1:], theirs[1:]))
    ref_curve = harness.train(lambda *a: ref_fn(*a, consts), kind, data)
    tracks = len(curve) == len(ref_curve) and all(
        math.isfinite(a) and abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(curve, ref_curve))
    outcome = {"numeric": ok["numeric"], "gradients": ok["gradients"] if "gradients" in checks else None,
               "training": tracks}
    passed = [bool(outcome[c]) for c in checks]
    details = {"level": inst["level"], "name": inst["name"], "kind": kind, **outcome, "training_tracks": tracks,
               "passed_all": all(passed)}
    msg = ", ".join(f"{c} {'ok' if outcome[c] else 'FAIL'}" for c in checks)
    return {"value": sum(passed) / len(passed), "message": msg, "details": details}
