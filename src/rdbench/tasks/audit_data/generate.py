"""audit_data instance generator: a synthetic tabular dataset with validated injected problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict


def _write_csv(path: Path, ids: np.ndarray, X: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    lines = [",".join(["id", *names, "label"])]
    lines += [",".join([str(int(i)), *(f"{v:.6g}" for v in row), str(int(t))]) for i, row, t in zip(ids, X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def build(seed: int, n_train: int, n_test: int, d: int) -> dict[str, Any]:
    """Builds the dataset and its labels; every injected problem is checked to be real."""
    rng = np.random.default_rng(seed)
    X, y = make_classification(n_samples=n_train + n_test, n_features=d, n_informative=max(2, d // 2),
                               class_sep=1.2, random_state=seed)
    names = [f"f{i}" for i in range(d)]
    leak_col: int | None = None
    if rng.random() < 0.7:
        # The leaking column is a noisy copy of the (true) target, in train and test alike; built
        # before the other problems so duplicates copy it and corruptions may hit it.
        leak_col = int(rng.integers(d))
        others = max(max(a, 1 - a) for a in (roc_auc_score(y, X[:, c]) for c in range(d) if c != leak_col))
        noise = rng.normal(size=len(y))
        for scale in (0.3, 0.15, 0.05, 0.0):  # noisy, but it must stand out from the honest features
            X[:, leak_col] = y * 2.0 - 1.0 + scale * noise
            if roc_auc_score(y, X[:, leak_col]) > max(0.95, min(others + 0.03, 0.995)):
                break
        else:
            raise RuntimeError("the leak column does not stand out; generator broken")
    Xtr, ytr, Xte, yte = X[:n_train].copy(), y[:n_train].copy(), X[n_train:], y[n_train:]
    clean_X = Xtr if leak_col is None else np.delete(Xtr, leak_col, axis=1)
    # Flip only rows a clean cross-validated model is confident about, so a flip is a real error.
    proba = cross_val_predict(LogisticRegression(max_iter=500), clean_X, ytr, cv=5, method="predict_proba")
    confident = np.flatnonzero(proba[np.arange(n_train), ytr] > 0.85)
    n_bad = int(rng.integers(20, 41))
    kinds = rng.choice(["flip", "duplicate", "corrupt"], size=n_bad)
    free = rng.permutation(n_train)
    flip_rows = [int(r) for r in rng.permutation(confident)[: int((kinds == "flip").sum())]]
    others = [int(r) for r in free if r not in set(flip_rows)]
    dup_rows = others[: int((kinds == "duplicate").sum())]
    corrupt_rows = others[len(dup_rows): len(dup_rows) + int((kinds == "corrupt").sum())]
    ytr[flip_rows] = 1 - ytr[flip_rows]
    for r in dup_rows:
        j = int(rng.integers(n_test))
        Xtr[r] = Xte[j] + rng.normal(scale=1e-3, size=d)
        ytr[r] = yte[j]
    for r in corrupt_rows:
        col = int(rng.integers(d))
        Xtr[r, col] = float(rng.choice([-999.0, 9999.0, 1e6]))
    leak = None if leak_col is None else names[leak_col]
    ids = rng.permutation(100000)[: n_train + n_test]
    bad = {int(ids[r]): k for r, k in zip(flip_rows + dup_rows + corrupt_rows,
                                          ["flip"] * len(flip_rows) + ["duplicate"] * len(dup_rows)
                                          + ["corrupt"] * len(corrupt_rows), strict=True)}
    return {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte, "ids": ids, "names": names,
            "bad": bad, "leak": leak, "n_train": n_train}


def generate(seed: int, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Writes one instance (CSV files in workspace/, labels in protected/)."""
    data = build(seed, int(params.get("n_train", 800)), int(params.get("n_test", 300)), int(params.get("d", 8)))
    for sub in ("workspace", "protected", "reference"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    n = data["n_train"]
    _write_csv(out / "workspace" / "train.csv", data["ids"][:n], data["Xtr"], data["ytr"], data["names"])
    _write_csv(out / "workspace" / "test.csv", data["ids"][n:], data["Xte"], data["yte"], data["names"])
    label = {"bad": {str(k): v for k, v in data["bad"].items()}, "leak_column": data["leak"],
             "train_ids": [int(i) for i in data["ids"][:n]]}
    (out / "protected" / "label.json").write_text(json.dumps(label))
    (out / "workspace" / "answer.json").write_text(json.dumps({"answered": False, "rows": [], "leak_column": None}) + "\n")
    (out / "reference" / "answer.json").write_text(
        json.dumps({"rows": sorted(data["bad"]), "leak_column": data["leak"]}) + "\n")
    counts: dict[str, int] = {}
    for kind in data["bad"].values():
        counts[kind] = counts.get(kind, 0) + 1
    return {"n_bad": len(data["bad"]), "kinds": counts, "leak_column": data["leak"]}
