"""Reference pretraining: clean the corpus, reweight its domains, then train a deeper GPT for longer.

    python train.py          # 3 layers of width 96 (3 heads), 1500 steps of 32 windows of 64 words

Cleaning uses only the corpus itself: exact duplicate documents are dropped, then repeated-word spam,
then documents whose sentences mostly open with words other than the corpus's seven commonest
openers (the foreign language), then every document whose words a bigram model of the corpus finds
unlikely (word salad, shuffled sentences: fitted twice, the second time on what the first kept). Domain
weights: documents that restate their sentences' facts as short clauses are repeated 8 times, those
with relative clauses in most sentences 3 times, those with conjoined verbs twice.

Writes the checkpoint format the scorer accepts: {"config": GPTConfig as a dict, "model": state dict}.
"""

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpt import GPT, GPTConfig  # noqa: E402


def bigram_scores(docs, stoi, smoothing=0.1):
    """Mean log-probability per word of each document under a bigram model fitted on all of them."""
    v = len(stoi)
    counts = np.full((v, v), smoothing)
    for d in docs:
        ids = [stoi[w] for w in d]
        np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
    logp = np.log(counts / counts.sum(1, keepdims=True))
    out = []
    for d in docs:
        ids = [stoi[w] for w in d]
        out.append(float(logp[ids[:-1], ids[1:]].mean()))
    return np.array(out)


def sentences(doc):
    out, cur = [], []
    for w in doc:
        cur.append(w)
        if w == ".":
            out.append(cur)
            cur = []
    return out


def weight(doc):
    """How many times a clean document goes into the training stream (domain weighting)."""
    sents = sentences(doc)
    restated = sum(1 for a, b in zip(sents, sents[1:]) if len(b) <= 6 and len(a) > len(b)
                   and all(w in a for w in b if w not in ("the", ".")))
    if restated >= len(sents) // 3:
        return 8
    if sum("that" in s for s in sents) * 2 >= len(sents):
        return 3
    if sum("and" in s for s in sents) * 3 >= len(sents):
        return 2
    return 1


def clean(lines, stoi, seed=0):
    """The cleaned, reweighted documents (shuffled), and a count of what each step dropped."""
    seen, docs = set(), []
    for line in lines:
        if line and line not in seen:
            seen.add(line)
            docs.append(line.split())
    report = {"documents": len(lines), "after dedup": len(docs)}
    docs = [d for d in docs if d[-1] == "." and Counter(d).most_common(1)[0][1] <= 0.35 * len(d)]
    report["after spam"] = len(docs)
    # the language's sentences open with one of a few words (its determiners); the foreign one's with others
    openers = Counter(s[0] for d in docs for s in sentences(d))
    common = {w for w, _ in openers.most_common(7)}
    docs = [d for d in docs if sum(s[0] in common for s in sentences(d)) * 2 > len(sentences(d))]
    report["after openers"] = len(docs)
    for _ in range(2):
        scores = bigram_scores(docs, stoi)
        cut = np.median(scores) - 0.6
        docs = [d for d, s in zip(docs, scores) if s > cut]
    report["after bigram filter"] = len(docs)
    out = [d for d in docs for _ in range(weight(d))]
    random.Random(seed).shuffle(out)
    report["weighted"] = len(out)
    return out, report


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.45 * (1 + np.cos(np.pi * min(1.0, frac))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=str(HERE / "data" / "corpus.txt"))
    ap.add_argument("--out", default=str(HERE / "model.pt"))
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    itos = json.loads((HERE / "vocab.json").read_text())["itos"]
    stoi = {w: i for i, w in enumerate(itos)}
    docs, report = clean(Path(args.data).read_text().splitlines(), stoi, args.seed)
    print(", ".join(f"{k} {v:,}" for k, v in report.items()))
    data = np.array([stoi[w] for d in docs for w in d], dtype=np.int64)
    cfg = GPTConfig(vocab_size=len(itos), block_size=args.block, n_layer=args.layers, n_head=args.heads,
                    n_embd=args.width)
    model = GPT(cfg)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(data):,} training tokens")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(args.seed)
    started = time.time()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, max(1, args.steps // 20))
        ix = rng.integers(0, len(data) - args.block - 1, size=args.batch)
        win = torch.from_numpy(data[ix[:, None] + np.arange(args.block + 1)[None, :]])
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
    state = {k: t.detach().clone() for k, t in model.state_dict().items()}
    state["head.weight"] = state["wte.weight"]
    torch.save({"config": cfg.to_dict(), "model": state}, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
