"""Deterministic synthetic language corpus with long-range structure.

The corpus is a stream of sentences from a small, unambiguous probabilistic
grammar: a subject noun phrase whose number (singular/plural) must agree with
the main verb, with optional right-branching relative clauses ("that ...")
nested between subject and verb, so agreement spans arbitrarily many tokens.
Nouns and verbs follow Zipf-like frequencies so small models learn the common
words first and bigger / longer-trained models keep improving.

Every token sequence has exactly one derivation (each choice emits a distinct
token class), so the sum of the generator's choice log-probabilities is the
exact log-likelihood of the text. ``sample_sentences`` returns it, and
``entropy_floor`` averages it into the per-token entropy rate estimate that
tasks use as their ``log_offset``.

Pure stdlib + numpy: this file may be copied into task workspaces.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DETS_SG = ["a", "this", "every"]
DETS_PL = ["some", "these", "many"]
DETS_ANY = ["the"]
NOUNS = [
    "dog", "cat", "bird", "king", "queen", "child", "farmer", "teacher", "robot", "sailor",
    "doctor", "poet", "horse", "wizard", "baker", "pilot", "miner", "judge", "singer", "monk",
    "tiger", "fox", "owl", "giant", "nurse", "clerk", "guard", "thief", "scholar", "captain",
]
ADJS = ["old", "young", "red", "tall", "quiet", "clever", "angry", "small", "brave", "lazy",
        "happy", "strange"]
VERBS_T = ["see", "like", "follow", "help", "chase", "visit", "know", "fear", "praise", "watch",
           "find", "teach", "call", "trust", "greet", "avoid"]
VERBS_I = ["sleep", "run", "sing", "laugh", "wait", "dance", "swim", "fall", "shout", "smile"]
ADVS = ["often", "rarely", "quickly", "slowly", "never", "always"]
PUNCT = [".", "that", "and"]


def _plural(noun: str) -> str:
    """Regular English plural used for every noun of the grammar."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    return noun + "s"


