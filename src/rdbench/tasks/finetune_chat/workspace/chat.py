"""Prompt format, checkpoints and answer generation for the chat model (numpy + torch only).

The scorer decodes with its own copy of this file: ``generate(model, prompts, seed=...)`` with the
defaults below (temperature 1.0, at most MAX_NEW answer words). Changing this copy changes nothing
for scoring; change the weights in ``model.pt`` instead.

A training/generation sequence is ``<bos> prompt words <ans> answer words <end>``.

    python chat.py --model model.pt --n 8            # answers to the first 8 prompts of prompts.txt
    python chat.py --model model.pt --prompt "finish : the dog that sees the cats"
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from gpt import GPT, GPTConfig

MAX_NEW = 24  # answer words generated at most (an answer without <end> by then is cut there)
TEMPERATURE = 1.0
HERE = Path(__file__).resolve().parent


class Vocab:
    """Word <-> id maps from vocab.json."""

    def __init__(self, path: Path = HERE / "vocab.json") -> None:
        self.itos: list[str] = json.loads(Path(path).read_text())["itos"]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad, self.bos = self.stoi["<pad>"], self.stoi["<bos>"]
        self.ans, self.end = self.stoi["<ans>"], self.stoi["<end>"]

    def encode(self, text: str) -> list[int]:
        unk = self.stoi["<unk>"]
        return [self.stoi.get(w, unk) for w in text.split()]

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.itos[i] for i in ids)

    def prompt_ids(self, prompt: str) -> list[int]:
        """``<bos> prompt <ans>``: what the model sees before it answers."""
        return [self.bos, *self.encode(prompt), self.ans]

    def example_ids(self, prompt: str, answer: str) -> tuple[list[int], int]:
        """Ids of a full example and the index of its first answer position (for answer-only losses)."""
        head = self.prompt_ids(prompt)
        return head + self.encode(answer) + [self.end], len(head)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(path: Path | str, dev: str | None = None) -> GPT:
    """A checkpoint ``{"config": ..., "model": state_dict}`` as an eval-mode GPT."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = GPT(GPTConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    return model.to(dev or device()).eval()


def save_model(model: GPT, path: Path | str) -> None:
    """Save in the format the scorer reads (weights only; the architecture must stay the same)."""
    state = {k: v.detach().cpu().float() for k, v in model.state_dict().items()}
    torch.save({"config": model.cfg.to_dict(), "model": state}, path)


def _step(model: GPT, tok: torch.Tensor, p: int, keys: list[torch.Tensor], values: list[torch.Tensor],
          ) -> torch.Tensor:
    """Logits after feeding one token per row at position ``p``, caching keys and values.

    The same computation as ``model(ids)[:, p]`` for eval mode (no dropout), one position at a time.
    """
    cfg = model.cfg
    h, d = cfg.n_head, cfg.n_embd // cfg.n_head
    x = model.wte(tok) + model.wpe.weight[p]
    for layer, blk in enumerate(model.blocks):
        q, k, v = blk.attn.qkv(blk.ln1(x)).split(cfg.n_embd, dim=1)
        keys[layer][:, :, p] = k.view(-1, h, d)
        values[layer][:, :, p] = v.view(-1, h, d)
        att = torch.einsum("bhd,bhtd->bht", q.view(-1, h, d), keys[layer][:, :, :p + 1]) / math.sqrt(d)
        y = torch.einsum("bht,bhtd->bhd", torch.softmax(att, dim=-1), values[layer][:, :, :p + 1])
        x = x + blk.attn.proj(y.reshape(-1, cfg.n_embd))
        x = x + blk.mlp(blk.ln2(x))
    out: torch.Tensor = model.head(model.ln_f(x))
    return out


@torch.no_grad()
def generate(model: GPT, vocab: Vocab, prompts: list[str], seed: int = 0, temperature: float = TEMPERATURE,
             max_new: int = MAX_NEW, batch_size: int = 1024) -> list[str]:
    """Sample one answer per prompt (the words before ``<end>``, at most ``max_new``).

    Reproducible for a given seed, prompt list and batch size; temperature 0 is greedy. Uses a
    key/value cache, so it costs about one forward pass per generated position.
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    cfg = model.cfg
    gen = torch.Generator(device=dev).manual_seed(seed)
    answers: list[str] = []
    for s in range(0, len(prompts), batch_size):
        chunk = [vocab.prompt_ids(p) for p in prompts[s:s + batch_size]]
        n = len(chunk)
        lens = torch.tensor([len(c) for c in chunk], device=dev)
        width = int(lens.max()) + max_new
        if width > cfg.block_size + 1:
            raise ValueError(f"prompt too long: {int(lens.max())} ids + {max_new} > block {cfg.block_size}")
        ids = torch.full((n, width), vocab.pad, dtype=torch.long)
        for i, c in enumerate(chunk):
            ids[i, :len(c)] = torch.tensor(c)
        ids = ids.to(dev)
        shape = (n, cfg.n_head, width - 1, cfg.n_embd // cfg.n_head)
        keys = [torch.zeros(shape, device=dev) for _ in range(cfg.n_layer)]
        values = [torch.zeros(shape, device=dev) for _ in range(cfg.n_layer)]
        done = torch.zeros(n, dtype=torch.bool, device=dev)
        for p in range(width - 1):
            logits = _step(model, ids[:, p], p, keys, values).float()
            if temperature > 0:
                nxt = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=gen).squeeze(1)
            else:
                nxt = logits.argmax(-1)
            answering = (p + 1 >= lens) & (p + 1 < lens + max_new)  # rows whose next id is an answer word
            nxt = torch.where(done, torch.full_like(nxt, vocab.end), nxt)
            ids[:, p + 1] = torch.where(answering, nxt, ids[:, p + 1])
            done = done | (answering & (nxt == vocab.end))
            if bool((done | (p + 1 >= lens + max_new - 1)).all()):
                break
        for i, row in enumerate(ids.tolist()):
            ans = row[len(chunk[i]):len(chunk[i]) + max_new]
            cut = ans.index(vocab.end) if vocab.end in ans else len(ans)
            answers.append(vocab.decode(ans[:cut]))
    model.train(was_training)
    return answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(HERE / "model.pt"))
    ap.add_argument("--prompts", default=str(HERE / "prompts.txt"))
    ap.add_argument("--prompt", help="answer this one prompt instead")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperature", type=float, default=TEMPERATURE)
    a = ap.parse_args()
    prompts = [a.prompt] if a.prompt else Path(a.prompts).read_text().splitlines()[:a.n]
    vocab, model = Vocab(), load_model(a.model)
    for p, ans in zip(prompts, generate(model, vocab, prompts, seed=a.seed, temperature=a.temperature)):
        print(f"{p}\n  -> {ans}")


if __name__ == "__main__":
    main()
