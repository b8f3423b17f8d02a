"""On a real local Slurm cluster: calibrate on the node, submit 2 tasks x 3 epochs with a scripted
mock model, watch, SIGKILL one job mid-run, resume only what is missing, report each run once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rdbench.analysis.data import load_inputs
from rdbench.scoring.runs import RunView, iter_runs
from tests.cluster.local_slurm import SlurmCluster

pytestmark = pytest.mark.slow
TOY_TASKS = Path(__file__).parent.parent / "harness" / "toy_tasks"
SCRIPT = """\
- bash: "printf 'def answer():\\\\n    return 40\\\\n' > solution.py; echo 3 > answer.txt; nproc"
- tool: score
- bash: "sleep 10"
"""
WAIT_S = 300.0


def rdbench(*argv: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "rdbench.cli.main", *argv], capture_output=True, text=True,
                         timeout=WAIT_S)
    return out


def watch(shared: Path) -> list[dict[str, Any]]:
    out = rdbench("watch", "--dir", str(shared), "--all", "--json")
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout[out.stdout.index("["):])
    return rows


def wait_until(what: str, check: Any, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def submissions(shared: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (shared / "submissions.jsonl").read_text().splitlines()]


def test_slurm_runs_survive_a_killed_job_and_count_once(
    slurm_cluster: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if slurm_cluster.cpus < 2:
        pytest.skip("needs 2 cores: two 1-core jobs at once")
    monkeypatch.setenv("RDBENCH_TASKS_PATH", str(TOY_TASKS))  # sbatch passes it on to the jobs
    shared = tmp_path / "shared"
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)

    # calibrate on the partition's node types (one here), into the shared folder
    out = rdbench("check", "toy_count", "toy_cores", "--repeats", "1", "--slurm", "--shared", str(shared))
    assert out.returncode == 0, out.stdout + out.stderr
    [node_record] = [json.loads(p.read_text()) for p in (shared / "calibrations" / "nodes").glob("*.json")]
    assert node_record["tasks"]["toy_count@mini"]["starting"] == 42.0

    command = ["run", "toy_count", "toy_cores", "--model", "script/e2e", "-M", f"script={script}",
               "--epochs", "3", "--slurm", "--shared", str(shared), "--jobs", "2", "--mem-gb", "1"]
    out = rdbench(*command)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 runs: 6 not started" in out.stderr and "no calibration" not in out.stderr
    [first] = submissions(shared)
    assert [len(job["slots"]) for job in first["jobs"]] == [3, 3]
    count_job = next(j for j in first["jobs"] if ":toy_count:" in j["slots"][0])

    # watch until a toy_count run has scored and is still working (read in this process: quick),
    # then SIGKILL its job's process
    def scored_and_running() -> RunView | None:
        return next((v for v in iter_runs(shared / "runs") if v.info.task == "toy_count"
                     and v.status == "running" and v.entries), None)

    victim = wait_until("a toy_count run with a score entry", scored_and_running)
    os.kill(victim.info.pid, signal.SIGKILL)  # the node is this machine: the pid is the job's eval
    assert victim.info.job == f"slurm:{count_job['job_id']}"
    assert victim.info.calibration is not None  # the node type's, loaded when the run started
    # the report reads the shared folder while the other job still runs
    now = load_inputs([shared], progress=lambda _: None)
    assert victim.info.run_id in {r.rdbench_run_id for r in now}
    wait_until("the killed job to leave squeue", lambda: count_job["job_id"] not in
               slurm_cluster.run("squeue", "-h", "-o", "%i").stdout.split())
    wait_until("the other job to finish", lambda: not slurm_cluster.run("squeue", "-h").stdout.strip())

    rows = {r["run_id"]: r for r in watch(shared)}
    killed = rows[victim.info.run_id]
    assert killed["status"] == "killed" and killed["score_calls"] >= 1  # its entries are kept
    done = [r for r in rows.values() if r["status"] == "finished"]
    assert len([r for r in done if r["task"] == "toy_cores"]) == 3
    missing = 6 - len(done)
    assert missing >= 1

    # the same command with --resume submits only the runs that did not finish
    out = rdbench(*command, "--resume", "--wait")
    assert out.returncode == 0, out.stdout + out.stderr
    second = submissions(shared)[-1]
    resubmitted = [slot for job in second["jobs"] for slot in job["slots"]]
    assert len(resubmitted) == missing and all(":toy_count:" in s for s in resubmitted)
    assert killed["slot"] in resubmitted
    out = rdbench(*command)  # and once all have finished, nothing
    assert out.returncode == 0 and "nothing to submit" in out.stderr and "6 done" in out.stderr

    # the report counts each run once: the killed attempt is left out for its finished re-run
    said: list[str] = []
    runs = load_inputs([shared], progress=said.append)
    assert len(runs) == 6 and len({r.slot for r in runs}) == 6
    assert all(r.status == "finished" for r in runs)
    assert any("1 earlier attempts" in line for line in said)
    assert all(r.points and r.points[0].score is not None for r in runs)  # normalised: node's calibration
    out = rdbench("report", str(shared), "--out", str(tmp_path / "report"), "--bootstrap", "10")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    # reports name a task with its version (runs of different versions are never pooled)
    assert {(r["task"], r["n_runs"]) for r in summary} == {("toy_count v1", 3), ("toy_cores v1", 3)}
