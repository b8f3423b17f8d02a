"""Build finetune_chat's assets: grammar, prompt pools, the mediocre base model and the reference model.

Deterministic from the scale's params. Writes
- ``workspace/``: gpt.py (the package's own), vocab.json, prompts.txt (the agent's prompt pool, no
  answers), base.pt and model.pt (the starting solution: the base model itself);
- ``protected/``: grammar.json (the judge's word classes), eval_prompts.txt (hidden prompts),
  base.pt, gpt.py, chat.py and vocab.json (the scorer's own copies);
- ``reference/``: model.pt, made by ``reference/improve.py`` (best-of-n sampling judged with at most
  the run's judge budget, then supervised fine-tuning on the winners), as an agent could.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rdbench.tasklib import corpus
from rdbench.tasklib.gpt import GPT, GPTConfig

HERE = Path(__file__).resolve().parent
EXTRA_WORDS = ["finish", "who", "plural", "singular", ":", "?", "<ans>", "<end>"]
MAX_SENT = 14  # prompts use sentences of at most this many words (prompt + answer fit the block)
# seeds of the independent sentence streams
SEED_TEACHER, SEED_POOL, SEED_EVAL = 202, 303, 404


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def grammar_json() -> dict[str, list[str]]:
    """The corpus grammar's word classes, as the judge reads them."""
    return {
        "dets_sg": corpus.DETS_SG, "dets_pl": corpus.DETS_PL, "dets_any": corpus.DETS_ANY,
        "adjs": corpus.ADJS, "advs": corpus.ADVS,
        "nouns": corpus.NOUNS, "nouns_pl": [corpus._plural(n) for n in corpus.NOUNS],
        "verbs_t": corpus.VERBS_T, "verbs_t_sg": [corpus._third(v) for v in corpus.VERBS_T],
        "verbs_i": corpus.VERBS_I, "verbs_i_sg": [corpus._third(v) for v in corpus.VERBS_I],
    }


def _sentences(seed: int, n: int) -> list[list[str]]:
    sents, _ = corpus.sample_sentences(n, seed)
    return [s for s in sents if len(s) <= MAX_SENT]


def make_prompt(judge: ModuleType, g: Any, kind: str, s: list[str],
                rng: random.Random) -> tuple[str, str] | None:
    """One (prompt, gold answer) of ``kind`` from a sentence; None when the sentence does not suit it."""
    if kind == "finish":
        end = judge.subject_end(g, s)
        # favour subjects with a relative clause: agreement across it is the hard part
        if end is None or (end <= 3 and rng.random() < 0.6):
            return None
        return "finish : " + " ".join(s[:end]), " ".join(s[end:])
    verbs = [w for w in s if judge.is_verb(g, w)]
    once = [v for v in verbs if verbs.count(v) == 1]
    if not once:
        return None
    v = rng.choice(once)
    gold = judge.who_answers(g, v, s)
    return f"who {v} ? " + " ".join(s), " ".join(gold[0]) + " ."


def prompt_pool(judge: ModuleType, g: Any, seed: int, n: int) -> list[tuple[str, str]]:
    """``n`` distinct (prompt, gold) pairs from sentence stream ``seed``, the two kinds alternating."""
    rng = random.Random(seed)
    out: dict[str, str] = {}
    chunk = 0
    kind = "finish"
    while len(out) < n:
        for s in _sentences(seed * 1000 + chunk, 2000):
            made = make_prompt(judge, g, kind, s, rng)
            if made is not None and made[0] not in out:
                out[made[0]] = made[1]
                kind = "who" if kind == "finish" else "finish"
                if len(out) == n:
                    break
        chunk += 1
    return list(out.items())


def teacher(judge: ModuleType, g: Any, prompt: str, gold: str, rng: random.Random,
            p_err: float = 0.55) -> str:
    """A mediocre demonstration: the gold answer with frequent, systematic mistakes.

    Each mistake is more likely than not, so the base model's most likely answer has them, while
    its samples are right often enough for best-of-n sampling to find good answers.
    """
    toks, ans = prompt.split(), gold.split()
    if toks[0] == "finish":
        if rng.random() < p_err:  # agreement error: the main verbs take the other number
            off = len(toks) - 2
            p = judge.parse(g, toks[2:] + ans)
            for vi, subj in p.verbs if p else []:
                if subj == 0 and vi >= off:
                    ans[vi - off] = judge.flip_verb(g, ans[vi - off])
    else:
        s = toks[3:]
        p = judge.parse(g, s)
        assert p is not None
        vi = s.index(toks[1])
        subj = next(sj for v, sj in p.verbs if v == vi)
        if rng.random() < p_err:  # the wrong noun phrase: the nearest other one before the verb
            others = [np_ for k, np_ in enumerate(p.nps) if k != subj]
            before = [np_ for np_ in others if np_[1] < vi]
            if others:
                start, head, _ = (before or others)[-1]
                ans = [*s[start:head + 1], "."]
        if rng.random() < 0.3:  # the noun phrase with everything up to the verb
            ans = [*s[p.nps[subj][0]:vi], "."] if ans[-2] == s[p.nps[subj][1]] else ans
    if rng.random() < p_err:  # repeats itself
        ans = ans * rng.randint(2, 4)
    return " ".join(ans)


