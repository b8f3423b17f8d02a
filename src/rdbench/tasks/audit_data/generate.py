"""audit_data instance generator: a synthetic tabular dataset with validated, subtle injected problems.

The honest features come from ``make_classification`` with informative, redundant (noisy linear
combinations of the informative ones) and useless columns, shuffled, with a class separation
lowered until a cross-validated model on them reaches an AUC of at most 0.9. So a corrupted entry in an
informative or redundant column breaks the linear relations between columns and is detectable in
principle even when its value is in range. Problems (training rows only):

- flipped labels, mostly on rows a clean cross-validated model is unsure about (p of the true class
  in [0.55, 0.9]), the rest on confident rows;
- near-duplicates of test rows, perturbed by 2-10 % of each column's scale (verified to be much
  closer to their source than any natural train-test pair);
- corrupted values: a quarter blatant sentinels (-999, 9999, 1e6), the rest plausible: a sign flip,
  a unit error (x10), two columns swapped, or a value zeroed (verified to move the entry by at least
  1.5 column standard deviations);
- in 70 % of instances a column that leaks the target: a monotone transform of (target + noise +
  a share of an honest feature), verified to predict the label better than a cross-validated model
  on all the other columns together. Half of all instances also carry a decoy: an honest column
  built from the informative features that predicts the label well but never better than the other
  columns together (it is not a leak).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from threadpoolctl import threadpool_limits


def _write_csv(path: Path, ids: np.ndarray, X: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    lines = [",".join(["id", *names, "label"])]
    lines += [",".join([str(int(i)), *(f"{v:.6g}" for v in row), str(int(t))]) for i, row, t in zip(ids, X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    a = float(roc_auc_score(y, x))
    return max(a, 1.0 - a)


def _cv_auc(X: np.ndarray, y: np.ndarray) -> float:
    """AUC of a 5-fold cross-validated logistic regression (features standardised)."""
    Z = (X - X.mean(0)) / (X.std(0) + 1e-12)
    p = cross_val_predict(LogisticRegression(max_iter=1000), Z, y, cv=5, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def _make_leak(rng: np.random.Generator, y: np.ndarray, honest: np.ndarray, others_auc: float) -> tuple[np.ndarray, dict[str, Any]]:
    """A monotone transform of (signed target + noise + a share of an honest column) that predicts
    the target better than all honest columns together; noise is shrunk until it does."""
    mix_col = int(rng.integers(honest.shape[1]))
    mix = honest[:, mix_col] / honest[:, mix_col].std()
    share = float(rng.uniform(0.0, 0.5))
    transform = str(rng.choice(["identity", "exp", "signed_log"]))
    noise = rng.normal(size=len(y))
    scale = float(rng.uniform(0.6, 1.1))
    for _ in range(12):
        raw = (2.0 * y - 1.0) + scale * noise + share * mix
        col = {"identity": raw, "exp": np.exp(raw / 2.0), "signed_log": np.sign(raw) * np.log1p(np.abs(raw) * 3.0)}[transform]
        auc = _auc(col, y)
        if auc >= others_auc + 0.02 and auc >= 0.85:
            return col, {"noise": scale, "share": share, "transform": transform, "auc": auc, "others_auc": others_auc}
        scale *= 0.8
    raise RuntimeError("the leak column does not beat the honest columns; generator broken")


def build(seed: int, n_train: int, n_test: int, d: int) -> dict[str, Any]:
    """Builds the dataset and its labels; every injected problem is checked to be real."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    n_inf, n_red = max(2, d // 2), 2 if d >= 6 else 0
    sep = 0.6
    while True:
        # Honest columns that together give a CV AUC of at most 0.9, so a leak can stand out.
        X, y = make_classification(n_samples=n, n_features=d, n_informative=n_inf, n_redundant=n_red,
                                   class_sep=sep, flip_y=0.0, shuffle=False, random_state=seed)
        if _cv_auc(X[:n_train], y[:n_train]) <= 0.9:
            break
        sep *= 0.8
    X[:, n_inf:n_inf + n_red] += rng.normal(scale=0.05, size=(n, n_red))
    roles = ["informative"] * n_inf + ["redundant"] * n_red + ["useless"] * (d - n_inf - n_red)
    useless = [c for c in range(d) if roles[c] == "useless"]
    rng.shuffle(useless)
    honest_cols = [c for c in range(d) if roles[c] != "useless"]
    decoy_col: int | None = None
    if useless and rng.random() < 0.5:
        # A decoy: a noisy class-separating direction of the informative columns (an honest feature).
        decoy_col = useless.pop()
        lr = LogisticRegression(max_iter=1000).fit(X[:n_train, :n_inf], y[:n_train])
        score = X[:, :n_inf] @ lr.coef_[0]
        X[:, decoy_col] = score / score.std() + rng.normal(scale=0.5, size=n)
        roles[decoy_col] = "decoy"
        honest_cols.append(decoy_col)
    leak_col: int | None = None
    leak_info: dict[str, Any] = {}
    if useless and rng.random() < 0.7:
        leak_col = useless.pop()
        rest = [c for c in range(d) if c != leak_col]
        others = _cv_auc(X[:n_train][:, rest], y[:n_train])
        X[:, leak_col], leak_info = _make_leak(rng, y, X[:, honest_cols], others)
        roles[leak_col] = "leak"
    if decoy_col is not None:
        # The decoy must not beat the other columns together (else it would be a leak): add noise.
        rest = [c for c in range(d) if c not in (decoy_col, leak_col)]
        others = _cv_auc(X[:n_train][:, rest], y[:n_train])
        base, extra = X[:, decoy_col].copy(), rng.normal(size=n)
        for step in range(30):
            if _auc(X[:n_train, decoy_col], y[:n_train]) <= others:
                break
            X[:, decoy_col] = (base + 0.25 * (step + 1) * extra) / np.sqrt(1 + (0.25 * (step + 1)) ** 2)
        else:
            raise RuntimeError("the decoy column beats the other columns; it would be a leak")
    order = rng.permutation(d)  # shuffle the columns so roles do not follow positions
    X, roles = X[:, order], [roles[c] for c in order]
    names = [f"f{i}" for i in range(d)]
    leak = None if leak_col is None else names[roles.index("leak")]
    structured = [c for c in range(d) if roles[c] in ("informative", "redundant")]

    Xtr, ytr, Xte, yte = X[:n_train].copy(), y[:n_train].copy(), X[n_train:], y[n_train:]
    sd = Xtr.std(0)
    honest_idx = [c for c in range(d) if roles[c] != "leak"]
    proba = cross_val_predict(LogisticRegression(max_iter=1000), Xtr[:, honest_idx], ytr, cv=5, method="predict_proba")
    p_true = proba[np.arange(n_train), ytr]
    unsure = rng.permutation(np.flatnonzero((p_true > 0.55) & (p_true < 0.9)))
    sure = rng.permutation(np.flatnonzero(p_true >= 0.9))
    n_bad = int(rng.integers(20, 41))
    kinds = rng.choice(["flip", "duplicate", "corrupt"], size=n_bad)
    n_flip = int((kinds == "flip").sum())
    n_sure = n_flip // 3
    flip_rows = [int(r) for r in [*unsure[: n_flip - n_sure], *sure[:n_sure]]]
    taken = set(flip_rows)
    free = [int(r) for r in rng.permutation(n_train) if int(r) not in taken]
    dup_rows = free[: int((kinds == "duplicate").sum())]
    corrupt_rows = free[len(dup_rows): len(dup_rows) + int((kinds == "corrupt").sum())]

    # Natural train-test nearest-neighbour distances (standardised), before duplicates exist.
    Zs = lambda A: (A - Xtr.mean(0)) / sd  # noqa: E731
    natural = np.sqrt(((Zs(Xtr)[:, None, :] - Zs(Xte)[None, :, :]) ** 2).sum(-1)).min(1)
    dup_limit = 0.5 * float(np.percentile(natural, 1))
    original_labels = {r: int(ytr[r]) for r in flip_rows}
    ytr[flip_rows] = 1 - ytr[flip_rows]
    dup_info: dict[int, Any] = {}
    for r in dup_rows:
        j = int(rng.integers(n_test))
        u = float(rng.uniform(0.02, 0.1))
        while True:
            row = Xte[j] + rng.normal(size=d) * u * sd
            dist = float(np.sqrt((((row - Xte[j]) / sd) ** 2).sum()))
            if dist < dup_limit:
                break
            u *= 0.5
        Xtr[r], ytr[r] = row, yte[j]
        dup_info[r] = {"test_row": j, "distance": dist, "limit": dup_limit}
    corrupt_info: dict[int, Any] = {}
    for r in corrupt_rows:
        corrupt_info[r] = _corrupt(rng, Xtr, r, sd, structured)
    ids = rng.permutation(100000)[: n_train + n_test]
    bad: dict[int, str] = {}
    detail: dict[str, Any] = {}
    for r in flip_rows:
        bad[int(ids[r])] = "flip"
        detail[str(int(ids[r]))] = {"original_label": original_labels[r], "p_true": float(p_true[r])}
    for r in dup_rows:
        bad[int(ids[r])] = "duplicate"
        detail[str(int(ids[r]))] = {**dup_info[r], "test_id": int(ids[n_train + dup_info[r]["test_row"]])}
    for r in corrupt_rows:
        bad[int(ids[r])] = "corrupt"
        detail[str(int(ids[r]))] = corrupt_info[r]
    return {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte, "ids": ids, "names": names, "bad": bad,
            "detail": detail, "leak": leak, "leak_info": leak_info, "roles": dict(zip(names, roles, strict=True)),
            "n_train": n_train}


