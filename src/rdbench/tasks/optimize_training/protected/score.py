"""Score optimize_training: wall time of finetune.sh on a hidden data variant; weights must match."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import torch

THRESHOLD = 0.05  # max ||w - w_ref|| / ||w_ref - w_base||


def _nan(msg, **details):
    return {"value": float("nan"), "message": msg, "details": details}


def score(workspace, protected, params):
    workspace, protected = pathlib.Path(workspace), pathlib.Path(protected)
    for p in workspace.rglob("*"):
        if p.is_symlink():
            return _nan(f"symlinks are not allowed in the workspace: {p.relative_to(workspace)}")
    variants = sorted((protected / "variants").iterdir())
    var = variants[int(params["seed"]) % len(variants)]
    # fresh hidden data and the untouched base model, so replayed weights or edits to inputs fail
    (workspace / "data").mkdir(exist_ok=True)
    shutil.copy(var / "train.txt", workspace / "data" / "train.txt")
    for name in ("base.pt", "config.json"):
        shutil.copy(protected / name, workspace / name)
    shutil.rmtree(workspace / "out", ignore_errors=True)
    limit = float(params.get("run_timeout", 100))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", str(workspace / "finetune.sh")], cwd=workspace, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job, background children included
        proc.communicate()
        return _nan(f"finetune.sh did not finish within {limit:.0f} s")
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        return _nan(f"finetune.sh failed (exit {proc.returncode}): {err[-500:]}")
    try:
        got = torch.load(workspace / "out" / "final.pt", map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable output is invalid
        return _nan(f"cannot read out/final.pt: {e}")
    ref = torch.load(var / "ref.pt", weights_only=True)
    base = torch.load(protected / "base.pt", weights_only=True)["model"]
    num = den = 0.0
    for k, r in ref.items():
        g = got.get(k) if isinstance(got, dict) else None
        if type(g) is not torch.Tensor or g.shape != r.shape:
            return _nan(f"out/final.pt: missing or mis-shaped tensor {k}")
        num += float(((g.double() - r.double()) ** 2).sum())
        den += float(((r.double() - base[k].double()) ** 2).sum())
    rel = (num ** 0.5) / max(den ** 0.5, 1e-12)
    details = {"seconds": secs, "rel_distance": rel, "variant": var.name}
    if not rel < THRESHOLD:
        return _nan(f"weights differ from the reference fine-tune (relative distance {rel:.3f} >= {THRESHOLD}); "
                    "training must be unchanged", **details)
    return {"value": secs, "message": f"finetune.sh took {secs:.2f} s (weights OK, distance {rel:.4f})",
            "details": details}
