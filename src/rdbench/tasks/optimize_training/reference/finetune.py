"""Reference: same training (same batches, same hyperparameters) without the waste."""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from gpt import GPT, GPTConfig


def main(here=None):
    here = here or os.path.dirname(os.path.abspath(__file__))
    hp = json.load(open(os.path.join(here, "config.json")))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    # one thread: ops on a model this small gain nothing from two, and OpenMP's spinning threads
    # slow down badly (5x-8x measured) whenever anything else runs on the same cores
    torch.set_num_threads(1)
    itos = json.load(open(os.path.join(here, "vocab.json")))["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    with open(os.path.join(here, "data", "train.txt")) as f:
        data = np.array([stoi.get(w, 1) for w in f.read().split()], dtype=np.int64)
    ck = torch.load(os.path.join(here, "base.pt"))
    cfg = GPTConfig(**ck["config"])
    model = GPT(cfg)
    model.load_state_dict(ck["model"])
    model.to(device)
    # AdamW (weight decay 0) written out: the same update as torch.optim.AdamW, without the second
    # of import time that constructing torch.optim's optimiser costs (it loads torch._dynamo)
    params = [p for p in model.parameters() if p.requires_grad]
    exp_avg = [torch.zeros_like(p) for p in params]
    exp_avg_sq = [torch.zeros_like(p) for p in params]
    beta1, beta2, eps, lr = 0.9, 0.95, 1e-8, hp["lr"]
    rng = np.random.default_rng(hp["seed"])
    ar = np.arange(cfg.block_size + 1)
    # the same batch starts as the starting solution, drawn up front and moved to the device once
    starts = np.stack([rng.integers(0, len(data) - cfg.block_size - 1, size=hp["batch"])
                       for _ in range(hp["steps"])])
    windows = torch.from_numpy(data[starts[:, :, None] + ar[None, None, :]]).to(device)
    for step in range(hp["steps"]):
        win = windows[step]
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        for p in params:
            p.grad = None
        loss.backward()
        t = step + 1
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        with torch.no_grad():
            for p, m, v in zip(params, exp_avg, exp_avg_sq):
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                p.addcdiv_(m, (v.sqrt() / bc2 ** 0.5).add_(eps), value=-lr / bc1)
    os.makedirs(os.path.join(here, "out"), exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(here, "out", "final.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
