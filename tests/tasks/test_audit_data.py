"""audit_data family: real instances via the materialiser, labels are real problems, anchors,
rules and the plain-code baseline."""

import csv
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import baselines

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "audit_data"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem + "_ad", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCORE = _module(TASK / "protected" / "score.py")


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    mp = pytest.MonkeyPatch()
    mp.setenv("RDBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    task = load_task(TASK)
    roots = [materialize(task, "mini", seed=s, progress=lambda _: None).root for s in range(4)]
    mp.undo()
    return roots


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
    result: dict[str, Any] = SCORE.score(ws, root / "protected", {"scale": "mini", "seed": 0})
    return result


def test_injected_problems_are_real(instances: list[Path]) -> None:
    for root in instances:
        label = json.loads((root / "protected" / "label.json").read_text())
        ids, X, _labels, _ = _read(root / "workspace" / "train.csv")
        _, Xte, _, _ = _read(root / "workspace" / "test.csv")
        pos = {int(i): n for n, i in enumerate(ids)}
        for rid, kind in label["bad"].items():
            row = X[pos[int(rid)]]
            if kind == "corrupt":
                assert np.abs(row).max() >= 999
            if kind == "duplicate":
                assert np.abs(Xte - row).max(1).min() < 0.01


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
    assert _score(root, tmp_path, {"rows": ["x"]})["value"] != _score(root, tmp_path, {"rows": ["x"]})["value"]


def test_baseline_between_anchors(instances: list[Path], tmp_path: Path) -> None:
    values = []
    for root in instances:
        ids, X, y, names = _read(root / "workspace" / "train.csv")
        _, Xte, _, _ = _read(root / "workspace" / "test.csv")
        order, leak = baselines.audit_table(X, y, Xte, names)
        values.append(_score(root, tmp_path, {"rows": [int(ids[i]) for i in order], "leak_column": leak})["value"])
    assert 0.3 < sum(values) / len(values) < 1.0
