"""Minimal pairs: the grammar's exact likelihood, pairs the true grammar always gets right, and a
simple n-gram model that gets them wrong where the phenomena say it should."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

import pytest

from rdbench.tasklib.corpus import GrammarConfig, generate_tokens, sample_sentences
from rdbench.tasklib.pairs import LEXICAL, STRUCTURAL, accuracy, make_pairs, parse, sentence_logprob

WORLD = GrammarConfig(prefs=1.5, prefs_seed=7)


@pytest.mark.parametrize("cfg", [GrammarConfig(), WORLD], ids=["plain", "lexical"])
def test_the_parser_gives_the_samplers_exact_log_probabilities(cfg: GrammarConfig) -> None:
    sents, logps = sample_sentences(2000, 5, cfg)
    for sentence, logp in zip(sents, logps, strict=True):
        assert sentence_logprob(sentence, cfg) == pytest.approx(logp, abs=1e-9), sentence


def test_the_parser_refuses_what_the_grammar_never_emits() -> None:
    for text in ("the dog sleep .", "the dogs sleeps .", "these dog sleeps .", "the dog sees .",
                 "the dog that chase the cats sleeps .", "the dog sleeps and run .", "the dog sleeps",
                 "the dog sleeps . .", "dog sleeps ."):
        assert parse(text.split()) is None, text
        assert sentence_logprob(text.split()) == -math.inf
    assert parse(["the", "dog", "that", "chases", "the", "cats", "sleeps", "."]) is not None


def test_pairs_are_fresh_per_seed_deterministic_and_the_true_grammar_gets_every_one() -> None:
    kinds = STRUCTURAL + LEXICAL
    pairs = make_pairs(kinds, 60, seed=3, cfg=WORLD)
    assert make_pairs(kinds, 60, seed=3, cfg=WORLD) == pairs
    other = make_pairs(kinds, 60, seed=4, cfg=WORLD)
    assert len({p.good for p in pairs} & {p.good for p in other}) < 0.2 * len(pairs)
    assert Counter(p.phenomenon for p in pairs) == dict.fromkeys(kinds, 60)
    for pair in pairs:
        assert pair.good != pair.bad and sentence_logprob(pair.good, WORLD) > -math.inf
        if pair.phenomenon in STRUCTURAL:
            assert sentence_logprob(pair.bad, WORLD) == -math.inf, pair  # the grammar never emits it
        else:
            assert sentence_logprob(pair.good, WORLD) > sentence_logprob(pair.bad, WORLD) + 1.0, pair
        if pair.phenomenon != "missing_object":  # one word replaced
            assert len(pair.good) == len(pair.bad)
            assert sum(a != b for a, b in zip(pair.good, pair.bad, strict=True)) == 1
    acc = accuracy(pairs, lambda sents: [sentence_logprob(s, WORLD) for s in sents])
    assert acc == dict.fromkeys(kinds, 1.0)


def _bigram(words: Sequence[str]) -> object:
    counts = Counter(itertools.pairwise(words))
    unigrams = Counter(words)
    vocab = len(unigrams) + 1

    def logprob(sentences: Sequence[Sequence[str]]) -> list[float]:
        out = []
        for s in sentences:
            seq = [".", *s]
            out.append(sum(math.log((counts[(a, b)] + 0.1) / (unigrams[a] + 0.1 * vocab))
                           for a, b in itertools.pairwise(seq)))
        return out
    return logprob


def test_a_bigram_model_fails_where_agreement_is_not_local() -> None:
    """The phenomena separate models: a bigram model learns local agreement and determiners but
    prefers the attractor's number (below chance)."""
    words = generate_tokens("train", 100_000, cfg=WORLD)
    pairs = make_pairs(STRUCTURAL, 150, seed=9, cfg=WORLD)
    acc = accuracy(pairs, _bigram(words))  # type: ignore[arg-type]
    assert acc["local_agreement"] > 0.75 and acc["determiner_noun"] > 0.75, acc
    assert acc["attractor"] < 0.35 and acc["inside_relative_clause"] < 0.6, acc
    assert 0.4 < sum(acc.values()) / len(acc) < 0.8, acc


def test_unknown_phenomena_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown phenomena"):
        make_pairs(["nonsense"], 1, 0)
