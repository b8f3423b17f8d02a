"""Score compress_model: hidden-test loss of workspace/model.pt, within the size budget.

The submission is data only (``rs.load_tensors``: no links, ``weights_only``). Its config must be a
structural cut of the given model's (``compressible.validate_config`` against base_config.json: same
widths, vocabulary and head width, no more layers, heads or units), its tensors exactly those the
config implies, float16 or float32, dense and finite (``checkpoint.plain_tensors``); its size is
computed from those tensors' shapes and dtypes, and over the budget it is invalid. The forward pass
is the scorer's own ``compressible.py``. Each call scores ``eval_windows`` windows drawn with the
call's seed from the hidden test stream.
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


def _load(protected: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, protected / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@torch.no_grad()
def hidden_loss(model: torch.nn.Module, test: np.ndarray, block: int, windows: int, seed: int,
                device: torch.device, batch: int = 32) -> tuple[float, int]:
    """Mean next-token loss over ``windows`` non-overlapping windows chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    offset = int(rng.integers(0, block))
    slots = (len(test) - 1 - offset) // block
    chosen = np.sort(rng.choice(slots, size=min(windows, slots), replace=False))
    starts = offset + block * chosen
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        win = torch.from_numpy(test[starts[i:i + batch, None] + np.arange(block + 1)[None, :]]).to(device)
        logits = model(win[:, :-1]).float()
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1),
                                       reduction="sum").double())
        count += win[:, 1:].numel()
    return total / count, count


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(int(params.get("threads", 2)))
    compressible = _load(protected, "compressible")
    checkpoint = _load(protected, "checkpoint")
    base = json.loads((protected / "base_config.json").read_text())
    ckpt = rs.load_tensors("model.pt", workspace, max_bytes=2**30)
    try:
        config, state = checkpoint.split_checkpoint(ckpt)
        config = compressible.validate_config(config, base)
        expected = {k: (shape, ("float16", "float32")) for k, shape in compressible.expected_tensors(config).items()}
        tensors = checkpoint.plain_tensors(state, expected)
    except (checkpoint.CheckpointError, compressible.ConfigError) as error:
        raise rs.Invalid(f"model.pt rejected: {error}") from None
    size = int(compressible.size_bytes(tensors))
    base_bytes = 2 * sum(math.prod(s) for s in compressible.expected_tensors(base).values())
    budget = int(float(params["budget_fraction"]) * base_bytes)
    facts = {"bytes": size, "budget_bytes": budget, "fraction": size / base_bytes,
             "layers": [[s["n_heads"], s["n_kv_heads"], s["hidden"], s["share"], s["ranks"]] for s in config["layers"]]}
    if size > budget:
        raise rs.Invalid(f"model.pt holds {size:,} bytes of parameters ({size / base_bytes:.1%} of the given "
                         f"model), over the budget of {budget:,} ({float(params['budget_fraction']):.0%})", **facts)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = compressible.CompressibleLlama(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.to(device).eval()
    test = np.load(protected / "test_ids.npy", allow_pickle=False).astype(np.int64)
    loss, tokens = hidden_loss(model, test, int(params["eval_block"]), int(params["eval_windows"]),
                               int(params["seed"]), device)
    details = {**facts, "loss": loss, "tokens": tokens, "device": str(device)}
    if not math.isfinite(loss):
        raise rs.Invalid("the model's hidden-test loss is not finite", **details)
    return rs.scored(loss, f"hidden-test loss {loss:.4f} nats/token over {tokens} tokens (lower is better); "
                           f"{size:,} bytes = {size / base_bytes:.1%} of the given model (budget "
                           f"{float(params['budget_fraction']):.0%})", **details)
