"""``rdbench watch``: runs listed from their run folders, a finished one and a killed one."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rdbench.cli.main import main
from rdbench.scoring.check import check_task
from rdbench.task.loader import load_task
from tests.harness.test_e2e import bash, call, run_scripted

KILLED_RUN = """
import os, signal, sys
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model
from rdbench.harness.task import make_task
from tests.harness.test_e2e import bash, call

def outputs():
    yield bash("printf 'def answer():\\\\n    return 32\\\\n' > solution.py")
    yield call("score")
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies mid-run: nothing records its end

inspect_eval(make_task("toy_count", budget="5m"), model=get_model("mockllm/model", custom_outputs=outputs()),
             log_dir=sys.argv[1], display="none")
"""


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_tasks_path: Path) -> Path:
    """A cache of this test's own (other tests' runs stay out of the table), toy task calibrated."""
    monkeypatch.setenv("RDBENCH_CACHE_DIR", str(tmp_path / "cache"))
    report = asyncio.run(check_task(load_task("toy_count"), repeats=1))
    assert report.ok and report.starting == 42 and report.reference == 2
    return tmp_path / "cache"


def test_watch_lists_finished_and_killed_runs(own_cache: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    run_scripted([bash("printf 'def answer():\\n    return 22\\n' > solution.py"), call("score"),
                  bash("touch crash"), call("score")], tmp_path / "logs")
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path / "killed-logs")],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert proc.returncode == -9, proc.stderr[-2000:]

    # Inspect's display setting is process-wide: after a CLI run in this process it prints an eval
    # summary to stdout even for display="none" evals; drop it, only watch's output is read below
    capsys.readouterr()
    assert main(["watch", "--all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in rows] == ["killed", "finished"]
    killed, finished = rows
    assert killed["score_calls"] == 1 and killed["raw"] == 10.0
    assert killed["normalised"] == pytest.approx((10 - 42) / (2 - 42))  # this machine's calibration
    assert killed["model"] == "mockllm/model" and killed["agent"] and killed["task"] == "toy_count"
    # "crash" makes the toy scorer raise: a scorer error, counted apart from invalid submissions
    assert finished["score_calls"] == 2 and finished["invalid_calls"] == 0 and finished["scorer_errors"] == 1
    assert finished["raw"] == 20.0 and finished["normalised"] == pytest.approx(22 / 40)
    assert "asked to crash" in finished["last_message"]

    assert main(["watch", "--once"]) == 0  # default: running ones and those ended within the hour
    table = capsys.readouterr().out
    assert "killed" in table and "finished" in table and "toy_count" in table
    assert main(["watch", "--once", "--task", "no_such_task"]) == 0
    assert "no runs" in capsys.readouterr().out
    assert main(["watch", "--since", "soon"]) == 2

    # rdbench report reads run folders too: the killed run counts, the finished one once (its log)
    from rdbench.analysis.data import load_inputs
    from rdbench.analysis.stats import score_at

    runs = load_inputs([own_cache / "runs", tmp_path / "logs", tmp_path / "killed-logs"], progress=lambda m: None)
    assert len(runs) == 2, [r.run_id for r in runs]
    from_folder = [r for r in runs if r.source.endswith(killed["run_id"])]
    assert len(from_folder) == 1 and "(killed)" in from_folder[0].run_id
    assert score_at(from_folder[0], from_folder[0].length_s) == pytest.approx(0.8)
    from_log = [r for r in runs if r is not from_folder[0]]
    assert from_log[0].rdbench_run_id == finished["run_id"] and from_log[0].source.endswith(".eval")


def _fake_runs(root: Path, n: int) -> list[str]:
    """Run folders as the harness writes them (this process as their owner: they show as running)."""
    import time as clock

    from rdbench.scoring.log import ScoreEntry, ScoreLog
    from rdbench.scoring.runs import LOG_FILE, new_info, write_info

    ids = []
    for i in range(n):
        run_id = f"{i:02d}watchrun{'x' * 20}"
        folder = root / run_id
        folder.mkdir(parents=True)
        info = new_info(run_id=run_id, task="optimize_kernel_with_a_long_name", task_version="3",
                        scale="mini", agent="react", model="openai/gpt-4o-2024-11-20-with-a-long-suffix",
                        direction="lower", aggregation="best", time_budget_s=7200.0)
        write_info(folder, info)
        ScoreLog(folder / LOG_FILE).append(ScoreEntry(
            index=0, timestamp=clock.time(), elapsed_s=60.0 * (i + 1), value=0.123 + i,
            message="a long message from the scorer " * 5))
        ids.append(run_id)
    return ids


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (scripts/system_deps.sh installs it)")
def test_watch_fits_an_80_by_24_terminal(tmp_path: Path) -> None:
    """`rdbench watch` in an 80x24 tmux pane: the header stays on top, no line wraps, every run shows."""
    import time as clock

    runs = tmp_path / "runs"
    ids = _fake_runs(runs, 3)
    session = f"rdbench-watch-{os.getpid()}"
    command = f"{shlex.quote(sys.executable)} -m rdbench.cli.main watch --dir {shlex.quote(str(runs))} --interval 1"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command],
                   check=True, env={**os.environ, "TERM": "xterm-256color"})
    try:
        pane = ""
        for _ in range(300):  # polls until the first frame is drawn (start-up time varies), not a budget
            clock.sleep(0.2)
            pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                  text=True).stdout
            if all(i[:8] in pane for i in ids):
                break
        lines = pane.splitlines()
        assert all(i[:8] in pane for i in ids), pane
        header = next(n for n, line in enumerate(lines) if line.split()[:2] == ["run", "task"])
        assert header <= 2, pane  # the title line, then the header
        assert all(len(line) <= 80 for line in lines), pane
        rows = [line for line in lines[header + 1:] if line.strip()]
        assert len(rows) == 3 and all("running" in r for r in rows), pane  # one line per run: no wrap
        assert "…" in pane  # long task and model names are cut, not wrapped
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
