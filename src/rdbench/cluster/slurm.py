"""Submitting runs and calibrations as Slurm jobs, with submitit.

submitit (maintained by Meta's FAIR, used across research clusters) writes the sbatch script, pickles
the job's Python call into the shared folder and runs it on the node with the submitter's
interpreter: a job is a function call, so a job runs its share of a plan through the same code as a
local ``rdbench run``, with no command line to rebuild and no sbatch text of our own. dask-jobqueue
was the other candidate: it runs long-lived dask workers that take tasks from a scheduler on the
login node, which suits many short tasks, but an rdbench run is hours long, must own its node's
cores and GPUs, and must survive the submitting process ending; one job per share of runs fits
Slurm's own accounting, preemption and ``squeue``.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rdbench._extras import require
from rdbench.cluster.execute import check_on_node, run_slots
from rdbench.cluster.plan import RunPlan, Slot, save_plan
from rdbench.cluster.state import describe, slot_states, to_run
from rdbench.errors import UserError
from rdbench.scoring.calibration import calibration_path
from rdbench.task.loader import load_task
from rdbench.task.spec import parse_duration

JOBS_DIR = "jobs"
SUBMISSIONS_FILE = "submissions.jsonl"
Say = Callable[[str], None]


class SlurmError(UserError):
    """Slurm cannot be used here; the message says why and what to do."""


class SlurmOptions(BaseModel):
    """Where and how jobs run (not part of the plan: the same runs may go anywhere)."""

    partition: str | None = None
    jobs: int | None = Field(default=None, ge=1, description="jobs to split the runs into; None: one per run")
    runs_at_once: int = Field(default=1, ge=1, description="runs one job does in parallel")
    cpus_per_job: int | None = Field(default=None, ge=1, description="None: the scale's cpus x runs_at_once")
    gpus_per_job: int | None = Field(default=None, ge=0, description="None: the scale's gpus x runs_at_once")
    mem_gb: float | None = Field(default=None, gt=0, description="None: the scale's memory x runs_at_once + 4")
    time: str | None = Field(default=None, description="job time limit, e.g. 6h; None: from the budgets")
    extra: dict[str, str] = Field(default_factory=dict, description="more sbatch options (--slurm-arg)")


class Submitted(BaseModel):
    """One job and the slots it runs."""

    job_id: str
    slots: list[str]


def require_slurm() -> None:
    """Raises SlurmError when Slurm's commands are not on PATH."""
    missing = [tool for tool in ("sbatch", "squeue", "sinfo") if shutil.which(tool) is None]
    if missing:
        raise SlurmError(f"--slurm needs Slurm's commands ({', '.join(missing)} not found): run it on a "
                         "login node of the cluster (Debian: apt-get install slurm-client)")


def _resources(plan: RunPlan, options: SlurmOptions, runs_in_job: int) -> dict[str, Any]:
    """submitit parameters of a job that runs ``runs_in_job`` runs, ``options.runs_at_once`` at once."""
    scales = [load_task(t).spec.scale(plan.scale) for t in plan.tasks]
    at_once = min(options.runs_at_once, max(runs_in_job, 1))
    cpus = options.cpus_per_job or max(s.cpus for s in scales) * at_once
    gpus = options.gpus_per_job if options.gpus_per_job is not None else max(s.gpus for s in scales) * at_once
    mem = options.mem_gb or max(s.memory_gb for s in scales) * at_once + 4
    if options.time:
        minutes = math.ceil(parse_duration(options.time) / 60)
    else:
        # a run is stopped at twice its budget plus 15 minutes (the harness's time limit); the job
        # gets that for each wave of runs, and 10 minutes to start and finish
        budgets = [parse_duration(plan.budget) if plan.budget else s.time_budget for s in scales]
        waves = math.ceil(runs_in_job / at_once)
        minutes = math.ceil(waves * (2 * max(budgets) + 900) / 60) + 10
    params: dict[str, Any] = {
        "job_name": f"rdbench-{plan.plan_id}",
        "time": minutes,
        "cpus_per_task": cpus,
        "mem": f"{math.ceil(mem * 1024)}M",
        "use_srun": False,
        # a node failure or preemption requeues the job (Slurm, or submitit on its signal); the
        # restarted job runs only its slots that did not finish (execute.pending)
        "additional_parameters": dict(options.extra),
    }
    if gpus:
        params["gpus_per_node"] = gpus
    if options.partition:
        params["partition"] = options.partition
    return params


