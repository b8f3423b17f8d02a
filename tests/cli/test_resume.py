"""``rdbench run --resume`` completes only the missing samples of a killed eval, and the log names
its task and arguments so that Inspect can retry it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

TOY = Path(__file__).parent.parent / "harness" / "toy_tasks"


def logged_samples(logs: Path) -> int:
    """Samples the (running) eval has written to its log so far."""
    try:
        return sum(len(read_eval_log(i).samples or []) for i in list_eval_logs(str(logs)))
    except Exception:
        return 0  # being written


def finished_runs(cache: Path) -> list[str]:
    done = []
    for info in (cache / "runs").glob("*/run.json"):
        try:
            if json.loads(info.read_text())["status"] == "finished":
                done.append(info.parent.name)
        except (OSError, ValueError):
            continue  # being written
    return done


@pytest.mark.slow
def test_resume_completes_only_the_missing_samples_of_a_killed_eval(tmp_path: Path) -> None:
    cache, logs = tmp_path / "cache", tmp_path / "logs"
    env = {**os.environ, "RDBENCH_TASKS_PATH": str(TOY), "RDBENCH_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "rdbench.cli.main", "run", "toy_family", "--model", "mockllm/model",
               "--budget", "5s", "--instances", "3", "--max-samples", "1", "--log-dir", str(logs)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not logged_samples(logs) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.5)
        # a sample finished and is in the log, the next one is running: kill it all
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    [killed] = list_eval_logs(str(logs))
    header = read_eval_log(killed)
    assert header.status == "started" and header.samples
    done = {s.scores["rdbench"].metadata["rdbench"]["run_id"] for s in header.samples}  # type: ignore[index]
    assert 1 <= len(done) < 3 and done <= set(finished_runs(cache))
    # retryable by Inspect: the log names the registered task and the arguments it was made with
    assert header.eval.task_registry_name == "rdbench/toy_family"
    assert header.eval.task_args_passed == {"scale": "mini", "budget": "5s", "instances": 3, "agent": "react"}
    folders_before = {p.name for p in (cache / "runs").iterdir()}

    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stderr and "only its missing samples run" in resumed.stderr
    complete = [read_eval_log(i) for i in list_eval_logs(str(logs)) if i.name != killed.name]
    [log] = complete
    assert log.status == "success" and log.samples is not None
    run_ids = [s.scores["rdbench"].metadata["rdbench"]["run_id"] for s in log.samples]  # type: ignore[index]
    assert sorted(s.id for s in log.samples) == ["toy_family/10", "toy_family/11", "toy_family/12"]
    assert done <= set(run_ids)  # the finished samples were kept, not run again
    new_folders = {p.name for p in (cache / "runs").iterdir()} - folders_before
    assert len(new_folders) == 3 - len(done) and new_folders == set(run_ids) - done  # only the missing ran

    # the same command with --resume again: nothing left to do
    again = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "is complete; nothing to resume" in again.stderr, again.stderr[-2000:]
