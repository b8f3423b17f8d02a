"""Reference: same training (same batches, same hyperparameters) without the waste."""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from gpt import GPT, GPTConfig

STEPS = 200
BATCH = 16
LR = 1e-3
SEED = 1234


def main(here=None):
    here = here or os.path.dirname(os.path.abspath(__file__))
    torch.set_num_threads(2)
    itos = json.load(open(os.path.join(here, "vocab.json")))["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    with open(os.path.join(here, "data", "train.txt")) as f:
        data = np.array([stoi.get(w, 1) for w in f.read().split()], dtype=np.int64)
    ck = torch.load(os.path.join(here, "base.pt"))
    cfg = GPTConfig(**ck["config"])
    model = GPT(cfg)
    model.load_state_dict(ck["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, betas=(0.9, 0.95))
    rng = np.random.default_rng(SEED)
    ar = np.arange(cfg.block_size + 1)
    for _ in range(STEPS):
        ix = rng.integers(0, len(data) - cfg.block_size - 1, size=BATCH)
        win = torch.from_numpy(data[ix[:, None] + ar[None, :]])
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    os.makedirs(os.path.join(here, "out"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(here, "out", "final.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
