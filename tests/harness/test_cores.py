"""Cores owned per sample: `nproc` in concurrent samples, disjoint core sets, the scorer on them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.sandbox.api import host_cpus

MODEL = "mockllm/model"
PROBE = ("echo nproc=$(nproc); python3 -c 'import os; print(\"cores=\" + "
         "str(sorted(os.sched_getaffinity(0))))'; echo t=$(date +%s.%N)")


def scripted(steps: list[ModelOutput]) -> Callable[..., ModelOutput]:
    """A mockllm script per sample: the n-th reply of each sample is ``steps[n]`` (then "done")."""

    def reply(messages: list[ChatMessage], *_: Any) -> ModelOutput:
        turn = sum(1 for m in messages if m.role == "assistant")
        return steps[turn] if turn < len(steps) else ModelOutput.from_content(MODEL, "done")

    return reply


def bash(cmd: str) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name="bash", tool_arguments={"command": cmd})


def score() -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name="score", tool_arguments={})


def run_samples(scale: str, log_dir: Path, said: list[str]) -> list[dict[str, Any]]:
    """Two epochs of toy_cores at ``scale``, both samples allowed at once; per sample what it saw."""
    model = get_model(MODEL, custom_outputs=scripted([bash(PROBE), score(), bash("echo t=$(date +%s.%N)")]))
    task = make_task("toy_cores", scale=scale, progress=said.append)
    [log] = inspect_eval(task, model=model, epochs=2, max_samples=2, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    seen = []
    for sample in log.samples or []:
        tools = [m.text for m in sample.messages if m.role == "tool"]
        fields = dict(line.split("=", 1) for line in tools[0].splitlines() if "=" in line)
        record = sample.scores["rdbench"].metadata["rdbench"]
        [entry] = [e for e in record["score_log"] if e["source"] == "agent"]
        seen.append({"nproc": int(fields["nproc"]), "cores": json.loads(fields["cores"]),
                     "scorer_cores": entry["details"]["cores"], "began": float(fields["t"]),
                     "ended": float(tools[2].split("=", 1)[1])})
    assert len(seen) == 2
    return seen


def test_concurrent_samples_get_disjoint_cores_and_score_on_them(toy_tasks_path: Path, tmp_path: Path) -> None:
    if len(host_cpus()) < 2:
        pytest.skip(f"needs 2 cores for two 1-core samples; this process may use {host_cpus()}")
    said: list[str] = []
    first, second = run_samples("mini", tmp_path, said)  # the scale gives each run 1 core
    for sample in (first, second):
        assert sample["nproc"] == 1 and len(sample["cores"]) == 1
        assert sample["scorer_cores"] == sample["cores"]  # the scorer ran on the sample's own core
        assert set(sample["cores"]) <= set(host_cpus())
    assert not set(first["cores"]) & set(second["cores"])
    assert not any("cores per run" in line for line in said)


def test_too_few_cores_runs_one_sample_at_a_time_on_all(toy_tasks_path: Path, tmp_path: Path) -> None:
    said: list[str] = []
    first, second = sorted(run_samples("wide", tmp_path, said), key=lambda s: s["began"])  # asks 4096
    host = host_cpus()
    for sample in (first, second):
        assert sample["nproc"] == len(host) and sample["cores"] == host == sample["scorer_cores"]
    assert first["ended"] < second["began"]  # the second sample waited for the first's cores
    warnings = [line for line in said if "asks for 4096 cores per run" in line]
    assert len(warnings) == 1 and "one at a time" in warnings[0]
    make_task("toy_cores", scale="wide", progress=said.append)  # the same situation is not said again
    assert len([line for line in said if "asks for 4096 cores per run" in line]) == 1
