"""Small clean CPU training scripts the research-assistance families mutate.

Three script kinds, each training in about a second on one CPU thread:

- ``mlp``: a PyTorch MLP classifier on synthetic, time-ordered tabular data;
- ``seq``: a PyTorch one-block causal attention language model on a synthetic order-2 Markov source;
- ``sk``: a scikit-learn classifier (k-nearest neighbours, random forest or logistic regression)
  on synthetic, time-ordered tabular data whose last two sensors get noisier over time.

Every script reads its training seed from ``SEED``, prints ``test_logloss <value>`` as its last line
and leaves the same value in ``METRIC`` (so the runner can execute it in-process without paying
torch's import per run).

A script is a template with **slots**. Each slot has several clean variants: the first one valid for
the script's parameters is canonical, the others are behaviour-preserving rewrites in other styles
(some deliberately look suspicious: ``reduction="sum"`` divided by the batch size, a softmax over
``dim=0`` of the transposed logits, ``zero_grad`` after ``step``). Drawing a script draws its
parameters from a small grid and a style per slot, so instances differ in surface form while the
canonical runs (one per parameter set) are shared. The fault injector (``faults.py``) replaces
slots with buggy text.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import dataclass, field

from pydantic import BaseModel

Param = int | float | str


@dataclass(frozen=True)
class Variant:
    """One way of writing a slot.

    Attributes:
        text: The code (may span lines; ``$name`` refers to a script parameter).
        needs: Conditions under which the variant applies: ``{"slot": (variant indices,)}`` for an
            earlier slot's chosen variant, ``{"param:name": (values,)}`` for a parameter.
    """

    text: str
    needs: dict[str, tuple[Param, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """A script kind: a template whose ``@@slot`` lines are filled from ``slots``."""

    name: str
    template: str
    slots: dict[str, tuple[Variant, ...]]
    grid: dict[str, tuple[Param, ...]]


def _v(text: str, **needs: tuple[Param, ...]) -> Variant:
    return Variant(text, {k.replace("param_", "param:"): v for k, v in needs.items()})


# Shared by the two torch kinds: the optimiser update and the switch to evaluation mode.
_UPDATE = (
    _v("opt.zero_grad()\nloss.backward()\nopt.step()"),
    _v("opt.zero_grad(set_to_none=True)\nloss.backward()\nopt.step()"),
    _v("loss.backward()\nopt.step()\nopt.zero_grad()"),
    _v("model.zero_grad()\nloss.backward()\nopt.step()"),
    _v("for action in (opt.zero_grad, loss.backward, opt.step):\n    action()"),
)
_EVAL = (
    _v("model.eval()"),
    _v("model.train(False)"),
    _v("model.eval()  # dropout off for evaluation"),
)
# Switching only the dropout module to evaluation mode is equivalent (nothing else has a mode).
_EVAL_MLP = (*_EVAL, _v("model[2].eval()  # the dropout layer"))
_EVAL_SEQ = (*_EVAL, _v("model.drop.eval()"))
_TRAIN_MODE = (_v("model.train()"), _v("model.train(True)"), _v("model.train(mode=True)"))

MLP = Kind(
    name="mlp",
    template="""\
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
SEED = int(os.environ.get("SEED", "0"))
torch.manual_seed(SEED)
@@config
rng = np.random.default_rng($data_seed)
n, d, k = 600, $d, 3
centers = rng.normal(size=(k, d)) * 0.9
y = rng.integers(0, k, size=n)
X = centers[y] + rng.normal(size=(n, d))
X[:, 0] = X[:, 0] * 10.0 + 5.0
@@eda
@@split
@@scale
X_tr = torch.tensor(X_tr, dtype=torch.float32)
X_te = torch.tensor(X_te, dtype=torch.float32)
@@labels
@@model
opt = torch.optim.SGD(model.parameters(), lr=LR)
for epoch in range(EPOCHS):
    @@train_mode
    @@perm
    for i in range(0, len(X_tr), BATCH):
        @@batch
        @@loss
        @@update
@@eval_mode
with torch.no_grad():
    @@probs
    @@metric
