"""find_bug family: instances through the real materialiser, scorer anchors, rules, metrics."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from rdbench.tasklib.assist import baselines
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "find_bug"
SEEDS = [12, 20, 5, 4]  # seq causal-mask bug, sk test-leak bug, sk clean, mlp bug




@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("RDBENCH_CACHE_DIR", str(cache))
    mp.setenv("RDBENCH_ASSIST_CACHE", str(cache / "assist"))
    task = load_task(TASK)
    # Seeds picked to cover every script kind, buggy and clean (asserted below).
    roots = [materialize(task, "mini", seed=s, progress=lambda _: None).root for s in SEEDS]
    mp.undo()
    return roots


def _score(root: Path, tmp: Path, overlay: dict[str, str] | None = None, reference: bool = False) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / "workspace", ws)
    if reference:
        shutil.copytree(root / "reference", ws, dirs_exist_ok=True)
    for name, text in (overlay or {}).items():
        (ws / name).write_text(text)
    return score_root(TASK, root, ws, seed=1)


def test_instances_deterministic_and_mixed(instances: list[Path], tmp_path: Path) -> None:
    labels = [json.loads((r / "protected" / "label.json").read_text()) for r in instances]
    assert {lab["buggy"] for lab in labels} == {True, False}
    assert {lab["script_kind"] for lab in labels} == {"mlp", "seq", "sk"}
    assert any(lab["type"] == "causal_mask_off_by_one" for lab in labels)
    gen = _module(TASK / "generate.py")
    again = gen.generate(SEEDS[-1], tmp_path / "again", {})
    assert again["lines"] == labels[-1]["lines"] and again["type"] == labels[-1]["type"]
    for root, lab in zip(instances, labels, strict=True):
        source = (root / "workspace" / "train.py").read_text()
        assert source.count("\n") > 20 and "test_logloss" in source
        if lab["buggy"]:
            lo, hi = min(lab["clean_metrics"]), max(lab["clean_metrics"])
            assert all(not lo - 0.02 <= m <= hi + 0.02 for m in lab["mutant_metrics"])
            clean = (root / "reference" / "train.py").read_text()
            assert clean != source and lab["lines"][0] <= source.count("\n")


@pytest.mark.slow
def test_reference_scores_one_and_start_scores_low(instances: list[Path], tmp_path: Path) -> None:
    # The reference answers everywhere; its repair (the clean script) re-run on the causal-mask
    # instance only: each re-run imports torch 3 times, the other kinds' repairs run in the benchmark.
    ref = [_score(r, tmp_path, reference=True) if i == 0 else
           _score(r, tmp_path, {"answer.json": (r / "reference" / "answer.json").read_text()})
           for i, r in enumerate(instances)]
    start = [_score(r, tmp_path) for r in instances]
    assert all(r["value"] == 1.0 for r in ref)
    assert ref[0]["details"]["truth_type"] == "causal_mask_off_by_one" and ref[0]["details"]["repaired"] is True
    m = _module(TASK / "metrics.py").metrics(ref)
    assert m["detection_f1"] == 1.0 and m["localisation_top1"] == 1.0 and m["type_accuracy"] == 1.0
    # The starting answer ("clean") scores 0 on every buggy instance.
    assert all(s["value"] == 0.0 for s in start if s["details"]["truth_buggy"])
    assert _module(TASK / "metrics.py").metrics(start)["detection_f1"] == 0.0
    assert all(s["value"] == 0.0 for s in start)  # the "answered": false template scores 0 everywhere


def test_rules_bite(instances: list[Path], tmp_path: Path) -> None:
    root = instances[1]  # the scikit-learn instance: its re-runs skip torch's import
    label = json.loads((root / "protected" / "label.json").read_text())
    wrong_line = max(label["lines"]) + 5
    partial = _score(root, tmp_path, {"answer.json": json.dumps(
        {"buggy": True, "lines": [wrong_line], "type": label["type"]})})
    assert partial["value"] == pytest.approx(2 / 3)
    assert _score(root, tmp_path, {"answer.json": "not json"})["kind"] == "invalid"
    assert _score(root, tmp_path)["kind"] == "scored"
    # A "fix" that leaves the bug in place is not a repair.
    right = json.dumps({"buggy": True, "lines": label["lines"][:1], "type": label["type"]})
    broken = _score(root, tmp_path, {"answer.json": right,
                                     "train.py": (root / "workspace" / "train.py").read_text() + "\n# touched\n"})
    assert broken["details"]["repaired"] is False
    ws = tmp_path / "ws"
    (ws / "answer.json").unlink()
    (ws / "answer.json").symlink_to(root / "reference" / "answer.json")
    linked = score_root(TASK, root, ws, seed=0)
    assert linked["kind"] == "invalid" and "links are refused" in linked["message"]


def test_lint_baselines_between_anchors(instances: list[Path], tmp_path: Path) -> None:
    for lint in (baselines.lint_find_bug, baselines.lint_find_bug_v1):
        results = [_score(r, tmp_path, {"answer.json": json.dumps(lint(
            (r / "workspace" / "train.py").read_text()))}) for r in instances]
        mean = sum(r["value"] for r in results) / len(results)
        assert 0.0 < mean < 1.0, lint.__name__


def test_a_hidden_score_call_does_the_same_work_whatever_the_label(instances: list[Path], tmp_path: Path) -> None:
    """Issue 12, class 4: scores are hidden, so a call must not tell the label by its duration. The same
    submission (an edited train.py) makes the scorer run the same agent code on a buggy and on a clean
    instance (it used to re-run train.py for buggy ones only)."""
    labels = [json.loads((r / "protected" / "label.json").read_text())["buggy"] for r in instances]
    buggy, clean = instances[labels.index(True)], instances[labels.index(False)]
    work = []
    for root in (buggy, clean):
        edited = (root / "workspace" / "train.py").read_text() + "\n# looked at\n"
        result = _score(root, tmp_path, {"train.py": edited, "answer.json": json.dumps({"buggy": False})})
        work.append(result["details"]["scorer_work"]["untrusted_runs"])
    assert work == [3, 3], work
