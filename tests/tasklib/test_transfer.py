"""tasklib/transfer.py: the noisy corpus holds what it says, every downstream example means what its
label says (checked with the grammar's exact parser), and the recipe is deterministic and learns."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from rdbench.tasklib import corpus, pairs, transfer
from rdbench.tasklib.gpt import GPT, GPTConfig
from rdbench.tasklib.tokenizer import WordTokenizer


def test_noisy_documents_mix_the_kinds_and_are_deterministic() -> None:
    docs = transfer.noisy_documents(40_000, 3)
    assert docs == transfer.noisy_documents(40_000, 3) and docs != transfer.noisy_documents(40_000, 4)
    kinds = Counter(d.kind for d in docs)
    assert set(kinds) == set(transfer.SHARES), kinds
    for d in docs:
        if d.kind in transfer.DOMAINS:  # the language's documents: sentences the grammar emits
            sents = " ".join(d.words).replace(" . ", " .\n").splitlines()
            assert all(pairs.parse(s.split(), transfer.DOMAINS[d.kind]) is not None for s in sents), d
    boiler = Counter(d.words for d in docs if d.kind == "duplicate")
    assert max(boiler.values()) > 5  # the same few documents, many times
    # the foreign language is the grammar under a permutation: its words, none of its sentences
    fmap = transfer.foreign_map(3)
    back = {v: k for k, v in fmap.items()}
    foreign = next(d for d in docs if d.kind == "foreign")
    first = list(foreign.words[:foreign.words.index(".") + 1])
    assert pairs.parse(first) is None and pairs.parse([back[w] for w in first]) is not None


@pytest.mark.parametrize("task", transfer.TASKS)
def test_examples_mean_what_their_labels_say(task: str) -> None:
    examples = transfer.make_examples(task, 200, 5)
    assert examples == transfer.make_examples(task, 200, 5) and examples != transfer.make_examples(task, 200, 6)
    assert Counter(e.label for e in examples) == {0: 100, 1: 100}
    assert max(len(e.words) for e in examples) < 48
    for e in examples:
        words = list(e.words)
        if task == "grammaticality":
            assert (pairs.parse(words) is not None) == bool(e.label), e
            continue
        cut = words.index(".") + 1
        sentence, rest = words[:cut], words[cut:]
        tree = pairs.parse(sentence)
        assert tree is not None, e
        if task == "entailment":
            facts = {transfer._clause(*f) for f in transfer._facts(sentence, tree)}
            assert pairs.parse(rest) is not None and (tuple(rest) in facts) == bool(e.label), e
        elif task == "subject_number":
            assert not rest and sentence[0] == "the" and tree.subject.plural == bool(e.label), e
        else:
            assert rest[0] == "the" and len(rest) == 2
            doer, undergoer = sentence[tree.subject.noun], sentence[tree.vps[0].obj.noun]  # type: ignore[union-attr]
            assert rest[1] == (doer if e.label else undergoer) and doer != undergoer, e


def test_the_recipe_is_deterministic_and_leaves_the_model_alone() -> None:
    torch.set_num_threads(1)
    stoi = WordTokenizer.default().stoi
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(stoi), block_size=64, n_layer=2, n_head=2, n_embd=32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    examples = transfer.make_examples("subject_number", 300, 1)
    recipe = transfer.Recipe(epochs=4)
    a = transfer.finetune_score(model, stoi, examples[:200], examples[200:], 7, recipe)
    b = transfer.finetune_score(model, stoi, examples[:200], examples[200:], 7, recipe)
    assert a == b and a > 0.7  # the noun's form gives the number away: even an untrained top learns it
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_vocabulary_covers_every_task() -> None:
    words = set(corpus.vocabulary()) | {"."}
    for task in transfer.TASKS:
        assert all(set(e.words) <= words for e in transfer.make_examples(task, 50, 2))
