"""Check a compressed checkpoint the way the scorer does, and its loss on the calibration text.

    python evaluate.py               # model.pt
    python evaluate.py base.pt       # the given model (over the budget, of course)

Importable: ``load(path)`` -> (model, state), ``check(ckpt)`` -> problem or None, ``loss(model, ids)``,
``calibration_ids()``, ``save(config, state, path)``.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compressible  # noqa: E402

TASK = json.loads((HERE / "task.json").read_text())
BASE_CONFIG = torch.load(HERE / "base.pt", weights_only=True)["config"]


def calibration_ids():
    """The calibration text as token ids (int64)."""
    if (HERE / "data" / "calibration.npy").exists():
        return np.load(HERE / "data" / "calibration.npy").astype(np.int64)
    itos = json.loads((HERE / "vocab.json").read_text())["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    return np.array([stoi[w] for w in (HERE / "data" / "calibration.txt").read_text().split()], dtype=np.int64)


def check(ckpt):
    """None if the scorer would accept ``ckpt`` (a loaded checkpoint), else the reason."""
    if not isinstance(ckpt, dict) or set(ckpt) != {"config", "model"}:
        return "must be {'config': ..., 'model': state dict}"
    try:
        config = compressible.validate_config(ckpt["config"], BASE_CONFIG)
    except compressible.ConfigError as error:
        return f"config: {error}"
    want = compressible.expected_tensors(config)
    state = ckpt["model"]
    if set(state) != set(want):
        return f"tensor names differ: missing {sorted(set(want) - set(state))[:5]}, extra {sorted(set(state) - set(want))[:5]}"
    for name, shape in want.items():
        t = state[name]
        if str(t.dtype).removeprefix("torch.") not in compressible.DTYPE_BYTES or list(t.shape) != shape:
            return f"{name}: {t.dtype} {list(t.shape)}, expected float16/float32 {shape}"
        if not bool(torch.isfinite(t).all()):
            return f"{name}: non-finite values"
    size = compressible.size_bytes(state)
    if size > TASK["budget_bytes"]:
        return f"{size:,} bytes, over the budget of {TASK['budget_bytes']:,}"
    return None


def load(path):
    """(model in float32, eval mode, the state dict as stored)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = compressible.CompressibleLlama(ckpt["config"])
    model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    return model.eval(), ckpt["model"]


def save(config, state, path, dtype=torch.float16):
    """Save in the format the scorer accepts (every tensor cast to ``dtype``)."""
    torch.save({"config": config, "model": {k: v.detach().to(dtype).contiguous() for k, v in state.items()}}, path)


@torch.no_grad()
def loss(model, ids, block=TASK["eval_block"]):
    """Mean next-token loss over non-overlapping windows of ``block`` tokens (as the scorer computes it)."""
    n = (len(ids) - 1) // block
    win = torch.from_numpy(ids[np.arange(n)[:, None] * block + np.arange(block + 1)[None, :]])
    total = 0.0
    for i in range(0, n, 32):
        logits = model(win[i:i + 32, :-1])
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[i:i + 32, 1:].reshape(-1),
                                       reduction="sum"))
    return total / (n * block)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "model.pt")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    problem = check(ckpt)
    size = compressible.size_bytes(ckpt["model"])
    print(f"{path}: {size:,} bytes ({size / TASK['base_bytes']:.1%} of the given model; budget "
          f"{TASK['budget_bytes']:,} = {TASK['budget_fraction']:.0%})")
    print("valid" if problem is None else f"INVALID: {problem}")
    model, _ = load(path)
    print(f"calibration loss {loss(model, calibration_ids()):.4f} nats/token")


if __name__ == "__main__":
    main()