def _executor(shared: Path) -> Any:
    require("slurm", "--slurm (submitting to Slurm)")
    import submitit

    # submitit's watcher asks sacct, which clusters without accounting lack; rdbench follows jobs
    # through squeue and the run folders instead, so jobs are only submitted here
    return submitit.SlurmExecutor(folder=shared / JOBS_DIR / "%j", max_num_timeout=0, python=sys.executable)


def split(slots: list[Slot], jobs: int) -> list[list[Slot]]:
    """``slots`` in ``jobs`` contiguous shares of nearly equal size (a task's runs stay together)."""
    jobs = max(1, min(jobs, len(slots)))
    size, extra = divmod(len(slots), jobs)
    shares, start = [], 0
    for i in range(jobs):
        end = start + size + (1 if i < extra else 0)
        shares.append(slots[start:end])
        start = end
    return [s for s in shares if s]


def submit_plan(plan: RunPlan, options: SlurmOptions, shared: Path, say: Say,
                dry_run: bool = False) -> list[Submitted]:
    """Submit every slot of ``plan`` that has neither finished nor is running; returns the jobs.

    Raises:
        SlurmError: Slurm is not available or refused the submission.
    """
    shared.mkdir(parents=True, exist_ok=True)
    save_plan(shared, plan)
    states = slot_states(shared, plan)
    todo = to_run(states)
    say(f"plan {plan.plan_id} in {shared}: {describe(states)}")
    if not todo:
        say("nothing to submit: every run has finished or is running (rdbench watch --dir "
            f"{shared}; rdbench report {shared} --out report/)")
        return []
    shares = split(todo, options.jobs or len(todo))
    if dry_run:
        for i, share in enumerate(shares):
            say(f"would submit job {i + 1}/{len(shares)}: {len(share)} runs "
                f"({', '.join(s.key.split(':', 1)[1] for s in share)})")
        return []
    require_slurm()
    executor = _executor(shared)
    submitted: list[Submitted] = []
    # one job array when all shares have one size (one sbatch), else one job per share
    groups: dict[int, list[list[Slot]]] = {}
    for share in shares:
        groups.setdefault(len(share), []).append(share)
    try:
        for size, group in groups.items():
            executor.update_parameters(**_resources(plan, options, size))
            with executor.batch():
                jobs = [executor.submit(run_slots, plan, [s.key for s in share], str(shared)) for share in group]
            submitted += [Submitted(job_id=str(job.job_id), slots=[s.key for s in share])
                          for job, share in zip(jobs, group, strict=True)]
    except Exception as error:  # submitit raises its own and subprocess errors, with sbatch's text
        raise SlurmError(f"sbatch refused the jobs: {error}".strip()) from error
    with (shared / SUBMISSIONS_FILE).open("a") as handle:
        handle.write(json.dumps({"plan": plan.plan_id, "time": time.time(),
                                 "jobs": [s.model_dump() for s in submitted]}) + "\n")
    say(f"submitted {len(todo)} runs in {len(submitted)} jobs ({', '.join(s.job_id for s in submitted)}); "
        f"follow them with: rdbench watch --dir {shared}")
    return submitted