print(f"test_logloss {METRIC:.6f}")
""",
    slots={
        "config": (
            _v("LR, EPOCHS, BATCH = $lr, 12, 32"),
            _v("LR = $lr\nEPOCHS = 12\nBATCH = 32"),
            _v('LR, EPOCHS, BATCH = $lr, 12, 32\nREDUCTION = "mean"\nCLASS_DIM = 1'),
        ),
        "eda": (
            _v(""),
            _v('print("raw feature means:", X.mean(0).round(2))'),
            _v('print("raw feature scales:", X.std(axis=0).round(2))'),
        ),
        "split": (
            _v("n_tr = int(0.7 * n)\nX_tr, X_te = X[:n_tr], X[n_tr:]\ny_tr, y_te = y[:n_tr], y[n_tr:]"),
            _v("n_tr = int(0.7 * n)\nn_te = n - n_tr\nX_tr, X_te = X[:n_tr], X[-n_te:]\ny_tr, y_te = y[:n_tr], y[-n_te:]"),
            _v("n_tr = int(0.7 * n)\ntrain_idx, test_idx = np.arange(n_tr), np.arange(n_tr, n)\n"
               "X_tr, X_te = X[train_idx], X[test_idx]\ny_tr, y_te = y[train_idx], y[test_idx]"),
        ),
        "scale": (
            _v("mu, sd = X_tr.mean(0), X_tr.std(0) + 1e-8\nX_tr = (X_tr - mu) / sd\nX_te = (X_te - mu) / sd"),
            _v("mu, sd = X_tr.mean(0), X_tr.std(0) + 1e-8\nX_te = (X_te - mu) / sd\nX_tr = (X_tr - mu) / sd"),
            _v("mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0) + 1e-8\nX_tr, X_te = [(part - mu) / sd for part in (X_tr, X_te)]"),
            _v("mu, sd = X[:n_tr].mean(0), X[:n_tr].std(0) + 1e-8\nX_tr = (X_tr - mu) / sd\nX_te = (X_te - mu) / sd"),
        ),
        "labels": (
            _v("y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)"),
            _v("y_tr, y_te = torch.from_numpy(y_tr).long(), torch.from_numpy(y_te).long()"),
        ),
        "model": (
            _v("model = torch.nn.Sequential(\n    torch.nn.Linear(d, $hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear($hidden, k)\n)"),
            _v("layers = [torch.nn.Linear(d, $hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear($hidden, k)]\n"
               "model = torch.nn.Sequential(*layers)"),
        ),
        "train_mode": _TRAIN_MODE,
        "perm": (
            _v("perm = torch.randperm(len(X_tr))"),
            _v("perm = torch.randperm(len(X_tr))\nX_ep, y_ep = X_tr[perm], y_tr[perm]"),
        ),
        "batch": (
            _v("idx = perm[i:i + BATCH]\nxb, yb = X_tr[idx], y_tr[idx]", perm=(0,)),
            _v("idx = perm[i:i + BATCH]\nxb = X_tr[idx]\nyb = y_tr[idx]", perm=(0,)),
            _v("xb, yb = X_ep[i:i + BATCH], y_ep[i:i + BATCH]", perm=(1,)),
        ),
        "loss": (
            _v('logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="mean")'),
            _v("logits = model(xb)\nloss = F.cross_entropy(logits, yb)"),
            _v('logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="sum") / len(yb)'),
            _v("logits = model(xb)\nloss = F.nll_loss(F.log_softmax(logits, dim=1), yb)"),
            _v("logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction=REDUCTION)", config=(2,)),
            _v('logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="none").mean()'),
        ),
        "update": _UPDATE,
        "eval_mode": _EVAL_MLP,
        "probs": (
            _v("probs = F.softmax(model(X_te), dim=1)"),
            _v("probs = torch.softmax(model(X_te), dim=-1)"),
            _v("probs = F.softmax(model(X_te).T, dim=0).T"),
            _v("logits_te = model(X_te)\nprobs = logits_te.softmax(dim=logits_te.ndim - 1)"),
            _v("probs = F.softmax(model(X_te), dim=CLASS_DIM)", config=(2,)),
        ),
        "metric": (
            _v("METRIC = -torch.log(probs.gather(1, y_te[:, None]).clamp_min(1e-9)).mean().item()"),
            _v("METRIC = -torch.log(probs[torch.arange(len(y_te)), y_te].clamp_min(1e-9)).mean().item()"),
            _v("picked = (probs * F.one_hot(y_te, k)).sum(1)\nMETRIC = -picked.clamp_min(1e-9).log().mean().item()"),
            _v("METRIC = -probs.gather(1, y_te.unsqueeze(1)).clamp_min(1e-9).log().mean().item()"),
        ),
    },
    grid={"data_seed": (0, 1, 2, 3), "d": (8, 12), "hidden": (32, 64), "lr": (0.05, 0.1)},
)

SEQ = Kind(
    name="seq",
    template="""\
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
SEED = int(os.environ.get("SEED", "0"))
torch.manual_seed(SEED)
@@config
rng = np.random.default_rng($data_seed)
V, T, D = 8, 12, 32
P = np.exp(rng.normal(size=(V, V, V)) * $sharp)  # order-2 Markov source: next token | two previous
P /= P.sum(-1, keepdims=True)


