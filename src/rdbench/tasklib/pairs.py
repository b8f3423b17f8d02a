"""Minimal pairs of the synthetic language (a BLiMP analogue) and the grammar's exact likelihood.

A minimal pair is a sentence the grammar emits (``good``) and a one-edit variant (``bad``). For the
structural phenomena the bad member is a sentence the grammar never emits (its probability is 0), so
the true grammar prefers the good member of every pair; a language model is scored by whether it
gives the good member the higher total log-probability. The phenomena (``STRUCTURAL``):

* ``local_agreement``: a subject without a relative clause and its verb ("the dog sleeps" / "sleep");
* ``across_relative_clause``: the main verb after a relative clause of at least four words with no
  noun of the other number;
* ``attractor``: the main verb after a relative clause whose object noun has the other number
  ("the dog that sees the cats runs" / "run");
* ``inside_relative_clause``: a relative clause on the object agrees with the object, not with the
  subject of the other number ("the dog sees the cats that run" / "runs");
* ``conjoined_verbs``: the verb after "and" agrees with the sentence's subject, across the first verb's
  object of the other number;
* ``determiner_noun``: a number-marked determiner agrees with its noun ("these dogs" / "this dogs");
* ``missing_object``: a transitive verb loses its bare object ("the dog sees the cat ." / "the dog sees .").

``lexical_preference`` pairs (``LEXICAL``), only for a grammar with ``prefs > 0``, keep both members
grammatical: the good one has the subject's most preferred intransitive verb, the bad one its least
preferred (the "facts" of the lexical world), so the true grammar prefers the good one by a margin.

Pure stdlib (imports ``corpus`` as a sibling when copied into a scorer's folder).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

try:  # package import inside rdbench, sibling import when copied next to corpus.py
    from rdbench.tasklib import corpus as _corpus
except ImportError:  # pragma: no cover - copied into a task folder
    import corpus as _corpus  # type: ignore[no-redef,import-not-found]

GrammarConfig = _corpus.GrammarConfig

STRUCTURAL = ("local_agreement", "across_relative_clause", "attractor", "inside_relative_clause",
              "conjoined_verbs", "determiner_noun", "missing_object")
LEXICAL = ("lexical_preference",)

_NOUN_FORMS: dict[str, tuple[str, bool]] = {}
for _n in _corpus.NOUNS:
    _NOUN_FORMS[_n] = (_n, False)
    _NOUN_FORMS[_corpus._plural(_n)] = (_n, True)
_VT_FORMS: dict[str, tuple[str, bool]] = {}
for _v in _corpus.VERBS_T:
    _VT_FORMS[_v] = (_v, True)
    _VT_FORMS[_corpus._third(_v)] = (_v, False)
_VI_FORMS: dict[str, tuple[str, bool]] = {}
for _v in _corpus.VERBS_I:
    _VI_FORMS[_v] = (_v, True)
    _VI_FORMS[_corpus._third(_v)] = (_v, False)


@dataclass
class VP:
    """A verb phrase: token positions and what they hold."""

    adv: int | None
    verb: int
    lemma: str
    transitive: bool
    obj: NP | None = None


@dataclass
class NP:
    """A noun phrase: token positions (det, noun, the whole span) and its relative clause."""

    det: int
    noun: int
    lemma: str
    adj: str
    plural: bool
    start: int
    end: int  # one past the last token of the phrase, relative clause included
    rel: VP | None = None


@dataclass
class Parse:
    """A sentence's derivation and its exact log-probability under the grammar."""

    subject: NP
    vps: list[VP]
    logp: float
    nps: list[NP] = field(default_factory=list)


