"""Fault injector: silent single-site bugs written as slot replacements of the clean scripts.

Each bug kind has several **forms**, most of them tied to one clean style of a slot, so the same
kind reads differently from instance to instance (a literal ``dim=0``, a dimension computed as
``ndim - 2``, a config constant set to 0; a deleted ``zero_grad`` or one moved out of the batch
loop; a leak through index arithmetic such as ``X[:-n_te // 2]``). The label is the set of 1-based
lines the mutation changed (for a deletion, the lines on both sides of the gap), plus the lines of
any slot named in ``also`` (the use site of a changed config value). Clean restyles of the same slots
(``scripts.py``) are the behaviour-preserving refactors that serve as clean negatives.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rdbench.tasklib.assist import scripts
from rdbench.tasklib.assist.scripts import Param, Script

# The bug types an agent may name (the list); each form below has one of them.
BUG_KINDS = [
    "softmax_wrong_dim", "missing_zero_grad", "step_before_backward", "no_eval_switch",
    "loss_reduction_changed", "cross_entropy_on_probabilities", "labels_shuffled",
    "scaler_before_split", "test_leak", "causal_mask_off_by_one", "wrong_broadcasting",
]


@dataclass(frozen=True)
class BugForm:
    """One way of writing a bug of type ``kind`` into scripts of kind ``script``.

    Attributes:
        kind: The bug type.
        script: The script kind it applies to.
        edits: Slot name -> buggy text ("" deletes the slot's lines).
        needs: Conditions on the clean script (as in ``scripts.Variant.needs``).
        also: Slots whose lines also locate the bug (where a changed value is used).
    """

    kind: str
    script: str
    edits: dict[str, str]
    needs: dict[str, tuple[Param, ...]] = field(default_factory=dict)
    also: tuple[str, ...] = ()

    def applies(self, script: Script) -> bool:
        """Whether this form fits ``script`` (its kind, parameters and styles)."""
        if script.kind != self.script:
            return False
        for key, allowed in self.needs.items():
            got = script.params.get(key[6:]) if key.startswith("param:") else script.styles.get(key)
            if got not in allowed:
                return False
        return True


def _f(kind: str, script: str, edits: dict[str, str], also: tuple[str, ...] = (), **needs: tuple[Param, ...]) -> BugForm:
    return BugForm(kind, script, edits, {k.replace("param_", "param:"): v for k, v in needs.items()}, also)


_TORCH_UPDATE_BUGS: list[tuple[str, dict[str, str], dict[str, tuple[Param, ...]]]] = [
    # missing or misplaced zero_grad: gradients accumulate over batches.
    ("missing_zero_grad", {"update": "loss.backward()\nopt.step()"}, {"update": (0, 1, 2, 3)}),
    ("missing_zero_grad", {"update": "loss.backward()\nopt.zero_grad()\nopt.step()"}, {"update": (0, 2)}),
    ("step_before_backward", {"update": "opt.zero_grad()\nopt.step()\nloss.backward()"}, {"update": (0,)}),
    ("step_before_backward", {"update": "opt.step()\nloss.backward()\nopt.zero_grad()"}, {"update": (2,)}),
    ("step_before_backward", {"update": "model.zero_grad()\nopt.step()\nloss.backward()"}, {"update": (3,)}),
    ("step_before_backward", {"update": "for action in (opt.zero_grad, opt.step, loss.backward):\n    action()"}, {"update": (4,)}),
    ("missing_zero_grad", {"update": "for action in (loss.backward, opt.step):\n    action()"}, {"update": (4,)}),
    ("no_eval_switch", {"eval_mode": ""}, {}),
    ("no_eval_switch", {"eval_mode": "model.eval  # dropout off for evaluation"}, {"eval_mode": (2,)}),
    ("no_eval_switch", {"eval_mode": "model.train(True)"}, {"eval_mode": (1,)}),
]


def _torch_common(script: str) -> list[BugForm]:
    return [BugForm(kind, script, edits, needs) for kind, edits, needs in _TORCH_UPDATE_BUGS]


BUGS: list[BugForm] = [
    *_torch_common("mlp"),
    *_torch_common("seq"),
    # --- mlp ---
    _f("no_eval_switch", "mlp", {"eval_mode": "model[0].eval()"}, eval_mode=(3,)),
    _f("no_eval_switch", "mlp", {"eval_mode": "model[0].eval()  # the dropout layer"}, eval_mode=(3,)),
    _f("cross_entropy_on_probabilities", "mlp", {"model": "model = torch.nn.Sequential(\n    torch.nn.Linear(d, $hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear($hidden, k),\n    torch.nn.Softmax(dim=1),\n)"},
       model=(0,)),
    _f("cross_entropy_on_probabilities", "mlp", {"model": "layers = [torch.nn.Linear(d, $hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear($hidden, k)]\n"
                                                          "model = torch.nn.Sequential(*layers, torch.nn.Softmax(dim=-1))"}, model=(1,)),
    _f("loss_reduction_changed", "mlp", {"loss": "logits = model(xb)\nloss = F.cross_entropy(logits, yb) * len(yb)"}, loss=(1,)),
    _f("missing_zero_grad", "mlp", {"train_mode": "model.train()\nopt.zero_grad()", "update": "loss.backward()\nopt.step()"},
       update=(0, 1, 3), train_mode=(0,)),
    _f("softmax_wrong_dim", "mlp", {"probs": "probs = F.softmax(model(X_te), dim=0)"}, probs=(0, 1)),
    _f("softmax_wrong_dim", "mlp", {"probs": "probs = F.softmax(model(X_te).T, dim=1).T"}, probs=(2,)),
    _f("softmax_wrong_dim", "mlp", {"probs": "logits_te = model(X_te)\nprobs = logits_te.softmax(dim=logits_te.ndim - 2)"}, probs=(3,)),
    _f("softmax_wrong_dim", "mlp", {"config": 'LR, EPOCHS, BATCH = $lr, 12, 32\nREDUCTION = "mean"\nCLASS_DIM = 0'},
       also=("probs",), probs=(4,)),
    _f("loss_reduction_changed", "mlp", {"loss": 'logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="sum")'},
       loss=(0, 1, 2)),
    _f("loss_reduction_changed", "mlp", {"loss": 'logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="none").sum()'},
       loss=(5,)),
    _f("loss_reduction_changed", "mlp", {"loss": 'logits = model(xb)\nloss = F.cross_entropy(logits, yb, reduction="sum") / len(X_tr)'},
       loss=(2,)),
    _f("loss_reduction_changed", "mlp", {"config": 'LR, EPOCHS, BATCH = $lr, 12, 32\nREDUCTION = "sum"\nCLASS_DIM = 1'},
       also=("loss",), loss=(4,)),
    _f("cross_entropy_on_probabilities", "mlp", {"loss": 'logits = model(xb)\nloss = F.cross_entropy(logits.softmax(dim=1), yb, reduction="mean")'},
       loss=(0,)),
    _f("cross_entropy_on_probabilities", "mlp", {"loss": "logits = model(xb).softmax(-1)\nloss = F.cross_entropy(logits, yb)"},
       loss=(1,)),
    _f("cross_entropy_on_probabilities", "mlp", {"loss": "logits = model(xb)\nloss = F.nll_loss(F.softmax(logits, dim=1), yb)"},
       loss=(3,)),
    _f("labels_shuffled", "mlp", {"batch": "idx = perm[i:i + BATCH]\nxb, yb = X_tr[idx], y_tr[idx.flip(0)]"}, batch=(0,)),
    _f("labels_shuffled", "mlp", {"batch": "idx = perm[i:i + BATCH]\nxb = X_tr[idx]\nyb = y_tr[i:i + BATCH]"}, batch=(1,)),
    _f("labels_shuffled", "mlp", {"perm": "perm = torch.randperm(len(X_tr))\nX_ep, y_ep = X_tr[perm], y_tr"}, batch=(2,)),
    _f("wrong_broadcasting", "mlp", {"metric": "METRIC = -torch.log(probs[:, y_te].clamp_min(1e-9)).mean().item()"}, metric=(0,)),
    _f("wrong_broadcasting", "mlp", {"metric": "METRIC = -torch.log(probs[torch.arange(len(y_te))[:, None], y_te].clamp_min(1e-9)).mean().item()"},
       metric=(1,)),
    _f("wrong_broadcasting", "mlp", {"metric": "picked = (probs * F.one_hot(y_te, k)[:, None]).sum(1)\nMETRIC = -picked.clamp_min(1e-9).log().mean().item()"},
       metric=(2,)),
    _f("wrong_broadcasting", "mlp", {"metric": "METRIC = -torch.log(probs.gather(1, y_te[None, :]).clamp_min(1e-9)).mean().item()"},
       metric=(0,)),
    _f("wrong_broadcasting", "mlp", {"metric": "METRIC = -probs.gather(1, y_te.unsqueeze(0)).clamp_min(1e-9).log().mean().item()"},
       metric=(3,)),
    _f("wrong_broadcasting", "mlp", {"metric": "METRIC = -torch.log(probs.gather(1, y_te.view(1, -1)).clamp_min(1e-9)).mean().item()"},
       metric=(0,)),
    # --- seq ---
    _f("causal_mask_off_by_one", "seq", {"mask": 'mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=2)\natt = att.masked_fill(mask, float("-inf"))'},
       mask=(0,)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'keep = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=1)\natt = att.masked_fill(~keep, float("-inf"))'},
       mask=(1,)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'pos = torch.arange(L)\natt = att.masked_fill(pos[None, :] > pos[:, None] + 1, float("-inf"))'},
       mask=(2,)),
    _f("causal_mask_off_by_one", "seq", {"mask": "future = torch.ones(L, L).triu(2).bool()\natt = att.masked_fill(future, -1e9)"},
       mask=(3,)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'keep = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=1)\natt = att.masked_fill(keep.logical_not(), float("-inf"))'},
       mask=(4,)),
    _f("softmax_wrong_dim", "seq", {"att_softmax": "att = att.softmax(dim=-2)"}, att_softmax=(0,)),
    _f("softmax_wrong_dim", "seq", {"att_softmax": "att = F.softmax(att, dim=1)"}, att_softmax=(1,)),
    _f("softmax_wrong_dim", "seq", {"att_softmax": "att = torch.softmax(att, dim=att.ndim - 2)"}, att_softmax=(2,)),
    _f("softmax_wrong_dim", "seq", {"att_softmax": "att = F.softmax(att.transpose(-2, -1), dim=-1).transpose(-2, -1)"}, att_softmax=(3,)),
    _f("labels_shuffled", "seq", {"seq_batch": "inp, tgt = train_seqs[idx, :-1], train_seqs[idx.roll(1), 1:]"}, seq_batch=(0,)),
    _f("labels_shuffled", "seq", {"seq_batch": "batch = train_seqs[idx]\ninp, tgt = batch[:, :-1], batch[:, :-1]"}, seq_batch=(1,)),
    _f("labels_shuffled", "seq", {"seq_batch": "inp = train_seqs[idx, :T]\ntgt = train_seqs[idx, 0:T]"}, seq_batch=(2,)),
    _f("labels_shuffled", "seq", {"seq_loss": "logits = model(inp)\nloss = F.cross_entropy(logits.reshape(-1, V), tgt.T.reshape(-1))"},
       seq_loss=(0,)),
    _f("cross_entropy_on_probabilities", "seq", {"seq_loss": "logits = model(inp).softmax(-1)\nloss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))"},
       seq_loss=(0,)),
    _f("cross_entropy_on_probabilities", "seq", {"seq_loss": "logits = model(inp)\nloss = F.cross_entropy(logits.softmax(1).transpose(1, 2), tgt)"},
       seq_loss=(1,)),
    _f("wrong_broadcasting", "seq", {"seq_metric": "logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -logp.gather(-1, test_seqs[:, None, 1:]).mean().item()"},
       seq_metric=(1,)),
    _f("wrong_broadcasting", "seq", {"seq_metric": "logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -(logp * F.one_hot(test_seqs[:, 1:], V)[:, None]).sum(-1).mean().item()"},
       seq_metric=(2,)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'mask = torch.triu(torch.ones(L + 1, L + 1, dtype=torch.bool), diagonal=1)[1:, :-1]\natt = att.masked_fill(mask, float("-inf"))'},
       mask=(0, 6)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'pos = torch.arange(L)\natt = att.masked_fill(pos[None, :] >= pos[:, None] + 2, float("-inf"))'},
       mask=(5,)),
    _f("causal_mask_off_by_one", "seq", {"config": "LR, STEPS, BATCH = $lr, 200, 32\nMASK_OFFSET = 2"}, also=("mask",), mask=(7,)),
    _f("causal_mask_off_by_one", "seq", {"mask": 'mask = torch.tril(torch.ones(L, L, dtype=torch.bool), diagonal=-2).T\natt = att.masked_fill(mask, float("-inf"))'},
       mask=(8,)),
    _f("no_eval_switch", "seq", {"eval_mode": "model.attn.eval()"}, eval_mode=(3,)),
    _f("cross_entropy_on_probabilities", "seq", {"head_out": "return self.head(x).softmax(-1)"}, head_out=(0,)),
    _f("cross_entropy_on_probabilities", "seq", {"head_out": "logits = self.head(x)\nreturn logits.softmax(dim=-1)"}, head_out=(1,)),
    _f("wrong_broadcasting", "seq", {"seq_metric": "logp = model(test_seqs[:, :-1]).log_softmax(-1)\nMETRIC = -logp.gather(2, test_seqs[:, 1:].unsqueeze(1)).mean().item()"},
       seq_metric=(3,)),
    # --- sk ---
    _f("scaler_before_split", "sk", {"sk_scale": "scaler = StandardScaler().fit(X)\nX_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)"},
       sk_scale=(0,), param_model=("knn",)),
    _f("scaler_before_split", "sk", {"sk_scale": "scaler = StandardScaler()\nX_tr = scaler.fit(X).transform(X_tr)\nX_te = scaler.transform(X_te)"},
       sk_scale=(1,), param_model=("knn",)),
    _f("scaler_before_split", "sk", {"sk_scale": "scaler = StandardScaler()\nX_tr = scaler.fit_transform(X_tr)\nX_te = scaler.fit_transform(X_te)"},
       sk_scale=(1,), param_model=("knn",)),
    _f("scaler_before_split", "sk", {"sk_scale": "mu, sd = X.mean(0), X.std(0)\nX_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd"},
       sk_scale=(2,), param_model=("knn",)),
    _f("test_leak", "sk", {"sk_split": "n_tr = int(0.7 * n)\nX_tr, X_te, y_tr, y_te = X[:n_tr], X[n_tr - n // 10:], y[:n_tr], y[n_tr - n // 10:]"},
       sk_split=(0,), param_model=("knn", "forest")),
    _f("test_leak", "sk", {"sk_split": "n_te = n - int(0.7 * n)\nX_tr, y_tr = X[:-n_te // 2], y[:-n_te // 2]\nX_te, y_te = X[-n_te:], y[-n_te:]"},
       sk_split=(1,), param_model=("knn", "forest")),
    _f("test_leak", "sk", {"sk_split": "cut = int(0.7 * n)\ntrain, test = slice(0, cut + n // 10), slice(cut, n)\nX_tr, y_tr, X_te, y_te = X[train], y[train], X[test], y[test]"},
       sk_split=(2,), param_model=("knn", "forest")),
    _f("labels_shuffled", "sk", {"sk_fit": "order = np.random.default_rng(SEED).permutation(len(X_tr))\nmodel.fit(X_tr[order], y_tr)"},
       sk_fit=(1,)),
    _f("labels_shuffled", "sk", {"sk_split": "n_tr = int(0.7 * n)\nX_tr, X_te, y_tr, y_te = X[:n_tr], X[n_tr:], y[1:n_tr + 1], y[n_tr:]"},
       sk_split=(0,)),
    _f("labels_shuffled", "sk", {"sk_split": "n_te = n - int(0.7 * n)\nX_tr, y_tr = X[:-n_te], np.sort(y[:-n_te])\nX_te, y_te = X[-n_te:], y[-n_te:]"},
       sk_split=(1,)),
    _f("labels_shuffled", "sk", {"sk_split": "cut = int(0.7 * n)\ntrain, test = slice(0, cut), slice(cut, n)\nX_tr, y_tr, X_te, y_te = X[train], y[::-1][train], X[test], y[test]"},
       sk_split=(2,)),
    _f("softmax_wrong_dim", "sk", {"sk_proba": "z = model.decision_function(X_te)\nz = np.exp(z - z.max(axis=1, keepdims=True))\nproba = z / z.sum(axis=0, keepdims=True)"},
       sk_proba=(1,)),
    _f("softmax_wrong_dim", "sk", {"sk_proba": "z = model.decision_function(X_te)\nz = np.exp(z - z.max(axis=0, keepdims=True))\nproba = z / z.sum(axis=1, keepdims=True)"},
       sk_proba=(1,)),
    _f("softmax_wrong_dim", "sk", {"sk_proba": "z = model.decision_function(X_te)\nz = np.exp(z - z.max(axis=-1, keepdims=True))\nproba = z / z.sum(axis=-2, keepdims=True)"},
       sk_proba=(2,)),
    _f("softmax_wrong_dim", "sk", {"sk_proba": "z = np.exp(model.decision_function(X_te)).T\nproba = (z / z.sum(axis=1)).T"}, sk_proba=(3,)),
    _f("wrong_broadcasting", "sk", {"sk_metric": "METRIC = float(-np.log(np.clip(proba[:, y_te], 1e-9, None)).mean())"}, sk_metric=(0,)),
    _f("wrong_broadcasting", "sk", {"sk_metric": "METRIC = float(-np.log(np.clip(proba[np.arange(len(y_te)).reshape(-1, 1), y_te], 1e-9, None)).mean())"},
       sk_metric=(0,)),
    _f("wrong_broadcasting", "sk", {"sk_metric": "picked = np.take_along_axis(proba, y_te[None, :], axis=1)\nMETRIC = float(-np.log(np.clip(picked, 1e-9, None)).mean())"},
       sk_metric=(1,)),
    _f("wrong_broadcasting", "sk", {"sk_metric": "onehot = np.eye(k)[y_te]\nMETRIC = float(-(onehot[:, None] * np.log(np.clip(proba, 1e-9, None))).sum(-1).mean())"},
       sk_metric=(2,)),
    _f("scaler_before_split", "sk", {"sk_scale": "scaler = StandardScaler().fit(np.concatenate([X_tr, X_te]))\nX_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)"},
       sk_scale=(0,), param_model=("knn",)),
    _f("scaler_before_split", "sk", {"sk_scale": "mu, sd = np.r_[X_tr, X_te].mean(0), np.r_[X_tr, X_te].std(0)\nX_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd"},
       sk_scale=(2,), param_model=("knn",)),
    _f("wrong_broadcasting", "sk", {"sk_metric": "picked = np.take_along_axis(proba, y_te.reshape(1, -1), axis=1)\nMETRIC = float(-np.log(np.clip(picked, 1e-9, None)).mean())"},
       sk_metric=(3,)),
]


def forms(script: Script, kind: str | None = None) -> list[BugForm]:
    """The bug forms that fit ``script`` (optionally of one bug type)."""
    return [f for f in BUGS if f.applies(script) and (kind is None or f.kind == kind)]


def kinds_for(script: Script) -> list[str]:
    """The bug types with at least one form fitting ``script`` (in ``BUG_KINDS`` order)."""
    have = {f.kind for f in forms(script)}
    return [k for k in BUG_KINDS if k in have]


def kinds_for_script_kind(kind: str) -> set[str]:
    """The bug types with at least one form for scripts of ``kind``."""
    return {f.kind for f in BUGS if f.script == kind}


def changed_lines(old: str, new: str) -> list[int]:
    """1-based lines of ``new`` that differ from ``old``; a pure deletion marks both sides of its gap."""
    a, b = old.splitlines(), new.splitlines()
    out: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.update(range(j1 + 1, j2 + 1))
        elif tag == "delete":
            out.update(n for n in (j1, j1 + 1) if 1 <= n <= len(b))
    return sorted(out)


def inject(script: Script, form: BugForm) -> tuple[str, list[int]]:
    """Writes ``form`` into ``script``; returns the mutant's source and the bug's lines.

    The changed lines come first (sorted), then the lines of the ``also`` slots, so the first line
    is always an edited one.
    """
    if not form.applies(script):
        raise ValueError(f"{form.kind} form does not fit {script.key()}")
    clean = scripts.render(script)
    mutant, where = scripts.render_lines(script, form.edits)
    lines = changed_lines(clean, mutant)
    if not lines:
        raise ValueError(f"{form.kind} form changes nothing in {script.key()}")
    extra = sorted({n for slot in form.also for n in where.get(slot, []) if n not in lines})
    return mutant, lines + extra
