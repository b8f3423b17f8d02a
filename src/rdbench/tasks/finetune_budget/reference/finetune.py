"""Reference fine-tuning: clean the pool with the base's help, mix per skill, replay text, a tuned schedule.

    python finetune.py BASE_PT POOL_DIR OUT_PT

1. Format: rows whose prompt is not in a known skill format (a keyword, ``:`` or, for ``who``, ``?``)
   are dropped (``forum.jsonl`` asks its questions with ``:`` and answers without the final ``.``).
2. Deduplication of identical (prompt, answer) rows (``scraped.jsonl`` repeats a few rows many times).
3. Length: per skill, answers longer than the skill's typical answer (its median length + 2 words, and
   for ``agree`` exactly one word) are dropped (``verbose.jsonl`` runs on past the answer).
4. Likelihood filtering: per skill, the base's mean log-probability per answer id is computed for
   every row, and rows far below that skill's median are dropped (``crowd.jsonl``'s wrong answers are
   another example's answer: the base finds them much less likely than right ones).
5. Mixing: every batch draws the pool skills equally and replays plain text (``text.txt``, every word
   predicted) for a quarter of its rows, against forgetting what the base knew.
   Plain text alone does not keep the held-out skills (measured: both fell to 0); so a quarter of every
   batch replays *the base's own samples*: rows sampled from the base from ``<bos>`` at temperature 1,
   which hold whatever formats it was pretrained on, the held-out ones included (generative replay).
6. Schedule: AdamW, warm-up then cosine decay, gradient clipping; batches cropped to their longest row.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

STARTED = time.monotonic()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lm  # noqa: E402

STEPS, BATCH, LR, WARMUP = 600, 32, 3e-3, 30
TEXT_SHARE, SELF_SHARE = 0.125, 0.25  # shares of each batch: plain text, the base's own samples
N_SELF = 1000
SAFETY = 0.8  # share of the time cap (TIME_CAP_S) after which it stops and saves what it has
DROP_BELOW = 1.5  # nats per answer id below the skill's median
KEYWORDS = ("who", "agree", "reverse", "copy", "first", "plural", "fill", "fact", "finish")


def skill_of(prompt: str) -> str | None:
    words = prompt.split()
    if len(words) < 3 or words[0] not in KEYWORDS:
        return None
    if words[0] == "who":
        return "who" if words[2] == "?" else None
    return words[0] if words[1] == ":" else None


def clean(vocab: lm.Vocab, base: torch.nn.Module, rows: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    by_skill: dict[str, list[tuple[str, str]]] = {}
    for p, a in dict.fromkeys(rows):  # 2. dedupe, order kept
        s = skill_of(p)  # 1. format
        if s is None or (s == "who" and not a.endswith(" .")):
            continue
        by_skill.setdefault(s, []).append((p, a))
    kept = {}
    for s, pairs in by_skill.items():
        lengths = [len(a.split()) for _, a in pairs]
        limit = 1 if s == "agree" else statistics.median(lengths) + 2
        pairs = [r for r, n in zip(pairs, lengths) if n <= limit]  # 3. length
        scores = lm.answer_logprobs(base, vocab, pairs)  # 4. the base's likelihood
        median = statistics.median(scores)
        kept[s] = [r for r, v in zip(pairs, scores) if v >= median - DROP_BELOW]
        print(f"{s}: {len(by_skill[s])} rows after format and dedup, {len(kept[s])} kept", file=sys.stderr)
    return kept


@torch.no_grad()
def self_replay(base: torch.nn.Module, vocab: lm.Vocab, n: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` rows sampled from the base itself from ``<bos>`` (temperature 1): what it learned to do."""
    gen = torch.Generator().manual_seed(0)
    x = torch.full((n, 1), vocab.bos, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    for _ in range(width):
        probs = torch.softmax(base(x)[:, -1], -1)
        nxt = torch.multinomial(probs, 1, generator=gen)[:, 0]
        nxt = torch.where(done, torch.full_like(nxt, vocab.pad), nxt)
        done |= nxt == vocab.end
        x = torch.cat([x, nxt[:, None]], 1)
        if bool(done.all()):
            break
    ids = torch.full((n, width + 1), vocab.pad, dtype=torch.long)
    ids[:, :x.shape[1]] = x[:, :width + 1]
    return ids, ids[:, 1:] != vocab.pad


def main() -> None:
    base_path, pool, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = random.Random(0)
    vocab = lm.Vocab()
    model = lm.load_model(base_path)
    base = lm.load_model(base_path)
    width = model.cfg.block_size
    rows = [(r["prompt"], r["answer"]) for f in sorted(pool.glob("*.jsonl"))
            for r in map(json.loads, f.read_text().splitlines())]
    kept = clean(vocab, base, rows)
    batches = {s: lm.batch(vocab, pairs, width) for s, pairs in kept.items()}
    text = lm.text_batch(vocab, (pool / "text.txt").read_text().splitlines(), width)
    replay = self_replay(base, vocab, N_SELF, width)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.0)
    skills = sorted(batches)
    n_text, n_self = int(BATCH * TEXT_SHARE), int(BATCH * SELF_SHARE)
    model.train()
    cap = float(os.environ.get("TIME_CAP_S", "90"))
    for step in range(STEPS):
        if time.monotonic() - STARTED > SAFETY * cap:
            print(f"stopped at step {step} of {STEPS}: {SAFETY:.0%} of the time cap", file=sys.stderr)
            break
        for group in opt.param_groups:
            group["lr"] = LR * min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        xs, ms = [], []
        for i in range(BATCH - n_text - n_self):  # 5. every skill equally
            ids, mask = batches[skills[(step * BATCH + i) % len(skills)]]
            j = rng.randrange(len(ids))
            xs.append(ids[j]), ms.append(mask[j])
        for _ in range(n_text):
            j = rng.randrange(len(text[0]))
            xs.append(text[0][j]), ms.append(text[1][j])
        for _ in range(n_self):
            j = rng.randrange(len(replay[0]))
            xs.append(replay[0][j]), ms.append(replay[1][j])
        x, m = torch.stack(xs), torch.stack(ms)
        n = int(m.any(0).nonzero().max()) + 1  # crop the padding every row has
        x, m = x[:, :n + 1], m[:, :n]
        loss = F.cross_entropy(model(x[:, :-1])[m], x[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    lm.save_model(model, out)
    print(f"fine-tuned {STEPS} steps in {time.monotonic() - STARTED:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