class _Parser:
    """Recursive descent over the grammar of ``corpus`` (LL(1): every choice emits a distinct token)."""

    def __init__(self, toks: Sequence[str], cfg: GrammarConfig) -> None:
        self.toks = list(toks)
        self.i = 0
        self.cfg = cfg
        self.logp = 0.0
        self.nps: list[NP] = []
        self.noun_p = _corpus._zipf(len(_corpus.NOUNS))
        self.vt_p = _corpus._zipf(len(_corpus.VERBS_T))
        self.vi_p = _corpus._zipf(len(_corpus.VERBS_I))

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        if self.i >= len(self.toks):
            raise ValueError("unexpected end")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def flip(self, p: float, taken: bool) -> None:
        q = p if taken else 1.0 - p
        if q <= 0:
            raise ValueError("impossible choice")
        self.logp += math.log(q)

    def prefs(self, key: str, n: int, default: list[float]) -> list[float]:
        if self.cfg.prefs <= 0 or not key:
            return default
        return _corpus._ranking(self.cfg.prefs_seed, self.cfg.prefs, key, n)

    def np(self, depth: int, context: str = "", plural: bool | None = None) -> NP:
        start = self.i
        det = self.take()
        if det in _corpus.DETS_ANY:
            det_plural: bool | None = None
        elif det in _corpus.DETS_SG:
            det_plural = False
        elif det in _corpus.DETS_PL:
            det_plural = True
        else:
            raise ValueError(f"not a determiner: {det}")
        adj = ""
        if self.peek() in _corpus.ADJS:
            adj = self.take()
            self.flip(self.cfg.p_adj, True)
            self.logp += -math.log(len(_corpus.ADJS))
        else:
            self.flip(self.cfg.p_adj, False)
        noun_index = self.i
        form = self.take()
        if form not in _NOUN_FORMS:
            raise ValueError(f"not a noun: {form}")
        lemma, is_plural = _NOUN_FORMS[form]
        if det_plural is not None and det_plural != is_plural:
            raise ValueError("determiner and noun disagree")
        if plural is not None and plural != is_plural:
            raise ValueError("wrong number")
        self.flip(self.cfg.p_plural, is_plural)
        dets = (_corpus.DETS_PL if is_plural else _corpus.DETS_SG) + _corpus.DETS_ANY
        self.logp += -math.log(len(dets))
        probs = self.prefs(context and f"obj|{context}", len(_corpus.NOUNS), self.noun_p)
        self.logp += math.log(probs[_corpus.NOUNS.index(lemma)])
        phrase = NP(det=start, noun=noun_index, lemma=lemma, adj=adj, plural=is_plural, start=start, end=0)
        self.nps.append(phrase)
        entity = f"{adj}|{lemma}"
        p_rel = self.cfg.p_rel * self.cfg.rel_decay**depth if depth < self.cfg.max_depth else 0.0
        if self.peek() == "that":
            if p_rel <= 0:
                raise ValueError("relative clause too deep")
            self.take()
            self.flip(p_rel, True)
            phrase.rel = self.vp(is_plural, depth + 1, entity)
        elif p_rel > 0:
            self.flip(p_rel, False)
        phrase.end = self.i
        return phrase

    def vp(self, plural: bool, depth: int, subject: str = "") -> VP:
        adv = None
        if self.peek() in _corpus.ADVS:
            adv = self.i
            self.take()
            self.flip(self.cfg.p_adv, True)
            self.logp += -math.log(len(_corpus.ADVS))
        else:
            self.flip(self.cfg.p_adv, False)
        verb_index = self.i
        form = self.take()
        if form in _VT_FORMS:
            lemma, is_plural = _VT_FORMS[form]
            if is_plural != plural:
                raise ValueError("subject and verb disagree")
            self.flip(self.cfg.p_trans, True)
            probs = self.prefs(subject and f"vt|{subject}", len(_corpus.VERBS_T), self.vt_p)
            self.logp += math.log(probs[_corpus.VERBS_T.index(lemma)])
            phrase = VP(adv=adv, verb=verb_index, lemma=lemma, transitive=True)
            if self.peek() is None or self.peek() in (".", "and"):
                raise ValueError("transitive verb without an object")
            phrase.obj = self.np(depth, subject and f"{subject}|{lemma}")
            return phrase
        if form in _VI_FORMS:
            lemma, is_plural = _VI_FORMS[form]
            if is_plural != plural:
                raise ValueError("subject and verb disagree")
            self.flip(self.cfg.p_trans, False)
            probs = self.prefs(subject and f"vi|{subject}", len(_corpus.VERBS_I), self.vi_p)
            self.logp += math.log(probs[_corpus.VERBS_I.index(lemma)])
            return VP(adv=adv, verb=verb_index, lemma=lemma, transitive=False)
        raise ValueError(f"not a verb: {form}")

    def sentence(self) -> Parse:
        subject = self.np(0)
        # the sentence's subject number is drawn once (np() counted it already)
        entity = f"{subject.adj}|{subject.lemma}"
        vps = [self.vp(subject.plural, 0, entity)]
        while self.peek() == "and":
            self.take()
            self.flip(self.cfg.p_conj, True)
            vps.append(self.vp(subject.plural, 0, entity))
        self.flip(self.cfg.p_conj, False)
        if self.take() != "." or self.i != len(self.toks):
            raise ValueError("a sentence ends with one '.'")
        return Parse(subject=subject, vps=vps, logp=self.logp, nps=self.nps)