def sample(m):
    s = np.zeros((m, T + 1), dtype=np.int64)
    s[:, :2] = rng.integers(0, V, size=(m, 2))
    for t in range(2, T + 1):
        cdf = P[s[:, t - 2], s[:, t - 1]].cumsum(1)
        s[:, t] = (cdf > rng.random((m, 1))).argmax(1)
    return torch.tensor(s)


train_seqs, test_seqs = sample(2000), sample(500)


class Attention(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)

    def forward(self, x):
        L = x.shape[1]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        @@mask
        @@att_softmax
        return self.proj(att @ v)


class LM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.pos = torch.nn.Parameter(torch.randn(T, D) * 0.1)
        self.ln1, self.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.attn = Attention(D)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(D, 2 * D), torch.nn.ReLU(), torch.nn.Linear(2 * D, D))
        self.drop = torch.nn.Dropout(0.2)
        self.head = torch.nn.Linear(D, V)

    def forward(self, idx):
        x = self.emb(idx) + self.pos[: idx.shape[1]]
        x = x + self.drop(self.attn(self.ln1(x)))
        x = x + self.drop(self.mlp(self.ln2(x)))
        @@head_out


model = LM()
opt = torch.optim.AdamW(model.parameters(), lr=LR)
for step in range(STEPS):
    @@train_mode
    idx = torch.randint(0, len(train_seqs), (BATCH,))
    @@seq_batch
    @@seq_loss
    @@update
@@eval_mode
with torch.no_grad():
    @@seq_metric
print(f"test_logloss {METRIC:.6f}")
""",
    slots={
        "config": (
            _v("LR, STEPS, BATCH = $lr, 200, 32"),
            _v("LR = $lr\nSTEPS = 200\nBATCH = 32"),
            _v("LR, STEPS, BATCH = $lr, 200, 32\nMASK_OFFSET = 1"),
        ),
        "mask": (
            _v('mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)\natt = att.masked_fill(mask, float("-inf"))'),
            _v('keep = torch.tril(torch.ones(L, L, dtype=torch.bool))\natt = att.masked_fill(~keep, float("-inf"))'),
            _v('pos = torch.arange(L)\natt = att.masked_fill(pos[None, :] > pos[:, None], float("-inf"))'),
            _v("future = torch.ones(L, L).triu(1).bool()\natt = att.masked_fill(future, -1e9)"),
            _v('keep = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=0)\natt = att.masked_fill(keep.logical_not(), float("-inf"))'),
            _v('pos = torch.arange(L)\natt = att.masked_fill(pos[None, :] >= pos[:, None] + 1, float("-inf"))'),
            _v('mask = torch.triu(torch.ones(L + 1, L + 1, dtype=torch.bool), diagonal=1)[:-1, :-1]\natt = att.masked_fill(mask, float("-inf"))'),
            _v('mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=MASK_OFFSET)\natt = att.masked_fill(mask, float("-inf"))',
               config=(2,)),
            _v('mask = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=-1).T\natt = att.masked_fill(mask, float("-inf"))'),
        ),
        "head_out": (
            _v("return self.head(x)"),
            _v("logits = self.head(x)\nreturn logits"),
        ),
        "att_softmax": (
            _v("att = att.softmax(dim=-1)"),
            _v("att = F.softmax(att, dim=-1)"),
            _v("att = torch.softmax(att, dim=att.ndim - 1)"),
            _v("att = F.softmax(att.transpose(-2, -1), dim=-2).transpose(-2, -1)"),
        ),
        "train_mode": _TRAIN_MODE,
        "seq_batch": (
            _v("inp, tgt = train_seqs[idx, :-1], train_seqs[idx, 1:]"),
            _v("batch = train_seqs[idx]\ninp, tgt = batch[:, :-1], batch[:, 1:]"),
            _v("inp = train_seqs[idx, :T]\ntgt = train_seqs[idx, 1:T + 1]"),
        ),
        "seq_loss": (
            _v("logits = model(inp)\nloss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))"),
            _v("logits = model(inp)\nloss = F.cross_entropy(logits.transpose(1, 2), tgt)"),
            _v('logits = model(inp)\nloss = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="sum") / tgt.numel()'),
        ),
        "update": _UPDATE,
        "eval_mode": _EVAL_SEQ,
        "seq_metric": (
            _v("logits = model(test_seqs[:, :-1])\nMETRIC = F.cross_entropy(logits.reshape(-1, V), test_seqs[:, 1:].reshape(-1)).item()"),
            _v("logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -logp.gather(-1, test_seqs[:, 1:, None]).mean().item()"),
            _v("logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -(logp * F.one_hot(test_seqs[:, 1:], V)).sum(-1).mean().item()"),
            _v("logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -logp.gather(2, test_seqs[:, 1:].unsqueeze(-1)).mean().item()"),
        ),
    },
    grid={"data_seed": (0, 1, 2, 3, 4, 5), "sharp": (2.0, 2.5), "lr": (0.01,)},
)

SK = Kind(
    name="sk",
    template="""\
