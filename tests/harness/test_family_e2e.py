"""Each research-assistance family end to end: a mockllm agent writes the instance's perfect answer
inside the real sandbox and scores it through the real protected scorer."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.harness.task import make_task
from rdbench.task.assets import materialize
from rdbench.task.loader import load_task
from tests.harness.test_e2e import MODEL, bash, call, tool_outputs


@pytest.mark.parametrize("family", ["find_bug", "watch_run", "audit_data", "implement_spec", "report_progress",
                                    "learn_preferences", "extrapolate_intent"])  # get_it_running: tests/tasks/test_get_it_running.py
def test_family_perfect_answer_through_the_sandbox(family: str, tmp_path: Path) -> None:
    task = load_task(family)
    assert task.spec.family is not None
    seed = task.spec.family.seed
    instance = materialize(task, "mini", seed=seed)
    files = [p for p in sorted(instance.reference.rglob("*")) if p.is_file()]
    assert files, f"{family} instance has no reference answer"
    script = [bash("ls; head -c 300 answer.json 2>/dev/null; ls /opt/rdbench/protected 2>&1 | head -2")]
    for path in files:
        rel = path.relative_to(instance.reference)
        data = base64.b64encode(path.read_bytes()).decode()
        script.append(bash(f"mkdir -p $(dirname {rel}) && echo {data} | base64 -d > {rel}"))
    script += [call("score"), ModelOutput.from_content(MODEL, "done")]
    model = get_model(MODEL, custom_outputs=script)
    [log] = inspect_eval(make_task(task, instances=1, seed=seed), model=model, log_dir=str(tmp_path),
                         display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    outputs = tool_outputs(sample)
    assert "No such file" in outputs[0]  # protected data is not in the agent's sandbox
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    agent_entries = [e for e in record["score_log"] if e["source"] == "agent"]
    assert agent_entries and agent_entries[0]["value"] == pytest.approx(1.0), agent_entries
    assert record["raw_score"] == pytest.approx(1.0)
