"""rdbench's react agent driven by a real model through the real client: llama.cpp's server with
SmolLM2-135M (offline). The model is too small to solve anything; the test checks the turns."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from rdbench.agents.localmodel import LocalModelServer, probe
from rdbench.agents.react import research_agent
from rdbench.harness.task import make_task


# timing: how many turns fit the budget depends on how fast the CPU runs the model: a turn's prompt
# (tools, instructions, budget notes) takes SmolLM2 seconds to read on 2 quiet cores and twice that
# with a core busy (one turn in 90 s was measured with other work on both cores), so `make test` runs
# it alone, after the parallel part
@pytest.mark.timing
def test_react_takes_real_model_turns(tmp_path: Path, toy_tasks_path: Path) -> None:
    with LocalModelServer() as server:
        assert probe(server) is not None
        task = make_task("toy_count", budget="90s", solver=research_agent(), agent_name="react")
        # short answers: the test is about turns, not their length
        [log] = inspect_eval(task, model=server.model, log_dir=str(tmp_path), display="none",
                             max_tokens=48)
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    model_events = [e for e in sample.events if e.event == "model"]
    print(f"{len(model_events)} model turns in 90 s")
    assert len(model_events) >= 3
    assert all("smollm2" in e.model for e in model_events)  # type: ignore[attr-defined]
    assert sum(1 for m in sample.messages if m.role == "assistant") >= 3
    budget_notes = [m.text for m in sample.messages if m.role == "user" and "[budget]" in m.text]
    assert budget_notes, "the budget message reaches the model every turn"
    assert sample.model_usage and sum(u.output_tokens for u in sample.model_usage.values()) > 0


def test_real_model_as_a_task_model() -> None:
    """The same server bound to a task's model role: a generation through the harness's gateway
    (fresh context, outside the agent's accounting) comes back with real token counts."""
    import asyncio

    from inspect_ai.model import get_model

    from rdbench.scoring.models import ModelGateway

    with LocalModelServer() as server:
        assert probe(server) is not None

        async def go() -> tuple[dict[str, object], dict[str, dict[str, object]]]:
            # memoize=False: a memoized model would keep the base URL of an earlier (stopped) server
            gateway = ModelGateway({"codemodel": get_model(server.model, memoize=False)},
                                   budgets={"codemodel": 1})
            reply = await gateway.generate({"role": "codemodel", "max_tokens": 48, "temperature": 1.0,
                                            "prompt": "Write a Python program that prints 42."})
            refused = await gateway.generate({"role": "codemodel", "prompt": "again"})
            assert refused["exit_code"] == 3
            return reply, gateway.summary()

        reply, summary = asyncio.run(go())
    assert reply["exit_code"] == 0 and str(reply["output"]).strip(), reply
    usage = summary["codemodel"]
    assert usage["calls"] == 1 and usage["refused"] == 1
    assert 0 < int(usage["output_tokens"]) <= 48 and int(usage["input_tokens"]) > 0  # type: ignore[call-overload]
