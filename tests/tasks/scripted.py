"""A mockllm-scripted agent run on a suite task, through real Inspect, the sandbox and the scorer:
the shape every task's "from the sandbox" test shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalSample
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from tests.harness.test_e2e import MODEL, tool_outputs


@dataclass
class ScriptedRun:
    """What a scripted run left: its sample, the text of each tool result in order, and the
    values of the agent's own score calls (None for an invalid one)."""

    sample: EvalSample
    outputs: list[str]
    agent_values: list[float | None]
    score_log: list[dict[str, Any]]


def run_script(task: str, script: list[ModelOutput], log_dir: Path, **task_args: Any) -> ScriptedRun:
    """Run ``task`` with a model that plays ``script`` (then says "done"); the eval must succeed."""
    model = get_model(MODEL, custom_outputs=[*script, ModelOutput.from_content(MODEL, "done")])
    [log] = inspect_eval(make_task(task, **task_args), model=model, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    assert sample.scores is not None
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    entries = list(record["score_log"])
    values = [e["value"] for e in entries if e["source"] == "agent"]
    return ScriptedRun(sample=sample, outputs=tool_outputs(sample), agent_values=values, score_log=entries)
