"""The hidden judge of finetune_chat: a rubric over answers to the task's instruction prompts.

Stdlib only. It runs in the harness (the ``judge`` service) and in the scorer's sandbox, never in the
agent's sandbox. Word classes come from ``grammar.json`` (written by prepare.py from the corpus).

Prompts (space-separated words) and what a good answer is:

- ``finish : <subject noun phrase>``: continue into one grammatical sentence ending in ".".
- ``who <verb> ? <sentence>``: the noun phrase (determiner, adjective, noun) doing <verb>, then ".".

Each answer gets rubric points (``points``, 0..4); a comparison prefers more points, equal points tie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_POINTS = 4
CONCISE_MAX = 4  # finish: a grammatical body of at most this many words (the "." included) earns a point


@dataclass
class Grammar:
    """Word classes of the corpus grammar and the singular/plural pairings."""

    det_sg: set[str]
    det_pl: set[str]
    det_any: set[str]
    adj: set[str]
    adv: set[str]
    noun_sg: dict[str, str]  # singular -> plural
    noun_pl: dict[str, str]  # plural -> singular
    vt_pl: dict[str, str]  # base (plural agreement) -> third person singular
    vt_sg: dict[str, str]
    vi_pl: dict[str, str]
    vi_sg: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Grammar:
        g = json.loads(Path(path).read_text())
        noun_sg = dict(zip(g["nouns"], g["nouns_pl"], strict=True))
        vt = dict(zip(g["verbs_t"], g["verbs_t_sg"], strict=True))
        vi = dict(zip(g["verbs_i"], g["verbs_i_sg"], strict=True))
        return cls(set(g["dets_sg"]), set(g["dets_pl"]), set(g["dets_any"]), set(g["adjs"]), set(g["advs"]),
                   noun_sg, {v: k for k, v in noun_sg.items()}, vt, {v: k for k, v in vt.items()},
                   vi, {v: k for k, v in vi.items()})


@dataclass
class Parse:
    """A parsed sentence: where each noun phrase is and which noun phrase each verb agrees with."""

    nps: list[tuple[int, int, int]] = field(default_factory=list)  # (start, head noun index, plural 0/1)
    verbs: list[tuple[int, int]] = field(default_factory=list)  # (verb index, index into nps of its subject)
    agreement_errors: int = 0


class _Parser:
    def __init__(self, g: Grammar, toks: list[str]) -> None:
        self.g, self.t, self.p = g, toks, Parse()

    def word(self, i: int) -> str | None:
        return self.t[i] if i < len(self.t) else None

    def np(self, i: int, depth: int) -> int | None:
        g, w = self.g, self.word(i)
        if w in g.det_sg:
            det_num: int | None = 0
        elif w in g.det_pl:
            det_num = 1
        elif w in g.det_any:
            det_num = None
        else:
            return None
        start, i = i, i + 1
        if self.word(i) in g.adj:
            i += 1
        noun = self.word(i)
        if noun in g.noun_sg:
            num = 0
        elif noun in g.noun_pl:
            num = 1
        else:
            return None
        if det_num is not None and det_num != num:
            self.p.agreement_errors += 1
        self.p.nps.append((start, i, num))
        me = len(self.p.nps) - 1
        i += 1
        if self.word(i) == "that" and depth < 8:
            return self.vp(i + 1, me, depth + 1)
        return i

    def vp(self, i: int, subj: int, depth: int) -> int | None:
        g = self.g
        if self.word(i) in g.adv:
            i += 1
        w = self.word(i)
        num = self.p.nps[subj][2]
        if w in g.vt_pl or w in g.vt_sg:
            if (w in g.vt_sg) != (num == 0):
                self.p.agreement_errors += 1
            self.p.verbs.append((i, subj))
            return self.np(i + 1, depth)
        if w in g.vi_pl or w in g.vi_sg:
            if (w in g.vi_sg) != (num == 0):
                self.p.agreement_errors += 1
            self.p.verbs.append((i, subj))
            return i + 1
        return None

    def sentence(self) -> Parse | None:
        i = self.np(0, 0)
        if i is None:
            return None
        i = self.vp(i, 0, 0)
        while i is not None and self.word(i) == "and":
            i = self.vp(i + 1, 0, 0)
        if i is None or self.word(i) != "." or i + 1 != len(self.t):
            return None
        return self.p


def parse(g: Grammar, toks: list[str]) -> Parse | None:
    """Parse one sentence (ending in "."); None when it is not in the grammar (agreement aside)."""
    return _Parser(g, toks).sentence()


def subject_end(g: Grammar, toks: list[str]) -> int | None:
    """Index just past the main subject noun phrase (its relative clauses included)."""
    return _Parser(g, toks).np(0, 0)


def is_verb(g: Grammar, w: str) -> bool:
    return w in g.vt_pl or w in g.vt_sg or w in g.vi_pl or w in g.vi_sg


def flip_verb(g: Grammar, w: str) -> str:
    """The other number's form of a verb (unchanged when ``w`` is not a verb)."""
    for table in (g.vt_pl, g.vt_sg, g.vi_pl, g.vi_sg):
        if w in table:
            return table[w]
    return w


