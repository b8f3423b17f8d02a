"""Pretrain a GPT from scratch on the raw corpus, data/corpus.txt, and save it as model.pt (the start).

    python train.py                       # the starting model: 2 layers of width 64, 300 steps
    python train.py --layers 3 --width 96 --heads 3 --steps 1000 --data clean.txt --out bigger.pt

Every line of the data file is a document; the documents are joined into one stream, as they come.

Writes the checkpoint format the scorer accepts: {"config": GPTConfig as a dict, "model": state dict}.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpt import GPT, GPTConfig  # noqa: E402


def load_ids(path, stoi):
    """Token ids (int64) of a whitespace-separated text file (documents joined in file order)."""
    return np.array([stoi[w] for w in Path(path).read_text().split()], dtype=np.int64)


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.45 * (1 + np.cos(np.pi * min(1.0, frac))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=str(HERE / "data" / "corpus.txt"))
    ap.add_argument("--out", default=str(HERE / "model.pt"))
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    itos = json.loads((HERE / "vocab.json").read_text())["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    data = load_ids(args.data, stoi)
    cfg = GPTConfig(vocab_size=len(itos), block_size=args.block, n_layer=args.layers, n_head=args.heads,
                    n_embd=args.width)
    model = GPT(cfg)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(data):,} training tokens")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(args.seed)
    started = time.time()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, max(1, args.steps // 20))
        ix = rng.integers(0, len(data) - args.block - 1, size=args.batch)
        win = torch.from_numpy(data[ix[:, None] + np.arange(args.block + 1)[None, :]])
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
    state = {k: t.detach().clone() for k, t in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]
    torch.save({"config": cfg.to_dict(), "model": state}, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
