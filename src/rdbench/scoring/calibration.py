"""Calibration: the starting and reference solutions' scores on this machine (``rdbench check``).

Stored as JSON under ``<cache>/calibrations/<task>/<scale>-v<version>-<fingerprint>[-<models>].json``;
runs record the calibration that normalised them. The task's version is part of the key: a task
whose version changed is a different benchmark, and a calibration of the old version never
normalises runs of the new one. A task whose scorer uses models (``models:`` in ``task.yaml``) is
calibrated per binding of those roles: its scores depend on the model as much as on the machine, so
``<models>`` is a hash of the role -> model binding.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import statistics
import time
from pathlib import Path

from rdbench.paths import cache_dir
from rdbench.scoring.machine import machine_description, machine_fingerprint
from rdbench.scoring.normalise import Transform, transform_value
from rdbench.scoring.record import Calibration

CALIBRATIONS_DIR_ENV = "RDBENCH_CALIBRATIONS_DIR"


def calibrations_dir() -> Path:
    """Where calibrations live: ``$RDBENCH_CALIBRATIONS_DIR`` (a cluster's shared folder, one file
    per node type), else the cache's."""
    override = os.environ.get(CALIBRATIONS_DIR_ENV)
    return Path(override) if override else cache_dir() / "calibrations"


def _models_suffix(models: dict[str, str] | None) -> str:
    if not models:
        return ""
    binding = json.dumps(sorted(models.items()))
    return "-" + hashlib.sha256(binding.encode()).hexdigest()[:12]


def _safe_version(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+]", "_", version)


def calibration_path(
    task: str, scale: str, version: str, fingerprint: str | None = None,
    models: dict[str, str] | None = None,
) -> Path:
    """Where the calibration of ``task`` (at ``version`` and ``scale``) on a machine (and model
    binding) lives."""
    fp = fingerprint or machine_fingerprint()
    name = f"{scale}-v{_safe_version(version)}-{fp}{_models_suffix(models)}.json"
    return calibrations_dir() / task / name


def _read(path: Path) -> Calibration | None:
    try:
        return Calibration.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def load_calibration(
    task: str, scale: str, models: dict[str, str] | None = None, *, version: str,
    fingerprint: str | None = None,
) -> Calibration | None:
    """The stored calibration of ``task`` at ``version`` for this machine (or the machine with
    ``fingerprint``) and model binding, or None. A calibration of another version never matches."""
    path = calibration_path(task, scale, version, fingerprint, models)
    if not path.exists():
        return None
    calibration = _read(path)
    if calibration is None or calibration.task_version != version or calibration.task != task:
        return None
    return calibration


def other_versions(
    task: str, scale: str, version: str, models: dict[str, str] | None = None,
    fingerprint: str | None = None,
) -> list[str]:
    """Versions of ``task`` other than ``version`` that this machine has a calibration of (files
    from before versions were part of the key count as their recorded version)."""
    fp = fingerprint or machine_fingerprint()
    folder = calibrations_dir() / task
    found: set[str] = set()
    if folder.is_dir():
        for path in folder.glob(f"{scale}-*{fp}{_models_suffix(models)}.json"):
            calibration = _read(path)
            if calibration is not None and calibration.fingerprint == fp and calibration.task_version != version:
                found.add(calibration.task_version)
    return sorted(found)


def missing_message(
    task: str, scale: str, version: str, models: dict[str, str] | None = None,
) -> str:
    """Why this machine has no calibration of ``task`` at ``version``, and the command that fixes it."""
    command = check_command(task, scale, models)
    older = other_versions(task, scale, version, models)
    if older:
        return (f"{task} ({scale}) is version {version}; this machine's calibration is of version "
                f"{', '.join(older)}, which does not normalise it: run `{command}`")
    return f"{task} ({scale}) has no calibration on this machine: run `{command}`"


def check_command(task: str, scale: str, models: dict[str, str] | None = None) -> str:
    """The ``rdbench check`` command line that calibrates ``task`` at ``scale`` (and binding)."""
    parts = ["rdbench", "check", task]
    if scale != "mini":
        parts += ["--scale", scale]
    for role, model in sorted((models or {}).items()):
        parts += ["--model-role", f"{role}={model}"]
    return " ".join(parts)


def save_calibration(calibration: Calibration) -> Path:
    """Store ``calibration`` (atomically) under its key; returns the path."""
    path = calibration_path(calibration.task, calibration.scale, calibration.task_version,
                            calibration.fingerprint, calibration.models)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(calibration.model_dump_json(indent=2))
    tmp.replace(path)
    return path


def summarise(values: list[float | None]) -> float:
    """The central value of repeated scores (median of the valid ones; NaN if none)."""
    valid = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(valid) if valid else math.nan


def noise(groups: list[list[float | None]], transform: Transform) -> float | None:
    """Pooled standard deviation of transformed repeated scores of the same solution."""
    squares = 0.0
    dof = 0
    for values in groups:
        t = [transform_value(v, transform) for v in values if v is not None]
        t = [x for x in t if math.isfinite(x)]
        if len(t) >= 2:
            mean = sum(t) / len(t)
            squares += sum((x - mean) ** 2 for x in t)
            dof += len(t) - 1
    return math.sqrt(squares / dof) if dof else None


def make_calibration(
    task: str,
    version: str,
    scale: str,
    starting_values: list[float | None],
    reference_values: list[float | None],
    transform: Transform,
    seconds: float,
    models: dict[str, str] | None = None,
    groups: list[list[float | None]] | None = None,
) -> Calibration:
    """Build a calibration record from repeated scores.

    ``groups`` are the sets of repeats of one solution (one instance's starting solution, one
    instance's reference, ...) whose pooled spread is the noise; by default the starting and the
    reference values are one group each.
    """
    return Calibration(
        models=dict(models or {}),
        task=task,
        task_version=version,
        scale=scale,
        starting=summarise(starting_values),
        reference=summarise(reference_values),
        starting_values=[v for v in starting_values if v is not None],
        reference_values=[v for v in reference_values if v is not None],
        noise=noise(groups if groups is not None else [starting_values, reference_values], transform),
        fingerprint=machine_fingerprint(),
        machine=machine_description(),
        created=time.time(),
        seconds=seconds,
    )
