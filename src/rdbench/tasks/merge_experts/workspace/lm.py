"""Prompt format, checkpoints and per-skill answer loss for the tiny GPT (numpy + torch only).

A sequence is ``<bos> prompt <ans> answer <end>`` (words). ``answer_loss`` is the metric the scorer
computes per skill: the mean negative log-likelihood (nats) of the answer's words and its ``<end>``
given the prompt. The scorer uses its own copy of this file and of gpt.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from gpt import GPT, GPTConfig

HERE = Path(__file__).resolve().parent


class Vocab:
    """Word <-> id maps from vocab.json."""

    def __init__(self, path: Path | str = HERE / "vocab.json") -> None:
        self.itos: list[str] = json.loads(Path(path).read_text())["itos"]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad, self.bos = self.stoi["<pad>"], self.stoi["<bos>"]
        self.ans, self.end = self.stoi["<ans>"], self.stoi["<end>"]

    def encode(self, text: str) -> list[int]:
        unk = self.stoi["<unk>"]
        return [self.stoi.get(w, unk) for w in text.split()]

    def example_ids(self, prompt: str, answer: str) -> tuple[list[int], int]:
        """Ids of ``<bos> prompt <ans> answer <end>`` and the index of the first answer id."""
        head = [self.bos, *self.encode(prompt), self.ans]
        return head + self.encode(answer) + [self.end], len(head)


def load_model(path: Path | str, dev: str = "cpu") -> GPT:
    """A checkpoint ``{"config": ..., "model": state_dict}`` as an eval-mode GPT."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    return model.to(dev).eval()


def save_model(model: GPT, path: Path | str) -> None:
    """Save in the format the scorer reads (float32 weights; the architecture must stay the base's)."""
    state = {k: v.detach().cpu().float() for k, v in model.state_dict().items()}
    torch.save({"config": model.cfg.to_dict(), "model": state}, path)


def batch(vocab: Vocab, pairs: list[tuple[str, str]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask): padded rows and the positions whose next id is an answer id (or <end>)."""
    rows = [vocab.example_ids(p, a) for p, a in pairs]
    ids = torch.full((len(rows), width + 1), vocab.pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (row, start) in enumerate(rows):
        row = row[:width + 1]
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, start - 1:len(row) - 1] = True
    return ids, mask


@torch.no_grad()
def answer_loss(model: GPT, vocab: Vocab, pairs: list[tuple[str, str]], batch_size: int = 256) -> float:
    """Mean NLL per answer id (nats) of ``pairs`` under ``model``."""
    model.eval()
    dev = next(model.parameters()).device
    total, count = 0.0, 0
    for s in range(0, len(pairs), batch_size):
        ids, mask = batch(vocab, pairs[s:s + batch_size], model.cfg.block_size)
        ids, mask = ids.to(dev), mask.to(dev)
        logits = model(ids[:, :-1])
        nll = F.cross_entropy(logits[mask].float(), ids[:, 1:][mask], reduction="sum")
        total += float(nll)
        count += int(mask.sum())
    return total / max(count, 1)