def parse(tokens: Sequence[str], cfg: GrammarConfig | None = None) -> Parse | None:
    """The derivation of one sentence (ending in "."), or None when the grammar cannot emit it."""
    try:
        return _Parser(tokens, cfg or GrammarConfig()).sentence()
    except (ValueError, IndexError):
        return None


def sentence_logprob(tokens: Sequence[str], cfg: GrammarConfig | None = None) -> float:
    """Exact natural-log probability of a sentence under the grammar (``-inf`` if it cannot be emitted).

    Equals the log-probability ``corpus.sample_sentences`` reports for the sentences it samples.
    """
    tree = parse(tokens, cfg)
    return -math.inf if tree is None else tree.logp


@dataclass(frozen=True)
class Pair:
    """One minimal pair: ``good`` is preferred (the grammar emits it; structural pairs: ``bad`` never)."""

    phenomenon: str
    good: tuple[str, ...]
    bad: tuple[str, ...]


def _flip_verb(form: str) -> str:
    for table in (_VT_FORMS, _VI_FORMS):
        if form in table:
            lemma, plural = table[form]
            return _corpus._third(lemma) if plural else lemma
    raise ValueError(form)


def _replace(toks: list[str], index: int, word: str) -> tuple[str, ...]:
    out = list(toks)
    out[index] = word
    return tuple(out)


def _nouns_in(phrase: VP) -> list[NP]:
    """Every noun phrase inside a verb phrase (its object and what that object's clauses hold)."""
    out: list[NP] = []
    stack = [phrase]
    while stack:
        vp = stack.pop()
        if vp.obj is not None:
            out.append(vp.obj)
            if vp.obj.rel is not None:
                stack.append(vp.obj.rel)
    return out


def _make(phenomenon: str, toks: list[str], tree: Parse, rng: random.Random,
          cfg: GrammarConfig) -> tuple[str, ...] | None:
    """The bad member for ``phenomenon`` from a parsed good sentence, or None if it does not apply."""
    subj, main = tree.subject, tree.vps[0]
    if phenomenon == "local_agreement":
        if subj.rel is not None:
            return None
        return _replace(toks, main.verb, _flip_verb(toks[main.verb]))
    if phenomenon in ("across_relative_clause", "attractor"):
        if subj.rel is None:
            return None
        inner = _nouns_in(subj.rel)
        other = any(n.plural != subj.plural for n in inner)
        if phenomenon == "attractor":
            # the attractor is the relative clause's object itself, of the other number
            if subj.rel.obj is None or subj.rel.obj.plural == subj.plural:
                return None
        elif other or main.verb - subj.noun < 5:
            return None  # a clause of at least four words ("that chases the cat") and no attractor
        return _replace(toks, main.verb, _flip_verb(toks[main.verb]))
    if phenomenon == "inside_relative_clause":
        obj = main.obj
        if obj is None or obj.rel is None or obj.plural == subj.plural:
            return None
        return _replace(toks, obj.rel.verb, _flip_verb(toks[obj.rel.verb]))
    if phenomenon == "conjoined_verbs":
        # the first verb phrase ends in an object of the other number, right before "and"
        if len(tree.vps) < 2 or main.obj is None or main.obj.plural == subj.plural:
            return None
        second = tree.vps[1]
        return _replace(toks, second.verb, _flip_verb(toks[second.verb]))
    if phenomenon == "determiner_noun":
        marked = [n for n in tree.nps if toks[n.det] not in _corpus.DETS_ANY]
        if not marked:
            return None
        phrase = rng.choice(marked)
        others = _corpus.DETS_SG if phrase.plural else _corpus.DETS_PL
        return _replace(toks, phrase.det, rng.choice(others))
    if phenomenon == "missing_object":
        obj = main.obj
        # a bare object ("the cat"): comparing whole-sentence log-probabilities, a long object would
        # cost more than the missing one, whatever a model knows about transitive verbs
        if obj is None or len(tree.vps) > 1 or obj.adj or obj.rel is not None:
            return None
        return tuple(toks[:obj.start] + toks[obj.end:])
    if phenomenon == "lexical_preference":
        if cfg.prefs <= 0 or main.transitive or len(tree.vps) > 1:
            return None
        probs = _corpus._ranking(cfg.prefs_seed, cfg.prefs, f"vi|{subj.adj}|{subj.lemma}", len(_corpus.VERBS_I))
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        best, worst = _corpus.VERBS_I[order[0]], _corpus.VERBS_I[order[-1]]
        if main.lemma != best:
            return None
        word = worst if subj.plural else _corpus._third(worst)
        return _replace(toks, main.verb, word)
    raise ValueError(f"unknown phenomenon {phenomenon!r}")


