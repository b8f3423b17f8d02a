"""tasklib.skills: every skill's answer is the one right answer, and streams are reproducible."""

from __future__ import annotations

import pytest

from rdbench.tasklib import corpus, skills

WORLD = corpus.GrammarConfig(prefs=1.5, prefs_seed=3)


@pytest.mark.parametrize("skill", [*skills.SKILLS, "fact"])
def test_streams_are_reproducible_and_distinct(skill: str) -> None:
    a = skills.examples(skill, 50, 1, WORLD)
    assert a == skills.examples(skill, 50, 1, WORLD)
    assert a != skills.examples(skill, 50, 2, WORLD)
    vocab = set(corpus.vocabulary()) | set(skills.EXTRA_WORDS)
    for prompt, answer in a:  # every word is in the vocabulary a model of the corpus has
        assert set(prompt.split()) <= vocab and set(answer.split()) <= vocab, (prompt, answer)


def test_answers_are_right() -> None:
    for prompt, answer in skills.examples("who", 200, 4):
        verb, sentence = prompt.split()[1], prompt.split()[3:]
        p = skills.parse(sentence)
        assert p is not None
        [(start, head)] = [p.nps[s] for v, s in p.verbs if sentence[v] == verb]
        assert answer.split() == [*sentence[start:head + 1], "."]
    for prompt, answer in skills.examples("agree", 200, 5):
        *words, lemma = prompt.split()[2:]
        noun = next(w for w in words if w in corpus.NOUNS or w[:-1] in corpus.NOUNS or w[:-2] in corpus.NOUNS
                    or w[:-3] + "f" in corpus.NOUNS)
        plural = noun not in corpus.NOUNS
        assert answer == (lemma if plural else corpus._third(lemma)), (prompt, answer)
    for prompt, answer in skills.examples("fill", 200, 6):
        words = prompt.split()[2:]
        filled = [answer if w == "_" else w for w in words]
        assert words.count("_") == 1 and skills.parse(filled) is not None
    for prompt, answer in skills.examples("finish", 200, 7):
        assert skills.parse([*prompt.split()[2:], *answer.split()]) is not None
    for prompt, answer in skills.examples("reverse", 100, 8):
        assert answer.split() == prompt.split()[2:][::-1]
    for prompt, answer in skills.examples("plural", 100, 9):
        det, *rest = prompt.split()[2:]
        assert answer.split() == [skills.PLURAL_DET[det], *rest[:-1], corpus._plural(rest[-1])]
    for prompt, answer in skills.examples("fact", 100, 10, WORLD):
        adj, noun, verb = prompt.split()[2:5]
        probs = corpus._ranking(3, 1.5, f"obj|{adj}|{noun}|{verb}", len(corpus.NOUNS))
        assert answer == corpus.NOUNS[probs.index(max(probs))]


def test_fact_answers_are_what_the_world_says_most_often() -> None:
    """The fact skill's answer is the world's most frequent object: counted in its own text."""
    sents, _ = corpus.sample_sentences(20000, 11, WORLD)
    counts: dict[tuple[str, str, str], dict[str, int]] = {}
    for s in sents:
        # "det adj noun verb det [adj] noun ...": a singular subject with an adjective, its verb and object
        if len(s) > 5 and s[1] in corpus.ADJS and s[2] in corpus.NOUNS:
            verb = next((v for v in corpus.VERBS_T if corpus._third(v) == s[3]), None)
            if verb is None:
                continue
            obj = s[6] if s[5] in corpus.ADJS else s[5]
            if obj in corpus.NOUNS:
                counts.setdefault((s[1], s[2], verb), {}).setdefault(obj, 0)
                counts[(s[1], s[2], verb)][obj] += 1
    frequent = [(k, v) for k, v in counts.items() if sum(v.values()) >= 8]
    assert len(frequent) >= 10
    agree = sum(max(v, key=v.__getitem__) == skills.fact_answer(WORLD, *k) for k, v in frequent)
    assert agree >= 0.7 * len(frequent), (agree, len(frequent))
