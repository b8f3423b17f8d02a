"""Reference procedure: best-of-k sampling judged by the `judge` command, then fine-tuning on winners.

Run in the workspace as ``python improve.py`` (it calls the `judge` command, one query per
comparison, and writes model.pt). prepare.py runs the same ``improve()`` with the judge in process
and the same query budget to build the reference model.

Each round samples ``k`` answers per prompt from the current model, keeps the best by a knockout
over the distinct answers (k - 1 judge queries at most; identical answers need none), and fine-tunes
the model on all winners so far (loss on answer words only). Rounds repeat with the improved model,
so later samples, and so later winners, are better.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chat  # noqa: E402
from gpt import GPT  # noqa: E402

Judge = Callable[[str, str, str], str]


def best_of(prompts: list[str], samples: list[list[str]], ask: Judge, budget: int) -> tuple[list[tuple[str, str]], int]:
    """Knockout over each prompt's distinct samples; stops when the budget would run out mid-prompt."""
    winners, used = [], 0
    for i, p in enumerate(prompts):
        distinct = list(dict.fromkeys(s[i] for s in samples))
        if used + len(distinct) - 1 > budget:
            break
        champ = distinct[0]
        for cand in distinct[1:]:
            used += 1
            if ask(p, champ, cand) == "B":
                champ = cand
        winners.append((p, champ))
    return winners, used


def finetune(model: GPT, vocab: chat.Vocab, pairs: list[tuple[str, str]], steps: int, lr: float,
             batch: int = 32, seed: int = 0) -> None:
    """Supervised fine-tuning on (prompt, answer) pairs; the loss covers the answer and its <end>."""
    dev = next(model.parameters()).device
    rows, starts = zip(*(vocab.example_ids(p, a) for p, a in pairs))
    width = min(model.cfg.block_size + 1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), vocab.pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width - 1), dtype=torch.bool)
    for i, (r, st) in enumerate(zip(rows, starts)):
        r = r[:width]
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, st - 1:len(r) - 1] = True  # predict answer words and <end> from the position before
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / max(1, steps))))
        pick = torch.from_numpy(rng.integers(0, len(rows), size=batch))
        x, m = ids[pick].to(dev), mask[pick].to(dev)
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits[m], x[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()


def improve(model: GPT, vocab: chat.Vocab, prompts: list[str], ask: Judge, budget: int,
            params: dict[str, Any]) -> GPT:
    """Rounds of best-of-k + fine-tuning, spending at most ``budget`` judge queries."""
    rounds, k = int(params.get("ref_rounds", 3)), int(params.get("ref_samples", 8))
    steps, lr = int(params.get("ref_steps", 300)), float(params.get("ref_lr", 1e-3))
    order = list(prompts)
    random.Random(0).shuffle(order)
    winners: list[tuple[str, str]] = []
    used, cursor = 0, 0
    for r in range(rounds):
        share = (budget - used) // (rounds - r)
        spent = 0
        while spent < share and cursor < len(order):
            todo = order[cursor:cursor + 128]
            samples = [chat.generate(model, vocab, todo, seed=1000 * r + j + cursor) for j in range(k)]
            got, n = best_of(todo, samples, ask, share - spent)
            if not got:
                break
            spent += n
            cursor += len(got)
            winners += got
        used += spent
        finetune(model, vocab, winners, steps, lr, seed=r)
        print(f"round {r}: {used} judge queries used, {len(winners)} winners", file=sys.stderr)
    return model


def judge_cli(prompt: str, a: str, b: str) -> str:
    """One query to the run's judge service (the `judge` command)."""
    out = subprocess.run(["judge", "--prompt", prompt, "--a", a, "--b", b], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stdout + out.stderr)
    return out.stdout.split()[0]


if __name__ == "__main__":
    budget = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    vocab = chat.Vocab()
    model = chat.load_model(HERE / "base.pt")
    pool = (HERE / "prompts.txt").read_text().splitlines()
    chat.save_model(improve(model, vocab, pool, judge_cli, budget, {}), HERE / "model.pt")