def _rows(vocab: Any, examples: list[tuple[str, str]], width: int) -> np.ndarray:
    """Pretraining rows of ``width`` ids: examples packed back to back, each row starting with one."""
    rows = np.zeros((len(examples), width), dtype=np.int64)
    for i in range(len(examples)):
        ids: list[int] = []
        j = i
        while len(ids) < width:
            ids += vocab.example_ids(*examples[j % len(examples)])[0]
            j += 1
        rows[i] = ids[:width]
    return rows


def pretrain(model: GPT, rows: np.ndarray, steps: int, batch: int, lr: float, seed: int, dev: str) -> None:
    """Next-token training on whole rows (AdamW, warmup + cosine)."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    data = torch.from_numpy(rows)
    model.train()
    for step in range(steps):
        frac = step / max(1, steps)
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * frac)))
        win = data[rng.integers(0, len(data), size=batch)].to(dev)
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()


def prepare(out: Path, params: dict[str, Any]) -> None:
    """Write the workspace, protected and reference assets (see the module docstring)."""
    t0 = time.time()
    torch.manual_seed(0)
    torch.set_num_threads(int(params.get("threads", 1)))
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    ws, prot, ref = out / "workspace", out / "protected", out / "reference"
    for d in (ws, prot, ref):
        d.mkdir(parents=True, exist_ok=True)
    import rdbench.tasklib.gpt as gpt_module

    for d in (ws, prot):
        shutil.copy(gpt_module.__file__, d / "gpt.py")
    shutil.copy(HERE / "workspace" / "chat.py", prot / "chat.py")
    (prot / "grammar.json").write_text(json.dumps(grammar_json()))
    vocab_words = ["<pad>", "<unk>", "<mask>", "<bos>", *corpus.vocabulary(), *EXTRA_WORDS]
    for d in (ws, prot):
        (d / "vocab.json").write_text(json.dumps({"itos": vocab_words}))
    judge = _load(HERE / "protected" / "judge.py", "fc_judge")
    g = judge.Grammar.load(prot / "grammar.json")
    sys.path.insert(0, str(prot))
    chat = _load(prot / "chat.py", "fc_chat")
    vocab = chat.Vocab(prot / "vocab.json")

    n_pool, n_eval = int(params.get("pool_prompts", 4000)), int(params.get("eval_prompts", 20000))
    pool = prompt_pool(judge, g, SEED_POOL, n_pool)
    hidden = prompt_pool(judge, g, SEED_EVAL, n_eval + n_pool)
    seen = {p for p, _ in pool}
    hidden = [(p, a) for p, a in hidden if p not in seen][:n_eval]
    (ws / "prompts.txt").write_text("".join(p + "\n" for p, _ in pool))
    (prot / "eval_prompts.txt").write_text("".join(p + "\n" for p, _ in hidden))

    # the base model: corpus text plus mediocre demonstrations on prompts of a separate stream
    rng = random.Random(SEED_TEACHER)
    demos = prompt_pool(judge, g, SEED_TEACHER, int(params.get("demos", 30000)))
    examples = [(p, teacher(judge, g, p, a, rng, float(params.get("p_err", 0.55)))) for p, a in demos]
    cfg = GPTConfig(vocab_size=len(vocab_words), block_size=int(params.get("block", 64)),
                    n_layer=int(params.get("layers", 2)), n_head=int(params.get("heads", 2)),
                    n_embd=int(params.get("width", 64)))
    model = GPT(cfg).to(dev)
    rows = _rows(vocab, examples, min(cfg.block_size, int(params.get("row", 48))) + 1)
    pretrain(model, rows, int(params.get("pretrain_steps", 1500)), int(params.get("batch", 32)),
             float(params.get("lr", 3e-3)), 0, dev)
    chat.save_model(model, ws / "base.pt")
    shutil.copy(ws / "base.pt", ws / "model.pt")
    shutil.copy(ws / "base.pt", prot / "base.pt")
    print(f"base model ready after {time.time() - t0:.0f} s", file=sys.stderr)

    # the reference: the agent's own procedure, with the in-process judge on the run's budget
    sys.path.insert(0, str(ws))
    improve = _load(HERE / "reference" / "improve.py", "fc_improve")
    used = 0
    budget = int(params.get("judge_budget", 3000))

    def ask(prompt: str, a: str, b: str) -> str:
        nonlocal used
        if used >= budget:
            raise RuntimeError("judge budget exhausted")
        used += 1
        return str(judge.compare(g, prompt, a, b))

    improved = improve.improve(chat.load_model(ws / "base.pt", dev), vocab, [p for p, _ in pool], ask,
                               budget, params)
    chat.save_model(improved, ref / "model.pt")
    (ref / "judge_queries.json").write_text(json.dumps({"used": used, "budget": budget}))
    print(f"reference ready after {time.time() - t0:.0f} s ({used} judge queries)", file=sys.stderr)
