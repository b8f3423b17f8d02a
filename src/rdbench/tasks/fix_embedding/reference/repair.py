"""Reference repair of the corrupted embedding (uses only what the agent has in its workspace).

Run from the workspace: ``python repair.py`` reads corrupted.pt, vocab.json and data/train.txt and
writes model.pt. prepare.py runs the same code to build the hidden reference solution.

The idea: only the token embedding (tied to the output head) is corrupted, by a row permutation and
a positive scale per row, so the rest of the network is intact and the corrupted rows are the right
vectors in the wrong places. The repair finds where each token's row went and how much it was scaled:

1. Equalise the row norms (the scales are unknown; this removes most of their damage).
2. Guess the permutation from unigram frequencies: sample text from the norm-equalised corrupted
   model (it is a language model over relabelled tokens) and match id frequencies with those of the
   training data, rank by rank.
3. Refine the permutation by alternating assignments: map the data through the current guess, read
   the model's log-probabilities over all rows at every position, score each (token, row) pair by
   how well the row predicts that token, and solve the assignment problem (Hungarian method).
4. Fit one log-scale per row by gradient descent with every other weight frozen (V parameters).
5. Fine-tune the embedding alone (body frozen) briefly, starting from the recovered rows. On this
   little data that overfits a little, but it moves the rows into the right basin, so:
6. Re-match the fine-tuned rows with the corrupted rows by cosine similarity (Hungarian again) and
   fit the scales of those exact corrupted rows once more (4). The result is made of the corrupted
   rows themselves, rescaled: nothing is learnt from the data but the assignment and V scales.

Tokens whose rows are statistically interchangeable (say two adjectives the corpus uses alike) may
end up swapped; that costs almost nothing in loss. prepare.py's stats: about 0.02 nats/token above
the uncorrupted model on the hidden test data, in about a minute on one CPU core.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

HERE = Path(__file__).resolve().parent


def _load_ids(path: Path, stoi: dict[str, int]) -> np.ndarray:
    return np.array([stoi[w] for w in path.read_text().split()], dtype=np.int64)


def _assign(score: torch.Tensor) -> torch.Tensor:
    """Row index per token maximising the total score (a permutation)."""
    _, cols = linear_sum_assignment(-score.double().cpu().numpy())
    return torch.as_tensor(cols, dtype=torch.long)


def _windows(data: np.ndarray, block: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    n = (len(data) - 1) // block
    ids = torch.from_numpy(data[: n * block + 1]).to(device)
    return ids[:-1].view(n, block), ids[1:].reshape(-1)


def _hidden(model: torch.nn.Module, emb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Final-norm hidden states with ``emb`` as the input embedding."""
    pos = torch.arange(x.shape[1], device=x.device)
    h = F.embedding(x, emb) + model.wpe(pos)
    for blk in model.blocks:
        h = blk(h)
    out: torch.Tensor = model.ln_f(h)
    return out


