"""Bad input never passes silently nor prints a traceback: one line, a non-zero exit, nothing run.

Through ``rdbench`` (in process) and through plain ``inspect eval`` (a subprocess: Inspect prints a
``PrerequisiteError``'s message alone)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.cli.main import main
from rdbench.scoring.cost import DEFAULT_PRICING

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"
INSPECT = str(Path(sys.executable).parent / "inspect")


@pytest.fixture(autouse=True)
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY))
    monkeypatch.setenv("RDBENCH_CACHE_DIR", str(tmp_path / "cache"))
    # `--pricing` sets $RDBENCH_PRICING for the process: setenv (not delenv, which records nothing
    # when the variable is absent) makes monkeypatch restore it after each test
    monkeypatch.setenv("RDBENCH_PRICING", str(DEFAULT_PRICING))


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rdbench: error:")]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "toy_count", "--model-role", "codemodel=mockllm/model"],
         "--model-role codemodel: toy_count at scale 'mini' has no model role 'codemodel' (its roles: none)"),
        (["run", "toy_family", "--instances", "0"], "--instances must be at least 1 (got 0)"),
        (["run", "toy_count", "--epochs", "0"], "--epochs must be at least 1 (got 0)"),
        (["run", "toy_count", "-S", "max_turns=3"],
         "agent react has no option 'max_turns' (its options: command_timeout, compaction_threshold, cost_limit)"),
        (["run", "toy_count", "--agent", "aide", "-S", "drafts=3"], "agent aide has no option 'drafts'"),
        (["run", "toy_count", "--budget", "0s"], "duration must be positive, got '0s'"),
        (["check", "toy_count", "--model-role", "codemodel=mockllm/model"], "has no model role 'codemodel'"),
        (["human", "toy_count", "--model-role", "codemodel=mockllm/model"], "has no model role 'codemodel'"),
    ],
)
def test_bad_run_options_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                                      message: str) -> None:
    log_dir = tmp_path / "logs"
    extra = ["--model", "mockllm/model", "--log-dir", str(log_dir)] if argv[0] == "run" else []
    line = one_line_error(capsys, [*argv, *extra])
    assert message in line, line
    assert not log_dir.exists()  # nothing ran


def test_cost_limit_with_an_unpriced_model_refuses_to_start(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    line = one_line_error(capsys, ["run", "toy_count", "--model", "mockllm/unpriced", "--cost-limit", "1",
                                   "--log-dir", str(log_dir)])
    assert "--cost-limit: no price for mockllm/unpriced" in line and "--pricing FILE" in line
    assert not log_dir.exists()
    # a task model without a price is refused too: every model the run uses must be priced
    prices = tmp_path / "prices.yaml"
    prices.write_text("mockllm/model: {input: 1.0, output: 1.0}\n")
    line = one_line_error(capsys, ["run", "toy_model", "--model", "mockllm/model", "--model-role",
                                   "helper=mockllm/other", "--pricing", str(prices), "--cost-limit", "1",
                                   "--log-dir", str(log_dir)])
    assert "no price for mockllm/other" in line
    assert not log_dir.exists()


def test_a_missing_pricing_file_is_an_error_not_no_prices(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDBENCH_PRICING", str(tmp_path / "prices.yml"))
    line = one_line_error(capsys, ["run", "toy_count", "--model", "mockllm/model", "--cost-limit", "1",
                                   "--log-dir", str(tmp_path / "logs")])
    assert "prices.yml: no such file" in line


def inspect_eval(tmp_path: Path, *args: str, tasks_path: Path = TOY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RDBENCH_TASKS_PATH": str(tasks_path), "COLUMNS": "400"}
    return subprocess.run([INSPECT, "eval", *args, "--model", "mockllm/model", "--log-dir", str(tmp_path / "logs"),
                           "--display", "plain"], capture_output=True, text=True, env=env, timeout=300)


def assert_one_line(proc: subprocess.CompletedProcess[str], pattern: str) -> None:
    out = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode != 0, out
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(out) == 1 and re.search(pattern, out[0]), out


@pytest.mark.parametrize(
    ("task_arg", "pattern"),
    [
        ("instances=0", r"^rdbench/toy_family: instances=0: give a positive number$"),
        ("scale=huge", r"^rdbench/toy_family: task 'toy_family' has no scale 'huge'"),
        ("scael=mini", r"^rdbench/toy_family: no task argument 'scael' \(its arguments: scale, budget"),
        ("agent_args={foo: 1}", r"^rdbench/toy_family: agent react has no option 'foo'"),
    ],
)
def test_bad_task_arguments_through_inspect_eval(tmp_path: Path, task_arg: str, pattern: str) -> None:
    proc = inspect_eval(tmp_path, "rdbench/toy_family", "-T", task_arg)
    assert_one_line(proc, pattern)
    assert not list((tmp_path / "logs").glob("*.eval"))  # nothing ran


def test_a_broken_task_through_inspect_eval(tmp_path: Path) -> None:
    broken = tmp_path / "tasks" / "broken"
    shutil.copytree(TOY / "toy_count", broken)
    spec = broken / "task.yaml"
    spec.write_text(spec.read_text().replace("name: toy_count", "name: broken")
                    .replace("direction: lower", "direction: sideways"))
    proc = inspect_eval(tmp_path, "rdbench/broken", tasks_path=broken.parent)
    assert_one_line(proc, r"^rdbench/broken: .*task\.yaml: field 'scoring\.direction'")
