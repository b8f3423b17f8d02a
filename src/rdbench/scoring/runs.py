"""Run folders on the host: what each run is (``run.json``) beside its score log.

Every run (one Inspect sample) gets ``<cache>/runs/<run_id>/`` with ``score_log.jsonl`` (appended as
the agent scores) and ``run.json``: task, agent, model, budget, the process running it and, once it
ends, how. Both are written as the run goes, so a run whose process was killed still says what it
was and what it had scored: ``rdbench watch`` lists live and past runs from these folders alone.

A run started by a batch job (``rdbench run --slurm``) records the job (``slurm:<id>``): a run still
marked running on another machine is alive while its job is (``squeue``), killed once it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rdbench.paths import cache_dir
from rdbench.scoring.jobs import JOB_ENV, job_alive
from rdbench.scoring.log import ScoreEntry, read_jsonl
from rdbench.scoring.record import Calibration

RunStatus = Literal["running", "finished", "ended", "killed"]
INFO_FILE = "run.json"
LOG_FILE = "score_log.jsonl"
RUNS_DIR_ENV = "RDBENCH_RUNS_DIR"


class RunInfo(BaseModel):
    """What a run is, written when it starts and updated when it ends."""

    run_id: str
    slot: str | None = Field(default=None, description="plan:task:sample:epoch (runs of a plan)")
    task: str
    task_version: str
    scale: str
    instance: str | None = None
    agent: str
    agent_options: dict[str, Any] = Field(
        default_factory=dict, description="the agent's arguments that change how it behaves")
    model: str | None = None
    machine: dict[str, Any] = Field(
        default_factory=dict, description="the machine it runs on: its fingerprint and description")
    task_models: dict[str, str] = Field(default_factory=dict, description="role -> model")
    direction: Literal["lower", "higher"]
    transform: Any = "none"
    aggregation: Literal["best", "final"]
    time_budget_s: float
    calibration: Calibration | None = Field(
        default=None, description="the calibration that normalises this run (loaded when it started)"
    )
    started: float = Field(description="unix time")
    pid: int
    host: str
    job: str | None = Field(default=None, description="the batch job running it, e.g. slurm:1234")
    status: Literal["running", "finished", "ended"] = "running"
    ended: float | None = None
    working_time_s: float | None = None
    raw_score: float | None = None
    normalised_score: float | None = None


def runs_dir() -> Path:
    """Where run folders live: ``$RDBENCH_RUNS_DIR`` (a Slurm run's shared folder), else the cache's."""
    override = os.environ.get(RUNS_DIR_ENV)
    return Path(override) if override else cache_dir() / "runs"


def write_info(folder: Path, info: RunInfo) -> None:
    """Write ``run.json`` atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{INFO_FILE}.{os.getpid()}.tmp"
    tmp.write_text(info.model_dump_json(indent=1))
    tmp.replace(folder / INFO_FILE)


def new_info(**fields: Any) -> RunInfo:
    """A run's info as it starts: this process, this host, now."""
    return RunInfo(started=time.time(), pid=os.getpid(), host=socket.gethostname(),
                   job=os.environ.get(JOB_ENV) or None, **fields)


def _alive(info: RunInfo) -> bool:
    if info.job is not None:
        alive = job_alive(info.job)
        if alive is not None:
            return alive
    if info.host != socket.gethostname():
        return True  # another machine's run (a shared cache), no scheduler to ask: trust what it says
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def as_record(view: RunView) -> dict[str, Any]:
    """A run folder in the shape of a run record (``RunRecord`` as JSON), for analysis: what a run
    had scored when its process died is analysed like a finished run's log."""
    info = view.info
    return {
        "run_id": info.run_id, "slot": info.slot, "task": info.task, "task_version": info.task_version,
        "scale": info.scale, "instance": info.instance, "agent": info.agent, "agent_options": info.agent_options,
        "model": info.model, "machine": info.machine, "direction": info.direction,
        "transform": info.transform, "aggregation": info.aggregation, "time_budget_s": info.time_budget_s,
        "calibration": None if info.calibration is None else info.calibration.model_dump(mode="json"),
        "score_log": [e.model_dump(mode="json") for e in view.entries],
        "task_models": {role: {"model": model} for role, model in info.task_models.items()},
        "status": view.status,
        "started": info.started,
    }


class RunView(BaseModel):
    """A run as ``rdbench watch`` shows it: its info, its entries, and its status now."""

    info: RunInfo
    entries: list[ScoreEntry]
    status: RunStatus
    folder: Path


def read_run(folder: Path) -> RunView | None:
    """A run folder's info and score log; None when it has no readable ``run.json``.

    A run still marked running whose process is gone was killed: it never recorded an end.
    """
    try:
        info = RunInfo.model_validate(json.loads((folder / INFO_FILE).read_text()))
    except (OSError, ValueError):
        return None
    log = folder / LOG_FILE
    entries = read_jsonl(log) if log.exists() else []
    status: RunStatus = info.status
    if status == "running" and not _alive(info):
        status = "killed"
    return RunView(info=info, entries=entries, status=status, folder=folder)


def iter_runs(root: Path | None = None) -> Iterator[RunView]:
    """Every readable run folder, newest first."""
    base = root or runs_dir()
    views = []
    if base.is_dir():
        for folder in base.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir():
                    view = read_run(folder)
                    if view is not None:
                        views.append(view)
    yield from sorted(views, key=lambda v: v.info.started, reverse=True)
