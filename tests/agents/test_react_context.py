"""rdbench/react's context compaction (Inspect CompactionAuto with a small context window) and its
near-end budget warning, through real Inspect evals on the toy task with a scripted mockllm."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import resolve_sample_attachments
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelInfo,
    ModelOutput,
    get_model,
    set_model_info,
)
from inspect_ai.model._model_info import clear_model_info_cache
from inspect_ai.tool import ToolChoice, ToolInfo

from rdbench.agents.budget import budget_message
from rdbench.agents.react import research_agent
from rdbench.harness.task import make_task
from rdbench.scoring.log import STORE_KEY as SCORE_LOG_KEY
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"
WINDOW = 6000  # tokens; react compacts at 0.8 of it (4800)
SUMMARY = "SUMMARY-7f3a: printed big blocks of text; solution.py still returns 0."
BLOCK = "python3 -c \"print('lorem ipsum dolor ' * 250)\""  # about 750 tokens of tool output


@pytest.fixture(autouse=True)
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ensure_tiktoken_cache()
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    yield
    clear_model_info_cache()  # forget the small context window given to mockllm


def call(name: str, **args: object) -> ModelOutput:
    return ModelOutput.for_tool_call(model=MODEL, tool_name=name, tool_arguments=dict(args))


@pytest.mark.slow
def test_react_compacts_a_long_conversation(tmp_path: Path) -> None:
    set_model_info(MODEL, ModelInfo(context_length=WINDOW))
    summaries: list[int] = []
    turns: list[list[str]] = []

    def model(input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
              config: GenerateConfig) -> ModelOutput:
        if not tools:  # the compaction's summary request (it offers no tools)
            summaries.append(len(input))
            return ModelOutput.from_content(MODEL, SUMMARY)
        turns.append([m.text for m in input])
        if not any(SUMMARY in m.text for m in input):
            return call("bash", command=BLOCK)  # grow the conversation until it is compacted
        after = sum(any(SUMMARY in t for t in turn) for turn in turns)
        if after == 1:
            return call("bash", command="printf 'def answer():\\n    return 40\\n' > solution.py && score")
        return call("bash", command="submit")  # ends react's loop (no submit tool, the command)

    task = make_task("toy_count", budget=300, solver=research_agent())
    [log] = inspect_eval(task, model=get_model(MODEL, custom_outputs=model), log_dir=str(tmp_path),
                         display="none", message_limit=80)
    assert log.status == "success", log.error
    assert log.samples
    sample = resolve_sample_attachments(log.samples[0])
    assert sample.limit is None, sample.limit  # ended by `submit`, not by a limit

    compactions = [e for e in sample.events if e.event == "compaction"]
    assert len(compactions) == 1, compactions
    event = compactions[0]
    assert event.tokens_before is not None and event.tokens_before > 0.8 * WINDOW
    assert event.tokens_after is not None and event.tokens_after < event.tokens_before / 2
    assert summaries == [summaries[0]] and summaries[0] > 8  # one summary call over the long history
    # before compaction the input grew with every block; after it, the blocks are gone
    blocks_seen = [sum("lorem ipsum" in t for t in turn) for turn in turns]
    first_after = next(i for i, turn in enumerate(turns) if any(SUMMARY in t for t in turn))
    assert blocks_seen[first_after - 1] >= 4
    assert blocks_seen[first_after] == 0, blocks_seen
    assert any("Make `answer()`" in t for t in turns[first_after])  # the task itself is kept
    # the agent kept working after compaction: it wrote the answer and scored it
    assert [e["value"] for e in sample.store[SCORE_LOG_KEY]] == [2.0]


def test_budget_message_warns_past_ninety_percent() -> None:
    early = budget_message(elapsed_s=60, budget_s=600)
    assert early.startswith("[budget] time used 1.0 of 10.0 min (9.0 min left); 0 tokens used")
    assert "keep improving" in early and "WARNING" not in early
    assert "WARNING" not in budget_message(elapsed_s=539, budget_s=600)
    late = budget_message(elapsed_s=540, budget_s=600, cost_limit=2.0)
    assert "WARNING: the budget is nearly spent" in late and "keep improving" not in late
    assert "of $2.00" in late and "(1.0 min left)" in late
    assert "(0.0 min left)" in budget_message(elapsed_s=700, budget_s=600)


@pytest.mark.slow
def test_react_warns_near_the_end_and_stops_at_the_budget(tmp_path: Path) -> None:
    budget_s = 10
    task = make_task("toy_count", budget=budget_s, solver=research_agent())
    outputs = iter(lambda: call("bash", command="sleep 0.7"), None)
    [log] = inspect_eval(task, model=get_model(MODEL, custom_outputs=outputs), log_dir=str(tmp_path),
                         display="none", message_limit=200)
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    lines = [m.text for m in sample.messages if m.role == "user" and m.text.startswith("[budget]")]
    warned = ["WARNING: the budget is nearly spent" in line for line in lines]
    assert len(lines) >= 5 and not warned[0] and warned[-1], lines
    assert warned == sorted(warned), lines  # once the warning starts it stays
    # the warning comes only past 90% of the budget (minutes in the message, 0.1 min resolution)
    first = lines[warned.index(True)]
    used = float(re.search(r"time used ([0-9.]+) of", first).group(1))  # type: ignore[union-attr]
    assert used >= 0.9 * budget_s / 60 - 0.05, first
    assert sample.total_time is not None and sample.total_time < budget_s + 60
