"""rdbench/cli: an external stdlib agent in the real bwrap sandbox talks to a scripted mockllm model
through Inspect's sandbox agent bridge (real Inspect eval), scores, and is killed at its budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.agent import as_solver
from inspect_ai.log import read_eval_log, resolve_sample_attachments
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, chain, solver
from inspect_ai.util import sandbox

from rdbench._extras import MissingExtraError
from rdbench.agents.cli import (
    STORE_KEY,
    cli_agent,
    command_text,
    fast_bridge_polling,
    install_paths,
    require_bridge_packages,
    resolve_command,
)
from rdbench.agents.cli_presets import PRESETS
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
    script, preset = resolve_command(None, "claude")
    assert preset is not None and preset.env["DISABLE_AUTOUPDATER"] == "1"
    assert "$RDBENCH_PROMPT_FILE" in script and "$RDBENCH_MODEL" in script
    assert resolve_command("my-agent --go", None) == ("my-agent --go", None)


def test_inspect_comma_lists_are_joined_back_and_other_values_rejected() -> None:
    # `inspect eval -S command='echo a, b,c'` hands the agent ['echo a', ' b', 'c']
    assert command_text(["echo a", " b", "c"]) == "echo a, b,c"
    assert resolve_command(["printf '%s' x", "y"], None) == ("printf '%s' x,y", None)
    for bad in [42, ["a", 1], [], {"a": 1}]:
        with pytest.raises(ValueError, match="must be a bash command line"):
            command_text(bad)
    assert install_paths("/opt/tool") == ["/opt/tool"] and install_paths(["/a", "/b"]) == ["/a", "/b"]
    assert install_paths(None) == []
    with pytest.raises(ValueError, match="install= must be a host path"):
        install_paths(7)
    with pytest.raises(ValueError, match="context_window= must be a positive number of tokens"):
        cli_agent(preset="codex", context_window="lots")  # type: ignore[arg-type]


def test_presets_point_each_cli_at_the_proxy_with_the_model_and_window() -> None:
    import tomllib

    codex = PRESETS["codex"].setup("http://localhost:13131", "gpt-5", 272_000)
    config = tomllib.loads(codex.home_files[".codex/config.toml"])
    assert config["model_provider"] == "rdbench" and config["model_context_window"] == 272_000
    assert config["model_providers"]["rdbench"] == {
        "name": "rdbench (Inspect agent bridge)", "base_url": "http://localhost:13131/v1",
        "env_key": "OPENAI_API_KEY", "wire_api": "responses"}
    assert "model_context_window" not in tomllib.loads(
        PRESETS["codex"].setup("http://x", "m", None).home_files[".codex/config.toml"])

    claude = PRESETS["claude"].setup("http://x", "claude-sonnet-4-0", 200_000)
    assert claude.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "200000"
    assert claude.env["ANTHROPIC_SMALL_FAST_MODEL"] == "claude-sonnet-4-0"
    small = PRESETS["claude"].setup("http://x", "smollm2", 8_192)  # Claude Code's floor is 100k
    assert small.env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "100000"
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in PRESETS["claude"].setup("http://x", "m", None).env

    gemini = json.loads(PRESETS["gemini"].setup("http://x", "m", 131_072).home_files[".gemini/settings.json"])
    assert gemini["security"]["auth"]["selectedType"] == "gemini-api-key"
    # compresses at half of the real window: 0.5 * 131072 tokens of its assumed 1,048,576
    assert gemini["model"]["compressionThreshold"] * 1_048_576 == pytest.approx(65_536, abs=1)
    for preset in PRESETS.values():
        assert preset.npm_spec == f"{preset.npm_package}@{preset.tested_version}"
        assert '"$RDBENCH_MODEL"' in preset.command and "$RDBENCH_PROMPT_FILE" in preset.command


def test_a_missing_bridge_package_is_one_line_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "anthropic" else real(name, *a))
    from rdbench.errors import UserError

    with pytest.raises(MissingExtraError) as caught:
        require_bridge_packages(PRESETS["claude"])
    assert isinstance(caught.value, UserError) and caught.value.extra == "cli-agents"  # one line in the CLI
    message = str(caught.value)
    assert "\n" not in message and "anthropic" in message and "rdbench[cli-agents]" in message
    require_bridge_packages(PRESETS["codex"])  # openai is there


def test_bridge_polls_bwrap_sandboxes_fast() -> None:
    from inspect_ai.agent._bridge.sandbox import service

    # False would mean Inspect's internals changed: model calls would wait ~2 s each again
    assert fast_bridge_polling() and fast_bridge_polling()
    assert getattr(service.sandbox_service, "rdbench_fast", False)


def test_registered_as_rdbench_cli() -> None:
    from inspect_ai._util.registry import registry_info

    from rdbench.harness.agents import resolve_agent

    assert registry_info(resolve_agent("cli", command="true")).name == "rdbench/cli"


LIMIT_S = 20


@pytest.mark.slow
@pytest.mark.timing  # runs alone: the sandbox and the bridge must be up well within the limit
def test_inspects_working_limit_cuts_the_run_and_the_record_is_kept(tmp_path: Path) -> None:
    # rdbench's own budget (300 s) is far off: Inspect's working limit fires first and cancels the
    # sample, which used to lose the record, the output tail and the summary. The limit counts
    # from the sample's start, so it leaves room for the sandbox and the bridge to start (about 7 s
    # on the loaded 2-core machine) before the agent hangs.
    agent = cli_agent(command="external_agent.py --hang", install=[str(SCRIPT)])
    task = make_task("toy_count", budget=300, solver=agent)
    [log] = inspect_eval(task, model=get_model(MODEL), log_dir=str(tmp_path), display="none",
                         working_limit=LIMIT_S)
    assert log.status == "success", log.error
    assert log.samples
    sample = log.samples[0]
    assert sample.limit is not None and sample.limit.type == "working", sample.limit
    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "budget" and cli["inspect_limit"]["type"] == "working", cli
    assert cli["inspect_limit"]["limit"] == LIMIT_S and 0 < cli["elapsed_s"] < LIMIT_S, cli
    assert "hanging" in cli["log_tail"], cli
    # the script, its sleep child and the re-parented setsid daemon
    assert cli["killed_processes"] >= 3 and cli["processes_left"] == 0, cli
    summary = sample.messages[-1].text
    assert summary.startswith("[rdbench/cli] `external_agent.py` was stopped at Inspect's working-time "
                              f"limit ({LIMIT_S} s)") and "hanging" in summary, summary
    assert sample.scores is not None and "rdbench" in sample.scores  # and the run was scored


@pytest.mark.slow
def test_inspects_token_limit_on_a_bridged_call_keeps_the_record(tmp_path: Path) -> None:
    model = get_model(MODEL, custom_outputs=[ModelOutput.from_content(MODEL, "true")] * 3)
    agent = cli_agent(command="external_agent.py", install=[str(SCRIPT)])
    task = make_task("toy_count", budget=300, solver=agent)
    [log] = inspect_eval(task, model=model, log_dir=str(tmp_path), display="none", token_limit=50)
    assert log.samples
    sample = log.samples[0]
    assert sample.limit is not None and sample.limit.type == "token", sample.limit
    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "limit" and cli["inspect_limit"]["type"] == "token", cli
    assert cli["processes_left"] == 0, cli
    assert "was stopped by Inspect's token limit (50)" in sample.messages[-1].text


@pytest.mark.slow
def test_comma_in_command_and_a_folder_install_through_inspect_eval(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    tool = tmp_path / "mytool"
    (tool / "bin").mkdir(parents=True)
    (tool / "lib").mkdir()
    (tool / "lib" / "greeting.txt").write_text("hello from the tool's own folder")
    script = tool / "bin" / "mytool"
    script.write_text('#!/bin/sh\ncat "$(dirname "$0")/../lib/greeting.txt"; echo\nprintf "arg:%s\\n" "$@"\n')
    script.chmod(0o755)
    command = "mytool 'a,b' c,d"  # Inspect splits -S values at commas: ['mytool \'a', "b' c", 'd']
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "inspect"), "eval", "rdbench/toy_count", "-T", "agent=cli",
         "--solver", "rdbench/cli", "-S", f"command={command}", "-S", f"install={tool}",
         "--model", MODEL, "--log-dir", str(tmp_path / "logs"), "--display", "none"],
        capture_output=True, text=True, env={**os.environ, "RDBENCH_TASKS_PATH": str(TOY)}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [log_file] = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success" and log.samples, log.error
    cli = log.samples[0].store[STORE_KEY]
    assert cli["command"] == command and cli["reason"] == "exited" and cli["exit_code"] == 0, cli
    assert "hello from the tool's own folder\narg:a,b\narg:c,d\n" in cli["log_tail"], cli["log_tail"]
