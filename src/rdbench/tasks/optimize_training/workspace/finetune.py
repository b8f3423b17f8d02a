"""Fine-tune the base model on data/train.txt for a fixed number of steps.

Writes out/final.pt (the state_dict). The hyperparameters come from config.json (steps, batch,
lr, seed): they are fixed by the task.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from gpt import GPT, GPTConfig


def tokenize(path, stoi):
    ids = []
    with open(path) as f:
        for line in f:
            for w in line.split():
                ids.append(stoi.get(w, 1))
    return ids


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    hp = json.load(open(os.path.join(here, "config.json")))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(1)  # as the reference: two OpenMP threads make the timing unsteady
    stoi = {w: i for i, w in enumerate(json.load(open(os.path.join(here, "vocab.json")))["itos"])}
    ck = torch.load(os.path.join(here, "base.pt"))
    cfg = GPTConfig(**ck["config"])
    model = GPT(cfg).to(device)
    model.load_state_dict(ck["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=0.0, betas=(0.9, 0.95))
    rng = np.random.default_rng(hp["seed"])
    os.makedirs(os.path.join(here, "out"), exist_ok=True)
    for step in range(hp["steps"]):
        ids = tokenize(os.path.join(here, "data", "train.txt"), stoi)  # re-read every step
        ix = rng.integers(0, len(ids) - cfg.block_size - 1, size=hp["batch"])
        xs, ys = [], []
        for i in ix:
            xs.append([ids[j] for j in range(i, i + cfg.block_size)])
            ys.append([ids[j] for j in range(i + 1, i + cfg.block_size + 1)])
        x, y = torch.tensor(xs).to(device), torch.tensor(ys).to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        # evaluate (window by window) and checkpoint every step
        val = tokenize(os.path.join(here, "data", "val.txt"), stoi)
        with torch.no_grad():
            losses = []
            for k in range(128):
                vx = torch.tensor([val[k * cfg.block_size:(k + 1) * cfg.block_size]]).to(device)
                vy = torch.tensor([val[k * cfg.block_size + 1:(k + 1) * cfg.block_size + 1]]).to(device)
                losses.append(F.cross_entropy(model(vx).reshape(-1, cfg.vocab_size), vy.reshape(-1)).item())
            vl = sum(losses) / len(losses)
        print(f"step {step} loss {loss.item():.4f} val {vl:.4f}", flush=True)
        torch.save({k: v.float().cpu() for k, v in model.state_dict().items()}, os.path.join(here, "out", "final.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
