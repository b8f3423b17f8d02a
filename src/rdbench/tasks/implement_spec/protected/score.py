"""implement_spec scorer: hidden numerical tests, gradient checks and a short training run, each
against the reference computed in this process; the agent's component runs in a child process."""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

TRAIN_SRC = '''
import torch
import torch.nn.functional as F

def train(fn, kind, x, target, seed, steps=30):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Tanh(), torch.nn.Linear(10, 10)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    curve = []
    for _ in range(steps):
        out = model(x)
        loss = fn(out, target) if kind == "loss" else F.cross_entropy(fn(out, target), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(float(loss.detach()))
    return curve
'''

CHILD = TRAIN_SRC + '''
import sys
sys.path.insert(0, ".")
data = torch.load(sys.argv[1])
from component import component
results = []
for x, target, w in data["cases"]:
    x = x.clone().requires_grad_(True)
    out = component(x, target)
    if not isinstance(out, torch.Tensor) or type(out) is not torch.Tensor:
        raise TypeError("component must return a plain torch.Tensor")
    (out * w).sum().backward()
    results.append((out.detach().clone(), x.grad.detach().clone()))
curve = train(component, data["kind"], data["train_x"], data["train_target"], data["seed"])
torch.save({"results": results, "curve": curve}, sys.argv[2])
'''


def _nan(message):
    return {"value": float("nan"), "message": message, "details": {}}


def score(workspace, protected, params):
    inst = json.loads((protected / "instance.json").read_text())
    spec = importlib.util.spec_from_file_location("implement_spec_components", protected / "components.py")
    comps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(comps)
    ref_fn = comps.FUNCS[inst["name"]]
    p, kind, seed = inst["p"], inst["kind"], int(params.get("seed", 0)) % 100000
    if (workspace / "component.py").is_symlink():
        return _nan("component.py must be a plain file")
    cases = []
    for i in range(3):  # fresh hidden inputs per call
        x, target = comps.inputs(kind, seed * 7 + i)
        w = comps.inputs(kind, seed * 7 + i + 100)[0].reshape(x.shape) if kind == "layer" else torch.tensor(1.5, dtype=torch.float64)
        cases.append((x, target, w))
    train_x, train_target = comps.inputs(kind, seed + 1, batch=64)
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = Path(tmp) / "in.pt", Path(tmp) / "out.pt"
        torch.save({"cases": cases, "kind": kind, "train_x": train_x, "train_target": train_target,
                    "seed": seed}, inp)
        proc = subprocess.run([sys.executable, "-c", CHILD, str(inp), str(outp)], cwd=workspace,
                              capture_output=True, text=True, timeout=120, env=dict(os.environ))
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return {"value": 0.0, "message": f"component failed: {tail[0][:300]}",
                    "details": {"level": inst["level"], "passed_all": False, "error": proc.stderr[-2000:]}}
        got = torch.load(outp)
    numeric = grads = True
    for (x, target, w), (out, grad) in zip(cases, got["results"]):
        xr = x.clone().requires_grad_(True)
        ref = ref_fn(xr, target, p)
        (ref * w).sum().backward()
        numeric &= out.shape == ref.shape and out.dtype == ref.dtype and bool(
            torch.allclose(out, ref.detach(), rtol=1e-6, atol=1e-9))
        grads &= grad.shape == xr.grad.shape and bool(torch.allclose(grad, xr.grad, rtol=1e-5, atol=1e-8))
    namespace = {}
    exec(TRAIN_SRC, namespace)
    ref_curve = namespace["train"](lambda a, b: ref_fn(a, b, p), kind, train_x, train_target, seed)
    curve = got["curve"]
    tracks = len(curve) == len(ref_curve) and all(
        abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(curve, ref_curve))
    passed = [numeric, grads, tracks]
    details = {"level": inst["level"], "name": inst["name"], "numeric": numeric, "gradients": grads,
               "training_tracks": tracks, "passed_all": all(passed)}
    msg = f"numeric {'ok' if numeric else 'FAIL'}, gradients {'ok' if grads else 'FAIL'}, training {'ok' if tracks else 'FAIL'}"
    return {"value": sum(passed) / 3, "message": msg, "details": details}
