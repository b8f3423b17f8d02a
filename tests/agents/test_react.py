"""rdbench/react on a toy task via real inspect eval: budget messages, background jobs, scoring."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from rdbench.agents.react import research_agent
from rdbench.harness.task import make_task
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"


def tool_call(name: str, **args: object) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name=name, tool_arguments=dict(args))


@pytest.fixture(scope="module")
def toy() -> Iterator[None]:
    ensure_tiktoken_cache()
    # module-scoped: set through a MonkeyPatch context, so the variable is restored afterwards
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDBENCH_TASKS_PATH", str(TOY))
        report = asyncio.run(check_task(load_task("toy_count"), repeats=1))
        assert report.ok, report.problems
        yield


def test_react_sees_budget_and_runs_background_jobs(toy: None, tmp_path: Path) -> None:
    outputs = [
        tool_call("bash_background", cmd="sleep 0.2; echo job-finished"),
        tool_call("bash", command="sleep 1"),
        tool_call("job_status", job_id="last"),
        tool_call("job_output", job_id="last"),
        tool_call("bash", command="printf 'def answer():\\n    return 22\\n' > solution.py"),
        tool_call("score"),
    ]
    def script():  # type: ignore[no-untyped-def]
        yield from outputs
        # react never ends on its own while budget remains; the message limit ends this run.
        while True:
            yield ModelOutput.from_content(MODEL, "done")

    model = get_model(MODEL, custom_outputs=script())
    task = make_task("toy_count", budget=120, solver=research_agent())
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none", message_limit=40)
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    users = [m.text for m in sample.messages if m.role == "user"]
    budget_lines = [u for u in users if u.startswith("[budget] time used")]
    assert budget_lines, users
    assert "tokens used" in budget_lines[0] and "keep improving" in budget_lines[0]
    tool_texts = [m.text for m in sample.messages if m.role == "tool"]
    job_id = tool_texts[0].strip()
    assert job_id.isdigit(), tool_texts[0]
    assert "finished rc=0" in tool_texts[2], tool_texts
    assert "job-finished" in tool_texts[3], tool_texts
    assert sample.scores
    cost = sample.store["rdbench:cost"]
    assert cost["tokens"] > 0 and cost["usd"] == 0.0  # mockllm is priced at 0 in the default table
    # the system prompt matches the tools: no submit tool, so no word of submitting
    [system] = [m.text for m in sample.messages if m.role == "system"]
    assert "submit" in system.lower() and "no submit tool" in system.lower(), system
    assert "submit the best" not in system.lower() and "bash_background" in system


def test_registered_as_rdbench_agents() -> None:
    from inspect_ai._util.registry import registry_info

    from rdbench.harness.agents import resolve_agent

    assert registry_info(resolve_agent("react")).name == "rdbench/react"
    assert registry_info(resolve_agent("aide")).name == "rdbench/aide"