def _corrupt(rng: np.random.Generator, Xtr: np.ndarray, r: int, sd: np.ndarray, structured: list[int]) -> dict[str, Any]:
    """Corrupts one entry (or two, for a swap) of row ``r`` in place; the change is >= 1.5 sd."""
    d = Xtr.shape[1]
    kind = str(rng.choice(["sentinel", "sign_flip", "unit_error", "swap", "zeroed"], p=[0.25, 0.2, 0.2, 0.15, 0.2]))
    z = np.abs(Xtr[r] - Xtr.mean(0)) / sd
    if kind != "sentinel":
        # Plausible corruptions go to columns tied to others, where they are detectable in principle.
        need = {"sign_flip": 1.5, "unit_error": 0.3, "zeroed": 2.0, "swap": 0.0}[kind]
        cols = [c for c in structured if z[c] >= need and abs(Xtr[r, c]) >= 0.75 * sd[c]]
        if kind == "swap":
            pairs = [(a, b) for a in structured for b in structured if a < b and abs(Xtr[r, a] - Xtr[r, b]) >= 1.5 * max(sd[a], sd[b])]
            if pairs:
                a, b = pairs[int(rng.integers(len(pairs)))]
                old = [float(Xtr[r, a]), float(Xtr[r, b])]
                Xtr[r, a], Xtr[r, b] = Xtr[r, b], Xtr[r, a]
                return {"kind": "swap", "columns": [a, b], "original": old, "new": [float(Xtr[r, a]), float(Xtr[r, b])]}
            kind = "sentinel"
        elif cols:
            c = int(rng.choice(cols))
            old_v = float(Xtr[r, c])
            new_v = {"sign_flip": -old_v, "unit_error": old_v * 10.0, "zeroed": 0.0}[kind]
            if abs(new_v - old_v) >= 1.5 * sd[c]:
                Xtr[r, c] = new_v
                return {"kind": kind, "columns": [c], "original": [old_v], "new": [new_v]}
            kind = "sentinel"
        else:
            kind = "sentinel"
    c = int(rng.integers(d))
    old_v = float(Xtr[r, c])
    Xtr[r, c] = float(rng.choice([-999.0, 9999.0, 1e6]))
    return {"kind": "sentinel", "columns": [c], "original": [old_v], "new": [float(Xtr[r, c])]}


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance (CSV files in workspace/, labels in protected/)."""
    with threadpool_limits(1):  # extra BLAS threads only contend on a small shared machine
        data = build(seed, int(params.get("n_train", 800)), int(params.get("n_test", 300)), int(params.get("d", 8)))
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    n = data["n_train"]
    _write_csv(out / "workspace" / "train.csv", data["ids"][:n], data["Xtr"], data["ytr"], data["names"])
    _write_csv(out / "workspace" / "test.csv", data["ids"][n:], data["Xte"], data["yte"], data["names"])
    label = {"bad": {str(k): v for k, v in data["bad"].items()}, "leak_column": data["leak"],
             "train_ids": [int(i) for i in data["ids"][:n]], "detail": data["detail"],
             "leak_info": data["leak_info"], "roles": data["roles"]}
    (out / "protected" / "label.json").write_text(json.dumps(label))
    (out / "workspace" / "answer.json").write_text(json.dumps({"answered": False, "rows": [], "leak_column": None}) + "\n")
    (out / "reference" / "answer.json").write_text(
        json.dumps({"rows": sorted(data["bad"]), "leak_column": data["leak"]}) + "\n")
    counts: dict[str, int] = {}
    for key, kind in data["bad"].items():
        sub = data["detail"][str(key)]["kind"] if kind == "corrupt" else kind
        counts[sub] = counts.get(sub, 0) + 1
    decoy = next((name for name, role in data["roles"].items() if role == "decoy"), None)
    return {"n_bad": len(data["bad"]), "kinds": counts, "leak_column": data["leak"], "decoy_column": decoy}
