"""What a batch job runs: its share of a plan's slots, through the same code as a local run.

Each slot becomes one Inspect sample (the task's sample, its id suffixed with ``@<epoch>``, the slot
in its metadata), and the job's samples go through one ``inspect eval`` on the node, in the bwrap
sandbox, with run folders, calibrations and Inspect logs in the shared folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rdbench.cluster.plan import RunPlan, Slot
from rdbench.cluster.state import slot_states
from rdbench.scoring.calibration import CALIBRATIONS_DIR_ENV
from rdbench.scoring.jobs import JOB_ENV
from rdbench.scoring.runs import RUNS_DIR_ENV

LOGS_DIR = "logs"
CALIBRATIONS_DIR = "calibrations"


def use_shared_folder(shared: Path) -> None:
    """Point this process's run folders and calibrations at the shared folder, and record the batch
    job (if any) that runs it."""
    os.environ[RUNS_DIR_ENV] = str(shared / "runs")
    os.environ[CALIBRATIONS_DIR_ENV] = str(shared / CALIBRATIONS_DIR)
    job = os.environ.get("SLURM_JOB_ID")
    array, index = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and index:
        job = f"{array}_{index}"  # as squeue, scancel and the submission record name it
    if job:
        os.environ[JOB_ENV] = f"slurm:{job}"


def job_gpus() -> list[int] | None:
    """The GPUs Slurm gave this job (``SLURM_JOB_GPUS``), or None outside a GPU job."""
    text = os.environ.get("SLURM_JOB_GPUS") or os.environ.get("SLURM_STEP_GPUS")
    if not text:
        return None
    from rdbench.sandbox.api import parse_gpus

    return parse_gpus(text)


def pending(plan: RunPlan, keys: list[str], shared: Path) -> list[Slot]:
    """The slots of ``keys`` this job must still run: not finished, not alive in another job.

    A job restarted by Slurm (preemption, node failure) keeps its id; its own earlier attempts are
    dead, whatever the scheduler says, so they are run again.
    """
    own = os.environ.get(JOB_ENV)
    states = {s.slot.key: s for s in slot_states(shared, plan, ignore_job=own)}
    return [states[k].slot for k in keys if k in states and states[k].state not in ("done", "running")]


def run_slots(plan: RunPlan, keys: list[str], shared: str) -> dict[str, Any]:
    """Run the slots ``keys`` of ``plan`` here (a Slurm job's body); returns what ran.

    Slots that already have a finished run (or a live one in another job) are skipped, so running a
    job twice, or after a requeue, never runs a slot twice.
    """
    from inspect_ai import eval as inspect_eval
    from inspect_ai import task_with
    from inspect_ai.dataset import MemoryDataset

    from rdbench.harness.agents import agent_or_default, agent_parameters
    from rdbench.harness.task import SLOT_METADATA_KEY, make_task

    folder = Path(shared)
    use_shared_folder(folder)
    todo = pending(plan, keys, folder)
    if not todo:
        return {"ran": [], "skipped": keys, "logs": []}
    if plan.pricing:
        os.environ["RDBENCH_PRICING"] = plan.pricing
    agent_args = dict(plan.agent_args)
    inspect_cost_limit = None
    if plan.cost_limit is not None:
        if "cost_limit" in agent_parameters(plan.agent):
            agent_args.setdefault("cost_limit", plan.cost_limit)
        else:
            inspect_cost_limit = plan.cost_limit
    agent = agent_or_default(plan.agent, **agent_args)
    gpus = job_gpus()
    tasks = []
    for task_name in dict.fromkeys(s.task for s in todo):
        task = make_task(task_name, scale=plan.scale, budget=plan.budget, solver=agent,
                         instances=plan.instances, seed=plan.seed, agent_name=plan.agent, gpus=gpus,
                         progress=_say)
        by_id = {str(sample.id): sample for sample in task.dataset}
        samples = []
        for slot in (s for s in todo if s.task == task_name):
            base = by_id[slot.sample]
            samples.append(base.model_copy(update={
                "id": f"{slot.sample}@{slot.epoch}",
                "metadata": {**(base.metadata or {}), SLOT_METADATA_KEY: slot.key},
            }))
        tasks.append(task_with(task, dataset=MemoryDataset(samples, name=task.dataset.name)))
    logs = inspect_eval(tasks, model=plan.model, model_args=plan.model_args, epochs=1,
                        log_dir=str(folder / LOGS_DIR / plan.plan_id), max_tasks=len(tasks),
                        max_samples=len(todo), cost_limit=inspect_cost_limit,
                        model_roles=dict(plan.model_roles) or None, display="plain")
    return {"ran": [s.key for s in todo], "skipped": [k for k in keys if k not in {s.key for s in todo}],
            "logs": [log.location for log in logs], "status": [log.status for log in logs]}


def check_on_node(tasks: list[str], scale: str, repeats: int, instances: int, shared: str,
                  node_type: str) -> dict[str, Any]:
    """Calibrate ``tasks`` on this node (a calibration job's body) into the shared folder, and record
    which machine fingerprint the node type has (``calibrations/nodes/<type>.json``)."""
    import asyncio
    import json
    import socket

    from rdbench.sandbox.api import cpu_plan, gpu_plan
    from rdbench.scoring.check import check_task
    from rdbench.scoring.machine import machine_description, machine_fingerprint
    from rdbench.task.loader import load_task

    folder = Path(shared)
    use_shared_folder(folder)
    reports = {}
    for name in tasks:
        task = load_task(name)
        spec = task.spec.scale(scale)
        devices, per_run = gpu_plan(scale, spec.gpus, job_gpus(), _say)
        cores, per_run_cores = cpu_plan(scale, spec.cpus, None, _say)
        report = asyncio.run(check_task(task, scale, repeats, instances, progress=_say,
                                        gpus=devices[:per_run] if per_run else devices,
                                        cpus=cores[:per_run_cores] or None))
        reports[f"{task.name}@{scale}"] = report.model_dump(mode="json")
    nodes = folder / CALIBRATIONS_DIR / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    path = nodes / f"{node_type}.json"
    earlier: dict[str, Any] = {}
    if path.exists():  # calibrations of other tasks on this node type stay
        try:
            earlier = json.loads(path.read_text()).get("tasks") or {}
        except (OSError, ValueError):
            earlier = {}
    record = {"node_type": node_type, "node": socket.gethostname(), "fingerprint": machine_fingerprint(),
              "machine": machine_description(), "tasks": {**earlier, **reports}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str))
    tmp.replace(path)
    return record


def _say(message: str) -> None:
    print(f"rdbench: {message}", file=sys.stderr, flush=True)
