"""Check a checkpoint the way the scorer loads it, and report its loss on the corpus.

    python evaluate.py                 # model.pt
    python evaluate.py other.pt

Prints the parameter count (the cap counts every distinct parameter, position embeddings included),
whether the config is within the task's bounds (see the instructions) and the next-word loss on the
last 500 documents of data/corpus.txt (raw text: junk and foreign documents included, so a lower
loss is not always a better backbone). The downstream tasks are hidden: only `score` measures them.
Importable: ``load_model``.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpt import GPT, GPTConfig  # noqa: E402

ITOS = json.loads((HERE / "vocab.json").read_text())["itos"]
STOI = {w: i for i, w in enumerate(ITOS)}


def load_model(path):
    """A GPT from a checkpoint {"config": ..., "model": state dict} (data only)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


@torch.no_grad()
def corpus_loss(model, path=HERE / "data" / "corpus.txt", documents=500):
    lines = Path(path).read_text().splitlines()[-documents:]
    ids = np.array([STOI[w] for line in lines for w in line.split()], dtype=np.int64)
    block = model.cfg.block_size
    n = (len(ids) - 1) // block
    win = torch.from_numpy(ids[np.arange(n)[:, None] * block + np.arange(block + 1)[None, :]])
    losses = []
    for i in range(0, n, 64):
        logits = model(win[i:i + 64, :-1])
        losses.append(float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[i:i + 64, 1:].reshape(-1))))
    return float(np.mean(losses))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "model.pt")
    model = load_model(path)
    cfg = model.cfg
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    print(f"{path}: {params:,} parameters; {cfg.n_layer} layers of width {cfg.n_embd}, {cfg.n_head} heads, "
          f"context {cfg.block_size}, causal {cfg.causal}")
    print(f"next-word loss on the last 500 documents of the raw corpus: {corpus_loss(model):.4f}")


if __name__ == "__main__":
    main()
