"""What one run leaves in its Inspect log, for analysis.

The rdbench scorer returns an Inspect ``Score`` whose ``value`` is the normalised score (NaN when
undefined) and whose ``metadata`` is a :class:`RunRecord` dumped with ``model_dump(mode="json")``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from rdbench.scoring.log import ScoreEntry

RECORD_KEY = "rdbench"


class Calibration(BaseModel):
    """Scores of the starting and reference solutions on one machine (``rdbench check``)."""

    task: str
    task_version: str
    scale: str
    starting: float
    reference: float
    starting_values: list[float] = Field(default_factory=list)
    reference_values: list[float] = Field(default_factory=list)
    noise: float | None = Field(
        default=None, description="spread (std) of repeated scores of one solution, transformed"
    )
    fingerprint: str = Field(description="hash of the machine's CPU/GPU/memory/kernel description")
    machine: dict[str, Any] = Field(default_factory=dict)
    created: float = Field(description="unix time")
    seconds: float = 0.0
    models: dict[str, str] = Field(
        default_factory=dict, description="role -> model the task's scorer used (tasks with models)"
    )
    provenance: dict[str, Any] = Field(
        default_factory=dict, description="versions, prepared assets and environment packages"
    )
    quality: dict[str, Any] = Field(
        default_factory=dict,
        description="the check's judgement of itself (rdbench.scoring.quality.CheckQuality): noise, "
        "spread and margin in normalised units, agreement with the calibration stored before, load",
    )


class IntegrityReport(BaseModel):
    """Whether files the agent must not change stayed unchanged."""

    ok: bool = True
    changed: list[str] = Field(default_factory=list)


class RunRecord(BaseModel):
    """One run's result, stored as the Inspect score's metadata under :data:`RECORD_KEY`."""

    run_id: str | None = Field(default=None, description="the run's folder under <cache>/runs")
    slot: str | None = Field(
        default=None, description="which run of a plan this is (plan:task:sample:epoch; Slurm runs): "
        "attempts of one slot count once")
    task: str
    task_version: str
    scale: str
    instance: str | None = None
    agent: str = Field(description="the agent that ran (rdbench's own without their rdbench/ prefix)")
    agent_options: dict[str, Any] = Field(
        default_factory=dict, description="the agent's arguments that change how it behaves")
    model: str | None = Field(default=None, description="the model the agent ran with (None: none)")
    machine: dict[str, Any] = Field(
        default_factory=dict, description="the machine it ran on: its fingerprint and description")
    direction: Literal["lower", "higher"]
    transform: Any = "none"
    aggregation: Literal["best", "final"]
    time_budget_s: float
    working_time_s: float
    raw_score: float | None
    normalised_score: float | None
    chosen_entry: int | None = None
    calibration: Calibration | None = None
    score_log: list[ScoreEntry] = Field(default_factory=list)
    integrity: IntegrityReport = Field(default_factory=IntegrityReport)
    tokens: int | None = None
    cost_usd: float | None = None
    service_usage: dict[str, int] = Field(default_factory=dict)
    task_models: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="the task's own models (by role): calls, refusals and tokens of the services "
        "and scorers that used them; not part of tokens / cost_usd, which are the agent's",
    )
    task_model_cost_usd: float | None = None
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="rdbench and Inspect versions, prepared assets, the environment's packages",
    )