def make_pairs(phenomena: Sequence[str], per_phenomenon: int, seed: int, cfg: GrammarConfig | None = None,
               max_len: int = 48, max_draws: int = 2_000_000) -> list[Pair]:
    """``per_phenomenon`` fresh pairs of each phenomenon, drawn from the grammar with ``seed``.

    The good members are the grammar's own sentences (at most ``max_len`` tokens, each sentence used
    for one pair at most), so they follow its distribution restricted to the structure each phenomenon
    needs. Deterministic in its arguments.

    Raises:
        RuntimeError: A phenomenon is too rare to fill within ``max_draws`` sampled sentences.
    """
    cfg = cfg or GrammarConfig()
    unknown = [p for p in phenomena if p not in STRUCTURAL + LEXICAL]
    if unknown:
        raise ValueError(f"unknown phenomena {unknown}; known: {STRUCTURAL + LEXICAL}")
    rng = random.Random(f"pairs:{seed}")
    need = {p: per_phenomenon for p in phenomena}
    out: dict[str, list[Pair]] = {p: [] for p in phenomena}
    drawn, chunk = 0, 0
    while any(need.values()):
        if drawn >= max_draws:
            raise RuntimeError(f"could not fill {need} within {max_draws} sentences")
        sents, _ = _corpus.sample_sentences(512, seed * 1_000_003 + 7 + chunk, cfg)
        chunk += 1
        drawn += len(sents)
        for toks in sents:
            if len(toks) > max_len:
                continue
            tree = parse(toks, cfg)
            if tree is None:  # pragma: no cover - the sampler only emits parsable sentences
                raise RuntimeError(f"the parser rejects a sampled sentence: {' '.join(toks)}")
            # each sentence serves the first phenomenon still short of pairs that it fits (in random order)
            for phen in rng.sample(list(need), len(need)):
                if not need[phen]:
                    continue
                bad = _make(phen, toks, tree, rng, cfg)
                if bad is not None:
                    out[phen].append(Pair(phen, tuple(toks), bad))
                    need[phen] -= 1
                    break
    return [pair for p in phenomena for pair in out[p]]


def accuracy(pairs: Sequence[Pair], logprob: Callable[[Sequence[Sequence[str]]], Sequence[float]]
             ) -> dict[str, float]:
    """Per-phenomenon accuracy of a scorer of sentences (a tie counts half).

    Args:
        pairs: the minimal pairs.
        logprob: total log-probability of each sentence in a list (one call for all of them).
    """
    sentences: list[Sequence[str]] = [s for p in pairs for s in (p.good, p.bad)]
    scores = list(logprob(sentences))
    hits: dict[str, list[float]] = {}
    for k, pair in enumerate(pairs):
        good, bad = scores[2 * k], scores[2 * k + 1]
        hits.setdefault(pair.phenomenon, []).append(1.0 if good > bad else 0.5 if good == bad else 0.0)
    return {p: sum(v) / len(v) for p, v in hits.items()}
