"""The task specification (`task.yaml`), validated by pydantic.

A task is a folder holding ``task.yaml``, ``instructions.md``, ``workspace/``, ``protected/``
(``score.py`` and hidden data) and ``reference/``. See ``docs/task-format.md``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rdbench.errors import UserError

_UNITS = {"h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
          "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?")


def parse_duration(value: str | int | float) -> float:
    """Parse a duration: ``2h``, ``90m``, ``90min``, ``1h30m``, ``2 hours``, ``1 hour 30 minutes``,
    ``1.5h``, ``45s``, or a number of seconds.

    Args:
        value: The duration text, or seconds as a number.

    Returns:
        The duration in seconds.

    Raises:
        ValueError: If the text is not a duration.
    """
    if isinstance(value, int | float):
        if value <= 0:
            raise UserError(f"duration must be positive, got {value}")
        return float(value)
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds, at, seen = 0.0, 0, set()
        lowered = text.lower()
        while at < len(lowered):
            match = _PART.match(lowered, at)
            unit = _UNITS.get(match.group(2)) if match else None
            if match is None or unit is None or unit in seen:
                raise UserError(f"{value!r} is not a duration; write e.g. '2h', '30m', '90min', '1h30m', "
                                 "'2 hours', '45s' or seconds") from None
            seen.add(unit)
            seconds += float(match.group(1)) * unit
            at = match.end()
        if not seen:
            raise UserError(f"{value!r} is not a duration; write e.g. '2h', '30m' or seconds") from None
    if seconds <= 0:
        raise UserError(f"duration must be positive, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds compactly (``2h``, ``1h30m``, ``45s``)."""
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s else ""]
    return "".join(parts) or "0s"


class StrictModel(BaseModel):
    """Base for spec models: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LogOffset(StrictModel):
    """``transform: {log_offset: c}``: t(y) = ln(y - c), e.g. a loss with an entropy floor c."""

    log_offset: float


class ScoringSpec(StrictModel):
    """How a task's scores are read: direction, transform, aggregation, visibility, timeout."""

    direction: Literal["lower", "higher"]
    transform: Literal["none", "log"] | LogOffset = "none"
    aggregation: Literal["best", "final"] = "best"
    visible: bool = True
    timeout: float = Field(default=120.0, gt=0, description="seconds one scoring run may take")
    hide_scorer: bool = Field(
        default=False, description="hide protected/score.py from the agent (RE-Bench shows it)"
    )
    protected_files: list[str] = Field(
        default_factory=list,
        description="workspace paths (globs) the agent must not change; hashed before and after",
    )

    def transform_json(self) -> str | dict[str, float]:
        """The transform as run records and run folders store it (``"log"``, ``{"log_offset": c}``)."""
        return self.transform if isinstance(self.transform, str) else self.transform.model_dump()

    @field_validator("transform", mode="before")
    @classmethod
    def _transform(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"log_offset"}:
            return LogOffset(**value)
        return value


class ScaleSpec(StrictModel):
    """One scale of a task (``mini`` for a 2-core CPU box, ``full`` for GPUs)."""

    params: dict[str, Any] = Field(default_factory=dict)
    time_budget: float = Field(description="working time the agent gets, e.g. '2h'")
    cpus: int = Field(default=2, ge=1)
    memory_gb: float = Field(default=8.0, gt=0)
    gpus: int = Field(default=0, ge=0)
    disk_gb: float = Field(
        default=20.0, gt=0, description="disk the workspace may fill, and each scoring call's writes "
        "(a size-limited filesystem per sample where the host allows one; see docs/sandbox.md)"
    )
    score_timeout: float | None = Field(
        default=None, gt=0, description="seconds one scoring run may take at this scale "
        "(default: scoring.timeout)"
    )

    @field_validator("time_budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> float:
        return parse_duration(value)


class EnvironmentSpec(StrictModel):
    """The Python environment the agent's sandbox gets (built once, cached, mounted read-only)."""

    requirements: list[str] = Field(default_factory=list)
    python: str = Field(default="/usr/bin/python3", description="base interpreter for the venv")


class PermissionsSpec(StrictModel):
    """What the agent's sandbox may reach."""

    network: bool = False


class ServiceSpec(StrictModel):
    """A host-side service the task offers the agent on a budget (a judge, a code model)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    module: str = Field(description="file in protected/ defining handle(request, protected, params, state)")
    budget: int = Field(ge=0, description="queries the agent may make per run")
    description: str = ""


class ModelRoleSpec(StrictModel):
    """A language model the task's services and scorer may query through the harness.

    The model is an Inspect model bound to ``role`` (``--model-role codemodel=openai/gpt-4o-mini``);
    it runs on the host, so the sandboxes never see an API key. Every generation is counted, and a
    scoring call may make at most ``score_budget`` of them.
    """

    role: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    scales: list[str] = Field(default_factory=list, description="scales that use it (empty: all)")
    score_budget: int = Field(default=1000, ge=0, description="generations one scoring call may make")
    default: str | None = Field(default=None, description="Inspect model used when the role is unbound")

    def used_at(self, scale: str) -> bool:
        """Whether scale ``scale`` uses this model."""
        return not self.scales or scale in self.scales


class FamilySpec(StrictModel):
    """A task family: instances generated from seeds by ``generate.py`` in the task folder."""

    generator: str = "generate.py"
    default_instances: int = Field(default=10, ge=1)
    seed: int = 0


class TaskSpec(StrictModel):
    """The whole of ``task.yaml``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    description: str
    scoring: ScoringSpec
    scales: dict[str, ScaleSpec]
    environment: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
    permissions: PermissionsSpec = Field(default_factory=PermissionsSpec)
    services: list[ServiceSpec] = Field(default_factory=list)
    models: list[ModelRoleSpec] = Field(default_factory=list)
    family: FamilySpec | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _scales(self) -> TaskSpec:
        if "mini" not in self.scales:
            raise UserError("scales must define 'mini' (the CPU scale every task has)")
        for model in self.models:
            unknown = sorted(set(model.scales) - set(self.scales))
            if unknown:
                raise UserError(f"models: role {model.role!r} names scales {unknown} that the task "
                                 f"does not define (it has {sorted(self.scales)})")
        return self

    def model_roles(self, scale: str) -> list[ModelRoleSpec]:
        """The model roles scale ``scale`` uses."""
        return [m for m in self.models if m.used_at(scale)]

    def score_timeout(self, scale: str) -> float:
        """Seconds one scoring run may take at ``scale``."""
        return self.scale(scale).score_timeout or self.scoring.timeout

    def scale(self, name: str) -> ScaleSpec:
        """The named scale, or a ValueError listing the ones there are."""
        if name not in self.scales:
            raise UserError(
                f"task {self.name!r} has no scale {name!r}; it has {sorted(self.scales)}"
            )
        return self.scales[name]
