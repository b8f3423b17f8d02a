"""Whether the batch job that runs a run is still alive (a run records its job as ``slurm:<id>``).

A run killed with its job (SIGKILL, preemption, ``scancel``) never records its end; on another
machine its process cannot be looked up, but the scheduler knows: a Slurm job is alive while
``squeue`` lists it (pending, running, suspended or completing) and gone after.
"""

from __future__ import annotations

import shutil
import subprocess
import time

JOB_ENV = "RDBENCH_JOB"
"""Set in a batch job's environment (``slurm:<job id>``); runs started there record it."""
_CACHE_S = 2.0
_listed: tuple[float, set[str] | None] = (0.0, None)


def _slurm_jobs() -> set[str] | None:
    """Ids of the jobs Slurm lists now (``squeue``), cached for a moment; None without Slurm."""
    global _listed
    stamp, jobs = _listed
    if time.monotonic() - stamp < _CACHE_S:
        return jobs
    squeue = shutil.which("squeue")
    jobs = None
    if squeue is not None:
        try:
            # %i names an array's task as 123_4, %A by its own job id: a run may record either
            out = subprocess.run([squeue, "-h", "-a", "-o", "%i %A"], capture_output=True, text=True,
                                 timeout=30)
            if out.returncode == 0:
                jobs = {word for line in out.stdout.splitlines() for word in line.split()}
        except (OSError, subprocess.SubprocessError):
            jobs = None
    _listed = (time.monotonic(), jobs)
    return jobs


def forget() -> None:
    """Drop the cached job list (the next question asks the scheduler again)."""
    global _listed
    _listed = (0.0, None)


def job_alive(job: str) -> bool | None:
    """Whether ``job`` (``slurm:<id>``) is still alive; None when that cannot be known here."""
    kind, _, ident = job.partition(":")
    if kind != "slurm" or not ident:
        return None
    jobs = _slurm_jobs()
    return None if jobs is None else ident in jobs
