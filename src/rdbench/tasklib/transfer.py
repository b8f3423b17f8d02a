"""A noisy pretraining corpus and hidden downstream classification tasks in the corpus language.

For pretrain_transfer (MLRB's MiniPile track, scored on GLUE-like tasks). Two halves:

* :func:`noisy_documents`: a mixed corpus of documents (one per line): several grammar *domains*
  (plain short sentences, nested relative clauses, conjoined verb phrases, a lexical world of
  "facts", sentences followed by their facts restated as short clauses), *junk* (word salad, repeated-word spam, shuffled sentences), *duplicates* (a few
  boilerplate documents repeated many times) and a *foreign language* (the same grammar under a fixed
  permutation of the vocabulary, so its statistics contradict the real language's).
* :data:`TASKS` and :func:`make_examples`: binary classification tasks in the corpus language, each
  example a word sequence and a label, drawn fresh from a seed: ``grammaticality`` (a sentence or
  its one-edit ungrammatical variant), ``entailment`` (does a short "noun verb [object]" sentence
  follow from a premise: the right doer, or another noun of the premise?), ``subject_number`` (the
  number of the main subject behind a number-neutral determiner, with an attractor of the other
  number in its relative clause) and ``who_did_what`` (is the probed noun the doer or the undergoer
  of the main verb?).

:func:`finetune_score` is the fixed recipe that measures a backbone: the blocks below the last stay
frozen (their outputs are computed once); a fresh linear head is fitted to convergence on the top's
features (linear probing), then the last block, the final norm and the head are fine-tuned together
for a few epochs at a low learning rate (LP-FT), and the accuracy on held-out examples is returned.
The head reads the final states (mean over the input, last word) and what the frozen pretrained model
predicts of the input (its words' log-probabilities: lowest, mean, last four).

Stdlib + torch; imports ``corpus``, ``pairs`` and ``skills`` as siblings when copied into a scorer's
folder.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

try:  # package import inside rdbench, sibling import when copied into a task folder
    from rdbench.tasklib import corpus, pairs, skills
except ImportError:  # pragma: no cover - copied next to corpus.py
    import corpus  # type: ignore[no-redef,import-not-found]
    import pairs  # type: ignore[no-redef,import-not-found]
    import skills  # type: ignore[no-redef,import-not-found]

TASKS = ("grammaticality", "entailment", "subject_number", "who_did_what")

# the language's domains: the same grammar with other construction frequencies
DOMAINS: dict[str, corpus.GrammarConfig] = {
    "plain": corpus.GrammarConfig(p_rel=0.03, p_conj=0.03, p_adj=0.2),
    "nested": corpus.GrammarConfig(p_rel=0.7, rel_decay=0.7),
    "conjoined": corpus.GrammarConfig(p_conj=0.45, p_rel=0.2),
    "facts": corpus.GrammarConfig(prefs=1.5, prefs_seed=7),
}
# raw shares of the corpus's documents (the rest of the mixture is noise)
SHARES: dict[str, float] = {"plain": 0.32, "nested": 0.06, "conjoined": 0.04, "facts": 0.05, "restated": 0.05,
                            "foreign": 0.15, "junk": 0.14, "duplicate": 0.19}
DOWNSTREAM = corpus.GrammarConfig()  # the downstream tasks' sentences: the grammar's default mix
MAX_WORDS = 36  # longest downstream sentence (a premise and its hypothesis fit in 48 positions)


@dataclass(frozen=True)
class Document:
    """One document of the raw corpus and where it came from (the agent sees the words only)."""

    kind: str
    words: tuple[str, ...]


def foreign_map(seed: int = 0) -> dict[str, str]:
    """The foreign language's vocabulary: a fixed permutation of the grammar's words ("." kept)."""
    words = [w for w in corpus.vocabulary() if w != "."]
    shuffled = list(words)
    random.Random(f"foreign:{seed}").shuffle(shuffled)
    return {**dict(zip(words, shuffled, strict=True)), ".": "."}


def _sentences(rng: random.Random, cfg: corpus.GrammarConfig, n: int) -> list[str]:
    sents, _ = corpus.sample_sentences(n, rng.randrange(2**31), cfg)
    return [w for s in sents for w in s]


def _junk(rng: random.Random, vocab: list[str]) -> list[str]:
    kind = rng.choice(("salad", "spam", "shuffled"))
    if kind == "salad":
        return [rng.choice(vocab) for _ in range(rng.randint(20, 80))]
    if kind == "spam":
        word = rng.choice(vocab)
        return [word] * rng.randint(20, 60) + ["."]
    sents, _ = corpus.sample_sentences(rng.randint(3, 8), rng.randrange(2**31), DOMAINS["plain"])
    out: list[str] = []
    for s in sents:
        body = s[:-1]
        rng.shuffle(body)
        out += [*body, "."]
    return out


def _restated(rng: random.Random, n: int) -> list[str]:
    """Sentences of the default mix, each followed by its main clause's fact restated as a short clause
    ("the dog chases the cats .") and, half the time, by another of its facts."""
    sents, _ = corpus.sample_sentences(n, rng.randrange(2**31), DOWNSTREAM)
    out: list[str] = []
    for toks in sents:
        out += toks
        tree = pairs.parse(toks, DOWNSTREAM)
        if tree is None:  # pragma: no cover - the sampler only emits parsable sentences
            continue
        facts = _facts(toks, tree)
        main = facts[1] if tree.subject.rel is not None else facts[0]
        out += _clause(*main)
        if len(facts) > 1 and rng.random() < 0.5:
            out += _clause(*rng.choice([f for f in facts if f != main] or [main]))
    return out


def noisy_documents(n_words: int, seed: int, shares: dict[str, float] | None = None) -> list[Document]:
    """A raw corpus of at least ``n_words`` words, documents in random order (deterministic in ``seed``)."""
    shares = shares or SHARES
    rng = random.Random(f"noisy:{seed}")
    vocab = [w for w in corpus.vocabulary() if w != "."]
    fmap = foreign_map(seed)
    boiler = [Document("duplicate", tuple(_sentences(rng, DOMAINS["plain"], rng.randint(3, 6))))
              for _ in range(12)]
    kinds, weights = list(shares), [shares[k] for k in shares]
    docs: list[Document] = []
    total = 0
    while total < n_words:
        kind = rng.choices(kinds, weights)[0]
        if kind == "duplicate":
            doc = rng.choice(boiler)
        elif kind == "junk":
            doc = Document("junk", tuple(_junk(rng, vocab)))
        elif kind == "foreign":
            words = _sentences(rng, DOWNSTREAM, rng.randint(3, 10))
            doc = Document("foreign", tuple(fmap[w] for w in words))
        elif kind == "restated":
            doc = Document(kind, tuple(_restated(rng, rng.randint(2, 5))))
        else:
            doc = Document(kind, tuple(_sentences(rng, DOMAINS[kind], rng.randint(3, 10))))
        docs.append(doc)
        total += len(doc.words)
    return docs


@dataclass(frozen=True)
class Example:
    """One labelled downstream example: words (after a leading ".") and a 0/1 label."""

    task: str
    words: tuple[str, ...]
    label: int


def _verb_form(lemma: str, plural: bool) -> str:
    return lemma if plural else corpus._third(lemma)


def _facts(toks: Sequence[str], tree: pairs.Parse) -> list[tuple[str, str, str]]:
    """(doer noun form, verb lemma, object noun form or "") of every verb of a parsed sentence."""
    out: list[tuple[str, str, str]] = []

    def walk(vp: pairs.VP, doer: pairs.NP) -> None:
        out.append((toks[doer.noun], vp.lemma, toks[vp.obj.noun] if vp.obj is not None else ""))
        if vp.obj is not None and vp.obj.rel is not None:
            walk(vp.obj.rel, vp.obj)

    if tree.subject.rel is not None:
        walk(tree.subject.rel, tree.subject)
    for vp in tree.vps:
        walk(vp, tree.subject)
    return out


def _clause(noun: str, lemma: str, obj: str) -> tuple[str, ...]:
    words = ["the", noun, _verb_form(lemma, noun not in corpus.NOUNS)]
    return tuple(words + (["the", obj] if obj else []) + ["."])


def _entailment(rng: random.Random, toks: list[str], tree: pairs.Parse, want: int) -> Example | None:
    facts = _facts(toks, tree)
    known = set(facts)
    nouns = sorted({toks[np.noun] for np in tree.nps})
    if len(nouns) < 2:
        return None
    noun, lemma, obj = rng.choice(facts)
    if want == 0:
        others = [n for n in nouns if n not in (noun, obj) and (n, lemma, obj) not in known]
        if not others:
            return None
        noun = rng.choice(others)
    return Example("entailment", tuple(toks) + _clause(noun, lemma, obj), want)


def _subject_number(rng: random.Random, toks: list[str], tree: pairs.Parse, want: int) -> Example | None:
    subject = tree.subject
    if int(subject.plural) != want or subject.rel is None:
        return None
    inner = [np for np in tree.nps if subject.start < np.start < subject.end]
    if not any(np.plural != subject.plural for np in inner):
        return None  # an attractor of the other number inside the relative clause
    out = list(toks)
    out[subject.det] = "the"  # number-neutral: the noun (and the agreeing verbs) carry the number
    return Example("subject_number", tuple(out), want)


def _who_did_what(rng: random.Random, toks: list[str], tree: pairs.Parse, want: int) -> Example | None:
    main = tree.vps[0]
    if main.obj is None or toks[main.obj.noun] == toks[tree.subject.noun]:
        return None
    probe = toks[tree.subject.noun] if want == 1 else toks[main.obj.noun]
    return Example("who_did_what", (*toks, "the", probe), want)


def make_examples(task: str, n: int, seed: int) -> list[Example]:
    """``n`` examples of ``task`` drawn from ``seed`` (labels balanced, order random; deterministic)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {TASKS}")
    rng = random.Random(f"{task}:{seed}")
    labels = [k % 2 for k in range(n)]
    rng.shuffle(labels)
    if task == "grammaticality":
        per = -(-n // len(pairs.STRUCTURAL))
        drawn = pairs.make_pairs(pairs.STRUCTURAL, per, seed * 7 + 3, DOWNSTREAM, max_len=MAX_WORDS)
        rng.shuffle(drawn)
        return [Example(task, p.good if y else p.bad, y) for p, y in zip(drawn, labels, strict=False)]
    make = {"entailment": _entailment, "subject_number": _subject_number, "who_did_what": _who_did_what}[task]
    stream = skills.Sentences(seed * 11 + TASKS.index(task), DOWNSTREAM, max_len=MAX_WORDS)
    out: list[Example] = []
    for want in labels:
        while True:
            toks = stream.next()
            tree = pairs.parse(toks, DOWNSTREAM)
            example = make(rng, toks, tree, want) if tree is not None else None
            if example is not None:
                out.append(example)
                break
    return out


@dataclass(frozen=True)
class Recipe:
    """The scorer's fixed fine-tuning recipe (the same for every submission): linear probing, then
    fine-tuning (LP-FT). The head is first fitted to convergence on the untrained top's features (a
    convex problem: no optimiser noise), then the last block, the final norm and the head are trained
    together, gently, so that the backbone's features are adapted but not forgotten.

    Attributes:
        epochs: passes over the labelled examples in the fine-tuning stage.
        batch: examples per step.
        lr: AdamW learning rate of the last block, the final norm and the head.
        weight_decay: AdamW weight decay.
        probe_l2: L2 penalty of the linear probe (positive: separable data would diverge without it).
    """

    epochs: int = 4
    batch: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.01
    probe_l2: float = 1e-3

    def __post_init__(self) -> None:
        if self.probe_l2 <= 0:
            raise ValueError(f"probe_l2 must be positive, not {self.probe_l2}")


def _encode(examples: Sequence[Example], stoi: dict[str, int], start: str = ".") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (each example after a leading ``start`` word) and the lengths."""
    seqs = [[stoi[start], *(stoi[w] for w in e.words)] for e in examples]
    length = max(map(len, seqs))
    ids = torch.zeros(len(seqs), length, dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)] = torch.tensor(s)
    return ids, torch.tensor([len(s) for s in seqs])


LM_FEATURES = 6  # lowest and mean word log-probability, and those of the last four words


@torch.no_grad()
def _frozen(model: Any, ids: torch.Tensor, lengths: torch.Tensor, batch: int = 256
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The residual stream after every block but the last (causal: padding on the right is inert), and
    what the pretrained model itself says of each example: its words' log-probabilities (lowest, mean,
    last four), scaled to about unit size."""
    states, feats = [], []
    for i in range(0, len(ids), batch):
        x, n = ids[i:i + batch], lengths[i:i + batch]
        h = model.wte(x) + model.wpe(torch.arange(x.shape[1]))
        for blk in model.blocks[:-1]:
            h = blk(h)
        states.append(h)
        logits = model.head(model.ln_f(model.blocks[-1](h)))[:, :-1]
        logp = F.log_softmax(logits.double(), -1).gather(-1, x[:, 1:, None])[..., 0]
        real = torch.arange(x.shape[1] - 1)[None, :] < (n - 1)[:, None]
        low = logp.masked_fill(~real, 0.0).min(1).values
        mean = (logp * real).sum(1) / (n - 1)
        tail = torch.stack([logp[torch.arange(len(x)), (n - 2 - k).clamp(min=0)] for k in range(4)], 1)
        feats.append(torch.cat([low[:, None], mean[:, None], tail], 1).float() / 5.0)
    return torch.cat(states), torch.cat(feats)


class _Classifier(torch.nn.Module):
    """The trainable top: a copy of the last block and the final norm, and a head on pooled states."""

    def __init__(self, model: Any, classes: int = 2) -> None:
        super().__init__()
        self.block = copy.deepcopy(model.blocks[-1])
        self.ln_f = copy.deepcopy(model.ln_f)
        width = model.ln_f.weight.shape[0]
        self.head = torch.nn.Linear(2 * width + LM_FEATURES, classes)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def features(self, h: torch.Tensor, lengths: torch.Tensor, lm: torch.Tensor) -> torch.Tensor:
        """What the head reads: the top's final states (mean over the input, last word) and ``lm``."""
        z = self.ln_f(self.block(h))
        mask = (torch.arange(h.shape[1])[None, :] < lengths[:, None]).to(z.dtype)
        mean = (z * mask[..., None]).sum(1) / lengths[:, None].to(z.dtype)
        last = z[torch.arange(len(z)), lengths - 1]
        return torch.cat([mean, last, lm], dim=-1)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor, lm: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(h, lengths, lm))
        return logits

    @torch.no_grad()
    def fit_probe(self, h: torch.Tensor, lengths: torch.Tensor, lm: torch.Tensor, y: torch.Tensor,
                  l2: float) -> None:
        """Set the head to the L2-regularised logistic regression on the untrained top's features,
        solved to convergence (a convex fit: the same data gives the same head, whatever the seed)."""
        feats = self.features(h, lengths, lm).double()
        w = torch.zeros(feats.shape[1], self.head.out_features, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(self.head.out_features, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=200, tolerance_grad=1e-9, tolerance_change=1e-12,
                                line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            with torch.enable_grad():
                loss = F.cross_entropy(feats @ w + b, y) + l2 * (w**2).sum()
                loss.backward()  # type: ignore[no-untyped-call]
            return loss

        opt.step(closure)  # type: ignore[no-untyped-call]
        self.head.weight.copy_(w.T.float())
        self.head.bias.copy_(b.float())


def finetune_score(model: Any, stoi: dict[str, int], train: Sequence[Example],
                   test: Sequence[Example], seed: int, recipe: Recipe | None = None) -> float:
    """Accuracy on ``test`` of the model's top fine-tuned on ``train`` with the fixed recipe.

    ``model`` is a ``gpt.GPT`` (left unchanged). Deterministic in ``seed`` at a fixed thread count.
    """
    recipe = recipe or Recipe()
    torch.manual_seed(seed)
    model.eval()
    x_train, len_train = _encode(train, stoi)
    x_test, len_test = _encode(test, stoi)
    h_train, lm_train = _frozen(model, x_train, len_train)
    h_test, lm_test = _frozen(model, x_test, len_test)
    y_train = torch.tensor([e.label for e in train])
    top = _Classifier(model)
    top.fit_probe(h_train, len_train, lm_train, y_train, recipe.probe_l2)
    opt = torch.optim.AdamW(top.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    top.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(train), generator=gen)
        for i in range(0, len(order), recipe.batch):
            idx = order[i:i + recipe.batch]
            width = int(len_train[idx].max())
            loss = F.cross_entropy(top(h_train[idx, :width], len_train[idx], lm_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
    top.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(test), 256):
            width = int(len_test[i:i + 256].max())
            pred = top(h_test[i:i + 256, :width], len_test[i:i + 256], lm_test[i:i + 256]).argmax(-1)
            right += sum(int(p) == e.label for p, e in zip(pred.tolist(), test[i:i + 256], strict=True))
    return right / len(test)
