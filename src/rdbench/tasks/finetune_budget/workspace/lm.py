"""Prompt format, checkpoints, batches and greedy answers for the tiny GPT (numpy + torch only).

A skill example is ``<bos> prompt <ans> answer <end>`` (words); a line of plain text is
``<bos> words <end>``. ``generate`` answers prompts greedily (at most ``max_new`` words, up to
``<end>``) exactly as the scorer does; an answer is right when it equals the expected words exactly.
The scorer uses its own copy of this file and of gpt.py.
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

    def text_ids(self, text: str) -> list[int]:
        """Ids of ``<bos> words <end>`` (a line of plain text)."""
        return [self.bos, *self.encode(text), self.end]


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


def text_batch(vocab: Vocab, lines: list[str], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) for lines of plain text: every next word is predicted."""
    ids = torch.full((len(lines), width + 1), vocab.pad, dtype=torch.long)
    for i, line in enumerate(lines):
        row = vocab.text_ids(line)[:width + 1]
        ids[i, :len(row)] = torch.tensor(row)
    return ids, ids[:, 1:] != vocab.pad


@torch.no_grad()
def answer_logprobs(model: GPT, vocab: Vocab, pairs: list[tuple[str, str]], batch_size: int = 256) -> list[float]:
    """Per example, the mean log-probability per answer id (answer words and ``<end>``) under ``model``."""
    model.eval()
    out: list[float] = []
    for s in range(0, len(pairs), batch_size):
        ids, mask = batch(vocab, pairs[s:s + batch_size], model.cfg.block_size)
        logp = -F.cross_entropy(model(ids[:, :-1]).transpose(1, 2), ids[:, 1:], reduction="none")
        out += ((logp * mask).sum(1) / mask.sum(1).clamp(min=1)).tolist()
    return out


@torch.no_grad()
def generate(model: GPT, vocab: Vocab, prompts: list[str], max_new: int = 20) -> list[str]:
    """Greedy answers (words up to ``<end>``, at most ``max_new``) to ``prompts``, as the scorer decodes."""
    model.eval()
    heads = [[vocab.bos, *vocab.encode(p), vocab.ans] for p in prompts]
    answers: list[list[int]] = [[] for _ in prompts]
    by_length: dict[int, list[int]] = {}
    for i, h in enumerate(heads):
        by_length.setdefault(len(h), []).append(i)
    for length, members in by_length.items():
        x = torch.tensor([heads[i] for i in members], dtype=torch.long)
        alive = torch.ones(len(members), dtype=torch.bool)
        for _ in range(min(max_new + 1, model.cfg.block_size - length + 1)):
            nxt = model(x[:, -model.cfg.block_size:])[:, -1].argmax(-1)
            for j, i in enumerate(members):
                if alive[j]:
                    if int(nxt[j]) == vocab.end:
                        alive[j] = False
                    else:
                        answers[i].append(int(nxt[j]))
            if not bool(alive.any()):
                break
            x = torch.cat([x, nxt[:, None]], dim=1)
    return [" ".join(vocab.itos[t] for t in a[:max_new]) for a in answers]


def accuracy(model: GPT, vocab: Vocab, pairs: list[tuple[str, str]]) -> float:
    """Share of ``pairs`` whose greedy answer equals the expected answer exactly."""
    got = generate(model, vocab, [p for p, _ in pairs])
    return sum(g == a for g, (_, a) in zip(got, pairs)) / max(len(pairs), 1)
