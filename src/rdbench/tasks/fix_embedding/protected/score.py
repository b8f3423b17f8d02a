"""Score fix_embedding: hidden-test loss of workspace/model.pt, run by the scorer's own model code.

The submission is data only, read at the moment of use (``rdbench_scorer.load_tensors``: no links,
``torch.load(weights_only=True)``, so no agent code runs), every
tensor is checked against the architecture (protected/arch.json: exact keys, shapes, dtypes, finite,
tied head), and the forward pass is protected/gpt.py's, not the workspace's. The hidden test windows
change with ``params["seed"]`` (a random window alignment on a long hidden stream); the stream is
long enough that a fixed model's loss moves by ~0.0005 nats between calls.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import sys
from types import ModuleType
from typing import Any

import numpy as np
import rdbench_scorer as rs
import torch
import torch.nn.functional as F

MAX_BYTES = 256 * 2**20  # far above any checkpoint of the task's architectures


def _load_gpt(protected: pathlib.Path) -> ModuleType:
    # by path, so a gpt.py elsewhere on sys.path (the workspace's) can never stand in for it
    spec = importlib.util.spec_from_file_location("fix_embedding_scorer_gpt", protected / "gpt.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def check_checkpoint(ckpt: Any, arch: dict[str, Any]) -> tuple[dict[str, torch.Tensor] | None, str | None]:
    """Return (state dict of plain tensors, None) or (None, reason) for a loaded model.pt."""
    if not isinstance(ckpt, dict) or set(ckpt) != {"config", "model"}:
        keys = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        return None, f"model.pt must hold a dict with exactly the keys 'config' and 'model' (got {keys})"
    if ckpt["config"] != arch["config"]:
        return None, f"config differs from the corrupted model's: {ckpt['config']!r} != {arch['config']!r}"
    state = ckpt["model"]
    if not isinstance(state, dict):
        return None, "'model' must be a state dict (tensor name -> tensor)"
    want = arch["tensors"]
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        return None, f"state dict keys differ from the architecture: missing {missing[:5]}, extra {extra[:5]}"
    out = {}
    for name, spec in want.items():
        t = state[name]
        if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.layout != torch.strided or t.is_quantized:
            return None, f"{name}: not a plain dense tensor ({type(t).__name__})"
        if str(t.dtype).removeprefix("torch.") != spec["dtype"] or list(t.shape) != spec["shape"]:
            return None, (f"{name}: dtype/shape {str(t.dtype).removeprefix('torch.')} {list(t.shape)}, "
                          f"expected {spec['dtype']} {spec['shape']}")
        t = t.detach().to("cpu").clone().contiguous()  # own, real storage
        if not bool(torch.isfinite(t).all()):
            return None, f"{name}: non-finite values"
        out[name] = t
    for a, b in arch.get("tied", []):
        if not torch.equal(out[a], out[b]):
            return None, f"{a} must equal {b}: the output head is tied to the token embedding"
    return out, None


@torch.no_grad()
def hidden_loss(model: torch.nn.Module, test: np.ndarray, block: int, seed: int,
                batch: int = 64) -> tuple[float, int, int]:
    """Mean next-token loss over all non-overlapping windows of ``test`` at an alignment set by ``seed``.

    Each call sees different windows (contexts cut elsewhere) of the same long hidden stream, so the
    loss of a fixed model moves by only ~0.0005 nats between calls (measured at mini scale: 160k tokens).
    """
    offset = int(np.random.default_rng(seed).integers(0, block))
    starts = offset + block * np.arange((len(test) - 1 - offset) // block)
    device = next(model.parameters()).device
    loss_sum, count = 0.0, 0
    for i in range(0, len(starts), batch):
        win = torch.from_numpy(test[starts[i:i + batch, None] + np.arange(block + 1)[None, :]]).to(device)
        logits = model(win[:, :-1]).float()
        loss_sum += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1),
                                          reduction="sum").double())
        count += win[:, 1:].numel()
    return loss_sum / count, count, offset


def score(workspace: pathlib.Path, protected: pathlib.Path, params: dict[str, Any]) -> dict[str, Any]:
    ckpt = rs.load_tensors("model.pt", workspace, max_bytes=MAX_BYTES)
    arch = json.loads((protected / "arch.json").read_text())
    state, problem = check_checkpoint(ckpt, arch)
    if problem or state is None:
        raise rs.Invalid(f"model.pt rejected: {problem}")
    gpt = _load_gpt(protected)
    model = gpt.GPT(gpt.GPTConfig(**arch["config"]))
    model.load_state_dict(state, strict=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    test = np.load(protected / "test_ids.npy", allow_pickle=False).astype(np.int64)
    loss, n_tokens, offset = hidden_loss(model, test, arch["config"]["block_size"], int(params["seed"]))
    details = {"loss": loss, "tokens": n_tokens, "offset": offset, "device": str(device)}
    if not math.isfinite(loss):
        raise rs.Invalid("the model's hidden-test loss is not finite", **details)
    return rs.scored(loss, f"hidden-test loss {loss:.4f} nats/token over {n_tokens} tokens (lower is better)",
                     **details)
