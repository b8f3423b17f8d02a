"""rdbench's react agent driven by a real model through the real client: llama.cpp's server with
SmolLM2-135M (offline). The model is too small to solve anything; the test checks the turns."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from rdbench.agents.localmodel import LocalModelServer, probe
from rdbench.agents.react import research_agent
from rdbench.harness.task import make_task

TURNS = 2


# The run ends on Inspect's turn limit, never on the clock: how many turns fit a time budget depends
# on the machine (a wall-clock version of this test failed on a fresh clone). Slow, not timed: a
# turn takes SmolLM2 seconds on two quiet cores and minutes on a loaded machine.
@pytest.mark.slow
def test_react_takes_real_model_turns(tmp_path: Path, toy_tasks_path: Path) -> None:
    with LocalModelServer() as server:
        assert probe(server) is not None
        task = make_task("toy_count", budget="30m", solver=research_agent(), agent_name="react")
        # short answers: the test is about turns, not their length
        [log] = inspect_eval(task, model=server.model, log_dir=str(tmp_path), display="none",
                             max_tokens=48, turn_limit=TURNS)
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    model_events = [e for e in sample.events if e.event == "model"]
    # Inspect records the generation that trips the limit, then ends the agent
    assert len(model_events) == TURNS + 1
    assert sample.limit is not None and sample.limit.type == "turn"  # ended by the turn limit
    assert all("smollm2" in e.model for e in model_events)  # type: ignore[attr-defined]
    assert sum(1 for m in sample.messages if m.role == "assistant") >= TURNS
    budget_notes = [m.text for m in sample.messages if m.role == "user" and "[budget]" in m.text]
    assert len(budget_notes) >= TURNS - 1, "the budget message reaches the model every turn"
    assert sample.model_usage and sum(u.output_tokens for u in sample.model_usage.values()) > 0
    # the run's end-of-run scoring still happened, and counts at the end of the run
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["score_log"][-1]["source"] == "final"


def test_real_model_as_a_task_model() -> None:
    """The same server bound to a task's model role: a generation through the harness's gateway
    (fresh context, outside the agent's accounting) comes back with real token counts."""
    import asyncio

    from inspect_ai.model import get_model
    from inspect_ai.model._model_info import get_model_input_tokens

    from rdbench.scoring.models import ModelGateway

    with LocalModelServer(n_ctx=4096) as server:
        assert probe(server) is not None
        # Inspect knows the server's real window (its default for an unknown model is 128,000), so
        # compaction can start before the server refuses a long prompt
        assert get_model_input_tokens(get_model(server.model, memoize=False)) == 4096

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
