"""Plans, slots and their states, one run per slot, and the --slurm command line without a cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rdbench.analysis.data import Run, one_run_per_slot
from rdbench.cli.main import main
from rdbench.cluster.plan import RunPlan, load_plans, save_plan
from rdbench.cluster.slurm import split
from rdbench.cluster.state import describe, slot_states, to_run
from rdbench.scoring.runs import new_info, write_info


def plan(**changes: object) -> RunPlan:
    return RunPlan.model_validate({"tasks": ["toy_count", "toy_family"], "model": "mockllm/model",
                                   "epochs": 2, "instances": 2, **changes})


def test_plan_id_is_what_runs_and_slots_cover_samples_and_epochs(toy_tasks_path: Path, tmp_path: Path) -> None:
    first = plan()
    assert first.plan_id == plan().plan_id != plan(epochs=3).plan_id != plan(budget="5m").plan_id
    keys = [s.key for s in first.slots()]
    # toy_count: one sample; toy_family: 2 instances from its seed 10; each twice
    assert [k.split(":", 1)[1] for k in keys] == [
        "toy_count:toy_count:1", "toy_count:toy_count:2",
        "toy_family:toy_family/10:1", "toy_family:toy_family/10:2",
        "toy_family:toy_family/11:1", "toy_family:toy_family/11:2"]
    assert len(set(keys)) == 6 and all(k.startswith(first.plan_id) for k in keys)
    save_plan(tmp_path, first)
    assert [p.plan_id for p in load_plans(tmp_path)] == [first.plan_id]
    (tmp_path / "plans" / "broken.json").write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json: not a run plan"):
        load_plans(tmp_path)


def test_split_keeps_order_and_balances(toy_tasks_path: Path) -> None:
    slots = plan(tasks=["toy_count"], epochs=7).slots()
    epochs = [[s.epoch for s in share] for share in split(slots, 3)]
    assert epochs == [[1, 2, 3], [4, 5], [6, 7]]
    assert [[s.epoch for s in share] for share in split(slots, 10)] == [[i] for i in range(1, 8)]
    assert split(slots, 1) == [slots]


def _attempt(shared: Path, slot: str, status: str, job: str | None = None, pid: int = 1) -> None:
    info = new_info(run_id=f"{slot.replace(':', '-')}-{status}-{time.monotonic_ns()}", slot=slot, task="toy_count",
                    task_version="1", scale="mini", agent="react", direction="lower", aggregation="best",
                    time_budget_s=60.0)
    info = info.model_copy(update={"status": "running" if status in ("killed", "running") else status,
                                   "job": job, "pid": pid})
    write_info(shared / "runs" / info.run_id, info)


def test_slot_states_follow_the_rule(toy_tasks_path: Path, tmp_path: Path) -> None:
    import os

    the_plan = plan(tasks=["toy_count"], epochs=5)
    keys = [s.key for s in the_plan.slots()]
    _attempt(tmp_path, keys[0], "killed", pid=2**22 + 7)      # a dead process on this host
    _attempt(tmp_path, keys[0], "finished")                   # ... and its finished re-run
    _attempt(tmp_path, keys[1], "killed", pid=2**22 + 7)
    _attempt(tmp_path, keys[2], "running", pid=os.getpid())   # alive: this process
    _attempt(tmp_path, keys[3], "ended")
    states = slot_states(tmp_path, the_plan)
    assert [s.state for s in states] == ["done", "killed", "running", "ended", "new"]
    assert [s.attempts for s in states] == [2, 1, 1, 1, 0]
    assert [s.key for s in to_run(states)] == keys[1:2] + keys[3:]
    assert describe(states) == "5 runs: 1 done, 1 running, 1 killed, 1 ended, 1 not started"
    # a restarted job's own earlier attempts are dead whatever its pid says
    _attempt(tmp_path, keys[4], "running", job="slurm:77", pid=os.getpid())
    assert slot_states(tmp_path, the_plan, ignore_job="slurm:77")[4].state == "killed"


def _run(slot: str | None, status: str, started: float) -> Run:
    return Run(run_id=f"{slot}-{started}", agent="a", task="t", length_s=60.0, slot=slot, status=status,
               started=started)


def test_each_slot_counts_once() -> None:
    runs = [_run("s1", "killed", 1.0), _run("s1", "finished", 3.0), _run("s1", "finished", 2.0),
            _run("s2", "killed", 1.0), _run("s2", "ended", 5.0), _run(None, "finished", 0.0),
            _run(None, "finished", 0.0)]
    kept, left_out = one_run_per_slot(runs)
    by_slot = {r.slot: r for r in kept if r.slot}
    assert by_slot["s1"].started == 2.0  # the first finished attempt
    assert by_slot["s2"].started == 5.0  # none finished: the latest attempt, as it ended
    assert len(kept) == 4 and len(left_out) == 3


def test_slurm_command_line_without_a_cluster(toy_tasks_path: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared"
    base = ["run", "toy_count", "--model", "mockllm/model", "--epochs", "3", "--slurm", "--shared", str(shared)]
    assert main([*base, "--dry-run", "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "3 runs: 3 not started" in err and "would submit job 1/2: 2 runs" in err and "job 2/2: 1 runs" in err
    assert main([*base, "--epochs", "4", "--resume"]) == 2  # no such plan in the folder
    assert "holds no plan" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, squeue, sinfo
    assert main(base) == 2
    assert "--slurm needs Slurm's commands" in capsys.readouterr().err
    assert main([*base, "--slurm-arg", "nonsense"]) == 2
    assert "not KEY=VALUE" in capsys.readouterr().err
