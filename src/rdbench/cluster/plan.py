"""A run plan: what ``rdbench run`` was asked to run, split into slots (one run each).

A plan is the part of a command that says what runs: tasks, scale, budget, agent, model, epochs,
instances. Its id is a hash of exactly that, so the same command again (or ``--resume``) finds the
same plan in the shared folder and submits only the slots that have no finished run. A slot is one
run: ``<plan>:<task>:<sample>:<epoch>``; it is recorded in the run's folder and record, and the
report counts each slot once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rdbench.errors import UserError
from rdbench.task.loader import load_task

PLANS_DIR = "plans"


class Slot(BaseModel):
    """One run of a plan."""

    task: str
    sample: str = Field(description="the Inspect sample id (the task, or task/seed of a family)")
    epoch: int = Field(ge=1)
    key: str


class RunPlan(BaseModel):
    """What to run, independent of where (the Slurm options are not part of it)."""

    tasks: list[str]
    model: str
    model_args: dict[str, Any] = Field(default_factory=dict)
    model_roles: dict[str, str] = Field(default_factory=dict)
    agent: str = "react"
    agent_args: dict[str, Any] = Field(default_factory=dict)
    scale: str = "mini"
    budget: str | None = None
    epochs: int = Field(default=1, ge=1)
    instances: int | None = None
    seed: int | None = None
    pricing: str | None = Field(default=None, description="pricing table file (absolute path)")
    cost_limit: float | None = None

    @property
    def plan_id(self) -> str:
        """A hash of what runs: the same command gives the same id."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def samples(self, task: str) -> list[str]:
        """The sample ids of ``task`` in this plan (its name, or ``task/seed`` per family instance)."""
        loaded = load_task(task)
        family = loaded.spec.family
        if family is None:
            return [loaded.name]
        count = self.instances or family.default_instances
        first = family.seed if self.seed is None else self.seed
        return [f"{loaded.name}/{first + i}" for i in range(count)]

    def slots(self) -> list[Slot]:
        """Every run of the plan: each task's samples times the epochs."""
        out = []
        for task in self.tasks:
            name = load_task(task).name
            for sample in self.samples(task):
                for epoch in range(1, self.epochs + 1):
                    out.append(Slot(task=task, sample=sample, epoch=epoch,
                                    key=f"{self.plan_id}:{name}:{sample}:{epoch}"))
        return out


def save_plan(shared: Path, plan: RunPlan) -> Path:
    """Write the plan into the shared folder (``plans/<id>.json``) and return its path."""
    folder = shared / PLANS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{plan.plan_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(plan.model_dump_json(indent=1))
    tmp.replace(path)
    return path


def load_plans(shared: Path) -> list[RunPlan]:
    """Every plan in the shared folder, oldest first.

    Raises:
        ValueError: A plan file cannot be read (it names the file).
    """
    folder = shared / PLANS_DIR
    if not folder.is_dir():
        return []
    plans = []
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        try:
            plans.append(RunPlan.model_validate_json(path.read_text()))
        except ValueError as error:
            raise UserError(f"{path}: not a run plan ({error}); remove it or fix it") from None
    return plans
