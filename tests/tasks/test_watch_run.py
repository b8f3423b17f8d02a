"""watch_run family: real instances via the materialiser, the service's no-read-ahead rule, signed
receipts, NAB-style anchors (reference 1.0), the threshold baseline and family metrics."""

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from rdbench.tasklib.assist import baselines
from tests.tasks.modules import load_module as _module
from tests.tasks.scoring import fresh_instances, instance_label, score_root

TASK = Path(__file__).parents[2] / "src" / "rdbench" / "tasks" / "watch_run"
PARAMS = {"steps": 400, "max_advance": 50, "window": 100, "scale": "mini", "seed": 3}




SERVICE = _module(TASK / "protected" / "watch_service.py")


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fresh_instances(TASK, tmp_path_factory.mktemp("cache"), range(5))


def _score(root: Path, tmp: Path, answer: dict[str, Any] | None = None, reference: bool = False) -> dict[str, Any]:
    ws = tmp / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(root / ("reference" if reference else "workspace"), ws)
    if answer is not None:
        (ws / "answer.json").write_text(json.dumps(answer))
    result = score_root(TASK, root, ws, **PARAMS)
    return result



def _baseline_receipt(root: Path) -> str | None:
    """Drives the threshold baseline through the real service; returns its receipt."""
    state: dict[str, Any] = {}
    rows = json.loads((root / "protected" / "run.json").read_text())

    def advance(n: int) -> list[dict[str, float]]:
        before = state.get("revealed", 0)
        SERVICE.handle({"advance": str(n)}, root / "protected", PARAMS, state)
        revealed: list[dict[str, float]] = rows[before:state["revealed"]]
        return revealed

    alarm = baselines.threshold_watch(advance, 400)
    if alarm is None:
        return None
    reply = SERVICE.handle({"alarm": str(alarm[0]), "type": alarm[1]}, root / "protected", PARAMS, state)
    receipt: str = reply["output"].split("receipt: ")[1]
    return receipt


def test_windows_are_real_and_mix(instances: list[Path]) -> None:
    labels = [instance_label(r) for r in instances]
    assert {lab["fault"] is None for lab in labels} == {True, False}
    for lab in labels:
        if lab["fault"]:
            assert lab["at"] <= lab["window_start"] <= lab["at"] + 30


def test_service_refuses_read_ahead_and_signs(instances: list[Path], tmp_path: Path) -> None:
    root = next(r for r in instances if instance_label(r)["fault"])
    lab, state = instance_label(root), {}
    out = SERVICE.handle({"advance": "500"}, root / "protected", PARAMS, state)
    assert state["revealed"] == 50 and out["output"].count("\n") == 50  # capped at max_advance
    assert SERVICE.handle({"alarm": "60", "type": "stall"}, root / "protected", PARAMS, state)["exit_code"] == 1
    while state["revealed"] <= lab["window_start"]:
        SERVICE.handle({"advance": "50"}, root / "protected", PARAMS, state)
    reply = SERVICE.handle({"alarm": str(lab["at"]), "type": lab["fault"]}, root / "protected", PARAMS, state)
    receipt = reply["output"].split("receipt: ")[1]
    assert SERVICE.handle({"alarm": "1", "type": "x"}, root / "protected", PARAMS, state)["exit_code"] == 1
    good = _score(root, tmp_path, {"receipt": receipt})
    assert good["details"]["detected"] and 0.2 < good["value"] <= 1.0
    # Claiming fewer revealed steps breaks the signature.
    step, kind, revealed, mac = receipt.split(":")
    forged = _score(root, tmp_path, {"receipt": f"{step}:{kind}:{int(revealed) - 40}:{mac}"})
    assert forged["kind"] == "invalid" and math.isnan(forged["value"])
    assert "receipt signature invalid" in forged["message"], forged  # refused for the forgery


def test_anchors_baseline_and_metrics(instances: list[Path], tmp_path: Path) -> None:
    metrics = _module(TASK / "metrics.py").metrics
    ref = [_score(r, tmp_path, reference=True) for r in instances]
    assert all(r["value"] == pytest.approx(1.0) for r in ref)
    start = [_score(r, tmp_path) for r in instances]
    assert all(s["value"] == 0.0 for s, r in zip(start, instances, strict=True) if instance_label(r)["fault"])
    m = metrics(ref)
    assert m["precision"] == 1.0 and m["recall"] == 1.0 and m["median_latency_steps"] == 0.0
    assert metrics(start)["recall"] == 0.0
    assert all(s["value"] == 0.0 for s in start)  # the "answered": false template scores 0 everywhere
    base = [_score(root, tmp_path, {"receipt": _baseline_receipt(root)}) for root in instances]
    assert 0.0 < sum(b["value"] for b in base) / len(base) < 1.0
