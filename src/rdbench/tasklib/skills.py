"""Skills in the corpus language: prompt formats with one right answer each, for fine-tuning tasks.

Stdlib only (plus ``corpus``): this file may be copied into a task's ``protected/`` or workspace next
to ``corpus.py`` (it then imports ``corpus`` as a sibling). Every skill maps a random stream to
``(prompt, answer)`` pairs of words; a model sees ``<bos> prompt <ans> answer <end>`` (the format of
finetune_chat's ``chat.py``).

Skills (``SKILLS``):

- ``finish``: ``finish : <subject noun phrase>`` -> the rest of the sentence (the corpus's own
  continuation; several are grammatical, so it is scored by likelihood, not exact match).
- ``who``: ``who <verb> ? <sentence>`` -> the noun phrase (determiner, adjective, noun) that does
  the verb, then ``.``.
- ``fill``: ``fill : <sentence with one word replaced by _>`` -> the missing word.
- ``fact``: ``fact : <adjective> <noun> <verb> ?`` -> the object noun that entity most often takes
  with that verb in a lexical world (``GrammarConfig(prefs=..., prefs_seed=world)``): knowledge that
  only that world's text holds.
- ``agree``: ``agree : <subject noun phrase> <verb lemma>`` -> the verb in the number of the subject's
  head noun (across any relative clause).
- ``plural``: ``plural : <singular noun phrase without clause>`` -> the plural noun phrase.
- ``first``: ``first : <sentence>`` -> the first noun of the sentence.
- ``reverse``: ``reverse : <two to four words>`` -> the words in reverse order.
- ``copy``: ``copy : <sentence>`` -> the sentence.

``EXTRA_WORDS`` are the words the formats add to the corpus vocabulary.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

try:  # package import inside rdbench, sibling import when copied into a task folder
    from rdbench.tasklib import corpus
except ImportError:  # pragma: no cover - copied next to corpus.py
    import corpus  # type: ignore[no-redef,import-not-found]

EXTRA_WORDS = ["finish", "who", "fill", "fact", "agree", "plural", "first", "reverse", "copy", ":", "?", "_",
               "<ans>", "<end>"]
PLURAL_DET = {"a": "some", "this": "these", "every": "many", "the": "the"}

_NOUN_SG = set(corpus.NOUNS)
_NOUN_PL = {corpus._plural(n): n for n in corpus.NOUNS}
_VT = {v: v for v in corpus.VERBS_T} | {corpus._third(v): v for v in corpus.VERBS_T}
_VI = {v: v for v in corpus.VERBS_I} | {corpus._third(v): v for v in corpus.VERBS_I}
_DETS = set(corpus.DETS_SG + corpus.DETS_PL + corpus.DETS_ANY)
_ADJS, _ADVS = set(corpus.ADJS), set(corpus.ADVS)


@dataclass
class Parse:
    """Noun phrases ``(start, head index)`` and, per verb, ``(verb index, index of its subject NP)``."""

    nps: list[tuple[int, int]]
    verbs: list[tuple[int, int]]


def parse(toks: list[str]) -> Parse | None:
    """Parse one sentence of the corpus grammar (ending in "."); None when it is not one."""
    nps: list[tuple[int, int]] = []
    verbs: list[tuple[int, int]] = []

    def word(i: int) -> str:
        return toks[i] if i < len(toks) else ""

    def np(i: int) -> int | None:
        if word(i) not in _DETS:
            return None
        start, i = i, i + 1
        if word(i) in _ADJS:
            i += 1
        if word(i) not in _NOUN_SG and word(i) not in _NOUN_PL:
            return None
        nps.append((start, i))
        me = len(nps) - 1
        if word(i + 1) == "that":
            return vp(i + 2, me)
        return i + 1

    def vp(i: int, subject: int) -> int | None:
        if word(i) in _ADVS:
            i += 1
        if word(i) in _VT:
            verbs.append((i, subject))
            return np(i + 1)
        if word(i) in _VI:
            verbs.append((i, subject))
            return i + 1
        return None

    end = np(0)
    if end is None:
        return None
    end = vp(end, 0)
    while end is not None and word(end) == "and":
        end = vp(end + 1, 0)
    if end is None or word(end) != "." or end + 1 != len(toks):
        return None
    return Parse(nps, verbs)


class Sentences:
    """An endless stream of corpus sentences (at most ``max_len`` words) from ``seed`` in a world."""

    def __init__(self, seed: int, cfg: corpus.GrammarConfig | None = None, max_len: int = 16) -> None:
        self.seed, self.cfg, self.max_len = seed, cfg, max_len
        self.chunk, self.buffer = 0, list[list[str]]()

    def next(self) -> list[str]:
        while not self.buffer:
            sents, _ = corpus.sample_sentences(512, self.seed * 100_003 + self.chunk, self.cfg)
            self.buffer = [s for s in sents if len(s) <= self.max_len][::-1]
            self.chunk += 1
        return self.buffer.pop()


Skill = Callable[[random.Random, Sentences], tuple[str, str]]


def finish(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    end = np_end(s, 0)
    return "finish : " + " ".join(s[:end]), " ".join(s[end:])


def np_end(s: list[str], i: int) -> int:
    """Index just past the noun phrase starting at ``i`` (its relative clauses included)."""
    i += 1  # the determiner
    if s[i] in _ADJS:
        i += 1
    i += 1  # the noun
    if i < len(s) and s[i] == "that":
        i += 1
        if s[i] in _ADVS:
            i += 1
        return np_end(s, i + 1) if s[i] in _VT else i + 1
    return i


def who(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    while True:
        s = sents.next()
        p = parse(s)
        assert p is not None
        verbs = [s[v] for v, _ in p.verbs]
        once = [(v, subj) for v, subj in p.verbs if verbs.count(s[v]) == 1]
        if once:
            v, subj = rng.choice(once)
            start, head = p.nps[subj]
            return f"who {s[v]} ? " + " ".join(s), " ".join(s[start:head + 1]) + " ."


def fill(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    i = rng.randrange(len(s) - 1)  # never the final "."
    return "fill : " + " ".join([*s[:i], "_", *s[i + 1:]]), s[i]


def fact_answer(cfg: corpus.GrammarConfig, adj: str, noun: str, verb: str) -> str:
    """The object noun that subject entity (adj, noun) most often takes with ``verb`` in world ``cfg``."""
    probs = corpus._ranking(cfg.prefs_seed, cfg.prefs, f"obj|{adj}|{noun}|{verb}", len(corpus.NOUNS))
    return corpus.NOUNS[max(range(len(probs)), key=probs.__getitem__)]


def make_fact(cfg: corpus.GrammarConfig) -> Skill:
    """The ``fact`` skill of lexical world ``cfg`` (its prefs must be > 0)."""
    def fact(rng: random.Random, sents: Sentences) -> tuple[str, str]:
        adj = rng.choice(corpus.ADJS)
        noun, verb = rng.choice(corpus.NOUNS), rng.choice(corpus.VERBS_T)
        return f"fact : {adj} {noun} {verb} ?", fact_answer(cfg, adj, noun, verb)
    return fact


def agree(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    end = np_end(s, 0)
    verb = s[end + 1] if s[end] in _ADVS else s[end]
    lemma = _VT.get(verb) or _VI[verb]
    return f"agree : {' '.join(s[:end])} {lemma}", verb


def plural(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    det = rng.choice(corpus.DETS_SG + corpus.DETS_ANY)
    adj = [rng.choice(corpus.ADJS)] if rng.random() < 0.5 else []
    noun = rng.choice(corpus.NOUNS)
    return f"plural : {' '.join([det, *adj, noun])}", " ".join([PLURAL_DET[det], *adj, corpus._plural(noun)])


def first(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    return "first : " + " ".join(s), next(w for w in s if w in _NOUN_SG or w in _NOUN_PL)


def reverse(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    k = rng.randint(2, 4)
    start = rng.randrange(max(1, len(s) - k))
    words = s[start:start + k]
    return "reverse : " + " ".join(words), " ".join(words[::-1])


def copy(rng: random.Random, sents: Sentences) -> tuple[str, str]:
    s = sents.next()
    return "copy : " + " ".join(s), " ".join(s)


SKILLS: dict[str, Skill] = {"finish": finish, "who": who, "fill": fill, "agree": agree, "plural": plural,
                            "first": first, "reverse": reverse, "copy": copy}


def examples(skill: str, n: int, seed: int, cfg: corpus.GrammarConfig | None = None) -> list[tuple[str, str]]:
    """``n`` (prompt, answer) pairs of ``skill`` from stream ``seed`` in world ``cfg`` (``fact`` needs
    a world with prefs > 0)."""
    rng = random.Random(f"{skill}:{seed}")
    make = make_fact(cfg) if skill == "fact" and cfg is not None else SKILLS[skill]
    sents = Sentences(seed, cfg)
    return [make(rng, sents) for _ in range(n)]
