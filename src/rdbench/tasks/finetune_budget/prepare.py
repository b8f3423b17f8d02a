"""Build finetune_budget's worlds: a base tiny GPT pretrained per lexical world and its pool of open datasets.

Every world has its own lexical world (``GrammarConfig(prefs, prefs_seed)``), its own base (pretrained
from its own initialisation on that world's plain text plus a share of every suite skill: much of
``first`` and ``plural``, a little of the pool skills) and its own pool, drawn from its own streams:

- ``qa_mix.jsonl``: clean ``who`` and ``agree`` examples (on-task, two skills only);
- ``wordplay.jsonl``: clean ``reverse`` and ``copy`` examples (on-task, two other skills);
- ``crowd.jsonl``: all four pool skills, but a share of the answers are another example's (wrong);
- ``scraped.jsonl``: a few ``reverse`` examples repeated many times (duplicate-heavy);
- ``forum.jsonl``: ``who`` questions in another prompt format (``:`` for ``?``, no final ``.``);
- ``verbose.jsonl``: ``agree`` examples whose answers run on with the rest of the sentence;
- ``text.txt``: plain sentences of the world (off-task).

Writes ``workspace/`` (gpt.py, lm.py, vocab.json, ``world/`` = the development world's base.pt and
pool/, dev.json: prompts with answers of the four pool skills) and ``protected/`` (gpt.py, lm.py,
corpus.py, skills.py, vocab.json, ``dev_world/base.pt``, ``worlds/w<i>/``: base.pt, pool/ and world.json of the hidden worlds
the scorer draws from).
"""

from __future__ import annotations

import importlib.util
import json
import random
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
POOL_SKILLS = ["who", "agree", "reverse", "copy"]
HELD_OUT = ["first", "plural"]  # in the suite, never in the pool
SUITE = POOL_SKILLS + HELD_OUT
# the base's pretraining mixture of skill rows (the rest of each batch is plain text)
BASE_MIX = {"who": 0.1, "agree": 0.1, "reverse": 0.1, "copy": 0.1, "first": 0.3, "plural": 0.3}
DEV_WORLD = 1000  # the workspace's world; hidden worlds are 1, 2, ...


def _vocab_words() -> list[str]:
    return ["<pad>", "<unk>", "<mask>", "<bos>", *corpus.vocabulary(), *skills.EXTRA_WORDS]


def _lm() -> Any:
    import rdbench.tasklib.gpt as gpt_module

    sys.modules.setdefault("gpt", gpt_module)
    spec = importlib.util.spec_from_file_location("fb_lm", HERE / "workspace" / "lm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def world_config(world: int, params: dict[str, Any]) -> corpus.GrammarConfig:
    return corpus.GrammarConfig(prefs=float(params.get("prefs", 1.5)), prefs_seed=world)


def pretrain(world: int, params: dict[str, Any], lm: Any, vocab: Any) -> GPT:
    """The world's base: plain text and a mixture of the suite's skills, whole rows predicted."""
    cfg_world = world_config(world, params)
    torch.manual_seed(world)
    block = int(params.get("block", 40))
    cfg = GPTConfig(vocab_size=len(vocab.itos), block_size=block, n_layer=int(params.get("layers", 2)),
                    n_head=int(params.get("heads", 2)), n_embd=int(params.get("width", 64)))
    model = GPT(cfg)
    sents = skills.Sentences(world * 10, cfg_world)
    text_ids, _ = lm.text_batch(vocab, [" ".join(sents.next()) for _ in range(20000)], block)
    n_skill = int(params.get("base_skill_examples", 3000))
    skill_ids = {s: lm.batch(vocab, skills.examples(s, n_skill, world * 10 + 1 + k, cfg_world), block)[0]
                 for k, s in enumerate(SUITE)}
    names, probs = list(BASE_MIX), np.array(list(BASE_MIX.values()))
    steps, lr, batch = int(params.get("pretrain_steps", 2000)), float(params.get("lr", 3e-3)), int(params.get("batch", 32))
    share = float(params.get("base_skill_share", 0.5))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(world)
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / steps)))
        n_sk = int(rng.binomial(batch, share))
        rows = [text_ids[torch.from_numpy(rng.integers(0, len(text_ids), batch - n_sk))]]
        for name in rng.choice(len(names), size=n_sk, p=probs / probs.sum()):
            ids = skill_ids[names[name]]
            rows.append(ids[int(rng.integers(len(ids)))][None])
        x = torch.cat(rows)
        x = x[:, :int((x != vocab.pad).sum(1).max())]  # crop the padding every row has
        mask = x[:, 1:] != vocab.pad
        loss = F.cross_entropy(model(x[:, :-1])[mask], x[:, 1:][mask])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model.eval()


