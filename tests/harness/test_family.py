"""Task families, services with budgets, hidden scores and `final` aggregation (toy_family)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.scoring.check import check_task
from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from tests.harness.test_e2e import MODEL, bash, call, tool_outputs


@pytest.fixture(autouse=True)
def toy_path(toy_tasks_path: Path) -> None:
    return None


def test_instances_are_deterministic_and_fresh_seeds_differ() -> None:
    task = load_task("toy_family")
    a = materialize(task, "mini", seed=10)
    b = materialize(task, "mini", seed=10)
    c = materialize(task, "mini", seed=11)
    assert a.root == b.root and a.metadata == b.metadata
    hidden = [json.loads((m.protected / "hidden.json").read_text())["hidden"] for m in (a, c)]
    assert a.metadata == {"seed": 10, "hidden": hidden[0]}
    assert (a.protected / "score.py").exists() and (a.protected / "oracle.py").exists()
    assert a.extra_instructions == "This is instance 10.\n"
    seeds = {json.loads((materialize(task, "mini", seed=s).protected / "hidden.json").read_text())["hidden"]
             for s in range(20)}
    assert len(seeds) > 5


def test_family_check_calibrates_over_instances() -> None:
    report = asyncio.run(check_task(load_task("toy_family"), repeats=1, instances=3))
    assert report.ok, report.problems
    assert report.instances == 3 and report.reference == 1.0 and report.starting < 1.0


def test_hidden_scores_budgeted_service_final_aggregation(tmp_path: Path) -> None:
    asyncio.run(check_task(load_task("toy_family"), repeats=1, instances=1))
    script = [
        bash("oracle --guess 50; oracle --guess 25; oracle --guess 10; echo EXIT=$?"),
        bash("echo 7 > answer.txt"),
        call("score"),
        bash("cat /home/agent/workspace/../score.py | head -1; ls /opt/rdbench/protected 2>&1"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    model = get_model(MODEL, custom_outputs=script)
    task = make_task("toy_family", instances=1)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert outputs[0].count("above") == 2 and "budget exhausted" in outputs[0] and "EXIT=3" in outputs[0]
    assert "recorded (scores are hidden for this task)" in outputs[2]
    assert "1.0" not in outputs[2] and "0." not in outputs[2]
    assert "No such file" in outputs[3]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert [e["source"] for e in record["score_log"]] == ["agent", "final"]
    assert record["chosen_entry"] == 1
    assert record["service_usage"] == {"oracle": 2}
    assert record["instance"] == "toy_family/10"
    assert log.results is not None
    metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
    assert metrics["exact_rate"] == 0.0  # the family's own metric (7 is not the hidden number)
