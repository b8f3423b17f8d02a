"""The training script behind the ``experiment`` command (read-only copy for you to study).

The ``experiment`` service runs exactly this file (its own protected copy, with the hidden data)
on the host, outside your sandbox: editing this copy changes nothing there. One experiment trains
``gpt.GPT`` with residual width ``--width`` for ``--steps`` optimiser steps and reports the final
validation loss (mean next-token cross-entropy, nats/token) on a fixed hidden validation set.

Everything except width, steps and seed is fixed by ``config.json``: layers, heads, context length,
batch size, peak learning rate, the schedule (linear warm-up over the first 5% of steps, then cosine
decay to 10% of the peak), AdamW (betas 0.9/0.95, no weight decay), gradient clipping at 1.0.

Compute is counted before anything runs, with ``flops()`` below (the usual 6*N*D estimate plus the
attention term, the same as ``gpt.train_flops``)::

    N = non-embedding parameters (tied token embedding counted once, position embedding not)
      = vocab*width + n_layer*(12*width**2 + 13*width) + 2*width
    D = tokens processed = steps * batch_size * block_size
    FLOPs = 6*N*D + 12*n_layer*block_size*width*D

An experiment over the per-experiment cap is refused and reports a NaN loss.

Usage (you can run it locally only with ``--flops``; there is no training data in your workspace)::

    python experiment.py --flops --width 64 --steps 300
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpt import GPT, GPTConfig, train_flops  # noqa: E402

HERE = Path(__file__).resolve().parent


def load_config(path: Path | None = None) -> dict:
    """The fixed experiment settings (``config.json`` next to this file by default)."""
    return json.loads((path or HERE / "config.json").read_text())


def check_shape(width: int, steps: int, config: dict) -> str | None:
    """Why (width, steps) is not a valid experiment, or None when it is."""
    if not isinstance(width, int) or isinstance(width, bool) or not isinstance(steps, int) or isinstance(steps, bool):
        return "width and steps must be integers"
    lo, hi, mult = config["min_width"], config["max_width"], config["width_multiple"]
    if not lo <= width <= hi or width % mult:
        return f"width must be a multiple of {mult} between {lo} and {hi}"
    if not config["min_steps"] <= steps <= config["max_steps"]:
        return f"steps must be between {config['min_steps']} and {config['max_steps']}"
    return None


def model_config(width: int, config: dict) -> GPTConfig:
    """The model of one experiment: only the width varies."""
    return GPTConfig(vocab_size=config["vocab_size"], block_size=config["block_size"],
                     n_layer=config["n_layer"], n_head=config["n_head"], n_embd=width)


def n_params(width: int, config: dict) -> int:
    """Non-embedding parameter count, equal to ``GPT(model_config(width)).num_params()``."""
    layer = config["n_layer"]
    return config["vocab_size"] * width + layer * (12 * width * width + 13 * width) + 2 * width


def flops(width: int, steps: int, config: dict) -> float:
    """Training FLOPs of an experiment (see the module docstring)."""
    tokens = steps * config["batch_size"] * config["block_size"]
    return train_flops(model_config(width, config), n_params(width, config), tokens)


def lr_at(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 10% of the peak."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


@torch.no_grad()
def evaluate(model: GPT, val: torch.Tensor, block: int, batch: int = 64) -> float:
    """Mean next-token loss over all non-overlapping windows of the validation ids."""
    model.eval()
    n_win = (len(val) - 1) // block
    total, count = 0.0, 0
    for start in range(0, n_win, batch):
        idx = torch.arange(start, min(n_win, start + batch), device=val.device) * block
        win = val[idx[:, None] + torch.arange(block + 1, device=val.device)[None, :]]
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1), reduction="sum")
        total += float(loss)
        count += win[:, 1:].numel()
    model.train()
    return total / count


def run(width: int, steps: int, seed: int, data_dir: Path, config: dict, device: str | None = None) -> dict:
    """Train one model and return its validation loss and what it cost.

    Args:
        width: residual width (n_embd).
        steps: optimiser steps.
        seed: seeds the initialisation and the batch order.
        data_dir: folder with ``train.npy`` and ``val.npy`` (token ids).
        config: the fixed settings (``load_config()``).
        device: torch device; CUDA when available, else CPU (one thread: bit-reproducible).
    """
    problem = check_shape(width, steps, config)
    if problem:
        raise ValueError(problem)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(1)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(seed)
    started = time.time()
    train_ids = torch.from_numpy(np.load(data_dir / "train.npy").astype(np.int64)).to(device)
    val_ids = torch.from_numpy(np.load(data_dir / "val.npy").astype(np.int64)).to(device)
    model = GPT(model_config(width, config)).to(device)
    assert model.num_params() == n_params(width, config)
    # on a GPU one fused kernel for the whole update (the same AdamW; the per-tensor loop's launches
    # were most of a small model's step)
    opt = torch.optim.AdamW(model.parameters(), lr=config["lr"], betas=(0.9, 0.95), weight_decay=0.0,
                            fused=device != "cpu")
    rng = np.random.default_rng(seed)
    block, batch = config["block_size"], config["batch_size"]
    offsets = torch.arange(block + 1, device=device)[None, :]
    last = float("nan")
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, config["lr"])
        starts = torch.from_numpy(rng.integers(0, len(train_ids) - block - 1, size=batch)).to(device)
        win = train_ids[starts[:, None] + offsets]
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step == steps - 1:
            last = loss.item()
    val_loss = evaluate(model, val_ids, block)
    return {"width": width, "steps": steps, "seed": seed, "val_loss": val_loss, "train_loss": last,
            "flops": flops(width, steps, config), "params": n_params(width, config),
            "tokens": steps * batch * block, "seconds": round(time.time() - started, 2), "device": device}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--flops`` prints an experiment's FLOPs; otherwise trains (needs ``--data``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=None, help="folder with train.npy and val.npy")
    ap.add_argument("--flops", action="store_true", help="only print the FLOPs and whether they fit the cap")
    args = ap.parse_args(argv)
    config = load_config(args.config)
    problem = check_shape(args.width, args.steps, config)
    if problem:
        print(f"invalid experiment: {problem}")
        return 2
    cost = flops(args.width, args.steps, config)
    cap = float(config["max_experiment_flops"])
    if args.flops:
        verdict = "within" if cost <= cap else "OVER"
        print(f"width {args.width}, steps {args.steps}: {cost:.4g} FLOPs ({verdict} the cap of {cap:.3g}); "
              f"the answer's budget is {float(config['target_flops']):.3g}")
        return 0
    if cost > cap:
        print(json.dumps({"val_loss": float("nan"), "flops": cost, "refused": "over the per-experiment cap"}))
        return 1
    if args.data is None:
        print("no --data: the training data is hidden; run experiments with the `experiment` command")
        return 2
    print(json.dumps(run(args.width, args.steps, args.seed, args.data, config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
