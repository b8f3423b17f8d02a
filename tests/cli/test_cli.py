from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.cli.main import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("tasks", "check", "run"):
        assert command in out


def test_tasks_table_and_json(toy_tasks_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks"]) == 0
    table = capsys.readouterr().out
    assert "toy_count" in table and "mini" in table and "10m" in table
    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    toy = [r for r in rows if r["task"] == "toy_count"]
    assert {r["scale"] for r in toy} == {"mini", "full"}


def test_tasks_by_tag_lists_the_mlrb_counterparts(capsys: pytest.CaptureFixture[str]) -> None:
    """`rdbench tasks --tag mlrb` lists the ML Research Benchmark counterparts and nothing else."""
    assert main(["tasks", "--tag", "mlrb", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["task"] for r in rows}
    assert {"babylm_pairs", "pretrain_transfer", "compress_model", "train_under_cap",
            "merge_experts", "formalize_math", "finetune_budget"} <= names
    assert "optimize_kernel" not in names and all("mlrb" in r["tags"] for r in rows)


def test_user_errors_are_one_line_without_traceback(toy_tasks_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "check", "no_such_task"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "rdbench: error: no task named 'no_such_task'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "rdbench.cli.main", "run", "toy_count"],
                          capture_output=True, text=True, env={**__import__("os").environ,
                                                               "INSPECT_EVAL_MODEL": ""})
    assert proc.returncode == 2 and "give --model" in proc.stderr


def test_demo_runs_an_agent_and_prints_where_results_are(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rdbench.cli.main", "demo", "--scripted", "--budget", "3m",
         "--log-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "log: " in proc.stdout and str(tmp_path) in proc.stdout
    assert "score calls 2" in proc.stdout and "normalised" in proc.stdout
    assert list(tmp_path.glob("*.eval"))


def test_run_several_tasks_by_name_and_tag(toy_tasks_path: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from rdbench.cli.run import select_tasks

    assert select_tasks(["toy_model"], ["toy"]) == ["toy_model", "toy_count", "toy_family"]
    assert select_tasks(["toy_count", "toy_count"], ["toy"]) == ["toy_count", "toy_family"]
    with pytest.raises(ValueError, match=r"no task has this tag; tags: .*toy"):
        select_tasks([], ["nope"])
    with pytest.raises(ValueError, match="name a task"):
        select_tasks([], [])
    # toy_model needs a model role: nothing runs, and the error names the flag
    assert main(["run", "toy_count", "toy_model", "--model", "mockllm/model",
                 "--log-dir", str(tmp_path / "none")]) == 2
    assert "--model-role helper=" in capsys.readouterr().err and not (tmp_path / "none").exists()
    code = main(["run", "--tag", "toy", "--model", "mockllm/model", "--budget", "10s", "--instances", "1",
                 "--log-dir", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(list((tmp_path / "logs").glob("*.eval"))) == 2
    assert out.count("status: success") == 2 and "toy_count (epoch 1)" in out and "toy_family/10" in out


def test_tasks_rich_table_fits_the_terminal(toy_tasks_path: Path) -> None:
    """On a terminal `rdbench tasks` is a rich table no wider than it; an uncalibrated row says so
    and the caption gives the command that calibrates one."""
    import io

    from rich.console import Console

    from rdbench.cli.tasks import rich_table, rows

    table = rows(["toy"])
    assert any(r["calibrated"] is None for r in table)  # toy tasks have no calibration in this cache
    for width in (80, 140):
        out = io.StringIO()
        Console(file=out, width=width, color_system=None).print(rich_table(table, width))
        lines = out.getvalue().splitlines()
        assert lines[0].split()[:3] == ["task", "ver", "scale"] and lines[0].split()[-1] == "calibration"
        assert max(len(line) for line in lines) <= width
        assert ("scoring" in lines[0]) == (width >= 110)
        assert any("toy_count" in line and "not calibrated" in line for line in lines)
        assert "rdbench check TASK --scale SCALE" in " ".join(out.getvalue().split())


def test_check_selects_tasks_by_tag(toy_tasks_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rdbench check --tag T` checks every task with the tag (a list in --json); an unknown tag
    is one line naming the known ones."""
    assert main(["check", "--tag", "toy", "--repeats", "1", "--no-save", "--json", "--instances", "1"]) in (0, 1)
    reports = json.loads(capsys.readouterr().out)
    assert isinstance(reports, list)
    assert {"toy_count", "toy_family"} <= {r["task"] for r in reports}
    assert main(["check", "--tag", "no-such-tag"]) == 2
    assert "no task has this tag; tags:" in capsys.readouterr().err
