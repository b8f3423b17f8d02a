"""Next-token loss of a checkpoint on a text file, computed the way the scorer does it.

    python evaluate.py                          # model.pt on data/val.txt
    python evaluate.py corrupted.pt data/train.txt

Importable too: ``load_model(path)``, ``load_ids(path)``, ``loss(model, ids)``, ``save_model(model, path)``.
The scorer runs its own copy of gpt.py on hidden test text (non-overlapping windows of
block_size tokens at a random alignment) and accepts model.pt only if it has the exact format
written by ``save_model``: {"config": <the corrupted model's config>, "model": <state dict>}, same
tensor names, shapes and dtypes, finite values, and head.weight equal to wte.weight (tied).
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

VOCAB = json.loads((HERE / "vocab.json").read_text())["itos"]
STOI = {w: i for i, w in enumerate(VOCAB)}


def load_ids(path):
    """Token ids (int64 numpy array) of a whitespace-separated text file."""
    return np.array([STOI.get(w, STOI["<unk>"]) for w in Path(path).read_text().split()], dtype=np.int64)


def load_model(path):
    """A GPT from a checkpoint {"config": ..., "model": state_dict} (data only)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    if not torch.equal(ckpt["model"]["head.weight"], ckpt["model"]["wte.weight"]):
        print("warning: head.weight != wte.weight in the file; the scorer rejects that", file=sys.stderr)
    return model.eval()


def save_model(model, path):
    """Save in the format the scorer accepts."""
    state = {k: t.detach().cpu().clone() for k, t in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]
    torch.save({"config": model.cfg.to_dict(), "model": state}, path)


@torch.no_grad()
def loss(model, ids, batch=64):
    """Mean next-token cross-entropy over non-overlapping windows of ``ids``."""
    block = model.cfg.block_size
    device = next(model.parameters()).device
    n = (len(ids) - 1) // block
    total, count = 0.0, 0
    for s in range(0, n, batch):
        starts = np.arange(s, min(n, s + batch)) * block
        win = torch.from_numpy(ids[starts[:, None] + np.arange(block + 1)[None, :]]).to(device)
        logits = model(win[:, :-1])
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1),
                                       reduction="sum"))
        count += win[:, 1:].numel()
    return total / count


if __name__ == "__main__":
    ckpt_path = sys.argv[1] if len(sys.argv) > 1 else HERE / "model.pt"
    text_path = sys.argv[2] if len(sys.argv) > 2 else HERE / "data" / "val.txt"
    print(f"{ckpt_path}: loss {loss(load_model(ckpt_path), load_ids(text_path)):.4f} nats/token on {text_path}")
