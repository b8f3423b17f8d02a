"""Tiny GPT + training loop: determinism, and bigger/longer training reaches lower loss."""

from __future__ import annotations

import numpy as np
import torch

from rdbench.tasklib.corpus import generate_tokens
from rdbench.tasklib.gpt import GPT, GPTConfig
from rdbench.tasklib.tokenizer import WordTokenizer
from rdbench.tasklib.train import TrainConfig, evaluate, mlm_loss, set_deterministic, train

TOK = WordTokenizer.default()
TRAIN = np.array(TOK.encode(generate_tokens("train", 60000)), dtype=np.int32)
VAL = np.array(TOK.encode(generate_tokens("val", 8000)), dtype=np.int32)


def _run(width: int, steps: int, seed: int = 0) -> tuple[GPT, float]:
    set_deterministic(seed)
    m = GPT(GPTConfig(vocab_size=TOK.vocab_size, n_embd=width, block_size=32, n_layer=1))
    train(m, TRAIN, TrainConfig(steps=steps, batch_size=16, lr=3e-3, warmup=10))
    return m, evaluate(m, VAL)


def test_training_is_deterministic() -> None:
    a, la = _run(32, 20)
    b, lb = _run(32, 20)
    assert la == lb
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_bigger_and_longer_reaches_lower_loss() -> None:
    _, small_short = _run(16, 40)
    _, big_long = _run(64, 200)
    assert big_long < small_short - 0.2


def test_mlm_variant_runs_bidirectionally() -> None:
    set_deterministic(0)
    m = GPT(GPTConfig(vocab_size=TOK.vocab_size, n_embd=32, block_size=16, causal=False))
    x = torch.from_numpy(VAL[:64].astype(np.int64)).view(4, 16)
    loss = mlm_loss(m, x, TOK.mask_id, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and m.wte.weight.grad is not None
