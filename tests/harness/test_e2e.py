"""End to end: a mockllm-scripted agent on a toy task, through real Inspect, sandbox and scorer."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task

MODEL = "mockllm/model"


def bash(cmd: str) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name="bash", tool_arguments={"command": cmd})


def call(tool: str) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name=tool, tool_arguments={})


def run_scripted(outputs: list[ModelOutput], log_dir: Path, **task_args: object):  # type: ignore[no-untyped-def]
    model = get_model(MODEL, custom_outputs=[*outputs, ModelOutput.from_content(MODEL, "done")])
    task = make_task("toy_count", **task_args)  # type: ignore[arg-type]
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    assert log.samples
    return log, log.samples[0]


def tool_outputs(sample) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in sample.messages if m.role == "tool"]


@pytest.fixture(scope="module")
def calibrated() -> Iterator[None]:
    # module-scoped: set through a MonkeyPatch context, so the variable is restored afterwards
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDBENCH_TASKS_PATH", str(Path(__file__).parent / "toy_tasks"))
        report = asyncio.run(check_task(load_task("toy_count"), repeats=1))
        assert report.ok, report.problems
        assert report.starting == 42 and report.reference == 2
        yield


def test_agent_improves_and_scores(calibrated: None, tmp_path: Path) -> None:
    _log, sample = run_scripted(
        [
            bash("cat /home/agent/score.py | head -3; whoami; pwd"),
            bash("ls -la /opt/rdbench/protected /home/agent/protected 2>&1; "
                 "cat /opt/rdbench/protected/secret.txt 2>&1; find / -name secret.txt 2>/dev/null | head"),
            bash("printf 'def answer():\\n    return 22\\n' > solution.py"),
            call("score"),
            bash("touch crash"),
            call("score"),
            bash("rm crash; printf 'def answer():\\n    return 12\\n' > solution.py"),
            call("score"),
            call("score_log"),
            bash("printf 'def answer():\\n    return \"x\"\\n' > solution.py"),
            call("score"),
            bash("ls -a; cat scorer_wrote_this 2>&1"),
        ],
        tmp_path,
    )
    outputs = tool_outputs(sample)
    assert "Scorer of the toy task" in outputs[0] and "agent" in outputs[0] and "/home/agent/workspace" in outputs[0]
    assert "hidden secret" not in outputs[1]
    assert "score #0" in outputs[3] and "20" in outputs[3]
    # a scorer that raises is the scorer's fault: shown as a scorer error, not as the agent's invalid
    assert "scorer error" in outputs[5] and "asked to crash" in outputs[5] and "invalid" not in outputs[5]
    assert "score #2" in outputs[7] and ": 30 " in outputs[7].replace("30 —", "30 ")
    assert "score #3" in outputs[10] and "invalid" in outputs[10] and "must return a number" in outputs[10]
    record = sample.scores["rdbench"].metadata["rdbench"]
    values = [e["value"] for e in record["score_log"]]
    assert values == [20.0, None, 30.0, None]
    assert [e["kind"] for e in record["score_log"]] == ["scored", "scorer_error", "scored", "invalid"]
    assert record["raw_score"] == 20.0
    # normalised with the toy calibration (42 -> 2): (20 - 42) / (2 - 42)
    assert record["normalised_score"] == pytest.approx(22 / 40)
    assert sample.scores["rdbench"].value == pytest.approx(22 / 40)
    assert record["integrity"]["ok"] is True
    assert record["cost_usd"] == 0.0  # priced from the pricing table (mockllm is free)
    # the scorer's writes stay in its snapshot: after three scorings that wrote a file into the
    # workspace they saw, the agent's listing has its own files and not that one
    listing = outputs[11]
    assert "solution.py" in listing and "rules.txt" in listing
    assert "scorer_wrote_this: No such file" in listing and "\nscorer_wrote_this\n" not in listing


def test_never_scored_gets_final_scoring_and_tamper_is_flagged(calibrated: None, tmp_path: Path) -> None:
    _, sample = run_scripted([bash("echo changed >> rules.txt")], tmp_path)
    record = sample.scores["rdbench"].metadata["rdbench"]
    assert [e["source"] for e in record["score_log"]] == ["final"]
    assert record["integrity"] == {"ok": False, "changed": ["rules.txt"]}
    assert record["raw_score"] is None and math.isnan(sample.scores["rdbench"].value)
    assert "protected files changed" in sample.scores["rdbench"].explanation


def test_scorer_children_cannot_read_protected(calibrated: None, tmp_path: Path) -> None:
    _, sample = run_scripted(
        [bash("printf 'cat \"$1\"/secret.txt 2>&1; ls -la \"$1\" 2>&1' > probe.sh"), call("score")],
        tmp_path,
    )
    record = sample.scores["rdbench"].metadata["rdbench"]
    details = record["score_log"][0]["details"]
    assert details["secret_seen_by_scorer"] == "hidden secret 1234"  # the scorer itself can read it
    assert "hidden secret" not in details["probe"]  # the agent's code, run by the scorer, cannot


def test_scorer_children_leave_nothing_running(calibrated: None, tmp_path: Path) -> None:
    """A daemon started by the agent's code (setsid, double fork) dies with the scorer's child."""
    daemon = ("(setsid sh -c \"while true; do echo . >> $2/heartbeat; sleep 0.1; done\" >/dev/null 2>&1 &); "
              "sleep 0.5")
    _, sample = run_scripted(
        [bash(f"printf '%s\\necho started\\n' '{daemon}' > probe.sh; touch watch_daemon; cat probe.sh"),
         call("score")],
        tmp_path,
    )
    record = sample.scores["rdbench"].metadata["rdbench"]
    details = record["score_log"][0]["details"]
    assert details["probe"].strip() == "started"
    assert details["daemon_alive"] is False
    # the daemon did run (it wrote its heartbeat) before the probe's sandbox ended and killed it
    assert details["heartbeat_bytes"] > 0


def test_commands_inside_the_sandbox_reach_the_same_service(calibrated: None, tmp_path: Path) -> None:
    _, sample = run_scripted(
        [
            bash("printf 'def answer():\\n    return 40\\n' > solution.py && score; echo EXIT=$?"),
            bash("score-log; status"),
            bash("hostcall nonsense; echo EXIT=$?"),
        ],
        tmp_path,
    )
    outputs = tool_outputs(sample)
    assert "score #0" in outputs[0] and ": 2 " in outputs[0].replace("2 —", "2 ") and "EXIT=0" in outputs[0]
    assert "score #0" in outputs[1] and "left of 10m" in outputs[1]
    assert "unknown command 'nonsense'" in outputs[2] and "EXIT=127" in outputs[2]
    record = sample.scores["rdbench"].metadata["rdbench"]
    assert [e["value"] for e in record["score_log"]] == [2.0]
    assert record["normalised_score"] == pytest.approx(1.0)


def test_inspect_eval_cli_runs_a_registered_task(calibrated: None, tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "RDBENCH_TASKS_PATH": str(Path(__file__).parent / "toy_tasks")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "inspect"), "eval", "rdbench/toy_count",
         "--model", MODEL, "-T", "budget=15s", "--log-dir", str(tmp_path), "--display", "none"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    [info] = list_eval_logs(str(tmp_path))
    log = read_eval_log(info)
    assert log.eval.task == "toy_count" and log.eval.task_registry_name == "rdbench/toy_count"
    record = log.samples[0].scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["time_budget_s"] == 15
    assert record["agent"] == "react"  # the registered default: rdbench's research agent
    assert record["score_log"][-1]["source"] == "final"
    assert record["raw_score"] == 42.0


def test_the_agent_and_model_that_ran_are_recorded(calibrated: None, tmp_path: Path) -> None:
    """A solver given to the eval replaces the task's: the record and the report name the one that
    ran (not the task's default), with the model; the end-of-run scoring counts at the run's end."""
    from inspect_ai.solver import generate

    from rdbench.analysis.data import read_inspect_log

    model = get_model(MODEL, custom_outputs=[ModelOutput.from_content(MODEL, "no tools for me")])
    [log] = inspect_eval(make_task("toy_count", budget="20s"), solver=generate(), model=model,
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success" and log.samples
    record = log.samples[0].scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["agent"] == "inspect_ai/generate" and record["agent_options"] == {}
    assert record["model"] == "mockllm/model" and record["machine"]["fingerprint"]
    [final] = record["score_log"]
    assert final["source"] == "final" and final["value"] == 42.0  # the starting solution: normalised 0
    [run] = read_inspect_log(Path(log.location))
    assert run.identity == "inspect_ai/generate · mockllm/model" and run.task == "toy_count v1"
    assert run.points[0].elapsed_s <= 20.0 and run.points[0].score == 0.0
