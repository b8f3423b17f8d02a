"""The state of one rdbench run (one Inspect sample): task, clock, score log, services.

The setup solver creates a :class:`RunContext` and makes it current; tools, agents, host services
and the scorer reach it with :func:`current_run`.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from inspect_ai.util import Store

from rdbench.sandbox.api import ResearchSandbox
from rdbench.scoring.log import STORE_KEY, EntrySource, ScoreEntry, ScoreLog
from rdbench.scoring.models import ModelGateway
from rdbench.scoring.record import Calibration
from rdbench.scoring.runner import ScoreResult, score_workspace
from rdbench.scoring.runs import RunInfo, write_info
from rdbench.task.assets import Materialized
from rdbench.task.loader import LoadedTask

if TYPE_CHECKING:
    from inspect_ai.solver import TaskState

_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "rdbench_run", default=None
)
_by_id: dict[str, RunContext] = {}
RUN_ID_KEY = "rdbench:run_id"
"""Key of the run id in the sample store."""


def _working_time() -> float:
    """Inspect's working time of the current sample (excludes waits on model rate limits)."""
    try:
        from inspect_ai._util.working import sample_working_time

        return float(sample_working_time())
    except Exception:
        return time.monotonic()


class ScoringUnavailable(Exception):
    """The run's task offers no intermediate scoring (e.g. a METR family scored on its submission);
    the message says what to do instead."""


class RunHooks(Protocol):
    """How a run of a task that is not an rdbench task folder (a METR family) is scored."""

    async def score(self, run: RunContext, source: EntrySource) -> ScoreResult:
        """Score the current state (the sandbox frozen by the caller's snapshot, if it needs one).

        Raises:
            ScoringUnavailable: The task has no intermediate scoring.
        """
        ...

    async def final(self, run: RunContext, state: TaskState | None) -> ScoreEntry | None:
        """Append the run's final entry (its raw score) to the score log and return it."""
        ...

    def calibration(self, run: RunContext) -> Calibration | None:
        """The starting and reference scores that normalise the run, or None."""
        ...


@dataclass
class RunContext:
    """One run of a task by an agent or a person."""

    run_id: str
    materialized: Materialized
    environment: Path
    sandbox: ResearchSandbox
    time_budget_s: float
    score_log: ScoreLog
    agent: str = "unknown"
    agent_options: dict[str, Any] = field(default_factory=dict)
    solver_name: str | None = None
    instructions: str = ""
    gpus: list[int] = field(default_factory=list)
    cpus: list[int] = field(default_factory=list)
    integrity_before: dict[str, str] = field(default_factory=dict)
    service_usage: dict[str, int] = field(default_factory=dict)
    service_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    submitted: bool = False
    submission: str | None = None
    """What the agent submitted (``submit ANSWER``), for tasks scored on a submitted string."""
    store: Store | None = None
    models: ModelGateway | None = None
    info: RunInfo | None = None
    hooks: RunHooks | None = None
    """Scoring of a task that is not an rdbench task folder (METR families); None: the task's
    protected scorer."""
    started_working: float = field(default_factory=_working_time)
    started_wall: float = field(default_factory=time.time)
    _score_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def task(self) -> LoadedTask:
        return self.materialized.task

    @property
    def scale(self) -> str:
        return self.materialized.scale

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.task.spec.scale(self.scale).params)

    @property
    def model_binding(self) -> dict[str, str]:
        """Role -> model of the task's own models (empty when the scale uses none)."""
        return {} if self.models is None else self.models.binding()

    @property
    def visible(self) -> bool:
        return self.task.spec.scoring.visible

    def elapsed_s(self) -> float:
        """Working time since the run started, in seconds."""
        return max(0.0, _working_time() - self.started_working)

    def remaining_s(self) -> float:
        """Working time left of the budget, in seconds (never negative)."""
        return max(0.0, self.time_budget_s - self.elapsed_s())

    async def score(self, source: EntrySource = "agent") -> ScoreEntry:
        """Score the current workspace (snapshot + protected scorer) and log the entry.

        The agent's sandbox is frozen while the snapshot is scored, so background jobs can neither
        change what is scored nor compete with it for the CPU; the scorer runs on the run's cores. Never raises for a bad submission:
        an invalid one gets ``value=None`` and a message.

        Raises:
            ScoringUnavailable: The task offers no intermediate scoring (``hooks``).
        """
        async with self._score_lock:
            if self.hooks is not None:
                result = await self.hooks.score(self, source)
            else:
                async with self.sandbox.workspace_snapshot() as workspace:
                    result = await score_workspace(
                        self.materialized, workspace, self.environment, gpus=self.gpus, cpus=self.cpus,
                        models=self.models,
                    )
            entry = ScoreEntry(
                index=self.score_log.next_index(),
                timestamp=time.time(),
                elapsed_s=self.elapsed_s(),
                value=result.value,
                message=result.message,
                details=result.details,
                duration_s=result.duration_s,
                source=source,
                kind=result.kind,
            )
            return self.log_entry(entry)

    def log_entry(self, entry: ScoreEntry) -> ScoreEntry:
        """Append ``entry`` to the score log (file and sample store); returns it as appended."""
        entry = self.score_log.append(entry)
        if self.store is not None:
            self.store.set(STORE_KEY, [e.model_dump(mode="json") for e in self.score_log.entries])
        return entry

    def record_end(self, raw: float | None, normalised: float | None) -> None:
        """Mark the run finished in its ``run.json`` (``rdbench watch``), with its scores."""
        if self.info is None or self.score_log.path is None:
            return
        self.info = self.info.model_copy(update={
            "status": "finished", "ended": time.time(), "working_time_s": round(self.elapsed_s(), 1),
            "raw_score": raw, "normalised_score": normalised,
        })
        write_info(self.score_log.path.parent, self.info)

    def agent_view(self, entry: ScoreEntry) -> dict[str, Any]:
        """What the agent may see of an entry (no details; no value when scores are hidden)."""
        return entry.for_agent(self.visible)

    def status(self) -> dict[str, Any]:
        """Time used and left, and the number of score calls so far."""
        return {
            "task": self.task.name,
            "scale": self.scale,
            "elapsed_s": round(self.elapsed_s(), 1),
            "remaining_s": round(self.remaining_s(), 1),
            "time_budget_s": self.time_budget_s,
            "score_calls": len(self.score_log.entries),
            "submitted": self.submitted,
        }


def model_name(state: Any) -> str | None:
    """The model a sample's agent runs with (``TaskState.model``); None for a run without one (a
    person's)."""
    name = str(getattr(state, "model", "") or "")
    return None if name in ("", "none", "none/none") else name


def activate(run: RunContext) -> None:
    """Make ``run`` the current run of this sample."""
    _current.set(run)
    _by_id[run.run_id] = run


def current_run(run_id: str | None = None) -> RunContext:
    """The current sample's run.

    Raises:
        RuntimeError: Outside an rdbench sample.
    """
    run = _by_id.get(run_id) if run_id else _current.get()
    if run is None:
        raise RuntimeError("no rdbench run is active: this must be called inside an rdbench task sample")
    return run


def release(run: RunContext) -> None:
    """Forget a finished run."""
    _by_id.pop(run.run_id, None)
