"""Progress bars: on a terminal, long work shows a bar with its steps and the time elapsed; in a
pipe, or with RDBENCH_PROGRESS=0, only the plain lines (CI logs stay readable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect

RDBENCH = [sys.executable, "-m", "rdbench.cli.main"]


def _in_terminal(args: list[str], env: dict[str, str]) -> str:
    """The command's output as a terminal shows it (a real pty, 160 columns)."""
    # COLUMNS as a shell in that terminal has it (pytest's own workers may carry another)
    terminal = {"TERM": "xterm", "COLUMNS": "160", "LINES": "40"}
    child = pexpect.spawn(RDBENCH[0], [*RDBENCH[1:], *args], env={**os.environ, **terminal, **env},
                          dimensions=(40, 160), encoding="utf-8", timeout=600)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def _runs_csv(tmp_path: Path) -> tuple[Path, Path]:
    runs = tmp_path / "runs.csv"
    rows = ["run_id,agent,task,elapsed_s,score"] + [f"r{i},react,toy_count,{60 * (i + 1)},{0.1 * i}" for i in range(4)]
    runs.write_text("\n".join(rows) + "\n")
    calibrations = tmp_path / "calibrations.csv"
    calibrations.write_text("task,direction,transform,starting,reference\ntoy_count,higher,none,0,1\n")
    return runs, calibrations


def test_report_shows_a_bar_on_a_terminal_and_lines_elsewhere(tmp_path: Path) -> None:
    runs, calibrations = _runs_csv(tmp_path)
    args = ["report", str(runs), "--calibrations", str(calibrations), "--bootstrap", "0"]
    shown = _in_terminal([*args, "--out", str(tmp_path / "a")], {})
    assert "writing the report of 4 runs" in shown and "7/7" in shown  # score@k, five plots, pages
    assert "0:00:" in shown  # the time elapsed
    off = _in_terminal([*args, "--out", str(tmp_path / "b")], {"RDBENCH_PROGRESS": "0"})
    assert "writing the report of 4 runs" in off and "7/7" not in off and "drawing plots" in off
    piped = subprocess.run([*RDBENCH, *args, "--out", str(tmp_path / "c")], capture_output=True, text=True)
    assert piped.returncode == 0 and "7/7" not in piped.stderr and "drawing plots" in piped.stderr


def test_check_counts_its_scoring_calls(toy_tasks_path: Path, tmp_path: Path) -> None:
    """`rdbench check` on a terminal: a spinner with the time elapsed while the task environment
    builds (a fresh cache), then a bar over its scoring calls (2 solutions x 2 repeats)."""
    shown = _in_terminal(["check", "toy_count", "--repeats", "2", "--no-save"],
                         {"RDBENCH_CACHE_DIR": str(tmp_path / "cache")})
    [built] = [line for line in shown.splitlines() if "building task environment" in line][-1:]
    assert "0:00:" in built  # the spinner's line carries the time elapsed
    assert "calibrating toy_count (mini): 4 scoring calls" in shown and "4/4" in shown
    assert "toy_count: reference = " in shown  # the lines still print, above the bar
