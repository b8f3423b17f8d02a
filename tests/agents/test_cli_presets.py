"""The real CLIs (Codex, Claude Code, Gemini CLI, installed from npm by `make setup`) run in the bwrap
sandbox through `rdbench run` and `inspect eval`, against a scripted instant model (cli_model.py)
that answers with two shell-tool calls and then a final answer; and `--cost-limit` stops a CLI run.

Each test skips, saying why, when its CLI is not installed where the sandbox sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalSample, read_eval_log, resolve_sample_attachments

from rdbench.agents.cli import STORE_KEY
from rdbench.agents.cli_install import missing_reason
from rdbench.agents.cli_presets import PRESETS
from rdbench.cli.main import main
from rdbench.scoring.cost import DEFAULT_PRICING
from rdbench.scoring.log import STORE_KEY as SCORE_LOG_KEY
from tests.agents import cli_model
from tests.agents.cli_model import FINAL, INPUT_TOKENS, OUTPUT_TOKENS, SHELL_TOOLS

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"
TOOL_CALL_INPUT_TOKENS = 150_000
"""What a tool-call reply reports: past a 120k window, short of what each CLI assumes without one."""
WINDOW = 120_000
COMPACTION_PROMPTS = {"codex": "CONTEXT CHECKPOINT COMPACTION", "claude": "Respond with TEXT ONLY"}
"""A line of each CLI's own compaction request (tested versions). Gemini CLI compresses only at
a user turn, which a headless run of one prompt never reaches."""
NAMES = sorted(PRESETS)


@pytest.fixture(autouse=True)
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    monkeypatch.setenv("RDBENCH_PRICING", str(DEFAULT_PRICING))  # restored after --pricing
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("RDBENCH_CLITEST_LOG", str(log))
    monkeypatch.setenv("RDBENCH_CLITEST_TOOL_CALL_INPUT_TOKENS", str(TOOL_CALL_INPUT_TOKENS))
    return log


def need(name: str) -> None:
    reason = missing_reason(name)
    if reason is not None:
        pytest.skip(reason)


def requests(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def only_sample(log_dir: Path) -> EvalSample:
    [log_file] = log_dir.glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success", log.error
    assert log.samples
    return resolve_sample_attachments(log.samples[0])


def check_run(name: str, model: str, sample: EvalSample, asked: list[dict[str, Any]]) -> dict[str, Any]:
    """What every real-CLI run with the ``twice`` script must show; returns the rdbench:cli record."""
    cli = sample.store[STORE_KEY]
    preset = PRESETS[name]
    assert cli["reason"] == "exited" and cli["exit_code"] == 0, cli
    assert cli["processes_left"] == 0, cli
    assert cli["preset"] == name and cli["cli_version"] == preset.tested_version, cli
    assert cli["model"] == model  # the eval model's name, not the placeholder "inspect"
    # every request of the CLI reached the host as an Inspect model event, and only those
    events = [e for e in sample.events if e.event == "model"]
    assert len(events) == len(asked) >= 3, (len(events), asked)
    calls = [i for i, r in enumerate(asked) if r["reply"] == "tool"]
    assert len(calls) == 2 and asked[calls[0]]["shell"] in SHELL_TOOLS, asked
    for i in calls:
        assert [c.function for c in events[i].output.message.tool_calls or []] == [asked[i]["shell"]]
    # the CLI ran each call in the sandbox (`score` there logged an entry) and sent back its output
    assert [e["value"] for e in sample.store[SCORE_LOG_KEY] if e["source"] == "agent"] == [2.0, 2.0]
    results = [text for r in asked[calls[0] + 1:] for text in r["tool_results"]]
    assert any("score #0" in t for t in results) and any("score #1" in t for t in results), asked
    assert FINAL in cli["log_tail"], cli["log_tail"]
    summary = sample.messages[-1].text
    assert summary.startswith(f"[rdbench/cli] `{preset.binary}` exited with status 0"), summary
    assert sample.store["rdbench:cost"]["tokens"] == (
        2 * TOOL_CALL_INPUT_TOKENS + (len(asked) - 2) * INPUT_TOKENS + len(asked) * OUTPUT_TOKENS)
    return dict(cli)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_real_cli_through_rdbench_run(name: str, scripted: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    need(name)
    model = f"twice-{name}-run"
    code = main(["run", "toy_count", "--model", f"clitest/{model}", "--agent", "cli", "-S", f"preset={name}",
                 "--budget", "5m", "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "raw 2.0" in out, out
    preset = PRESETS[name]
    assert f"external agent {preset.binary} {preset.tested_version}: exited with status 0 after" in out
    asked = requests(scripted)
    cli = check_run(name, model, only_sample(tmp_path / "logs"), asked)
    # Inspect knows no window for this model: none is passed, and no CLI compacts at 150k tokens
    assert cli["context_window"] is None
    assert len(asked) == 3, asked


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_real_cli_through_inspect_eval(name: str, scripted: Path, tmp_path: Path) -> None:
    need(name)
    model = f"twice-{name}-eval"
    proc = subprocess.run(
        [sys.executable, cli_model.__file__, "eval", "rdbench/toy_count", "-T", "agent=cli",
         "-T", "budget=5m", "--solver", "rdbench/cli", "-S", f"preset={name}",
         "-S", f"context_window={WINDOW}", "--model", f"clitest/{model}", "--log-dir", str(tmp_path / "logs"),
         "--display", "none"],
        capture_output=True, text=True, env=dict(os.environ), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    asked = requests(scripted)
    sample = only_sample(tmp_path / "logs")
    cli = check_run(name, model, sample, asked)
    assert cli["context_window"] == WINDOW
    assert sample.scores is not None
    assert sample.scores["rdbench"].metadata["rdbench"]["agent"] == "cli"  # type: ignore[index]
    # the window reached the CLI: past it after the tool calls, Codex and Claude Code compact
    if name in COMPACTION_PROMPTS:
        compactions = [r for r in asked if COMPACTION_PROMPTS[name] in r["last"]]
        assert compactions, [r["last"][:200] for r in asked]


@pytest.mark.slow
def test_cost_limit_stops_a_cli_run(scripted: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    name = "claude"  # the quickest to start
    need(name)
    pricing = tmp_path / "prices.yaml"
    model = "loop-cost"
    pricing.write_text(f"clitest/{model}: {{input: 1.0, output: 1.0}}\n")  # $0.00101 a call
    per_call = (INPUT_TOKENS + OUTPUT_TOKENS) / 1e6
    limit = 2.5 * per_call
    os.environ.pop("RDBENCH_CLITEST_TOOL_CALL_INPUT_TOKENS")  # every call costs the same (restored)
    code = main(["run", "toy_count", "--model", f"clitest/{model}", "--agent", "cli", "-S", f"preset={name}",
                 "--budget", "5m", "--pricing", str(pricing), "--cost-limit", str(limit),
                 "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    sample = only_sample(tmp_path / "logs")
    cli = sample.store[STORE_KEY]
    assert cli["reason"] == "cost_limit" and cli["processes_left"] == 0, cli
    # calls 1-3 start below the limit ($0, $0.00101, $0.00202 < $0.002525); none after the third
    events = [e for e in sample.events if e.event == "model"]
    assert len(events) == 3, [r["reply"] for r in requests(scripted)]
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    assert record["cost_usd"] == pytest.approx(3 * per_call)
    assert sample.store["rdbench:cost"]["usd"] == pytest.approx(3 * per_call)
    assert f"cost ${3 * per_call:.4f}" in out, out
    # --cost-limit is also Inspect's cost_limit: whichever check fires first, the run ends for cost
    assert f"external agent claude {PRESETS[name].tested_version}: cost_limit" in out, out
    assert "was stopped at the cost limit" in sample.messages[-1].text
