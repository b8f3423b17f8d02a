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
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.0, betas=(0.9, 0.95))
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
        opt.zero_grad()
        loss.backward()
        opt.step()
    os.makedirs(os.path.join(here, "out"), exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(here, "out", "final.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
