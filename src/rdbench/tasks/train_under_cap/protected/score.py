"""Score train_under_cap: the scorer runs the agent's train.py itself, under a memory and a time cap,
on a hidden data variant, and scores the model it leaves on that variant's hidden test text.

Per call: the variant (a lexical world of the corpus the agent never saw) is chosen by the call's
seed; only the workspace's top-level ``*.py`` files (at most ``code_bytes`` in all, read with the
toolkit: no links) are copied into a fresh folder with the variant's training text, so no weights
can be shipped in. ``train.py`` runs there in a nested sandbox (``rs.run_untrusted``) under a cgroup
memory cap for its whole process tree and a wall-clock limit; when that returns every process it
started is dead, and only then is ``out/model.pt`` read, as data, into the scorer's own ``gpt.GPT``
(``checkpoint.check_gpt``: parameter cap, names, shapes, dtypes, finite). Out of memory or out of time
is invalid, with a message saying which. Where the scale sets ``gpu_memory_mb`` (full), the harness's
GPU watchdog also caps the tree's GPU memory (polled; the toolkit adds PyTorch's cooperative memory
fraction): over it is invalid too, and the details give the peak (None where no GPU is visible). Score: next-token loss on the variant's hidden test stream,
windows of the model's own context at an alignment drawn from the seed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import rdbench_scorer as rs
import torch
import torch.nn.functional as F

MODEL_BYTES = 32 * 2**20  # far above a float32 model at the parameter cap


def _load(protected: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, protected / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def copy_code(workspace: Path, dest: Path, limit: int) -> list[str]:
    """Copy the workspace's top-level ``*.py`` files (regular files only) into ``dest``; their names."""
    names = sorted(p.name for p in workspace.iterdir() if p.name.endswith(".py"))
    if "train.py" not in names:
        raise rs.Invalid("train.py is missing from the workspace")
    too_big = rs.Invalid(f"the workspace's .py files hold more than {limit:,} bytes: only code is taken to the "
                         f"scoring run (no weights or data); make them smaller")
    total = 0
    for name in names:
        try:
            data = rs.read_bytes(name, workspace, max_bytes=limit - total)
        except rs.Invalid as error:
            raise too_big if "too large" in error.message else error from None
        total += len(data)
        (dest / name).write_bytes(data)
    return names


@torch.no_grad()
def hidden_loss(model: torch.nn.Module, test: np.ndarray, block: int, seed: int, batch: int = 64
                ) -> tuple[float, int, int]:
    """Mean next-token loss over the non-overlapping windows of ``test`` at an alignment set by ``seed``."""
    offset = int(np.random.default_rng(seed).integers(0, block))
    starts = offset + block * np.arange((len(test) - 1 - offset) // block)
    loss_sum, count = 0.0, 0
    for i in range(0, len(starts), batch):
        win = torch.from_numpy(test[starts[i:i + batch, None] + np.arange(block + 1)[None, :]])
        logits = model(win[:, :-1]).float()
        loss_sum += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1),
                                          reduction="sum").double())
        count += win[:, 1:].numel()
    return loss_sum / count, count, offset


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(int(params.get("threads", 2)))
    variants = sorted(p for p in (protected / "variants").iterdir() if p.is_dir())
    variant = variants[int(params["seed"]) % len(variants)]
    run_dir = rs.shared_dir("train-")
    names = copy_code(workspace, run_dir, int(params["code_bytes"]))
    (run_dir / "data").mkdir()
    (run_dir / "out").mkdir()
    for name in ("train.txt",):
        (run_dir / "data" / name).write_bytes((variant / name).read_bytes())
    (run_dir / "vocab.json").write_bytes((protected / "vocab.json").read_bytes())
    for path in (run_dir / "data", run_dir / "out", run_dir):
        path.chmod(0o777)
    memory_mb, limit = int(params["memory_mb"]), float(params["run_timeout"])
    run = rs.run_untrusted([sys.executable, "train.py"], cwd=run_dir, timeout=limit, memory_mb=memory_mb,
                           env={"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                                "TIME_CAP_S": f"{limit:g}", "MEMORY_CAP_MB": str(memory_mb)})
    ran = {"variant": variant.name, "files": names, "seconds": round(run.seconds, 2),
           "peak_memory_mb": None if run.peak_memory_mb is None else round(run.peak_memory_mb, 1),
           # missing (None) where no GPU cap is in force or no GPU is visible, never 0
           "peak_gpu_memory_mb": None if run.peak_gpu_memory_mb is None else round(run.peak_gpu_memory_mb, 1),
           "gpu_memory_cap_mb": run.gpu_memory_cap_mb, "gpu_note": run.gpu_note}
    if run.over_gpu_memory:
        raise rs.Invalid(f"train.py went {run.gpu_over_text()} (its whole process tree, polled every "
                         f"0.2 s) and was killed", **ran)
    if run.out_of_memory:
        raise rs.Invalid(f"train.py went over the memory cap of {memory_mb} MB (its whole process tree) and "
                         f"was killed", **ran)
    if run.timed_out:
        raise rs.Invalid(f"train.py did not finish within the time cap of {limit:.0f} s (wall clock) and was "
                         f"killed", **ran)
    if not run.ok:
        raise rs.Invalid(run.why("train.py"), **ran)
    ckpt = rs.load_tensors("out/model.pt", run_dir, max_bytes=MODEL_BYTES)
    gpt = _load(protected, "gpt")
    checkpoint = _load(protected, "checkpoint")
    vocab = json.loads((protected / "vocab.json").read_text())["itos"]
    bounds = checkpoint.GPTBounds(vocab_size=len(vocab), max_params=int(params["max_params"]),
                                  min_block=int(params["min_block"]), max_block=int(params["max_block"]),
                                  max_layers=int(params["max_layers"]), max_width=int(params["max_width"]),
                                  dtypes=("float32", "float16", "bfloat16"))
    try:
        model, facts = checkpoint.check_gpt(ckpt, gpt, bounds)
    except checkpoint.CheckpointError as error:
        raise rs.Invalid(f"out/model.pt rejected: {error}", **ran) from None
    test = np.load(variant / "test_ids.npy", allow_pickle=False).astype(np.int64)
    block = int(facts["config"]["block_size"])
    loss, tokens, offset = hidden_loss(model, test, block, int(params["seed"]))
    details = {**ran, "loss": loss, "tokens": tokens, "offset": offset, "params": facts["params"],
               "config": facts["config"]}
    if not math.isfinite(loss):
        raise rs.Invalid("the model's hidden-test loss is not finite", **details)
    peak = "" if run.peak_memory_mb is None else f", peak memory {run.peak_memory_mb:.0f} of {memory_mb} MB"
    if run.gpu_memory_cap_mb is not None:
        gpu = run.gpu_note if run.peak_gpu_memory_mb is None else f"{run.peak_gpu_memory_mb:.0f}"
        peak += f", peak GPU memory {gpu} of {run.gpu_memory_cap_mb:.0f} MiB"
    return rs.scored(loss, f"hidden-test loss {loss:.4f} nats/token (lower is better); train.py took "
                           f"{run.seconds:.1f} of {limit:.0f} s{peak}; {facts['params']:,} parameters, "
                           f"context {block}", **details)
