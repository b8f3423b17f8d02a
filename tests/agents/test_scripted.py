"""The scripted mock model: script files, per-sample turns, and its errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.tool import ToolInfo

from rdbench.agents.scripted import load_script


def test_script_steps_become_replies(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text('- bash: "ls"\n- python: "print(1)"\n- tool: score\n- tool: ask\n  args: {q: hi}\n'
                      '- say: "fine"\n')
    replies = load_script(script)
    calls = [(r.message.tool_calls or [None])[0] for r in replies]
    assert [(c.function, c.arguments) for c in calls[:4] if c] == [
        ("bash", {"command": "ls"}), ("python", {"code": "print(1)"}), ("score", {}), ("ask", {"q": "hi"})]
    assert calls[4] is None and replies[4].message.text == "fine"
    script.write_text("- run: ls\n")
    with pytest.raises(ValueError, match="step 1"):
        load_script(script)
    with pytest.raises(ValueError, match=r"missing\.yaml"):
        load_script(tmp_path / "missing.yaml")


def test_each_sample_plays_the_script_then_submits(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text('- bash: "ls"\n')
    model = get_model("script/test", script=str(script))
    bash = ToolInfo(name="bash", description="run")

    async def turn(history: list[object]) -> str:
        out = await model.generate(history, tools=[bash], config=GenerateConfig())  # type: ignore[arg-type]
        call = (out.message.tool_calls or [None])[0]
        return call.arguments["command"] if call else out.message.text

    start = [ChatMessageUser(content="task")]
    one = [*start, ChatMessageAssistant(content="x")]
    assert asyncio.run(turn(start)) == "ls"
    assert asyncio.run(turn(one)) == "submit"
    assert asyncio.run(turn([*one, ChatMessageAssistant(content="y")])) == "done"
    with pytest.raises(ValueError, match="needs its script"):
        get_model("script/other")
