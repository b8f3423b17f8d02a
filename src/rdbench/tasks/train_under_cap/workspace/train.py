"""Train a small GPT from scratch on data/train.txt and write out/model.pt (the starting solution).

The scorer runs exactly `python train.py` in a fresh folder holding this workspace's .py files,
vocab.json and data/train.txt (text of another lexical world of the language), under the memory
and time caps; then it scores out/model.pt on hidden text of that world.

This version cuts the whole text into training windows up front, as float64, and trains on small
batches of short windows for a fixed number of steps (it stops early, and still saves, when 80% of
the time cap in the environment variable TIME_CAP_S has gone).
"""

import time

STARTED = time.time()  # the cap counts from the process start, imports included

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpt import GPT, GPTConfig  # noqa: E402

WIDTH, LAYERS, HEADS = 64, 2, 2
BLOCK, BATCH, STEPS, LR = 32, 8, 800, 3e-3


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    itos = json.loads((HERE / "vocab.json").read_text())["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    words = (HERE / "data" / "train.txt").read_text().split()
    data = torch.tensor([stoi[w] for w in words], dtype=torch.float64)
    windows = data.unfold(0, BLOCK + 1, 1).contiguous()  # every window of BLOCK + 1 tokens
    cfg = GPTConfig(vocab_size=len(itos), block_size=BLOCK, n_layer=LAYERS, n_head=HEADS, n_embd=WIDTH)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # full scale: one GPU
    model = GPT(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(0)
    cap = float(os.environ.get("TIME_CAP_S", "90"))
    started = STARTED
    for step in range(STEPS):
        if time.time() - started > 0.8 * cap:
            print(f"stopped at step {step} of {STEPS}: 80% of the time cap used", flush=True)
            break
        win = windows[torch.randint(0, len(windows), (BATCH,), generator=gen)].long().to(device)
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 200 == 0:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
    (HERE / "out").mkdir(exist_ok=True)
    state = {k: t.detach().cpu().clone() for k, t in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]
    torch.save({"config": cfg.to_dict(), "model": state}, HERE / "out" / "model.pt")
    print(f"saved out/model.pt after {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
