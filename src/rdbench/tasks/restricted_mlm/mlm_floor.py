"""Exact sentence log-probabilities under the corpus grammar, and the masked-LM loss floor.

The corpus grammar (``rdbench.tasklib.corpus``) is unambiguous and LL(1): every word belongs to one
class, "that" always opens a relative clause on the nearest noun and "and" always continues the main
clause. So a recursive-descent parser recovers the single derivation of a sentence and sums the
generator's choice log-probabilities, exactly as ``sample_sentences`` does.

Sentences are drawn i.i.d., so the probability of a stream is the product of its sentences'. For a
position ``i`` of a stream, ``p(x_i = v | every other token)`` only depends on the sentence(s) touching
``i``: replacing a word by "." splits its sentence in two, replacing a sentence's final "." by a word
merges it with the next one. ``masked_floor`` averages ``-log p(x_i | x_-i)`` over random positions:
the loss of a predictor that sees every other token of the stream, hence a lower bound on the loss of
any masked LM (which sees a finite window with other positions masked too).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

from rdbench.tasklib.corpus import (
    ADJS,
    ADVS,
    DETS_ANY,
    DETS_PL,
    DETS_SG,
    NOUNS,
    VERBS_I,
    VERBS_T,
    GrammarConfig,
    _plural,
    _third,
    _zipf,
    sample_sentences,
    vocabulary,
)

NEG_INF = float("-inf")


class _NoParse(Exception):
    """The token sequence is not a sentence of the grammar."""


class SentenceScorer:
    """Log-probability of a word sequence as one sentence of the grammar (``-inf`` if impossible).

    Args:
        cfg: the grammar's probabilities (the corpus default when None).
    """

    def __init__(self, cfg: GrammarConfig | None = None) -> None:
        self.cfg = cfg or GrammarConfig()
        noun_p, vt_p, vi_p = _zipf(len(NOUNS)), _zipf(len(VERBS_T)), _zipf(len(VERBS_I))
        # word -> (class, log-probability of choosing it within its class, plural?)
        table: dict[str, tuple[str, float, bool | None]] = {}

        def add(word: str, entry: tuple[str, float, bool | None]) -> None:
            if word in table:
                raise ValueError(f"word {word!r} belongs to two classes; the parser needs disjoint ones")
            table[word] = entry

        for w in DETS_SG:
            add(w, ("det", -math.log(len(DETS_SG) + len(DETS_ANY)), False))
        for w in DETS_PL:
            add(w, ("det", -math.log(len(DETS_PL) + len(DETS_ANY)), True))
        for w in DETS_ANY:
            add(w, ("det", -math.log(len(DETS_SG) + len(DETS_ANY)), None))
        for w in ADJS:
            add(w, ("adj", -math.log(len(ADJS)), None))
        for w in ADVS:
            add(w, ("adv", -math.log(len(ADVS)), None))
        for i, n in enumerate(NOUNS):
            add(n, ("noun", math.log(noun_p[i]), False))
            add(_plural(n), ("noun", math.log(noun_p[i]), True))
        for i, v in enumerate(VERBS_T):
            add(v, ("vt", math.log(vt_p[i]), True))
            add(_third(v), ("vt", math.log(vt_p[i]), False))
        for i, v in enumerate(VERBS_I):
            add(v, ("vi", math.log(vi_p[i]), True))
            add(_third(v), ("vi", math.log(vi_p[i]), False))
        self.table = table
        self.toks: Sequence[str] = ()
        self.pos = 0

    # -- parser ------------------------------------------------------------------------------
    def _peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _take(self, cls: str) -> tuple[float, bool | None]:
        word = self._peek()
        entry = self.table.get(word) if word is not None else None
        if entry is None or entry[0] != cls:
            raise _NoParse
        self.pos += 1
        return entry[1], entry[2]

    @staticmethod
    def _flip(p: float, taken: bool) -> float:
        return math.log(p if taken else 1.0 - p)

    def _np(self, depth: int) -> tuple[float, bool]:
        c = self.cfg
        lp_det, det_pl = self._take("det")
        lp = lp_det
        nxt = self.table.get(self._peek() or "")
        has_adj = nxt is not None and nxt[0] == "adj"
        lp += self._flip(c.p_adj, has_adj)
        if has_adj:
            lp += self._take("adj")[0]
        lp_noun, plural = self._take("noun")
        assert plural is not None
        if det_pl is not None and det_pl != plural:
            raise _NoParse
        lp += lp_noun + self._flip(c.p_plural, plural)
        p_rel = c.p_rel * c.rel_decay**depth if depth < c.max_depth else 0.0
        if p_rel > 0:
            has_rel = self._peek() == "that"
            lp += self._flip(p_rel, has_rel)
            if has_rel:
                self.pos += 1
                lp += self._vp(plural, depth + 1)
        return lp, plural

    def _vp(self, plural: bool, depth: int) -> float:
        c = self.cfg
        nxt = self.table.get(self._peek() or "")
        has_adv = nxt is not None and nxt[0] == "adv"
        lp = self._flip(c.p_adv, has_adv)
        if has_adv:
            lp += self._take("adv")[0]
        nxt = self.table.get(self._peek() or "")
        if nxt is None or nxt[0] not in ("vt", "vi") or nxt[2] != plural:
            raise _NoParse
        self.pos += 1
        lp += self._flip(c.p_trans, nxt[0] == "vt") + nxt[1]
        if nxt[0] == "vt":
            lp += self._np(depth)[0]
        return lp

    def logp(self, toks: Sequence[str]) -> float:
        """Natural-log probability that the grammar emits exactly ``toks`` as one sentence."""
        self.toks, self.pos = toks, 0
        try:
            lp, plural = self._np(0)
            lp += self._vp(plural, 0)
            while self._peek() == "and":
                self.pos += 1
                lp += self._flip(self.cfg.p_conj, True) + self._vp(plural, 0)
            lp += self._flip(self.cfg.p_conj, False)
            if self._peek() != "." or self.pos != len(toks) - 1:
                raise _NoParse
        except _NoParse:
            return NEG_INF
        return lp


def _logsumexp(xs: list[float]) -> float:
    m = max(xs)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(x - m) for x in xs))


def position_nll(scorer: SentenceScorer, sents: list[list[str]], k: int, i: int, words: list[str]) -> float:
    """``-log p(x_i | all other tokens)`` for word ``i`` of sentence ``k`` (not the last sentence).

    Args:
        scorer: the sentence scorer.
        sents: consecutive sentences of a stream.
        k: which sentence.
        i: which word of it.
        words: the candidate vocabulary (specials have probability 0 and are left out).
    """
    s = sents[k]
    true = s[i]
    scores: dict[str, float] = {}
    if i < len(s) - 1:
        for v in words:
            if v == ".":
                scores[v] = scorer.logp([*s[:i], "."]) + scorer.logp(s[i + 1:]) if i > 0 else NEG_INF
            else:
                scores[v] = scorer.logp([*s[:i], v, *s[i + 1:]])
    else:
        t = sents[k + 1]
        for v in words:
            if v == ".":
                scores[v] = scorer.logp(s) + scorer.logp(t)
            else:
                scores[v] = scorer.logp([*s[:-1], v, *t])
    return -(scores[true] - _logsumexp(list(scores.values())))


def masked_floor(n_positions: int, seed: int = 0) -> tuple[float, float]:
    """Monte Carlo estimate of E[-log p(x_i | x_-i)] over uniformly drawn stream positions.

    Args:
        n_positions: how many positions to average (one per sampled sentence pair).
        seed: sampling seed.

    Returns:
        (mean, standard error), nats per masked token.
    """
    scorer = SentenceScorer()
    words = vocabulary()
    sents, _ = sample_sentences(2 * n_positions + 1, seed)
    rng = random.Random(seed)
    # length-biased choice of the sentence = a uniformly drawn position of the stream
    lengths = [len(s) for s in sents[:-1]]
    cum = list(itertools.accumulate(lengths))
    vals = []
    for _ in range(n_positions):
        k = rng.choices(range(len(lengths)), cum_weights=cum)[0]
        i = rng.randrange(lengths[k])
        vals.append(position_nll(scorer, sents, k, i, words))
    mean = sum(vals) / len(vals)
    var = sum((v - mean) ** 2 for v in vals) / max(1, len(vals) - 1)
    return mean, math.sqrt(var / len(vals))
