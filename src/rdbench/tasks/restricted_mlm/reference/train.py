"""Train the masked LM in model.py on data/train.txt and save model.pt.

Masking (the same as the scorer's): in every window of BLOCK tokens, exactly round(0.15 * BLOCK)
positions chosen uniformly at random are replaced by the <mask> id; the loss is the mean cross-entropy
over those positions only.

Usage: python train.py [--steps N] [--out model.pt]
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from model import build_model

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 64          # fixed by the task: the scorer evaluates windows of this many tokens
MASK_FRAC = 0.15    # fixed by the task
STEPS = 500
BATCH = 64
LR = 1e-2
WIDTH = 96
HEADS = 4
N_LAYER = 3
MLP = 2
SEED = 0


def load_ids(path: str, stoi: dict) -> np.ndarray:
    with open(path) as f:
        return np.array([stoi.get(w, stoi["<unk>"]) for w in f.read().split()], dtype=np.int64)


def masked_batch(data: np.ndarray, batch: int, mask_id: int, rng: np.random.Generator):
    """(inputs with masks, targets, boolean mask) for `batch` random windows of `data`."""
    starts = rng.integers(0, len(data) - BLOCK, size=batch)
    x = data[starts[:, None] + np.arange(BLOCK)[None, :]]
    k = round(MASK_FRAC * BLOCK)
    pos = np.argsort(rng.random((batch, BLOCK)), axis=1)[:, :k]
    m = np.zeros((batch, BLOCK), dtype=bool)
    np.put_along_axis(m, pos, True, axis=1)
    inp = np.where(m, mask_id, x)
    return torch.from_numpy(inp), torch.from_numpy(x), torch.from_numpy(m)


def masked_loss(model, inp, tgt, m):
    logits = model(inp)
    return F.cross_entropy(logits[m].float(), tgt[m])


@torch.no_grad()
def evaluate(model, data, mask_id, device, n_batches=8):
    model.eval()
    rng = np.random.default_rng(12345)
    tot = 0.0
    for _ in range(n_batches):
        inp, tgt, m = (t.to(device) for t in masked_batch(data, BATCH, mask_id, rng))
        tot += float(masked_loss(model, inp, tgt, m))
    model.train()
    return tot / n_batches


def main(workspace: str = HERE, steps: int = STEPS, out: str = "model.pt", log=print) -> float:
    torch.manual_seed(SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    itos = json.load(open(os.path.join(workspace, "vocab.json")))["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    train = load_ids(os.path.join(workspace, "data", "train.txt"), stoi)
    val = load_ids(os.path.join(workspace, "data", "val.txt"), stoi)
    config = {"vocab_size": len(itos), "block_size": BLOCK, "width": WIDTH, "heads": HEADS,
              "n_layer": N_LAYER, "mlp": MLP}
    model = build_model(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, betas=(0.9, 0.95))
    rng = np.random.default_rng(SEED)
    t0 = time.time()
    for step in range(steps):
        lr = LR * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        inp, tgt, m = (t.to(device) for t in masked_batch(train, BATCH, stoi["<mask>"], rng))
        loss = masked_loss(model, inp, tgt, m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            log(f"step {step + 1} loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
    val_loss = evaluate(model, val, stoi["<mask>"], device)
    log(f"val masked loss {val_loss:.4f}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"config": json.dumps(config), "state_dict": state}, os.path.join(workspace, out))
    return val_loss


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--out", default="model.pt")
    a = ap.parse_args()
    main(steps=a.steps, out=a.out)
