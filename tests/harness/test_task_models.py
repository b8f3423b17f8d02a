"""End to end: a task whose service and scorer use a model bound with Inspect's model roles, through
real Inspect, sandbox and scorer; the role's usage is the task's, not the agent's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, GenerateConfig, ModelOutput, get_model
from inspect_ai.tool import ToolChoice, ToolInfo

import rdbench
from rdbench.cli.run import print_results
from rdbench.harness.task import make_task
from tests.harness.test_e2e import MODEL, bash, call, tool_outputs


def _echo(messages: list[ChatMessage], tools: list[ToolInfo], choice: ToolChoice,
          config: GenerateConfig) -> ModelOutput:
    return ModelOutput.from_content("mockllm/helper", f"echo: {messages[-1].text}")


def test_service_and_scorer_use_the_bound_role(toy_tasks_path: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    helper = get_model("mockllm/helper", custom_outputs=_echo, memoize=False)
    script = [bash("ask --question hi; echo EXIT=$?"), call("score"),
              bash("ask --question two; ask --question three; echo EXIT=$?"),
              ModelOutput.from_content(MODEL, "done")]
    agent = get_model(MODEL, custom_outputs=script, memoize=False)
    [log] = inspect_eval(make_task("toy_model", budget="3m"), model=agent, model_roles={"helper": helper},
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "echo: Q: hi" in outputs[0] and "EXIT=0" in outputs[0]
    assert "score #0" in outputs[1] and "11" in outputs[1]
    assert "echo: Q: two" in outputs[2] and "budget exhausted" in outputs[2]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    helper_usage = record["task_models"]["helper"]
    # 2 service answers + 3 per scoring call (its budget), 2 refused by the harness in the scorer
    assert helper_usage["calls"] == 5 and helper_usage["refused"] == 2
    assert helper_usage["model"] == "mockllm/helper"
    entry = record["score_log"][0]
    assert entry["details"]["task_models"]["helper"]["calls"] == 3
    # the helper's usage is the task's: not in the agent's usage (tokens, cost, cost limits)
    assert "mockllm/helper" not in sample.model_usage and "mockllm/model" in sample.model_usage
    assert record["task_model_cost_usd"] is None  # mockllm has no price: unknown, not zero
    origin = record["provenance"]
    assert origin["rdbench"] == rdbench.__version__ and origin["task_version"] == "1"
    assert origin["environment"]["n_packages"] == 0 and origin["assets"]  # a stdlib environment
    print_results([log])
    printed = capsys.readouterr().out
    assert "task model helper (mockllm/helper): 5 calls, 2 refused" in printed


def test_run_without_the_role_fails_before_the_eval(toy_tasks_path: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "run", "toy_model", "--model",
                           "mockllm/model", "--log-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "needs a model for role 'helper'" in proc.stderr and "--model-role helper=" in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing ran
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "run", "toy_model", "--model",
                           "mockllm/model", "--model-role", "helper"], capture_output=True, text=True)
    assert proc.returncode == 2 and "is not ROLE=MODEL" in proc.stderr
