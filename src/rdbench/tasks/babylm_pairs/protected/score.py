"""Score babylm_pairs: macro accuracy of workspace/model.pt on fresh hidden minimal pairs.

The submission is data only (``rs.load_tensors``: no links, ``weights_only``), checked against the
task's bounds and loaded into the scorer's own copy of ``gpt.py`` (``checkpoint.check_gpt``: config
bounds, parameter cap, exact names, shapes, float32, finite, tied head), so no agent code runs. The
pairs are drawn from the grammar with the call's seed (``pairs.make_pairs``), so every call sees
pairs no one has seen; the grammar itself (``corpus.py``, ``pairs.py``) stays in protected/.

A sentence's score is the model's total log-probability of its words after a single "." (the end
of a previous sentence); a pair counts when the good member scores higher (a tie counts half).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import rdbench_scorer as rs
import torch
import torch.nn.functional as F

MAX_BYTES = 64 * 2**20  # a float32 model at the largest cap of any scale is far smaller


def _load(protected: Path, name: str) -> ModuleType:
    # by path and under a private name, so nothing of the workspace's can stand in for it
    spec = importlib.util.spec_from_file_location(name, protected / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and sibling imports look modules up there
    spec.loader.exec_module(module)
    return module


@torch.no_grad()
def sentence_logprobs(model: torch.nn.Module, ids: Sequence[Sequence[int]], batch: int = 256) -> list[float]:
    """Total log-probability of each id sequence after its first id (the "." that precedes it)."""
    out: list[float] = []
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        length = max(len(s) for s in chunk)
        x = torch.zeros(len(chunk), length, dtype=torch.long)
        keep = torch.zeros(len(chunk), length - 1)
        for j, seq in enumerate(chunk):
            x[j, :len(seq)] = torch.tensor(seq)
            keep[j, :len(seq) - 1] = 1.0
        logp = F.log_softmax(model(x[:, :-1]).double(), dim=-1).gather(-1, x[:, 1:, None])[..., 0]
        out.extend((logp * keep).sum(dim=1).tolist())
    return out


def score(workspace: Path, protected: Path, params: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(int(params.get("threads", 2)))
    ckpt = rs.load_tensors("model.pt", workspace, max_bytes=MAX_BYTES)
    corpus = _load(protected, "corpus")
    pairs = _load(protected, "pairs")
    gpt = _load(protected, "gpt")
    checkpoint = _load(protected, "checkpoint")
    vocab: list[str] = json.loads((protected / "vocab.json").read_text())["itos"]
    bounds = checkpoint.GPTBounds(vocab_size=len(vocab), max_params=int(params["max_params"]),
                                  min_block=int(params["min_block"]), max_block=int(params["max_block"]),
                                  max_layers=int(params["max_layers"]), max_width=int(params["max_width"]))
    try:
        model, facts = checkpoint.check_gpt(ckpt, gpt, bounds)
    except checkpoint.CheckpointError as error:
        raise rs.Invalid(f"model.pt rejected: {error}") from None
    cfg = corpus.GrammarConfig(prefs=float(params["prefs"]), prefs_seed=int(params["world"]))
    phenomena = tuple(pairs.STRUCTURAL) + tuple(pairs.LEXICAL)
    drawn = pairs.make_pairs(phenomena, int(params["pairs_per_phenomenon"]), int(params["seed"]), cfg)
    stoi = {w: i for i, w in enumerate(vocab)}

    def logprob(sentences: Sequence[Sequence[str]]) -> list[float]:
        return sentence_logprobs(model, [[stoi["."], *(stoi[w] for w in s)] for s in sentences])

    acc: dict[str, float] = pairs.accuracy(drawn, logprob)
    macro = sum(acc[p] for p in pairs.STRUCTURAL) / len(pairs.STRUCTURAL)
    lexical = {p: acc[p] for p in pairs.LEXICAL}
    shown = ", ".join(f"{p} {acc[p]:.3f}" for p in pairs.STRUCTURAL)
    details = {"accuracy": acc, "lexical": lexical, "params": facts["params"], "config": facts["config"],
               "pairs": len(drawn)}
    return rs.scored(macro, f"macro accuracy {macro:.4f} over {len(pairs.STRUCTURAL)} phenomena "
                            f"({int(params['pairs_per_phenomenon'])} fresh pairs each): {shown}; lexical "
                            f"preference {lexical['lexical_preference']:.3f} (not in the score); "
                            f"{facts['params']:,} parameters", **details)
