"""rdbench/cli: an external stdlib agent in the real bwrap sandbox talks to a scripted mockllm model
through Inspect's sandbox agent bridge (real Inspect eval), scores, and is killed at its budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.agent import as_solver
from inspect_ai.log import resolve_sample_attachments
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, chain, solver
from inspect_ai.util import sandbox

from rdbench.agents.cli import STORE_KEY, cli_agent, fast_bridge_polling, resolve_command
from rdbench.harness.task import make_task
from rdbench.scoring.log import STORE_KEY as SCORE_LOG_KEY
from rdbench.tokcache import ensure_tiktoken_cache

MODEL = "mockllm/model"
TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"
SCRIPT = Path(__file__).with_name("external_agent.py")


@pytest.fixture(autouse=True)
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_tiktoken_cache()
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))


@pytest.mark.slow
def test_external_agent_calls_the_model_through_the_bridge_and_scores(tmp_path: Path) -> None:
    command = "printf 'def answer():\\n    return 40\\n' > solution.py"
    model = get_model(MODEL, custom_outputs=[
        ModelOutput.from_content(MODEL, command),
        ModelOutput.from_content(MODEL, "finished: the score is 2"),
    ])
    agent = cli_agent(command="external_agent.py", install=[str(SCRIPT)])
    task = make_task("toy_count", budget=300, solver=agent, agent_name="cli")
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert log.samples
    sample = resolve_sample_attachments(log.samples[0])  # long texts are stored as attachments

    # both model calls went through the bridge: they are Inspect model events of this sample
    calls = [e for e in sample.events if e.event == "model"]
    assert len(calls) == 2, [e.event for e in sample.events]
    first = "\n".join(m.text for m in calls[0].input)
    assert "You are a shell agent" in first and "Make `answer()` in `solution.py`" in first
    assert "`score`" in first and "`submit`" in first  # rdbench's note on the sandbox commands
    assert calls[0].output.completion == command
    second = "\n".join(m.text for m in calls[1].input)
    assert "score output: score #0" in second and "distance 2" in second, second

    # the agent's `score` command logged an entry, and the run's final score agrees
    entries = sample.store[SCORE_LOG_KEY]
    assert [e["value"] for e in entries if e["source"] == "agent"] == [2.0], entries
    assert sample.scores is not None
    record = (sample.scores["rdbench"].metadata or {})["rdbench"]
    assert record["raw_score"] == 2.0 and record["agent"] == "cli"

    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "exited" and cli["exit_code"] == 0, cli
    assert cli["killed_processes"] == 1 and cli["processes_left"] == 0, cli  # its setsid sleep
    assert "final: finished: the score is 2" in cli["log_tail"], cli["log_tail"]
    assert sample.store["rdbench:cost"]["tokens"] > 0
    assert sample.model_usage and sum(u.total_tokens for u in sample.model_usage.values()) > 0


@pytest.mark.slow
def test_submit_inside_the_sandbox_ends_the_agent(tmp_path: Path) -> None:
    model = get_model(MODEL, custom_outputs=[ModelOutput.from_content(MODEL, "true")] * 2)
    agent = cli_agent(command="external_agent.py --submit", install=[str(SCRIPT)])
    task = make_task("toy_count", budget=300, solver=agent)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "submitted" and cli["elapsed_s"] < 60, cli
    assert "submit: submitted: the run ends now" in cli["log_tail"], cli["log_tail"]
    # the script (lingering after submit) and its leftover sleep
    assert cli["killed_processes"] >= 2 and cli["processes_left"] == 0, cli
    assert [e["value"] for e in sample.store[SCORE_LOG_KEY]] == [42.0]  # `true` changed nothing


@solver
def check_agent_gone() -> Solver:
    """Runs after the cli agent, in the same sandbox: is the agent's setsid daemon dead?"""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        sbx = sandbox()
        pid = (await sbx.read_file("beat.pid")).strip()
        alive = await sbx.exec(["sh", "-c", f"kill -0 {int(pid)} 2>/dev/null && echo alive || echo dead"])
        before = len(await sbx.read_file("beat"))
        await sbx.exec(["sleep", "1"])
        after = len(await sbx.read_file("beat"))
        cmdlines = await sbx.exec(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
        assert "/proc" not in cmdlines.stderr, cmdlines.stderr
        state.store.set("test:check", {"daemon": alive.stdout.strip(), "beats_during_1s": after - before,
                                       "sleepers": cmdlines.stdout.count("sleep 1000"),
                                       "sees_itself": "cmdline" in cmdlines.stdout})
        return state

    return solve


@pytest.mark.slow
def test_agent_is_killed_at_its_budget(tmp_path: Path) -> None:
    model = get_model(MODEL)
    limit_s = 6.0
    agent = cli_agent(command="external_agent.py --hang", install=[str(SCRIPT)], time_limit_s=limit_s)
    task = make_task("toy_count", budget=300, solver=chain(as_solver(agent), check_agent_gone()))
    began = time.monotonic()
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none")
    wall = time.monotonic() - began
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "budget", cli
    assert limit_s <= cli["elapsed_s"] < limit_s + 10, cli
    # the script (bash execs it), its sleep child and the re-parented setsid daemon
    assert cli["killed_processes"] >= 3 and cli["processes_left"] == 0, cli
    assert "hanging" in cli["log_tail"]
    check = sample.store["test:check"]
    assert check == {"daemon": "dead", "beats_during_1s": 0, "sleepers": 0, "sees_itself": True}, check
    assert wall < 120, wall  # far below the 300 s budget: the kill, not the budget, ended it


def test_command_or_preset_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        resolve_command(None, None)
    with pytest.raises(ValueError, match="exactly one"):
        resolve_command("x", "codex")
    with pytest.raises(ValueError, match="unknown rdbench/cli preset"):
        resolve_command(None, "nope")
    script, env = resolve_command(None, "claude")
    assert "$RDBENCH_PROMPT_FILE" in script and env["DISABLE_AUTOUPDATER"] == "1"
    assert resolve_command("my-agent --go", None) == ("my-agent --go", {})


def test_bridge_polls_bwrap_sandboxes_fast() -> None:
    from inspect_ai.agent._bridge.sandbox import service

    # False would mean Inspect's internals changed: model calls would wait ~2 s each again
    assert fast_bridge_polling() and fast_bridge_polling()
    assert getattr(service.sandbox_service, "rdbench_fast", False)


def test_registered_as_rdbench_cli() -> None:
    from inspect_ai._util.registry import registry_info

    from rdbench.harness.agents import resolve_agent

    assert registry_info(resolve_agent("cli", command="true")).name == "rdbench/cli"
