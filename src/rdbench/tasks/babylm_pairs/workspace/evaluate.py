"""Check a checkpoint the way the scorer does, on the example pairs and the dev text.

    python evaluate.py                 # model.pt
    python evaluate.py other.pt

Prints the parameter count (the cap counts every distinct parameter, position embeddings included),
the loss on data/dev.txt, and the accuracy on data/example_pairs.jsonl per phenomenon. A sentence's
score is the model's total log-probability of its words after a single "." token; a pair counts
when the good sentence scores higher (a tie counts half). The scorer does exactly this on fresh
hidden pairs of the same phenomena. Importable: ``load_model``, ``sentence_logprobs``.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpt import GPT, GPTConfig  # noqa: E402

ITOS = json.loads((HERE / "vocab.json").read_text())["itos"]
STOI = {w: i for i, w in enumerate(ITOS)}
STRUCTURAL = ["local_agreement", "across_relative_clause", "attractor", "inside_relative_clause",
              "conjoined_verbs", "determiner_noun", "missing_object"]


def load_model(path):
    """A GPT from a checkpoint {"config": ..., "model": state dict} (data only)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


@torch.no_grad()
def sentence_logprobs(model, sentences, batch=256):
    """Total log-probability of each sentence (a list of words) after a "." token."""
    out = []
    for i in range(0, len(sentences), batch):
        seqs = [[STOI["."]] + [STOI[w] for w in s] for s in sentences[i:i + batch]]
        length = max(map(len, seqs))
        x = torch.zeros(len(seqs), length, dtype=torch.long)
        keep = torch.zeros(len(seqs), length - 1)
        for j, s in enumerate(seqs):
            x[j, :len(s)] = torch.tensor(s)
            keep[j, :len(s) - 1] = 1.0
        logp = F.log_softmax(model(x[:, :-1]).double(), -1).gather(-1, x[:, 1:, None])[..., 0]
        out.extend((logp * keep).sum(1).tolist())
    return out


@torch.no_grad()
def dev_loss(model, path=HERE / "data" / "dev.txt"):
    ids = np.array([STOI[w] for w in Path(path).read_text().split()], dtype=np.int64)
    block = model.cfg.block_size
    n = (len(ids) - 1) // block
    win = torch.from_numpy(ids[np.arange(n)[:, None] * block + np.arange(block + 1)[None, :]])
    logits = model(win[:, :-1])
    return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), win[:, 1:].reshape(-1)))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "model.pt")
    model = load_model(path)
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    print(f"{path}: {params:,} parameters, dev loss {dev_loss(model):.4f}")
    pairs = [json.loads(line) for line in (HERE / "data" / "example_pairs.jsonl").read_text().splitlines()]
    scores = sentence_logprobs(model, [s for p in pairs for s in (p["good"].split(), p["bad"].split())])
    acc = {}
    for k, p in enumerate(pairs):
        good, bad = scores[2 * k], scores[2 * k + 1]
        acc.setdefault(p["phenomenon"], []).append(1.0 if good > bad else 0.5 if good == bad else 0.0)
    for name, hits in acc.items():
        print(f"  {name:24s} {np.mean(hits):.3f} ({len(hits)} pairs)")
    macro = np.mean([np.mean(acc[p]) for p in STRUCTURAL if p in acc])
    print(f"macro accuracy over the structural phenomena (example pairs): {macro:.3f}")


if __name__ == "__main__":
    main()