def live_jobs() -> set[str]:
    """Ids of the jobs Slurm lists now: both ``123_4`` (array task) and the job's own id."""
    out = subprocess.run(["squeue", "-h", "-a", "-o", "%i %A"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SlurmError(f"squeue failed: {out.stderr.strip()}")
    return {word for line in out.stdout.splitlines() for word in line.split()}


def job_is_live(job_id: str, live: set[str]) -> bool:
    """Whether ``job_id`` (``123`` or ``123_4``) is among ``live`` (a pending array counts)."""
    return job_id in live or job_id.split("_", 1)[0] in live


def wait_for(jobs: list[str], say: Say, poll_s: float = 1.0, status: Callable[[], str] | None = None) -> None:
    """Wait until none of ``jobs`` is pending or running, saying what changes."""
    last = ""
    while True:
        live = [j for j in jobs if job_is_live(j, live_jobs())]
        line = f"{len(live)} of {len(jobs)} jobs pending or running" + (f"; {status()}" if status else "")
        if line != last:
            say(line)
            last = line
        if not live:
            return
        time.sleep(poll_s)


class NodeType(BaseModel):
    """Nodes of a partition that look alike to Slurm (cores, memory, GPUs, features)."""

    key: str
    nodes: list[str]
    cpus: int
    memory_mb: int
    gres: str
    features: str


def node_types(partition: str | None) -> list[NodeType]:
    """The node types of ``partition`` (every partition when None), from ``sinfo``.

    Raises:
        SlurmError: sinfo failed or lists no node.
    """
    require_slurm()
    argv = ["sinfo", "-h", "-N", "-o", "%N|%c|%m|%G|%f"] + (["-p", partition] if partition else [])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SlurmError(f"sinfo failed: {out.stderr.strip()}")
    grouped: dict[tuple[str, ...], list[str]] = {}
    for line in out.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 5:
            grouped.setdefault(tuple(parts[1:]), []).append(parts[0])
    if not grouped:
        raise SlurmError(f"sinfo lists no node{f' in partition {partition}' if partition else ''}")
    types = []
    for (cpus, memory, gres, features), nodes in sorted(grouped.items()):
        label = "-".join(x for x in (f"{cpus}c", f"{memory}m", gres if gres != "(null)" else "",
                                     features if features != "(null)" else "") if x)
        key = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        types.append(NodeType(key=key, nodes=sorted(set(nodes)), cpus=int(cpus.rstrip("+")),
                              memory_mb=int(memory.rstrip("+")), gres=gres, features=features))
    return types


def submit_calibrations(tasks: list[str], scale: str, repeats: int, instances: int, options: SlurmOptions,
                        shared: Path, say: Say) -> list[tuple[NodeType, str]]:
    """One calibration job per node type of the partition, on one of its nodes; returns the jobs."""
    types = node_types(options.partition)
    executor = _executor(shared)
    plan = RunPlan(tasks=tasks, model="none", scale=scale)
    jobs = []
    for node_type in types:
        params = _resources(plan, options.model_copy(update={"runs_at_once": 1}), 1)
        minutes = options.time and math.ceil(parse_duration(options.time) / 60)
        params.update(job_name=f"rdbench-check-{node_type.key}", time=minutes or 120,
                      nodelist=node_type.nodes[0])
        executor.update_parameters(**params)
        try:
            job = executor.submit(check_on_node, tasks, scale, repeats, instances, str(shared), node_type.key)
        except Exception as error:
            raise SlurmError(f"sbatch refused the calibration job: {error}".strip()) from error
        say(f"node type {node_type.key} ({len(node_type.nodes)} nodes): calibrating on {node_type.nodes[0]} "
            f"(job {job.job_id})")
        jobs.append((node_type, str(job.job_id)))
    return jobs


def read_node_record(shared: Path, node_type: str) -> dict[str, Any] | None:
    """What a calibration job recorded for a node type (fingerprint, machine, reports), or None."""
    path = shared / "calibrations" / "nodes" / f"{node_type}.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record


def uncalibrated(plan: RunPlan, options: SlurmOptions, shared: Path) -> list[str]:
    """Node types of the partition with no calibration of some task of ``plan`` at its scale."""
    missing = []
    for node_type in node_types(options.partition):
        record = read_node_record(shared, node_type.key)
        tasks = (record or {}).get("tasks") or {}
        lacking = [t for t in plan.tasks if not (tasks.get(f"{load_task(t).name}@{plan.scale}") or {}).get("ok")]
        if record is not None and not lacking:
            # the calibration file itself, where runs on that node look for it
            fp = record.get("fingerprint")
            root = shared / "calibrations"
            lacking = []
            for t in plan.tasks:
                task = load_task(t)
                # this version's file, whatever the model binding (keyed like calibration_path)
                stem = calibration_path(task.name, plan.scale, task.spec.version, str(fp)).stem
                if not list((root / task.name).glob(f"{stem}*.json")):
                    lacking.append(t)
        if lacking:
            missing.append(f"{node_type.key} ({', '.join(lacking)})")
    return missing