def _jsonl(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("".join(json.dumps({"prompt": p, "answer": a}) + "\n" for p, a in rows))


def build_pool(out: Path, world: int, params: dict[str, Any]) -> dict[str, int]:
    """The world's pool of open datasets in ``out`` (see the module docstring); rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_world = world_config(world, params)
    n = int(params.get("pool_examples", 1200))
    rng = random.Random(f"pool:{world}")
    seed = world * 10 + 100

    def ex(skill: str, count: int, stream: int) -> list[tuple[str, str]]:
        return skills.examples(skill, count, seed + stream, cfg_world)

    files: dict[str, list[tuple[str, str]]] = {}
    files["qa_mix.jsonl"] = ex("who", n, 1) + ex("agree", n, 2)
    files["wordplay.jsonl"] = ex("reverse", n, 3) + ex("copy", n, 4)
    crowd = []
    for k, skill in enumerate(POOL_SKILLS):  # wrong answers: another example's answer of the same skill
        rows = ex(skill, n, 10 + k)
        answers = [a for _, a in rows]
        for p, a in rows:
            crowd.append((p, rng.choice(answers) if rng.random() < float(params.get("noise", 0.5)) else a))
    files["crowd.jsonl"] = crowd
    unique = ex("reverse", int(params.get("dup_unique", 40)), 20)
    files["scraped.jsonl"] = [rng.choice(unique) for _ in range(n)]
    files["forum.jsonl"] = [(p.replace(" ? ", " : ", 1), a.removesuffix(" .")) for p, a in ex("who", n, 21)]
    files["verbose.jsonl"] = _verbose(ex("finish", n, 23))
    for rows in files.values():
        rng.shuffle(rows)
    for name, rows in files.items():
        _jsonl(out / name, rows)
    sents = skills.Sentences(seed + 30, cfg_world)
    lines = [" ".join(sents.next()) for _ in range(int(params.get("pool_text", 6000)))]
    (out / "text.txt").write_text("\n".join(lines) + "\n")
    return {**{k: len(v) for k, v in files.items()}, "text.txt": len(lines)}


def _verbose(finish_rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``agree`` prompts from ``finish`` rows whose answer is the whole rest of the sentence (verb first)."""
    rows = []
    for prompt, rest in finish_rows:
        subject = prompt.removeprefix("finish : ")
        words = rest.split()
        verb_at = 1 if words[0] in corpus.ADVS else 0
        verb = words[verb_at]
        lemma = next((v for v in corpus.VERBS_T + corpus.VERBS_I if verb in (v, corpus._third(v))), verb)
        rows.append((f"agree : {subject} {lemma}", " ".join(words[verb_at:])))
    return rows


def build_world(out: Path, world: int, params: dict[str, Any], lm: Any, vocab: Any) -> dict[str, Any]:
    """One world in ``out``: base.pt, pool/, world.json; returns the base's accuracies and pool sizes."""
    out.mkdir(parents=True, exist_ok=True)
    base = pretrain(world, params, lm, vocab)
    lm.save_model(base, out / "base.pt")
    sizes = build_pool(out / "pool", world, params)
    cfg_world = world_config(world, params)
    (out / "world.json").write_text(json.dumps({"prefs": cfg_world.prefs, "prefs_seed": cfg_world.prefs_seed}))
    acc = {s: round(lm.accuracy(base, vocab, skills.examples(s, 200, world * 10 + 50 + k, cfg_world)), 3)
           for k, s in enumerate(SUITE)}
    return {"base_accuracy": acc, "pool": sizes}


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
        shutil.copy(HERE / "workspace" / "lm.py", d / "lm.py")
    shutil.copy(corpus.__file__, prot / "corpus.py")
    shutil.copy(skills.__file__, prot / "skills.py")
    lm = _lm()
    vocab = lm.Vocab(ws / "vocab.json")
    info = build_world(ws / "world", DEV_WORLD, params, lm, vocab)
    (ws / "world" / "world.json").unlink()
    (prot / "dev_world").mkdir()  # the scorer's copy: outputs fine-tuned from it are refused
    shutil.copy(ws / "world" / "base.pt", prot / "dev_world" / "base.pt")
    print(f"development world ready after {time.time() - t0:.0f} s: {info}", file=sys.stderr)
    cfg_world = world_config(DEV_WORLD, params)
    dev = {s: skills.examples(s, int(params.get("n_dev", 200)), DEV_WORLD * 10 + 60 + k, cfg_world)
           for k, s in enumerate(POOL_SKILLS)}
    (ws / "dev.json").write_text(json.dumps(dev))
    stats = {"dev": info}
    for i in range(1, int(params.get("worlds", 2)) + 1):
        stats[f"w{i}"] = build_world(prot / "worlds" / f"w{i}", i, params, lm, vocab)
        print(f"hidden world {i} ready after {time.time() - t0:.0f} s: {stats[f'w{i}']}", file=sys.stderr)
    (prot / "prepare_stats.json").write_text(json.dumps(stats, indent=1))
