"""Calibration: the starting and reference solutions' scores on this machine (``rdbench check``).

Stored as JSON under ``<cache>/calibrations/<task>/<scale>-<fingerprint>[-<models>].json``; runs
record the calibration that normalised them. A task whose scorer uses models (``models:`` in
``task.yaml``) is calibrated per binding of those roles: its scores depend on the model as much as
on the machine, so ``<models>`` is a hash of the role -> model binding.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
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


def calibration_path(
    task: str, scale: str, fingerprint: str | None = None, models: dict[str, str] | None = None
) -> Path:
    """Where the calibration of ``task`` at ``scale`` on a machine (and model binding) lives."""
    fp = fingerprint or machine_fingerprint()
    suffix = ""
    if models:
        binding = json.dumps(sorted(models.items()))
        suffix = "-" + hashlib.sha256(binding.encode()).hexdigest()[:12]
    return calibrations_dir() / task / f"{scale}-{fp}{suffix}.json"


def load_calibration(task: str, scale: str, models: dict[str, str] | None = None) -> Calibration | None:
    """The stored calibration for this machine (and model binding), or None."""
    path = calibration_path(task, scale, models=models)
    if not path.exists():
        return None
    try:
        return Calibration.model_validate(json.loads(path.read_text()))
    except ValueError:
        return None


def save_calibration(calibration: Calibration) -> Path:
    path = calibration_path(calibration.task, calibration.scale, calibration.fingerprint,
                            calibration.models)
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
) -> Calibration:
    """Build a calibration record from repeated scores."""
    return Calibration(
        models=dict(models or {}),
        task=task,
        task_version=version,
        scale=scale,
        starting=summarise(starting_values),
        reference=summarise(reference_values),
        starting_values=[v for v in starting_values if v is not None],
        reference_values=[v for v in reference_values if v is not None],
        noise=noise([starting_values, reference_values], transform),
        fingerprint=machine_fingerprint(),
        machine=machine_description(),
        created=time.time(),
        seconds=seconds,
    )
