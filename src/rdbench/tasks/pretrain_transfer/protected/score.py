"""Score pretrain_transfer: mean accuracy of workspace/model.pt's backbone on four hidden downstream tasks.

The submission is data only (``rs.load_tensors``: no links, ``weights_only``), checked against the
task's bounds and loaded into the scorer's own copy of ``gpt.py`` (``checkpoint.check_gpt``: config
bounds, parameter cap, exact names, shapes, float32, finite, tied head), so no agent code runs. For
each downstream task (``transfer.TASKS``) the scorer draws fresh labelled examples with the call's seed
(``transfer.make_examples``), fine-tunes a copy of the model's last block and final norm plus a fresh
head on the training share with the fixed recipe (``transfer.finetune_score``; the blocks below stay
frozen; LP-FT: a linear probe solved to convergence, then a gentle fine-tuning) and measures accuracy
on the test share; a task's accuracy is the mean over ``finetunes`` fine-tunings on independent
training draws. The formats and the grammar stay in protected/.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import rdbench_scorer as rs
import torch

MAX_BYTES = 64 * 2**20  # a float32 model at the largest cap of any scale is far smaller


def _load(protected: Path, name: str) -> ModuleType:
    # by path and under a private name, so nothing of the workspace's can stand in for it
    spec = importlib.util.spec_from_file_location(name, protected / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and sibling imports look modules up there
    spec.loader.exec_module(module)
    return module


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(int(params.get("threads", 2)))
    ckpt = rs.load_tensors("model.pt", workspace, max_bytes=MAX_BYTES)
    gpt = _load(protected, "gpt")
    checkpoint = _load(protected, "checkpoint")
    for name in ("corpus", "pairs", "skills"):
        _load(protected, name)
    transfer = _load(protected, "transfer")
    vocab: list[str] = json.loads((protected / "vocab.json").read_text())["itos"]
    bounds = checkpoint.GPTBounds(vocab_size=len(vocab), max_params=int(params["max_params"]),
                                  min_block=int(params["min_block"]), max_block=int(params["max_block"]),
                                  max_layers=int(params["max_layers"]), max_width=int(params["max_width"]))
    try:
        model, facts = checkpoint.check_gpt(ckpt, gpt, bounds)
    except checkpoint.CheckpointError as error:
        raise rs.Invalid(f"model.pt rejected: {error}") from None
    seed = int(params["seed"])
    recipe = transfer.Recipe(epochs=int(params["epochs"]), batch=int(params["batch"]), lr=float(params["lr"]),
                             probe_l2=float(params["probe_l2"]))
    n_train, n_test = int(params["train_examples"]), int(params["test_examples"])
    repeats = int(params["finetunes"])
    stoi = {w: i for i, w in enumerate(vocab)}
    acc: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for k, task in enumerate(transfer.TASKS):
        t0 = time.monotonic()
        # `repeats` fine-tunings on independent training draws, tested on the same fresh examples
        examples = transfer.make_examples(task, repeats * n_train + n_test, seed)
        test = examples[repeats * n_train:]
        acc[task] = sum(transfer.finetune_score(model, stoi, examples[r * n_train:(r + 1) * n_train], test,
                                                seed * 100 + 10 * k + r, recipe) for r in range(repeats)) / repeats
        seconds[task] = round(time.monotonic() - t0, 1)
    mean = sum(acc.values()) / len(acc)
    shown = ", ".join(f"{t} {acc[t]:.3f}" for t in transfer.TASKS)
    return rs.scored(mean, f"mean accuracy {mean:.4f} over {len(acc)} hidden downstream tasks ({repeats} "
                           f"fine-tunings on {n_train} fresh training examples, {n_test} test examples each; chance 0.5): {shown}; "
                           f"{facts['params']:,} parameters",
                     accuracy=acc, seconds=seconds, params=facts["params"], config=facts["config"])
