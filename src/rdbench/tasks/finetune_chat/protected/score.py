"""Scorer for finetune_chat: win rate of workspace/model.pt against the base model on hidden prompts.

No code from the workspace runs here: model.pt is read as weights only (``weights_only=True``, at the
moment of use: no links) into
the scorer's own copy of the architecture (gpt.py) and decoder (chat.py) from protected/. Each call
draws ``eval_n`` prompts from the hidden pool with ``params["seed"]``; both models answer them with
the same sampling seed (temperature 1.0, at most chat.MAX_NEW words), and the hidden judge compares
every pair. Win rate = (wins + ties / 2) / prompts, so the base model itself scores exactly 0.5.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import rdbench_scorer as rs

# deterministic cuBLAS on GPUs: the base model against itself must give identical samples (all ties)
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch

MAX_BYTES = 20_000_000  # far above any checkpoint of the fixed architecture


def _load_weights(ck: Any, base_state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor] | None, str | None]:
    """The candidate's state dict checked against the base's keys, shapes and dtypes; or an error."""
    state = ck.get("model", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        return None, 'model.pt must hold {"config": ..., "model": state_dict} (see chat.save_model)'
    if set(state) != set(base_state):
        missing, extra = sorted(set(base_state) - set(state)), sorted(set(state) - set(base_state))
        return None, f"model.pt keys differ from the base architecture (missing {missing[:3]}, extra {extra[:3]})"
    out = {}
    for k, ref in base_state.items():
        t = state[k]
        if type(t) is not torch.Tensor or not t.is_floating_point() or t.shape != ref.shape:
            return None, f"model.pt: tensor {k} must be a float tensor of shape {tuple(ref.shape)}"
        t = t.detach().to(torch.float32).contiguous()
        if not bool(torch.isfinite(t).all()):
            return None, f"model.pt: tensor {k} has non-finite values"
        out[k] = t
    if not torch.equal(out["wte.weight"], out["head.weight"]):
        return None, "model.pt: wte.weight and head.weight are tied and must be equal"
    return out, None


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    t0 = time.time()
    workspace, protected = Path(workspace), Path(protected)
    sys.path.insert(0, str(protected))
    import chat  # type: ignore[import-not-found]  # the scorer's own copies, from protected/
    import judge
    from gpt import GPT, GPTConfig  # type: ignore[import-not-found]

    ck = rs.load_tensors("model.pt", workspace, max_bytes=MAX_BYTES)
    base_ck = torch.load(protected / "base.pt", map_location="cpu", weights_only=True)
    state, err = _load_weights(ck, base_ck["model"])
    if err or state is None:
        raise rs.Invalid(str(err))

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        torch.set_num_threads(1)  # fast enough, and immune to thread contention on a busy machine
    cfg = GPTConfig(**base_ck["config"])
    models = {}
    for name, sd in (("base", base_ck["model"]), ("model", state)):
        m = GPT(cfg)
        m.load_state_dict(sd)
        models[name] = m.to(dev).eval()

    seed = int(params["seed"])
    pool = (protected / "eval_prompts.txt").read_text().splitlines()
    prompts = random.Random(seed).sample(pool, min(int(params.get("eval_n", 2000)), len(pool)))
    vocab = chat.Vocab(protected / "vocab.json")
    gen_seed = random.Random(seed ^ 0x5EED).randrange(2**31)
    answers = {k: chat.generate(m, vocab, prompts, seed=gen_seed) for k, m in models.items()}

    grammar = judge.Grammar.load(protected / "grammar.json")
    wins = ties = 0
    by_kind: dict[str, dict[str, Any]] = {}
    for p, a, b in zip(prompts, answers["model"], answers["base"], strict=True):
        pa, pb = judge.points(grammar, p, a), judge.points(grammar, p, b)
        r = 1.0 if pa > pb else 0.5 if pa == pb else 0.0
        wins += r == 1.0
        ties += r == 0.5
        k = by_kind.setdefault(p.split()[0], {"n": 0, "win_rate": 0.0, "points_model": 0.0, "points_base": 0.0})
        k["n"] += 1
        k["win_rate"] += r
        k["points_model"] += pa
        k["points_base"] += pb
    for k in by_kind.values():
        for f in ("win_rate", "points_model", "points_base"):
            k[f] = round(k[f] / k["n"], 4)
    n = len(prompts)
    value = (wins + 0.5 * ties) / n
    if not math.isfinite(value):
        raise rs.ScorerError("no prompts scored")
    return rs.scored(value, f"win rate {value:.3f} against the base model on {n} hidden prompts "
                     f"({wins} wins, {ties} ties, {n - wins - ties} losses)",
                     n=n, wins=wins, ties=ties, by_kind=by_kind, device=dev, seconds=round(time.time() - t0, 2),
                     examples=[[p, a, b] for p, a, b in list(zip(prompts, answers["model"], answers["base"],
                                                                  strict=True))[:5]])
