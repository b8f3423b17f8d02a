"""Build merge_experts' expert sets: a base tiny GPT and one expert per skill fine-tuned from it.

Every set has its own lexical world (``GrammarConfig(prefs, prefs_seed)``) and its own base, pretrained
from its own initialisation on that world's sentences in the ``copy : <sentence>`` format (so the
base knows the language and the prompt format); each expert is the base fine-tuned on one skill of
``tasklib/skills.py`` (loss on answer words only). Writes

- ``workspace/``: gpt.py, lm.py, vocab.json, ``experts/`` (the development set: base.pt, one
  ``<skill>.pt`` per skill, dev.json, world.json) and eval.json (more prompts of that set's skills);
- ``protected/``: gpt.py, lm.py, corpus.py, skills.py, vocab.json and ``sets/set<i>/`` (the hidden
  sets the scorer draws from, each laid out like ``experts/``);
- ``reference/``: nothing (the reference is ``reference/merge.py``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rdbench.tasklib import corpus, skills
from rdbench.tasklib.gpt import GPT, GPTConfig

HERE = Path(__file__).resolve().parent
SKILLS = ["finish", "who", "fill", "fact"]
DEV_SET_SEED = 1000  # the workspace's set; hidden sets use 1, 2, ... (their own bases and worlds)


def _vocab_words() -> list[str]:
    return ["<pad>", "<unk>", "<mask>", "<bos>", *corpus.vocabulary(), *skills.EXTRA_WORDS]


def _lm() -> Any:
    sys.path.insert(0, str(HERE / "workspace"))
    import importlib.util

    import rdbench.tasklib.gpt as gpt_module
    sys.modules.setdefault("gpt", gpt_module)
    spec = importlib.util.spec_from_file_location("me_lm", HERE / "workspace" / "lm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(model: GPT, lm: Any, vocab: Any, pairs: list[tuple[str, str]], steps: int, lr: float, batch: int,
          seed: int, answer_only: bool) -> None:
    """AdamW with warmup and cosine decay on (prompt, answer) pairs; loss on answers or whole rows."""
    rng = np.random.default_rng(seed)
    ids, mask = lm.batch(vocab, pairs, model.cfg.block_size)
    if not answer_only:
        mask = ids[:, 1:] != vocab.pad
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / steps)))
        pick = torch.from_numpy(rng.integers(0, len(pairs), size=batch))
        x, m = ids[pick], mask[pick]
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits[m], x[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()


def world(set_seed: int, params: dict[str, Any]) -> corpus.GrammarConfig:
    return corpus.GrammarConfig(prefs=float(params.get("prefs", 1.5)), prefs_seed=set_seed)


def build_set(out: Path, set_seed: int, params: dict[str, Any], lm: Any, vocab: Any) -> dict[str, Any]:
    """One expert set in ``out``: base.pt, <skill>.pt, dev.json, world.json; returns its losses."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_world = world(set_seed, params)
    torch.manual_seed(set_seed)
    cfg = GPTConfig(vocab_size=len(vocab.itos), block_size=int(params.get("block", 40)),
                    n_layer=int(params.get("layers", 2)), n_head=int(params.get("heads", 2)),
                    n_embd=int(params.get("width", 64)))
    base = GPT(cfg)
    text = skills.examples("copy", int(params.get("pretrain_examples", 20000)), set_seed * 10, cfg_world)
    # optionally a little of every skill in the base's data (0 at mini: with 300 per skill the base came
    # within 0.1 nats of the fact expert, and r's small denominators made every merge score -1 on some skill)
    for k, skill in enumerate(SKILLS):
        text += skills.examples(skill, int(params.get("base_skill_examples", 0)), set_seed * 10 + 60 + k, cfg_world)
    batch = int(params.get("batch", 32))
    train(base, lm, vocab, text, int(params.get("pretrain_steps", 400)), float(params.get("lr", 3e-3)), batch,
          set_seed, answer_only=False)
    lm.save_model(base, out / "base.pt")
    dev: dict[str, list[tuple[str, str]]] = {}
    losses: dict[str, dict[str, float]] = {}
    for k, skill in enumerate(SKILLS):
        data = skills.examples(skill, int(params.get("expert_examples", 4000)), set_seed * 10 + 1 + k, cfg_world)
        expert = GPT(cfg)
        expert.load_state_dict(base.state_dict())
        train(expert, lm, vocab, data, int(params.get("expert_steps", 150)), float(params.get("expert_lr", 1e-3)),
              batch, set_seed * 10 + k, answer_only=True)
        lm.save_model(expert, out / f"{skill}.pt")
        dev[skill] = skills.examples(skill, int(params.get("n_dev", 32)), set_seed * 10 + 7 + k, cfg_world)
        probe = skills.examples(skill, 200, set_seed * 10 + 8 + k, cfg_world)
        losses[skill] = {"base": lm.answer_loss(base, vocab, probe), "expert": lm.answer_loss(expert, vocab, probe)}
    (out / "dev.json").write_text(json.dumps(dev))
    (out / "world.json").write_text(json.dumps({"prefs": cfg_world.prefs, "prefs_seed": cfg_world.prefs_seed}))
    (out / "losses.json").write_text(json.dumps(losses, indent=1))
    return losses


def prepare(out: Path, params: dict[str, Any]) -> None:
    """Write the workspace and protected assets (see the module docstring)."""
    t0 = time.time()
    torch.set_num_threads(int(params.get("threads", 1)))
    ws, prot = out / "workspace", out / "protected"
    for d in (ws, prot):
        d.mkdir(parents=True, exist_ok=True)
        (d / "vocab.json").write_text(json.dumps({"itos": _vocab_words()}))
    import rdbench.tasklib.gpt as gpt_module

    for d in (ws, prot):
        shutil.copy(gpt_module.__file__, d / "gpt.py")
    shutil.copy(HERE / "workspace" / "lm.py", prot / "lm.py")
    shutil.copy(corpus.__file__, prot / "corpus.py")
    shutil.copy(skills.__file__, prot / "skills.py")
    lm = _lm()
    vocab = lm.Vocab(ws / "vocab.json")
    losses = build_set(ws / "experts", DEV_SET_SEED, params, lm, vocab)
    print(f"development set ready after {time.time() - t0:.0f} s: {losses}", file=sys.stderr)
    cfg_world = world(DEV_SET_SEED, params)
    evals = {skill: skills.examples(skill, int(params.get("n_eval", 200)), DEV_SET_SEED * 10 + 50 + k, cfg_world)
             for k, skill in enumerate(SKILLS)}
    (ws / "eval.json").write_text(json.dumps(evals))
    for i in range(1, int(params.get("sets", 2)) + 1):
        losses = build_set(prot / "sets" / f"set{i}", i, params, lm, vocab)
        print(f"hidden set {i} ready after {time.time() - t0:.0f} s: {losses}", file=sys.stderr)
