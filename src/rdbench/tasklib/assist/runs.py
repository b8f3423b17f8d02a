"""Recorded small training runs with faults injected at a step (for watch_run).

A run trains a small MLP with SGD on synthetic data for ``steps`` steps and logs, per step, the
training loss, the gradient norm, the learning rate and the throughput. A fault (or a harmless
look-alike) changes the run from ``at`` on; ``record`` also replays the same seed without the fault
so the generator can prove the fault is visible (the alarm window starts where they diverge).
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F

FAULTS = ["lr_spike", "nan_batch", "exploding_gradients", "repeated_batch", "label_noise", "stall",
          "throughput_drop"]
LOOKALIKES = ["warmup", "lr_drop"]


def record(seed: int, steps: int, fault: str | None, at: int, lookalike: str | None) -> list[dict[str, float]]:
    """Trains and returns one metrics row per step (``step, loss, grad_norm, lr, samples_per_s``)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    jitter = random.Random(seed)
    n, d, k = 2000, 16, 4
    centers = rng.normal(size=(k, d))
    y_all = rng.integers(0, k, size=n)
    x_all = torch.tensor(centers[y_all] + rng.normal(size=(n, d)), dtype=torch.float32)
    y_t = torch.tensor(y_all)
    model = torch.nn.Sequential(torch.nn.Linear(d, 64), torch.nn.ReLU(), torch.nn.Linear(64, k))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    base_speed = 5000.0 + 500.0 * jitter.random()
    rows: list[dict[str, float]] = []
    fixed_idx = torch.randint(0, n, (32,))
    drop_at = steps // 2 + jitter.randrange(-50, 50)
    for step in range(steps):
        lr = 0.05
        if lookalike == "warmup":
            lr *= min(1.0, (step + 1) / 80)
        if lookalike == "lr_drop" and step >= drop_at:
            lr *= 0.1
        active = fault is not None and step >= at
        if active and fault == "lr_spike" and step < at + 15:
            lr *= 40.0
        idx = fixed_idx if active and fault == "repeated_batch" else torch.randint(0, n, (32,))
        xb, yb = x_all[idx].clone(), y_t[idx].clone()
        if active and fault == "nan_batch" and step == at:
            xb[0, 0] = float("nan")
        if active and fault == "label_noise":
            yb = torch.randint(0, k, (32,))
        for group in opt.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(xb), yb)
        scale = 1.06 ** (step - at) if active and fault == "exploding_gradients" else 1.0
        opt.zero_grad()
        (loss * scale).backward()  # type: ignore[no-untyped-call]
        grads = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
        grad_norm = float(torch.linalg.vector_norm(torch.cat(grads)))
        opt.step()
        speed = base_speed * (1.0 + 0.03 * (jitter.random() - 0.5))
        if active and fault == "stall":
            speed *= 0.02
        if active and fault == "throughput_drop":
            speed *= 0.45
        rows.append({"step": step, "loss": float(loss.detach()), "grad_norm": grad_norm, "lr": lr,
                     "samples_per_s": speed})
    return rows


def divergence(clean: list[dict[str, float]], faulty: list[dict[str, float]], at: int) -> int | None:
    """First step at or after ``at`` where the faulty run is visibly different (None if never).

    "Visibly" means a non-finite value, a learning rate, gradient norm or throughput off by >25%,
    or a 20-step mean training loss off by more than 0.15 (beyond step-to-step noise).
    """
    for s in range(at, len(faulty)):
        f, c = faulty[s], clean[s]
        if any(not math.isfinite(f[key]) for key in ("loss", "grad_norm")):
            return s
        for key in ("lr", "grad_norm", "samples_per_s"):
            if abs(f[key] - c[key]) > 0.25 * abs(c[key]) + (0.5 if key == "grad_norm" else 0.0):
                return s
        lo = max(at, s - 19)
        mean_f = sum(r["loss"] for r in faulty[lo:s + 1]) / (s + 1 - lo)
        mean_c = sum(r["loss"] for r in clean[lo:s + 1]) / (s + 1 - lo)
        if s - lo >= 9 and abs(mean_f - mean_c) > 0.15:
            return s
    return None