import os

import numpy as np
@@sk_import
from sklearn.preprocessing import StandardScaler

SEED = int(os.environ.get("SEED", "0"))
rng = np.random.default_rng($data_seed)
n, d, k = 900, $d, 3
centers = rng.normal(size=(k, d)) * 0.8
y = rng.integers(0, k, size=n)
X = centers[y] + rng.normal(size=(n, d))
X[:, -2:] *= np.linspace(1.0, $drift, n)[:, None]  # two sensors get noisier over time (rows are in time order)
@@eda
@@sk_split
@@sk_scale
@@sk_model
@@sk_fit
@@sk_proba
@@sk_metric
print(f"test_logloss {METRIC:.6f}")
""",
    slots={
        "sk_import": (
            _v("from sklearn.neighbors import KNeighborsClassifier", param_model=("knn",)),
            _v("from sklearn.ensemble import RandomForestClassifier", param_model=("forest",)),
            _v("from sklearn.linear_model import LogisticRegression", param_model=("logreg",)),
        ),
        "eda": (
            _v(""),
            _v('print("raw feature means:", X.mean(0).round(2))'),
            _v('print("raw feature scales:", X.std(axis=0).round(2))'),
        ),
        "sk_split": (
            _v("n_tr = int(0.7 * n)\nX_tr, X_te, y_tr, y_te = X[:n_tr], X[n_tr:], y[:n_tr], y[n_tr:]"),
            _v("n_te = n - int(0.7 * n)\nX_tr, y_tr = X[:-n_te], y[:-n_te]\nX_te, y_te = X[-n_te:], y[-n_te:]"),
            _v("cut = int(0.7 * n)\ntrain, test = slice(0, cut), slice(cut, n)\nX_tr, y_tr, X_te, y_te = X[train], y[train], X[test], y[test]"),
        ),
        "sk_scale": (
            _v("scaler = StandardScaler().fit(X_tr)\nX_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)"),
            _v("scaler = StandardScaler()\nX_tr = scaler.fit_transform(X_tr)\nX_te = scaler.transform(X_te)"),
            _v("mu, sd = X_tr.mean(0), X_tr.std(0)\nX_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd"),
        ),
        "sk_model": (
            _v("model = KNeighborsClassifier(n_neighbors=$nn)", param_model=("knn",)),
            _v("model = RandomForestClassifier(n_estimators=60, min_samples_leaf=2, random_state=SEED)", param_model=("forest",)),
            _v("model = LogisticRegression(C=$C, max_iter=1000)", param_model=("logreg",)),
        ),
        "sk_fit": (
            _v("model.fit(X_tr, y_tr)"),
            # Row order changes a random forest's bootstrap draws (same distribution, other values),
            # so this restyle is offered only where it is exactly behaviour-preserving.
            _v("order = np.random.default_rng(SEED).permutation(len(X_tr))\nmodel.fit(X_tr[order], y_tr[order])",
               param_model=("knn", "logreg")),
        ),
        "sk_proba": (
            _v("proba = model.predict_proba(X_te)"),
            _v("z = model.decision_function(X_te)\nz = np.exp(z - z.max(axis=1, keepdims=True))\nproba = z / z.sum(axis=1, keepdims=True)",
               param_model=("logreg",)),
            _v("z = model.decision_function(X_te)\nz = np.exp(z - z.max(axis=-1, keepdims=True))\nproba = z / z.sum(axis=-1, keepdims=True)",
               param_model=("logreg",)),
            _v("z = np.exp(model.decision_function(X_te)).T\nproba = (z / z.sum(axis=0)).T", param_model=("logreg",)),
        ),
        "sk_metric": (
            _v("METRIC = float(-np.log(np.clip(proba[np.arange(len(y_te)), y_te], 1e-9, None)).mean())"),
            _v("picked = np.take_along_axis(proba, y_te[:, None], axis=1)\nMETRIC = float(-np.log(np.clip(picked, 1e-9, None)).mean())"),
            _v("onehot = np.eye(k)[y_te]\nMETRIC = float(-(onehot * np.log(np.clip(proba, 1e-9, None))).sum(1).mean())"),
            _v("picked = np.take_along_axis(proba, y_te.reshape(-1, 1), axis=1)\nMETRIC = float(-np.log(np.clip(picked, 1e-9, None)).mean())"),
        ),
    },
    grid={"data_seed": (0, 1, 2, 3), "d": (6, 10), "drift": (4.0,), "model": ("knn", "knn", "forest", "logreg"),
          "nn": (7, 15), "C": (1.0,)},
)

KINDS: dict[str, Kind] = {k.name: k for k in (MLP, SEQ, SK)}


class Script(BaseModel):
    """One clean script: its kind, parameters from the grid, and a variant per slot."""

    kind: str
    params: dict[str, Param]
    styles: dict[str, int]

    def key(self) -> str:
        """A short stable name (kind, parameters and a hash of the styles)."""
        p = "-".join(f"{k}{v}" for k, v in sorted(self.params.items()))
        s = hashlib.sha256(json.dumps(self.styles, sort_keys=True).encode()).hexdigest()[:6]
        return f"{self.kind}-{p}-s{s}"

    def canonical(self) -> Script:
        """The same parameters written in the canonical style (first valid variant per slot)."""
        return Script(kind=self.kind, params=self.params, styles=_choose(KINDS[self.kind], self.params, None))


def _valid(variant: Variant, params: dict[str, Param], styles: dict[str, int]) -> bool:
    for key, allowed in variant.needs.items():
        got = params.get(key[6:]) if key.startswith("param:") else styles.get(key)
        if got not in allowed:
            return False
    return True


def _choose(kind: Kind, params: dict[str, Param], rng: random.Random | None, restyle: float = 0.6) -> dict[str, int]:
    """A variant per slot in template order; canonical when ``rng`` is None, else restyled with
    probability ``restyle`` per slot (uniformly among the valid variants)."""
    styles: dict[str, int] = {}
    for slot in _slot_order(kind):
        valid = [i for i, v in enumerate(kind.slots[slot]) if _valid(v, params, styles)]
        if not valid:
            raise ValueError(f"{kind.name}: no valid variant for slot {slot} with {params}")
        styles[slot] = valid[0] if rng is None or rng.random() >= restyle else rng.choice(valid)
    return styles


def _slot_order(kind: Kind) -> list[str]:
    return [line.strip()[2:] for line in kind.template.splitlines() if line.strip().startswith("@@")]


def draw(rng: random.Random, kind: str | None = None, restyle: float = 0.6) -> Script:
    """Draws a script: a kind (uniform unless given), grid parameters and slot styles."""
    name = kind or rng.choice(sorted(KINDS))
    k = KINDS[name]
    params = {key: rng.choice(values) for key, values in k.grid.items()}
    return Script(kind=name, params=params, styles=_choose(k, params, rng, restyle))


def valid_variants(script: Script, slot: str) -> list[int]:
    """Indices of ``slot``'s variants that fit ``script``'s parameters and earlier slots."""
    kind = KINDS[script.kind]
    return [i for i, v in enumerate(kind.slots[slot]) if _valid(v, script.params, script.styles)]


def render_lines(script: Script, overrides: dict[str, str] | None = None) -> tuple[str, dict[str, list[int]]]:
    """Renders ``script`` (``overrides`` replace slots' text); returns the source and, per slot, its
    1-based line numbers in that source (empty for a slot rendered as nothing)."""
    kind = KINDS[script.kind]
    out: list[str] = []
    where: dict[str, list[int]] = {}
    for line in kind.template.splitlines():
        stripped = line.strip()
        if not stripped.startswith("@@"):
            out.append(line)
            continue
        slot = stripped[2:]
        indent = line[: len(line) - len(line.lstrip())]
        text = (overrides or {}).get(slot, kind.slots[slot][script.styles[slot]].text)
        body = text.splitlines() if text else []
        where[slot] = list(range(len(out) + 1, len(out) + 1 + len(body)))
        out += [indent + b if b else b for b in body]
    source = string.Template("\n".join(out) + "\n").substitute({k: str(v) for k, v in script.params.items()})
    return source, where


def render(script: Script, overrides: dict[str, str] | None = None) -> str:
    """Returns the script's source (``overrides`` replace slots' text)."""
    return render_lines(script, overrides)[0]
