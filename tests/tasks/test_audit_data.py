"""audit_data family: real instances via the materialiser, labels are real problems, anchors,
rules and the plain-code baseline."""

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rdbench.tasklib.assist import baselines
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "audit_data"






@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fresh_instances(TASK, tmp_path_factory.mktemp("cache"), range(4))


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    with path.open() as f:
        rows = list(csv.reader(f))
    head, body = rows[0], np.array(rows[1:], dtype=float)
    return body[:, 0].astype(int), body[:, 1:-1], body[:, -1].astype(int), head[1:-1]


def _score(root: Path, tmp: Path, answer: dict[str, Any] | None = None) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / "workspace", ws)
    if answer is not None:
        (ws / "answer.json").write_text(json.dumps(answer))
    return score_root(TASK, root, ws, seed=0)


def test_injected_problems_are_real(instances: list[Path]) -> None:
    """Every labelled row is really wrong, as read back from the CSV files the agent gets."""
    subtle = 0
    for root in instances:
        label = json.loads((root / "protected" / "label.json").read_text())
        ids, X, labels, names = _read(root / "workspace" / "train.csv")
        te_ids, Xte, _, _ = _read(root / "workspace" / "test.csv")
        pos = {int(i): n for n, i in enumerate(ids)}
        sd = Xte.std(0)  # the clean test set: same distribution, no corrupted entries
        honest = np.array([i not in {int(k) for k in label["bad"]} for i in ids])
        natural = np.sqrt((((X[honest][:, None, :] - Xte[None, :, :]) / sd) ** 2).sum(-1)).min(1)
        for rid, kind in label["bad"].items():
            row, info = X[pos[int(rid)]], label["detail"][rid]
            if kind == "flip":
                assert labels[pos[int(rid)]] != info["original_label"]
            if kind == "duplicate":
                # Much closer to its test row than honest training rows ever are to any test row.
                source = Xte[list(te_ids).index(info["test_id"])]
                gap = float(np.sqrt((((row - source) / sd) ** 2).sum()))
                assert gap < float(np.percentile(natural, 1))
            if kind == "corrupt":
                for col, old, new in zip(info["columns"], info["original"], info["new"], strict=True):
                    assert row[col] == pytest.approx(new, rel=1e-5, abs=1e-5)
                    assert abs(new - old) >= 1.5 * sd[col] * 0.8  # generator checks 1.5 sd on train
                subtle += info["kind"] != "sentinel"
                if info["kind"] != "sentinel":
                    assert label["roles"][names[info["columns"][0]]] in ("informative", "redundant")
        if label["leak_column"] is not None:
            info = label["leak_info"]
            assert label["roles"][label["leak_column"]] == "leak"
            assert info["auc"] >= info["others_auc"] + 0.02  # the leak beats all other columns together
    assert subtle > 0  # plausible-looking corruptions are part of the mix


def test_anchors_and_rules(instances: list[Path], tmp_path: Path) -> None:
    metrics = _module(TASK / "metrics.py").metrics
    ref = [_score(r, tmp_path, json.loads((r / "reference" / "answer.json").read_text())) for r in instances]
    assert all(r["value"] == 1.0 for r in ref)
    assert metrics(ref) == {"precision_at_k": 1.0, "auprc": 1.0, "leak_column_accuracy": 1.0}
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["details"]["average_precision"] == 0.0 for s in start)
    assert all(s["value"] == 0.0 for s in start)  # the "answered": false template scores 0 everywhere
    root = instances[0]
    label = json.loads((root / "protected" / "label.json").read_text())
    bad = [int(k) for k in label["bad"]]
    # Repeating one good id many times cannot inflate the ranking.
    spam = _score(root, tmp_path, {"rows": [bad[0]] * 50, "leak_column": None})
    assert spam["details"]["average_precision"] == pytest.approx(1 / len(bad))
    junk = _score(root, tmp_path, {"rows": ["x"]})
    assert junk["kind"] == "invalid" and math.isnan(junk["value"])
    assert "rows must be a list of integers" in junk["message"], junk


def test_baselines_between_anchors(instances: list[Path], tmp_path: Path) -> None:
    values: dict[str, list[float]] = {"v1": [], "v2": []}
    for root in instances:
        ids, X, y, names = _read(root / "workspace" / "train.csv")
        _, Xte, _, _ = _read(root / "workspace" / "test.csv")
        for name, solver in (("v1", baselines.audit_table_v1), ("v2", baselines.audit_table)):
            order, leak = solver(X, y, Xte, names)
            values[name].append(_score(root, tmp_path, {"rows": [int(ids[i]) for i in order], "leak_column": leak})["value"])
    for name, got in values.items():
        assert 0.1 < sum(got) / len(got) < 1.0, (name, got)