def who_answers(g: Grammar, verb: str, toks: list[str]) -> list[list[str]] | None:
    """The noun phrases (determiner, adjective, noun; no clause) that do ``verb`` in the sentence."""
    p = parse(g, toks)
    if p is None or p.agreement_errors:
        return None
    out = []
    for vi, subj in p.verbs:
        if toks[vi] == verb:
            start, head, _ = p.nps[subj]
            out.append(toks[start:head + 1])
    return out or None


def _split(answer: str) -> tuple[list[str], bool]:
    """(the answer up to and including its first ".", whether nothing follows that ".")."""
    toks = answer.split()
    if "." not in toks:
        return toks, False
    k = toks.index(".")
    return toks[:k + 1], k + 1 == len(toks)


def check_prompt(g: Grammar, prompt: str) -> str | None:
    """None when the prompt is well formed, else why not."""
    toks = prompt.split()
    if len(toks) < 3:
        return "prompt too short"
    kind = toks[0]
    if kind == "finish" and toks[1] == ":":
        end = subject_end(g, toks[2:])
        return None if end is not None and end == len(toks) - 2 else "finish: expects a subject noun phrase"
    if kind == "who" and len(toks) > 3 and toks[2] == "?":
        if not is_verb(g, toks[1]):
            return "who: expects a verb of the sentence"
        return None if who_answers(g, toks[1], toks[3:]) else "who: the verb must occur in a grammatical sentence"
    return "unknown prompt kind (finish / who)"


def points(g: Grammar, prompt: str, answer: str) -> int:
    """Rubric points (0..MAX_POINTS) of one answer to one prompt."""
    toks = prompt.split()
    body, clean = _split(answer)
    if not body:
        return 0
    stop = 1 if clean else 0
    kind = toks[0]
    if kind == "finish":
        words = body if body[-1] == "." else [*body, "."]
        p = parse(g, toks[2:] + words)
        if p is None:
            return stop
        if p.agreement_errors:
            return stop + 1
        return stop + 2 + (1 if len(words) <= CONCISE_MAX else 0)
    if kind == "who":
        gold = who_answers(g, toks[1], toks[3:]) or []
        np_words = body[:-1] if body[-1] == "." else body
        nouns = [w for w in np_words if w in g.noun_sg or w in g.noun_pl]
        if not nouns or not any(nouns[0] == ans[-1] for ans in gold):
            return stop
        exact = any(np_words == ans for ans in gold)
        return stop + 2 + (1 if exact else 0)
    return 0


def compare(g: Grammar, prompt: str, a: str, b: str) -> str:
    """"A" if answer a is better, "B" if b is, "tie" otherwise."""
    pa, pb = points(g, prompt, a), points(g, prompt, b)
    return "A" if pa > pb else "B" if pb > pa else "tie"
