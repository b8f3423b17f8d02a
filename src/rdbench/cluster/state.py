"""Where each slot of a plan stands, read from the run folders of the shared folder.

The rule (also in ``docs/scale.md``): a slot is *done* once one of its runs finished (the rdbench
scorer recorded its end); *running* while a run of it is alive (its job is in ``squeue``); otherwise
it is *to run*: never started, or every attempt was killed (SIGKILL, preemption, ``scancel``) or
ended without a score. A killed attempt keeps its folder and every score entry it wrote; the report
counts it only while its slot has no finished run, as a run that ended at its last entry.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from rdbench.cluster.plan import RunPlan, Slot
from rdbench.scoring.jobs import forget
from rdbench.scoring.runs import RunView, iter_runs

RUNS_DIR = "runs"
SlotState = Literal["done", "running", "killed", "ended", "new"]


class SlotStatus(BaseModel):
    """A slot and its runs so far."""

    slot: Slot
    state: SlotState
    attempts: int


def attempts_by_slot(shared: Path) -> dict[str, list[RunView]]:
    """The run folders of the shared folder, grouped by slot (runs without one are left out)."""
    forget()  # ask the scheduler afresh: a job may have just died
    grouped: dict[str, list[RunView]] = {}
    for view in iter_runs(shared / RUNS_DIR):
        if view.info.slot is not None:
            grouped.setdefault(view.info.slot, []).append(view)
    return grouped


def slot_states(shared: Path, plan: RunPlan, ignore_job: str | None = None) -> list[SlotStatus]:
    """Every slot of ``plan`` with its state (see the module's rule); runs of ``ignore_job`` that
    look alive count as killed (a restarted job's own earlier attempts)."""
    grouped = attempts_by_slot(shared)
    out = []
    for slot in plan.slots():
        views = grouped.get(slot.key, [])
        statuses = {"killed" if v.status == "running" and ignore_job and v.info.job == ignore_job
                    else v.status for v in views}
        state: SlotState
        if "finished" in statuses:
            state = "done"
        elif "running" in statuses:
            state = "running"
        elif "killed" in statuses:
            state = "killed"
        elif "ended" in statuses:
            state = "ended"
        else:
            state = "new"
        out.append(SlotStatus(slot=slot, state=state, attempts=len(views)))
    return out


def to_run(states: list[SlotStatus]) -> list[Slot]:
    """The slots to submit: those neither done nor running."""
    return [s.slot for s in states if s.state not in ("done", "running")]


def describe(states: list[SlotStatus]) -> str:
    """``6 runs: 4 done, 1 running, 1 killed`` (every state that occurs)."""
    counts = Counter(s.state for s in states)
    order: list[SlotState] = ["done", "running", "killed", "ended", "new"]
    names = {"new": "not started"}
    parts = [f"{counts[k]} {names.get(k, k)}" for k in order if counts[k]]
    return f"{len(states)} runs: " + (", ".join(parts) if parts else "none")
