"""Minimal deterministic training loop for ``gpt.GPT`` (pure numpy + torch).

May be copied into task workspaces next to gpt.py (import ``gpt`` as a
sibling module there; here it is imported from rdbench.tasklib).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

try:  # package import inside rdbench, sibling import when copied into a workspace
    from rdbench.tasklib.gpt import GPT
except ImportError:  # pragma: no cover - workspace copy
    from gpt import GPT  # type: ignore[no-redef,import-not-found]


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes:
        steps: optimiser steps.
        batch_size: sequences per step.
        lr: peak AdamW learning rate (cosine decay to 10%, linear warmup).
        warmup: warmup steps.
        weight_decay: AdamW weight decay.
        seed: seeds batch sampling (model init is seeded by the caller).
        eval_every: evaluate on ``val`` every this many steps (0: never).
    """

    steps: int = 200
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 20
    weight_decay: float = 0.0
    seed: int = 0
    eval_every: int = 0


@dataclass
class TrainResult:
    """Losses recorded during training."""

    train_losses: list[float] = field(default_factory=list)
    val_losses: list[tuple[int, float]] = field(default_factory=list)


def set_deterministic(seed: int, threads: int | None = 1) -> None:
    """Seed torch and (optionally) pin thread count for bit-reproducible CPU runs."""
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)


def batch_indices(n_tokens: int, block: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Random window starts for one batch (ids[i:i+block+1] fits in the data)."""
    return rng.integers(0, n_tokens - block - 1, size=batch)


def get_batch(
    data: np.ndarray, block: int, batch: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample (inputs, next-token targets) of shape (batch, block) from a 1-D id array."""
    ix = batch_indices(len(data), block, batch, rng)
    offs = ix[:, None] + np.arange(block + 1)[None, :]
    win = torch.from_numpy(data[offs].astype(np.int64))
    return win[:, :-1], win[:, 1:]


def lm_loss(model: GPT, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy."""
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def mlm_loss(
    model: GPT, x: torch.Tensor, mask_id: int, rng: torch.Generator, p: float = 0.15
) -> torch.Tensor:
    """Masked-LM loss for a bidirectional model (``GPTConfig(causal=False)``).

    Masks a fraction ``p`` of positions (replaced by ``mask_id``) and scores
    only those positions.
    """
    m = torch.rand(x.shape, generator=rng) < p
    if not bool(m.any()):
        m[0, 0] = True
    inp = x.masked_fill(m, mask_id)
    logits = model(inp)
    return F.cross_entropy(logits[m], x[m])


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup then cosine decay to 10% of peak."""
    import math

    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


@torch.no_grad()
def evaluate(model: GPT, data: np.ndarray, batch: int = 32, n_batches: int = 0) -> float:
    """Mean next-token loss over non-overlapping windows of ``data``.

    Args:
        model: the model (put in eval mode for the call).
        data: 1-D id array.
        batch: windows per forward pass.
        n_batches: cap on forward passes (0 = cover all of data).
    """
    block = model.cfg.block_size
    n_win = (len(data) - 1) // block
    if n_batches:
        n_win = min(n_win, n_batches * batch)
    was = model.training
    model.eval()
    tot, cnt = 0.0, 0
    for s in range(0, n_win, batch):
        idx = np.arange(s, min(n_win, s + batch)) * block
        offs = idx[:, None] + np.arange(block + 1)[None, :]
        win = torch.from_numpy(data[offs].astype(np.int64))
        loss = lm_loss(model, win[:, :-1], win[:, 1:])
        tot += float(loss) * len(idx)
        cnt += len(idx)
    model.train(was)
    return tot / max(1, cnt)


def train(
    model: GPT, data: np.ndarray, cfg: TrainConfig, val: np.ndarray | None = None
) -> TrainResult:
    """Train ``model`` in place with AdamW on random windows of ``data``.

    Deterministic given the model's initial weights, ``cfg.seed`` and a fixed
    torch thread count (see ``set_deterministic``).

    Returns:
        Per-step training losses and (step, val loss) pairs when eval_every > 0.
    """
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            betas=(0.9, 0.95))
    res = TrainResult()
    model.train()
    for step in range(cfg.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x, y = get_batch(data, model.cfg.block_size, cfg.batch_size, rng)
        loss = lm_loss(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        res.train_losses.append(loss.item())
        if val is not None and cfg.eval_every and (step + 1) % cfg.eval_every == 0:
            res.val_losses.append((step + 1, evaluate(model, val, n_batches=4)))
    return res
