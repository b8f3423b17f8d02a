"""The CLI's manners: per-command usage on a misspelt option, --debug, Inspect's options and
environment honoured, one line for a bad value, tracebacks kept for bugs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.cli.main import main


def rdbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rdbench.cli.main", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def test_misspelt_option_prints_the_commands_usage_and_a_suggestion() -> None:
    proc = rdbench("run", "toy_count", "--modle", "mockllm/model", "--budgt", "1m")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Usage: rdbench run [OPTIONS] [TASK]..."), proc.stderr  # not the top level's
    assert "No such option '--modle'" in proc.stderr and "'--model'" in proc.stderr
    proc = rdbench("tasks", "--jsno")
    assert proc.returncode == 2 and "Usage: rdbench tasks" in proc.stderr and "Did you mean '--json'?" in proc.stderr
    proc = rdbench("chekc", "find_bug")
    assert proc.returncode == 2 and "No such command 'chekc'" in proc.stderr


def test_version_and_debug_flag(toy_tasks_path: Path) -> None:
    from rdbench import __version__

    proc = rdbench("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"rdbench {__version__}"
    bad = ("run", "toy_count", "--model", "mockllm/model", "--budget", "3 fortnights")
    plain = rdbench(*bad)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == [
        "rdbench: error: '3 fortnights' is not a duration; write e.g. '2h', '30m', '90min', '1h30m', "
        "'2 hours', '45s' or seconds"]
    for debug in (rdbench("--debug", *bad), rdbench(*bad, "--debug"), rdbench(*bad, env={"RDBENCH_DEBUG": "1"})):
        assert debug.returncode == 1 and "Traceback" in debug.stderr, debug.stderr
        assert "rdbench.errors.UserError: '3 fortnights' is not a duration" in debug.stderr


def test_a_bug_keeps_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A ValueError that is not a UserError (numpy's, pydantic's, a library's) is a bug: never
    turned into a one-line 'user error'; a UserError is."""
    from rdbench.cli.common import guarded
    from rdbench.errors import UserError

    def bug(args: object) -> int:
        raise ValueError("operands could not be broadcast together")

    def mistake(args: object) -> int:
        raise UserError("--budget must be positive")

    with pytest.raises(ValueError, match="broadcast"):
        guarded(bug)(object())
    assert guarded(mistake)(object()) == 2
    assert capsys.readouterr().err == "rdbench: error: --budget must be positive\n"


def test_inspect_log_dir_and_passed_options(toy_tasks_path: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """$INSPECT_LOG_DIR is the default log folder; --limit and -G reach Inspect's eval."""
    from inspect_ai.log import read_eval_log

    logs = tmp_path / "from-env"
    monkeypatch.setenv("INSPECT_LOG_DIR", str(logs))
    assert main(["run", "toy_family", "--model", "mockllm/model", "--budget", "10s", "--instances", "3",
                 "--limit", "1", "-G", "temperature=0.25", "-G", "max_tokens=77", "--display", "none"]) == 0
    [log_file] = list(logs.glob("*.eval"))
    log = read_eval_log(str(log_file))
    assert log.samples is not None and len(log.samples) == 1  # --limit 1 of 3 instances
    assert log.eval.config.limit == 1
    assert log.plan.config.temperature == 0.25 and log.plan.config.max_tokens == 77


@pytest.mark.parametrize(("args", "message"), [
    (["-G", "temprature=0.2"], "-G temprature: not a generation setting"),
    (["-G", "max_tokens=lots"], "-G: "),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--slurm", "--limit", "2"], "--limit: not passed to Slurm jobs"),
])
def test_bad_inspect_options_are_one_line(args: list[str], message: str, toy_tasks_path: Path,
                                          tmp_path: Path) -> None:
    proc = rdbench("run", "toy_count", "--model", "mockllm/model", "--log-dir", str(tmp_path / "l"), *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"rdbench: error: {message}"), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "l").exists()


def test_tasks_by_tag(toy_tasks_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["tasks", "--tag", "toy", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("toy" in r["tags"] for r in rows)
    assert {r["task"] for r in rows} >= {"toy_count", "toy_family"}
    assert main(["tasks", "--tag", "rebench", "--json"]) == 0
    assert not {r["task"] for r in json.loads(capsys.readouterr().out)} & {"toy_count", "toy_family"}
    assert main(["tasks", "--tag", "no-such-tag"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rdbench: error: no task has tag no-such-tag; tags: ") and "rebench" in err


def _complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What the shell would be offered after ``words`` (click's bash protocol)."""
    parts = words.split(" ")
    proc = rdbench(env={"_RDBENCH_COMPLETE": "bash_complete", "COMP_WORDS": words,
                        "COMP_CWORD": str(len(parts) - 1), **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]


def test_shell_completion_of_commands_options_and_task_names(toy_tasks_path: Path) -> None:
    assert _complete("rdbench ch") == ["check"]
    assert set(_complete("rdbench run --model-")) == {"--model-arg", "--model-role"}
    assert _complete("rdbench check toy_cou") == ["toy_count"]  # task names from the search path
    assert "toy_family" in _complete("rdbench run toy_")


def test_completion_script_loads_in_bash(tmp_path: Path) -> None:
    """`rdbench completion bash` is a script bash accepts, and it registers rdbench's completion."""
    proc = rdbench("completion", "bash")
    assert proc.returncode == 0 and "_RDBENCH_COMPLETE=bash_complete" in proc.stdout
    script = tmp_path / "rdbench.bash"
    script.write_text(proc.stdout)
    shell = subprocess.run(["bash", "-c", f"source {script} && complete -p rdbench"], capture_output=True,
                           text=True)
    assert shell.returncode == 0 and "rdbench" in shell.stdout, shell.stderr
    for other in ("zsh", "fish"):
        assert rdbench("completion", other).stdout.strip()
    assert rdbench("completion", "tcsh").returncode == 2


def test_help_groups_passed_through_and_slurm_options() -> None:
    text = rdbench("run", "--help").stdout
    inspect_part = text.split("Inspect's options, passed through")[1]
    assert "--limit" in inspect_part and "--sample-id" in inspect_part and "-G, --generate" in inspect_part
    assert "--slurm" in text.split("Slurm (many machines")[1]
    assert "--limit" not in text.split("Inspect's options")[0]  # listed once, under its heading
    assert "[env var: INSPECT_LOG_DIR; default: logs]" in " ".join(text.split())