def _third(verb: str) -> str:
    """Third-person singular present form."""
    if verb.endswith(("s", "x", "ch", "sh", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def vocabulary() -> list[str]:
    """All words the grammar can emit, in a fixed order (no special tokens)."""
    words: list[str] = []
    words += DETS_SG + DETS_PL + DETS_ANY + ADJS + ADVS + PUNCT
    words += NOUNS + [_plural(n) for n in NOUNS]
    words += VERBS_T + [_third(v) for v in VERBS_T]
    words += VERBS_I + [_third(v) for v in VERBS_I]
    seen: set[str] = set()
    out = []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _zipf(n: int, s: float = 1.1) -> list[float]:
    w = [1.0 / (i + 1) ** s for i in range(n)]
    tot = sum(w)
    return [x / tot for x in w]


@dataclass(frozen=True)
class GrammarConfig:
    """Probabilities of the grammar's optional constructions.

    Attributes:
        p_adj: probability an NP carries an adjective.
        p_rel: probability an NP carries a relative clause (decays with depth).
        rel_decay: multiplier on p_rel per nesting level.
        max_depth: hard cap on relative-clause nesting.
        p_plural: probability an NP is plural.
        p_trans: probability a verb phrase is transitive.
        p_adv: probability of an adverb before the verb.
        p_conj: probability a sentence continues with "and" + another clause.
        prefs: 0 (default) keeps the grammar above. Above 0, words carry lexical knowledge: a
            clause's verb is drawn from a distribution specific to its subject entity (adjective +
            noun lemma), and a transitive verb's object noun from one specific to (subject entity,
            verb); each is Zipf(prefs) over a fixed random order of the words (a long tail of
            "facts" that bigger, longer-trained models learn more of). Still unambiguous, so the
            log-probabilities stay exact.
        prefs_seed: seeds those random orders (the "world" of facts).
    """

    p_adj: float = 0.35
    p_rel: float = 0.35
    rel_decay: float = 0.6
    max_depth: int = 4
    p_plural: float = 0.4
    p_trans: float = 0.6
    p_adv: float = 0.2
    p_conj: float = 0.15
    prefs: float = 0.0
    prefs_seed: int = 0


_RANKINGS: dict[tuple[int, float, str, int], list[float]] = {}


def _ranking(seed: int, s: float, key: str, n: int) -> list[float]:
    """Zipf(s) probabilities over n items in a fixed random order specific to ``key``."""
    k = (seed, s, key, n)
    if k not in _RANKINGS:
        order = list(range(n))
        random.Random(f"{seed}:{key}").shuffle(order)
        z = _zipf(n, s)
        probs = [0.0] * n
        for rank, i in enumerate(order):
            probs[i] = z[rank]
        _RANKINGS[k] = probs
    return _RANKINGS[k]


class _Gen:
    """One sampler; accumulates tokens and the exact log-probability of its choices."""

    def __init__(self, rng: random.Random, cfg: GrammarConfig) -> None:
        self.rng = rng
        self.cfg = cfg
        self.toks: list[str] = []
        self.logp = 0.0
        self.noun_p = _zipf(len(NOUNS))
        self.vt_p = _zipf(len(VERBS_T))
        self.vi_p = _zipf(len(VERBS_I))

    def flip(self, p: float) -> bool:
        b = self.rng.random() < p
        self.logp += math.log(p if b else 1.0 - p)
        return b

    def pick(self, items: list[str], probs: list[float] | None = None) -> str:
        if probs is None:
            i = self.rng.randrange(len(items))
            self.logp += -math.log(len(items))
        else:
            i = self.rng.choices(range(len(items)), weights=probs)[0]
            self.logp += math.log(probs[i])
        return items[i]

    def _prefs(self, key: str, n: int, default: list[float]) -> list[float]:
        if self.cfg.prefs <= 0 or not key:
            return default
        return _ranking(self.cfg.prefs_seed, self.cfg.prefs, key, n)

    def np(self, depth: int, context: str = "") -> str:
        plural = self.flip(self.cfg.p_plural)
        return self._np_body(plural, depth, context)

    def _np_body(self, plural: bool, depth: int, context: str = "") -> str:
        dets = (DETS_PL if plural else DETS_SG) + DETS_ANY
        self.toks.append(self.pick(dets))
        adj = ""
        if self.flip(self.cfg.p_adj):
            adj = self.pick(ADJS)
            self.toks.append(adj)
        noun = self.pick(NOUNS, self._prefs(context and f"obj|{context}", len(NOUNS), self.noun_p))
        self.toks.append(_plural(noun) if plural else noun)
        entity = f"{adj}|{noun}"
        p_rel = self.cfg.p_rel * self.cfg.rel_decay**depth if depth < self.cfg.max_depth else 0.0
        if p_rel > 0 and self.flip(p_rel):
            self.toks.append("that")
            self.vp(plural, depth + 1, entity)
        return entity

    def vp(self, plural: bool, depth: int, subject: str = "") -> None:
        if self.flip(self.cfg.p_adv):
            self.toks.append(self.pick(ADVS))
        if self.flip(self.cfg.p_trans):
            v = self.pick(VERBS_T, self._prefs(subject and f"vt|{subject}", len(VERBS_T), self.vt_p))
            self.toks.append(v if plural else _third(v))
            self.np(depth, subject and f"{subject}|{v}")
        else:
            v = self.pick(VERBS_I, self._prefs(subject and f"vi|{subject}", len(VERBS_I), self.vi_p))
            self.toks.append(v if plural else _third(v))

    def sentence(self) -> None:
        plural = self.flip(self.cfg.p_plural)
        subject = self._np_body(plural, 0)
        self.vp(plural, 0, subject)
        while self.flip(self.cfg.p_conj):
            self.toks.append("and")
            self.vp(plural, 0, subject)
        self.toks.append(".")


def sample_sentences(
    n: int, seed: int, cfg: GrammarConfig | None = None
) -> tuple[list[list[str]], list[float]]:
    """Sample ``n`` sentences deterministically.

    Args:
        n: number of sentences.
        seed: RNG seed; the same seed always yields the same sentences.
        cfg: grammar probabilities (defaults to ``GrammarConfig()``).

    Returns:
        (sentences as word lists ending in ".", exact natural-log probability of each).
    """
    rng = random.Random(seed)
    cfg = cfg or GrammarConfig()
    sents: list[list[str]] = []
    logps: list[float] = []
    for _ in range(n):
        g = _Gen(rng, cfg)
        g.sentence()
        sents.append(g.toks)
        logps.append(g.logp)
    return sents, logps


# Split seeds are far apart so the three splits are independent streams.
SPLIT_SEEDS = {"train": 1_000_003, "val": 2_000_029, "test": 3_000_017}


def generate_tokens(
    split: str, n_tokens: int, base_seed: int = 0, cfg: GrammarConfig | None = None
) -> list[str]:
    """Generate at least ``n_tokens`` words of running text for one split.

    Args:
        split: "train", "val" or "test" (hidden test split for scorers).
        n_tokens: minimum number of words; the stream is cut at a sentence end.
        base_seed: shifts all split seeds (tasks use it to make data variants).
        cfg: grammar probabilities (defaults to ``GrammarConfig()``).

    Returns:
        A flat list of words (sentences concatenated).
    """
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}")
    rng_seed = SPLIT_SEEDS[split] + 7919 * base_seed
    out: list[str] = []
    chunk = 0
    while len(out) < n_tokens:
        sents, _ = sample_sentences(256, rng_seed * 1000 + chunk, cfg)
        for s in sents:
            out.extend(s)
        chunk += 1
    return out


def entropy_floor(
    n_sentences: int = 20000, seed: int = 12345, cfg: GrammarConfig | None = None
) -> float:
    """Monte Carlo estimate of the entropy rate in nats per token.

    Uses the exact log-probability of each sampled sentence under the
    generating process (the grammar is unambiguous), divided by the number of
    tokens; this is the loss of the ideal sentence-aware predictor. A model
    that sees a continuous stream cannot do better than this in expectation.

    Args:
        n_sentences: sample size (20000 gives ~0.3% standard error).
        seed: sampling seed.
        cfg: grammar probabilities (defaults to ``GrammarConfig()``).

    Returns:
        Mean negative log-likelihood per token, in nats.
    """
    sents, logps = sample_sentences(n_sentences, seed, cfg)
    return -sum(logps) / sum(len(s) for s in sents)