def _sample_frequencies(model: torch.nn.Module, emb: torch.Tensor, n_seq: int, length: int,
                        device: torch.device, seed: int) -> torch.Tensor:
    """Id frequencies in text sampled from the model with ``emb`` (tied), burn-in dropped."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v = emb.shape[0]
    x = torch.randint(0, v, (n_seq, 1), generator=gen).to(device)
    for _ in range(length - 1):
        logits = _hidden(model, emb, x)[:, -1] @ emb.T
        nxt = torch.multinomial(F.softmax(logits.float().cpu(), -1), 1, generator=gen).to(device)
        x = torch.cat([x, nxt], 1)
    return torch.bincount(x[:, 8:].reshape(-1).cpu(), minlength=v).double()


def _fit_scales(model: torch.nn.Module, rows: torch.Tensor, data: np.ndarray, steps: int,
                batch: int, seed: int) -> torch.Tensor:
    """Per-row positive factors for ``rows`` minimising the data loss (all weights frozen)."""
    block = model.cfg.block_size
    log_s = torch.zeros(rows.shape[0], device=rows.device, requires_grad=True)
    opt = torch.optim.Adam([log_s], lr=0.05)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x, y = _batch(data, block, batch, rng, rows.device)
        emb = rows * log_s.exp()[:, None]
        loss = F.cross_entropy((_hidden(model, emb, x) @ emb.T).reshape(-1, emb.shape[0]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (rows * log_s.detach().exp()[:, None]).detach()


def _batch(data: np.ndarray, block: int, batch: int, rng: np.random.Generator,
           device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ix = rng.integers(0, len(data) - block - 1, size=batch)
    win = torch.from_numpy(data[ix[:, None] + np.arange(block + 1)[None, :]]).to(device)
    return win[:, :-1], win[:, 1:]


def _finetune_embedding(model: torch.nn.Module, emb: torch.Tensor, data: np.ndarray, steps: int,
                        batch: int, lr: float, seed: int) -> torch.Tensor:
    """Train the (tied) embedding alone, body frozen; cosine decay."""
    block = model.cfg.block_size
    e = emb.clone().requires_grad_(True)
    opt = torch.optim.AdamW([e], lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.1)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x, y = _batch(data, block, batch, rng, emb.device)
        loss = F.cross_entropy((_hidden(model, e, x) @ e.T).reshape(-1, e.shape[0]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return e.detach()


def repair(workspace: Path, em_iters: int = 8, scale_steps: int = 50, ft_steps: int = 150,
           batch: int = 32, seed: int = 0, log=print) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Repair ``workspace/corrupted.pt``; returns the checkpoint dict (config + state dict)."""
    sys.path.insert(0, str(workspace))
    from gpt import GPT, GPTConfig  # the workspace's copy of the model code

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    ckpt = torch.load(workspace / "corrupted.pt", map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    stoi = {w: i for i, w in enumerate(json.loads((workspace / "vocab.json").read_text())["itos"])}
    data = _load_ids(workspace / "data" / "train.txt", stoi)
    corrupted = model.wte.weight.detach().clone()
    v = corrupted.shape[0]
    norms = corrupted.norm(dim=1)
    unit = corrupted / norms[:, None] * norms.median()  # step 1

    with torch.no_grad():  # step 2
        sample_f = _sample_frequencies(model, unit, 128, 48, device, seed)
    data_f = torch.from_numpy(np.bincount(data, minlength=v)).double()
    perm = torch.empty(v, dtype=torch.long)
    perm[torch.argsort(-data_f, stable=True)] = torch.argsort(-sample_f, stable=True)  # token -> row

    x, y = _windows(data, model.cfg.block_size, device)  # step 3
    for it in range(em_iters):
        with torch.no_grad():
            lp = F.log_softmax(_hidden(model, unit[perm.to(device)], x).reshape(-1, unit.shape[1]) @ unit.T, -1)
            score = torch.zeros(v, v, dtype=torch.float64, device=device)
            score.index_add_(0, y, lp.double())
        score[torch.arange(v, device=device), perm.to(device)] += 1e-3  # tokens absent from the data keep their row
        new = _assign(score)
        changed = int((new != perm).sum())
        perm = new
        log(f"assignment round {it}: {changed} tokens moved")
        if changed == 0:
            break

    emb = _fit_scales(model, unit[perm.to(device)], data, scale_steps, batch, seed)  # step 4
    tuned = _finetune_embedding(model, emb, data, ft_steps, batch, 1e-3, seed + 1)  # step 5
    rematch = _assign(F.normalize(tuned, dim=1) @ F.normalize(unit, dim=1).T)  # step 6
    log(f"re-match: {int((rematch != perm).sum())} tokens moved")
    emb = _fit_scales(model, unit[rematch.to(device)], data, scale_steps, batch, seed + 2)

    state = {k: t.detach().cpu().clone() for k, t in model.state_dict().items()}
    state["wte.weight"] = emb.cpu().clone()
    state["head.weight"] = state["wte.weight"]  # tied, as in the architecture
    return {"config": ckpt["config"], "model": state}


def main(workspace: str = ".") -> None:
    """Write ``model.pt`` next to the other workspace files."""
    ws = Path(workspace).resolve()
    torch.set_num_threads(1)
    torch.save(repair(ws), ws / "model.pt")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE))
