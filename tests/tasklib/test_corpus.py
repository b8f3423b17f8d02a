"""Synthetic corpus: determinism, disjoint splits, exact likelihood, tokenizer round trip."""

from __future__ import annotations

import math

from rdbench.tasklib.corpus import entropy_floor, generate_tokens, sample_sentences, vocabulary
from rdbench.tasklib.tokenizer import WordTokenizer


def test_same_seed_same_text_and_different_seed_differs() -> None:
    a, la = sample_sentences(50, seed=3)
    b, lb = sample_sentences(50, seed=3)
    c, _ = sample_sentences(50, seed=4)
    assert a == b and la == lb
    assert a != c


def test_splits_are_disjoint_streams() -> None:
    def sents(split: str) -> set[str]:
        text = " ".join(generate_tokens(split, 20000))
        return {s.strip() for s in text.split(".") if len(s.split()) >= 8}

    tr, va, te = sents("train"), sents("val"), sents("test")
    assert len(va) > 50 and len(te) > 50
    # long sentences are essentially unique: overlap only by chance, never wholesale
    assert len(tr & va) < 0.05 * len(va)
    assert len(tr & te) < 0.05 * len(te)
    assert generate_tokens("train", 1000) != generate_tokens("train", 1000, base_seed=1)


def test_vocabulary_small_and_tokenizer_roundtrip() -> None:
    tok = WordTokenizer.default()
    assert 100 <= tok.vocab_size <= 500
    words = generate_tokens("val", 2000)
    ids = tok.encode(words)
    assert tok.unk_id not in ids
    assert tok.decode(ids) == " ".join(words)
    assert WordTokenizer.from_json(tok.to_json()).itos == tok.itos
    assert len(set(vocabulary())) == len(vocabulary())


def test_log_probs_are_valid_and_floor_in_range() -> None:
    sents, logps = sample_sentences(200, seed=0)
    assert all(lp < 0 for lp in logps)
    # short sentences are more probable than long ones on average (log-probs track length)
    short = [lp for s, lp in zip(sents, logps, strict=True) if len(s) <= 5]
    long = [lp for s, lp in zip(sents, logps, strict=True) if len(s) >= 12]
    assert short and long and sum(short) / len(short) > sum(long) / len(long)
    floor = entropy_floor(3000, seed=1)
    assert 1.5 < floor < math.log(len(vocabulary()))
