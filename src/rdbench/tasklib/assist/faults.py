"""Fault injector: silent single-site mutations and behaviour-preserving refactors.

Every mutation replaces whole lines (matched exactly after stripping indentation) so the label
is a set of 1-based line numbers in the mutated file. Refactors use the same mechanism and are
applied to clean and buggy scripts alike, so that "the script looks edited" is no tell.
"""

from __future__ import annotations

from pydantic import BaseModel


class Edit(BaseModel):
    """Replace the line whose stripped text is ``old`` with ``new`` (indentation kept)."""

    old: str
    new: str


class Mutation(BaseModel):
    """A named edit set; ``swap`` exchanges the two lines instead of rewriting them."""

    kind: str
    edits: list[Edit] = []
    swap: tuple[str, str] | None = None
    delete: str | None = None


BUGS: list[Mutation] = [
    Mutation(kind="softmax_wrong_dim", edits=[Edit(
        old="probs = F.softmax(model(X_te), dim=1)", new="probs = F.softmax(model(X_te), dim=0)")]),
    Mutation(kind="missing_zero_grad", delete="opt.zero_grad()"),
    Mutation(kind="step_before_backward", swap=("loss.backward()", "opt.step()")),
    Mutation(kind="no_eval_switch", delete="model.eval()"),
    Mutation(kind="loss_reduction_changed", edits=[Edit(
        old='loss = F.cross_entropy(logits, yb, reduction="mean")',
        new='loss = F.cross_entropy(logits, yb, reduction="sum")')]),
    Mutation(kind="cross_entropy_on_probabilities", edits=[Edit(
        old='loss = F.cross_entropy(logits, yb, reduction="mean")',
        new='loss = F.cross_entropy(logits.softmax(dim=1), yb, reduction="mean")')]),
    Mutation(kind="labels_shuffled", edits=[Edit(
        old="xb, yb = X_tr[idx], y_tr[idx]", new="xb, yb = X_tr[idx], y_tr[idx.flip(0)]")]),
    Mutation(kind="scaler_before_split", edits=[Edit(
        old="mu, sd = X_tr.mean(0), X_tr.std(0) + 1e-8", new="mu, sd = X.mean(0), X.std(0) + 1e-8")]),
    Mutation(kind="test_leak", edits=[
        Edit(old="X_tr, X_te = X[:n_tr], X[n_tr:]", new="X_tr, X_te = X, X[n_tr:]"),
        Edit(old="y_tr, y_te = y[:n_tr], y[n_tr:]", new="y_tr, y_te = y, y[n_tr:]"),
        Edit(old="perm = torch.randperm(n_tr)", new="perm = torch.randperm(len(X_tr))"),
    ]),
    Mutation(kind="wrong_broadcasting", edits=[Edit(
        old="METRIC = -torch.log(probs.gather(1, y_te[:, None]).clamp_min(1e-9)).mean().item()",
        new="METRIC = -torch.log(probs[:, y_te].clamp_min(1e-9)).mean().item()")]),
]
BUG_KINDS = [m.kind for m in BUGS]

REFACTORS: list[Mutation] = [
    Mutation(kind="default_reduction", edits=[Edit(
        old='loss = F.cross_entropy(logits, yb, reduction="mean")', new="loss = F.cross_entropy(logits, yb)")]),
    Mutation(kind="set_to_none", edits=[Edit(old="opt.zero_grad()", new="opt.zero_grad(set_to_none=True)")]),
    Mutation(kind="negative_dim", edits=[Edit(
        old="probs = F.softmax(model(X_te), dim=1)", new="probs = torch.softmax(model(X_te), dim=-1)")]),
    Mutation(kind="swap_independent", swap=("X_tr = (X_tr - mu) / sd", "X_te = (X_te - mu) / sd")),
    Mutation(kind="tensor_from_numpy", edits=[Edit(
        old="y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)",
        new="y_tr, y_te = torch.from_numpy(y_tr).long(), torch.from_numpy(y_te).long()")]),
]


def _find(lines: list[str], text: str) -> int:
    for i, line in enumerate(lines):
        if line.strip() == text:
            return i
    raise KeyError(text)


def applicable(source: str, mutation: Mutation) -> bool:
    """Whether every line ``mutation`` needs is present in ``source``."""
    lines = source.splitlines()
    needed = [e.old for e in mutation.edits] + list(mutation.swap or ()) + (
        [mutation.delete] if mutation.delete else [])
    return all(any(line.strip() == t for line in lines) for t in needed)


def apply(source: str, mutation: Mutation) -> tuple[str, list[int]]:
    """Applies ``mutation``; returns the new source and the 1-based changed lines in it."""
    lines = source.splitlines()
    changed: list[int] = []
    for edit in mutation.edits:
        i = _find(lines, edit.old)
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = indent + edit.new
        changed.append(i + 1)
    if mutation.swap:
        a, b = _find(lines, mutation.swap[0]), _find(lines, mutation.swap[1])
        lines[a], lines[b] = lines[b], lines[a]
        changed += [a + 1, b + 1]
    if mutation.delete:
        i = _find(lines, mutation.delete)
        del lines[i]
        # The bug is an absence: both lines around the hole locate it.
        changed += [n for n in (i, i + 1) if 1 <= n <= len(lines)]
    return "\n".join(lines) + "\n", sorted(changed)


def bug(kind: str) -> Mutation:
    """The bug mutation named ``kind``."""
    return next(m for m in BUGS if m.kind == kind)
